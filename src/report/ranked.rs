//! Writing a ranking: the CSV (formatted in parallel, quoted by the `csv`
//! crate), the JSON array (written as it is merged) and the aligned table.
//! Probabilities are printed with six decimals.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::eval::apply::pair_index;
use crate::output::Sink;
use crate::ranking::{best_and_advantage, Ranked, RankedRow};
use crate::report::table::{csv_text, csv_writer, csv_written};
use crate::report::{render_csv, render_table, Cell};

/// Decimals printed for probabilities.
pub(crate) const DECIMALS: usize = 6;

/// How ranked patients are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape<'a> {
    /// The ID column's name.
    pub(crate) id_name: &'a str,
    /// The arm names, in bundle order.
    pub(crate) arms: &'a [String],
    /// `best_therapy` is `none` below this advantage.
    pub(crate) min_advantage: f64,
    /// Per arm: too weak to recommend on (a patient whose best or
    /// runner-up arm is weak gets `none`); all `false` to recommend anyway.
    pub(crate) weak: &'a [bool],
    /// Counts the patients shown whose recommendation a weak arm withheld.
    pub(crate) withheld: &'a AtomicUsize,
    /// Effect columns with 95 % intervals (`score --intervals`): each row
    /// then carries, after the arms' probabilities, the bootstrap SD of
    /// every pair of arms' difference ([`pair_index`] order).
    pub(crate) effects: Option<EffectColumns<'a>>,
}

/// The effect columns of `score --intervals`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EffectColumns<'a> {
    /// The control arm: `effect_<arm>` is p under the arm − p under it.
    pub(crate) control: usize,
    /// `--min-advantage ci`: `none` where the 95 % interval of best −
    /// runner-up includes 0.
    pub(crate) gate: bool,
    /// Counts the patients shown whose recommendation the gate withheld.
    pub(crate) undecided: &'a AtomicUsize,
}

/// The normal 97.5 % quantile.
const Z95: f64 = 1.959_963_984_540_054;

impl Shape<'_> {
    fn multi(&self) -> bool {
        self.arms.len() > 1
    }

    /// Each non-control arm's effect, low and high (three values per arm,
    /// in arm order) from the probabilities `p` and pair SDs `sd`.
    fn effects(&self, p: &[f64], sd: &[f64]) -> Vec<f64> {
        let Some(e) = self.effects else {
            return Vec::new();
        };
        let k = p.len();
        let mut out = Vec::with_capacity(3 * k);
        for a in (0..k).filter(|&a| a != e.control) {
            let effect = p[a] - p[e.control];
            let half = Z95
                * sd.get(pair_index(k, a, e.control))
                    .copied()
                    .unwrap_or(f64::NAN);
            out.extend([effect, effect - half, effect + half]);
        }
        out
    }
}

/// The output columns.
pub(crate) fn header(
    id: &str,
    arms: &[String],
    multi: bool,
    effects: Option<EffectColumns>,
) -> Vec<String> {
    let mut h = vec!["rank".to_string(), id.to_string()];
    if multi {
        h.extend(arms.iter().map(|a| format!("p_{a}")));
        h.push("best_therapy".into());
        h.push("advantage".into());
        if let Some(e) = effects {
            for (_, name) in arms.iter().enumerate().filter(|&(a, _)| a != e.control) {
                h.push(format!("effect_{name}"));
                h.push(format!("effect_{name}_low"));
                h.push(format!("effect_{name}_high"));
            }
        }
    } else {
        h.push("probability".into());
    }
    h
}

fn round(v: f64) -> f64 {
    let s = 10f64.powi(DECIMALS as i32);
    (v * s).round() / s
}

/// The best therapy's name, or `none` when its advantage over the
/// runner-up is below `min_advantage`, when (with `--min-advantage ci`) the
/// 95 % interval of that advantage includes 0 (counted in `undecided`), or
/// when the best or runner-up arm is weak (counted in `withheld`). `p` are
/// the patient's probabilities, `sd` the pair SDs (empty without intervals).
pub(crate) fn best_label<'a>(
    p: &[f64],
    sd: &[f64],
    best: usize,
    advantage: f64,
    s: &Shape<'a>,
) -> &'a str {
    if advantage < s.min_advantage {
        return "none";
    }
    let runner_up = (0..p.len())
        .filter(|&a| a != best)
        .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)));
    if let (Some(e), Some(r)) = (s.effects, runner_up) {
        let sd_br = sd
            .get(pair_index(p.len(), best, r))
            .copied()
            .unwrap_or(f64::NAN);
        // A NaN SD (no replicates) withholds too.
        let low = advantage - Z95 * sd_br;
        if e.gate && (low.is_nan() || low <= 0.0) {
            e.undecided.fetch_add(1, Ordering::Relaxed);
            return "none";
        }
    }
    if s.weak.iter().any(|&w| w) && (s.weak[best] || runner_up.is_some_and(|r| s.weak[r])) {
        s.withheld.fetch_add(1, Ordering::Relaxed);
        return "none";
    }
    &s.arms[best]
}

/// The JSON object of one ranked patient; `sd` are the pair SDs.
fn json_item(r: &RankedRow, sd: &[f64], s: Shape) -> Value {
    let (id, arms, multi) = (s.id_name, s.arms, s.multi());
    let mut m = Map::new();
    m.insert("rank".into(), r.rank.into());
    m.insert(id.into(), r.id.clone().into());
    if multi {
        for (a, p) in arms.iter().zip(&r.probs) {
            m.insert(format!("p_{a}"), round(*p).into());
        }
        m.insert(
            "best_therapy".into(),
            best_label(&r.probs, sd, r.best, r.advantage, &s).into(),
        );
        m.insert("advantage".into(), round(r.advantage).into());
        let names = header(id, arms, true, s.effects);
        for (name, v) in names[names.len() - s.effects(&r.probs, sd).len()..]
            .iter()
            .zip(s.effects(&r.probs, sd))
        {
            m.insert(
                name.clone(),
                if v.is_finite() {
                    round(v).into()
                } else {
                    Value::Null
                },
            );
        }
    } else {
        m.insert("probability".into(), round(r.probs[0]).into());
    }
    Value::Object(m)
}

/// The table cells of one ranked patient; `sd` are the pair SDs.
fn table_cells(r: &RankedRow, sd: &[f64], s: Shape) -> Vec<Cell> {
    let multi = s.multi();
    let mut c = vec![Cell::Int(r.rank), Cell::Text(r.id.clone())];
    c.extend(r.probs.iter().map(|&p| Cell::Num(p, DECIMALS)));
    if multi {
        c.push(Cell::Text(
            best_label(&r.probs, sd, r.best, r.advantage, &s).to_string(),
        ));
        c.push(Cell::Num(r.advantage, DECIMALS));
        c.extend(
            s.effects(&r.probs, sd)
                .into_iter()
                .map(|v| Cell::Num(v, DECIMALS)),
        );
    }
    c
}

/// One ranked row from all of a patient's columns: the arms'
/// probabilities, then the pair SDs (returned apart).
fn split_row(rank: usize, id: &str, mut all: Vec<f64>, arms: usize) -> (RankedRow, Vec<f64>) {
    let sd = all.split_off(arms.min(all.len()));
    (RankedRow::new(rank, id, all), sd)
}

/// Writes the ranking as a pretty-printed JSON array, one patient at a time.
pub(crate) fn write_json(sink: &mut Sink, ranked: Ranked, shape: Shape) -> Result<()> {
    if ranked.shown() == 0 {
        return sink.write_text("[]\n");
    }
    sink.write_text("[")?;
    let mut rank = 0;
    ranked.for_each_batch(4096, |ids, probs, order| {
        let mut out = String::new();
        for &i in order {
            let i = i as usize;
            rank += 1;
            let all = probs.iter().map(|a| a[i]).collect();
            let (r, sd) = split_row(rank, ids.get(i), all, shape.arms.len());
            let item = json_item(&r, &sd, shape);
            let text = serde_json::to_string_pretty(&item).unwrap_or_else(|_| "{}".into());
            out.push_str(if rank == 1 { "\n" } else { ",\n" });
            for (k, line) in text.lines().enumerate() {
                if k > 0 {
                    out.push('\n');
                }
                out.push_str("  ");
                out.push_str(line);
            }
        }
        sink.write_text(&out)
    })?;
    sink.write_text("\n]\n")
}

/// Writes the ranking as an aligned table (it holds the rows it shows).
pub(crate) fn write_table(sink: &mut Sink, ranked: Ranked, shape: Shape) -> Result<()> {
    let mut cells = Vec::with_capacity(ranked.shown());
    ranked.for_each_batch(8192, |ids, probs, order| {
        for &i in order {
            let i = i as usize;
            let all: Vec<f64> = probs.iter().map(|a| a[i]).collect();
            let (row, sd) = split_row(cells.len() + 1, ids.get(i), all, shape.arms.len());
            cells.push(table_cells(&row, &sd, shape));
        }
        Ok(())
    })?;
    let header = header(shape.id_name, shape.arms, shape.multi(), shape.effects);
    sink.write_text(&render_table(&header, &cells))
}

/// Appends `v` with six decimals, exactly as `format!("{v:.6}")`: numbers
/// from 0 to 1 not within 1e-6 of a rounding tie (all but a few in a
/// million) are rounded as integers, the rest go through the formatter.
fn push_fixed6(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    const _: () = assert!(DECIMALS == 6);
    if v.is_sign_positive() && v <= 1.0 {
        // v * 1e6 is within 1.2e-10 of the exact product, so away from a
        // tie both round the same way.
        let x = v * 1e6;
        if (x - x.floor() - 0.5).abs() > 1e-6 {
            let m = x.round() as u32; // 0 ..= 1_000_000
            out.push(char::from(b'0' + (m / 1_000_000) as u8));
            out.push('.');
            let mut div = 100_000;
            while div > 0 {
                out.push(char::from(b'0' + ((m / div) % 10) as u8));
                div /= 10;
            }
            return;
        }
    }
    let _ = write!(out, "{v:.DECIMALS$}");
}

/// The CSV lines of ranked rows `rows` (positions into `ids`/`probs`),
/// ranks counting from `first_rank`.
fn csv_lines(
    ids: &crate::data::TextColumn,
    probs: &[Vec<f64>],
    rows: &[u32],
    first_rank: usize,
    shape: Shape,
) -> String {
    use std::fmt::Write as _;
    let mut w = csv_writer();
    let mut p = vec![0.0; probs.len()];
    let mut field = String::with_capacity(24);
    let num = |v: f64, w: &mut csv::Writer<Vec<u8>>, field: &mut String| {
        field.clear();
        if v.is_finite() {
            push_fixed6(field, v);
        } else {
            field.push_str("NA");
        }
        let _ = w.write_field(field.as_bytes());
    };
    for (k, &i) in rows.iter().enumerate() {
        let i = i as usize;
        for (a, pa) in probs.iter().enumerate() {
            p[a] = pa[i];
        }
        field.clear();
        let _ = write!(field, "{}", first_rank + k);
        let _ = w.write_field(field.as_bytes());
        let _ = w.write_field(csv_text(ids.get(i)).as_bytes());
        let (p, sd) = p.split_at(shape.arms.len().min(p.len()));
        for &v in p {
            num(v, &mut w, &mut field);
        }
        if shape.multi() {
            let (best, advantage) = best_and_advantage(p);
            let label = best_label(p, sd, best, advantage, &shape);
            let _ = w.write_field(csv_text(label).as_bytes());
            num(advantage, &mut w, &mut field);
            for v in shape.effects(p, sd) {
                num(v, &mut w, &mut field);
            }
        }
        let _ = w.write_record(None::<&[u8]>);
    }
    csv_written(w)
}

/// Writes the ranked CSV, formatting the lines of each batch in parallel
/// and writing them in rank order.
pub(crate) fn write_csv(sink: &mut Sink, ranked: Ranked, shape: Shape) -> Result<()> {
    let header = header(shape.id_name, shape.arms, shape.multi(), shape.effects);
    sink.write_text(&render_csv(&header, &[]))?;
    const CHUNK: usize = 4096;
    let group_rows = CHUNK * rayon::current_num_threads().max(1) * 2;
    let mut first_rank = 1;
    ranked.for_each_batch(group_rows, |ids, probs, group| {
        let texts: Vec<String> = group
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, rows)| csv_lines(ids, probs, rows, first_rank + c * CHUNK, shape))
            .collect();
        first_rank += group.len();
        for text in texts {
            sink.write_text(&text)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_six_decimals_match_the_formatter() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut values = vec![0.0, 1.0, 0.5, 1e-7, 5e-7, 0.9999995, 0.1234565, 2.5e-7];
        for k in 0..1_000_000u64 {
            values.push(k as f64 / 1e6 + 5e-7); // at or next to a tie
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            values.push((rng >> 11) as f64 / (1u64 << 53) as f64);
        }
        values.extend([-0.0, -0.25, 1.5, 123.456_789_5]);
        for v in values {
            let mut s = String::new();
            super::push_fixed6(&mut s, v);
            assert_eq!(s, format!("{v:.6}"), "{v:e}");
        }
    }
}
