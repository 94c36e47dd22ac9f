//! Rendering rows of cells as an aligned text table (column widths by
//! display width, so accented names and CJK line up) or as CSV through the
//! `csv` crate's writer (RFC 4180 quoting).

use unicode_width::UnicodeWidthStr;

/// One output cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text.
    Text(String),
    /// An integer.
    Int(usize),
    /// A number printed with a fixed number of decimals.
    Num(f64, usize),
}

impl Cell {
    pub(crate) fn render(&self) -> String {
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

/// Column names from string literals.
pub(crate) fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Pads `s` to `width` display columns, on the left or the right.
fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.width()));
    if right {
        fill + s
    } else {
        format!("{s}{fill}")
    }
}

/// An aligned plain-text table with a header rule.
pub(crate) fn render_table(header: &[String], rows: &[Vec<Cell>]) -> String {
    // A line break or tab inside a cell (an ID, a level) would break the
    // row: control characters are shown escaped.
    let rendered: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::error::shown(&c.render(), usize::MAX))
                .collect()
        })
        .collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &rendered {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.width());
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
            .map(|(i, c)| pad(c, width[i], right[i]))
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

/// A text cell for CSV output, defused against formula injection as OWASP
/// advises: a cell that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`.
/// Numbers are written as they are.
pub(crate) fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// A CSV writer into memory (no header handling of its own).
pub(crate) fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new())
}

/// The text a CSV writer into memory holds.
pub(crate) fn csv_written(w: csv::Writer<Vec<u8>>) -> String {
    // Flushing into memory cannot fail.
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Comma-separated values with a header line.
pub(crate) fn render_csv(header: &[String], rows: &[Vec<Cell>]) -> String {
    let mut w = csv_writer();
    // Writing into memory cannot fail.
    let _ = w.write_record(header.iter().map(|h| csv_text(h).into_owned()));
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| match c {
            Cell::Text(s) => csv_text(s).into_owned(),
            other => other.render(),
        }));
    }
    csv_written(w)
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

    #[test]
    fn wide_characters_line_up_and_quotes_are_doubled() {
        let header = vec!["name".to_string(), "n".to_string()];
        let rows = vec![
            vec![Cell::Text("Zoë".into()), Cell::Int(1)],
            vec![Cell::Text("患者".into()), Cell::Int(2)],
        ];
        let t = render_table(&header, &rows);
        assert_eq!(t, "name  n\n----  -\nZoë   1\n患者  2\n");
        let c = render_csv(
            &header,
            &[vec![Cell::Text("a \"b\"\nc".into()), Cell::Int(3)]],
        );
        assert_eq!(c, "name,n\n\"a \"\"b\"\"\nc\",3\n");
    }
}
