//! Rendering rows of cells as an aligned text table or as CSV.

/// One output cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// An integer.
    Int(usize),
    /// A number printed with a fixed number of decimals.
    Num(f64, usize),
}

impl Cell {
    fn render(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(v, d) if v.is_finite() => format!("{v:.d$}"),
            Cell::Num(..) => "NA".into(),
        }
    }

    fn right_aligned(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// An aligned plain-text table with a header rule.
pub fn render_table(header: &[String], rows: &[Vec<Cell>]) -> String {
    let rendered: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(Cell::render).collect())
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rendered {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let right: Vec<bool> = (0..header.len())
        .map(|c| rows.first().is_some_and(|r| r[c].right_aligned()))
        .collect();
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if right[i] {
                    format!("{c:>w$}", w = width[i])
                } else {
                    format!("{c:<w$}", w = width[i])
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header, &mut out);
    let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in &rendered {
        line(r, &mut out);
    }
    out
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Comma-separated values with a header line.
pub fn render_csv(header: &[String], rows: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    let h: Vec<_> = header.iter().map(|s| csv_field(s)).collect();
    out.push_str(&h.join(","));
    out.push('\n');
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| csv_field(&c.render()).into_owned())
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_csv() {
        let header = vec!["rank".to_string(), "id".to_string(), "p".to_string()];
        let rows = vec![
            vec![Cell::Int(1), Cell::Text("P,1".into()), Cell::Num(0.5, 3)],
            vec![
                Cell::Int(10),
                Cell::Text("P2".into()),
                Cell::Num(f64::NAN, 3),
            ],
        ];
        assert_eq!(
            render_csv(&header, &rows),
            "rank,id,p\n1,\"P,1\",0.500\n10,P2,NA\n"
        );
        let t = render_table(&header, &rows);
        assert_eq!(
            t,
            "rank  id       p\n----  ---  -----\n   1  P,1  0.500\n  10  P2      NA\n"
        );
    }
}
