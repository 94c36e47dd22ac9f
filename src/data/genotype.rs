//! Genotype dosage files: CSV/TSV with an ID column and one column per SNP,
//! or PLINK `.raw` (`FID IID PAT MAT SEX PHENOTYPE` then `SNP_ALLELE`).
//! Cells are parsed straight into numbers and checked to lie in 0–2.

use crate::data::input::{Delimiter, Loaded};
use crate::data::table::{check_header, for_each_record, is_missing};
use crate::error::{Error, Location, Result};

/// The six leading columns of a PLINK `.raw` file.
pub const PLINK_RAW_HEADER: [&str; 6] = ["FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE"];

/// Dosages of every patient at every SNP, column by column.
#[derive(Debug, Clone)]
pub struct DosageTable {
    /// File name for messages.
    pub file: String,
    /// The ID column's name (`IID` for PLINK files).
    pub id_column: String,
    /// Patient IDs, in file order.
    pub ids: Vec<String>,
    /// 1-based source line of every row.
    pub lines: Vec<u64>,
    /// SNP column names.
    pub snps: Vec<String>,
    /// `values[s][r]`: dosage of SNP `s` in row `r`; NaN = missing.
    pub values: Vec<Vec<f64>>,
    /// Whether the file was a PLINK `.raw` file.
    pub plink: bool,
}

impl DosageTable {
    /// Parses a dosage file; `id` names the ID column of CSV/TSV files.
    pub fn parse(loaded: &Loaded, delimiter: Delimiter, id: &str) -> Result<DosageTable> {
        let file = loaded.name.clone();
        if loaded.bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::data(Location::file(&file), "the file is empty"));
        }
        let mut table = DosageTable {
            file: file.clone(),
            id_column: String::new(),
            ids: Vec::new(),
            lines: Vec::new(),
            snps: Vec::new(),
            values: Vec::new(),
            plink: false,
        };
        // Position of the ID column and of every SNP column in a record.
        let mut id_pos = 0usize;
        let mut snp_pos: Vec<usize> = Vec::new();
        for_each_record(&file, &loaded.bytes, delimiter, |line, fields| {
            if table.id_column.is_empty() {
                let header: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
                check_header(&file, &header)?;
                let plink =
                    header.len() >= 6 && header.iter().zip(PLINK_RAW_HEADER).all(|(h, p)| h == p);
                if plink {
                    id_pos = 1;
                    snp_pos = (6..header.len()).collect();
                } else {
                    id_pos = header.iter().position(|h| h == id).ok_or_else(|| {
                        Error::MissingColumns {
                            file: file.clone(),
                            missing: vec![id.to_string()],
                            available: header.clone(),
                            hint: None,
                        }
                    })?;
                    snp_pos = (0..header.len()).filter(|&c| c != id_pos).collect();
                }
                table.plink = plink;
                table.id_column = header[id_pos].clone();
                table.snps = snp_pos.iter().map(|&c| header[c].clone()).collect();
                table.values = vec![Vec::new(); snp_pos.len()];
                return Ok(());
            }
            let id_cell = fields[id_pos];
            if is_missing(id_cell) {
                return Err(Error::data(
                    Location::file(&file).line(line).column(&table.id_column),
                    "the patient ID is empty",
                ));
            }
            table.ids.push(id_cell.to_string());
            table.lines.push(line);
            for (s, &c) in snp_pos.iter().enumerate() {
                let v = parse_dosage(fields[c]).map_err(|why| {
                    Error::data(Location::file(&file).line(line).column(&table.snps[s]), why)
                })?;
                table.values[s].push(v);
            }
            Ok(())
        })?;
        if table.ids.is_empty() {
            return Err(Error::data(
                Location::file(&file),
                "the file has a header line but no data rows",
            ));
        }
        if table.snps.is_empty() {
            return Err(Error::data(
                Location::file(&file),
                "the genotype file has no SNP columns besides the ID",
            ));
        }
        Ok(table)
    }
}

/// Parses one dosage cell: missing → NaN; otherwise a number in 0–2.
pub fn parse_dosage(cell: &str) -> std::result::Result<f64, String> {
    if is_missing(cell) {
        return Ok(f64::NAN);
    }
    match cell.parse::<f64>() {
        Ok(v) if (0.0..=2.0).contains(&v) => Ok(v),
        Ok(v) if v.is_finite() => Err(format!(
            "dosage `{cell}` is outside 0–2 (a dosage counts copies of an allele)"
        )),
        _ => Err(format!(
            "`{cell}` is not a dosage (expected a number from 0 to 2)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Loaded {
        Loaded {
            name: name.into(),
            base_name: name.into(),
            bytes: text.as_bytes().to_vec(),
            sha256: String::new(),
            gzipped: false,
        }
    }

    #[test]
    fn reads_csv_dosages() {
        let t = DosageTable::parse(
            &load("g.csv", "rs1,patient_id,rs2\n0,P1,2\n,P2,1.5\n"),
            Delimiter::Byte(b','),
            "patient_id",
        )
        .unwrap();
        assert_eq!(t.ids, vec!["P1", "P2"]);
        assert_eq!(t.snps, vec!["rs1", "rs2"]);
        assert!(t.values[0][1].is_nan());
        assert_eq!(t.values[1], vec![2.0, 1.5]);
    }

    #[test]
    fn reads_plink_raw_by_iid() {
        let t = DosageTable::parse(
            &load(
                "g.raw",
                "FID IID PAT MAT SEX PHENOTYPE rs1_A\nF1 P1 0 0 1 -9 NA\nF1 P2 0 0 2 -9 1\n",
            ),
            Delimiter::Whitespace,
            "patient_id",
        )
        .unwrap();
        assert!(t.plink);
        assert_eq!(t.ids, vec!["P1", "P2"]);
        assert_eq!(t.snps, vec!["rs1_A"]);
    }

    #[test]
    fn bad_dosages_name_line_and_column() {
        let e = DosageTable::parse(
            &load("g.csv", "patient_id,rs1\nP1,0\nP2,3\n"),
            Delimiter::Byte(b','),
            "patient_id",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "g.csv, line 3, column `rs1`: dosage `3` is outside 0–2 (a dosage counts copies of an allele)"
        );
        let e = DosageTable::parse(
            &load("g.csv", "patient_id,rs1\nP1,AA\n"),
            Delimiter::Byte(b','),
            "patient_id",
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("line 2, column `rs1`: `AA` is not a dosage"));
    }
}
