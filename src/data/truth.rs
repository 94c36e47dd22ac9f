//! A simulated-truth file (as `simulate` writes `truth.csv`): each
//! patient's ID and true response probability under every arm.

use std::collections::HashMap;

use crate::data::{parse_number, Loaded, RawTable};
use crate::error::{Error, Result};

/// True probabilities by patient ID, one per arm in the order asked for.
pub(crate) struct Truth {
    by_id: HashMap<String, Vec<f64>>,
}

impl Truth {
    /// Reads `p_<arm>` for every arm of `arms` from `path`, keyed by the
    /// `id` column; every column must exist and every cell be a probability.
    pub(crate) fn read(path: &str, id: &str, arms: &[String]) -> Result<Truth> {
        let loaded = Loaded::read(path)?;
        let table = RawTable::parse(&loaded, loaded.delimiter(None))?;
        let id_col = table.require(id)?;
        let wanted: Vec<String> = arms.iter().map(|a| format!("p_{a}")).collect();
        let absent: Vec<String> = wanted
            .iter()
            .filter(|w| table.find(w).is_none())
            .cloned()
            .collect();
        if !absent.is_empty() {
            return Err(Error::MissingColumns {
                file: table.file.clone(),
                missing: absent,
                available: table.header.clone(),
                hint: None,
            });
        }
        let cols: Vec<usize> = wanted.iter().filter_map(|w| table.find(w)).collect();
        let mut by_id = HashMap::with_capacity(table.n_rows());
        let mut line_of: HashMap<String, u64> = HashMap::with_capacity(table.n_rows());
        for r in 0..table.n_rows() {
            let pid = &table.columns[id_col][r];
            if crate::data::is_missing(pid) {
                return Err(Error::data(table.loc(r, id_col), "the patient ID is empty"));
            }
            if let Some(first) = line_of.insert(pid.to_string(), table.lines[r]) {
                return Err(Error::data(
                    table.loc(r, id_col),
                    format!(
                        "duplicate patient ID `{pid}` on lines {first} and {}: the truth of a patient must be given once",
                        table.lines[r]
                    ),
                ));
            }
            let mut v = Vec::with_capacity(cols.len());
            for &c in &cols {
                let cell = &table.columns[c][r];
                match parse_number(cell) {
                    Some(x) if (0.0..=1.0).contains(&x) => v.push(x),
                    _ => {
                        return Err(Error::data(
                            table.loc(r, c),
                            format!("`{cell}` is not a probability"),
                        ))
                    }
                }
            }
            by_id.insert(table.columns[id_col][r].to_string(), v);
        }
        Ok(Truth { by_id })
    }

    /// The true probabilities of patient `id`, if the file has them.
    pub(crate) fn get(&self, id: &str) -> Option<&Vec<f64>> {
        self.by_id.get(id)
    }
}
