//! Text tables as read from disk: a header and column-major cells, with the
//! source line of every row kept for error messages.

use std::collections::HashMap;

use crate::data::input::{Delimiter, Loaded};
use crate::error::{Error, Location, Result};

/// Cell values that mean "missing" (compared case-insensitively).
pub const MISSING_TOKENS: [&str; 6] = ["", "na", "nan", "n/a", ".", "null"];

/// True when a (trimmed) cell is one of the missing tokens.
pub fn is_missing(cell: &str) -> bool {
    let c = cell.trim();
    c.is_empty()
        || MISSING_TOKENS[1..]
            .iter()
            .any(|t| c.eq_ignore_ascii_case(t))
}

/// Parses a non-missing cell as a finite number.
pub fn parse_number(cell: &str) -> Option<f64> {
    let v: f64 = cell.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// A table of text cells, stored column by column.
#[derive(Debug, Clone)]
pub struct RawTable {
    /// File name for messages.
    pub file: String,
    /// Column names, in file order.
    pub header: Vec<String>,
    /// `columns[c][r]` is the cell of row `r` in column `c`.
    pub columns: Vec<Vec<String>>,
    /// 1-based source line of every data row.
    pub lines: Vec<u64>,
}

impl RawTable {
    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// Index of a column by exact name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Index of a required column; the error lists the columns that exist.
    pub fn require(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| Error::MissingColumns {
            file: self.file.clone(),
            missing: vec![name.to_string()],
            available: self.header.clone(),
            hint: None,
        })
    }

    /// Location of a cell, for messages.
    pub fn loc(&self, row: usize, col: usize) -> Location {
        Location::file(&self.file)
            .line(self.lines[row])
            .column(&self.header[col])
    }

    /// Parses a loaded file into a table.
    pub fn parse(loaded: &Loaded, delimiter: Delimiter) -> Result<RawTable> {
        let file = loaded.name.clone();
        let bytes = &loaded.bytes[..];
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::data(Location::file(&file), "the file is empty"));
        }
        let mut table = parse_records(&file, bytes, delimiter)?;
        if table.header.is_empty() {
            return Err(Error::data(Location::file(&file), "the file is empty"));
        }
        check_header(&file, &table.header)?;
        if table.n_rows() == 0 {
            return Err(Error::data(
                Location::file(&file),
                "the file has a header line but no data rows",
            ));
        }
        table.file = file;
        Ok(table)
    }
}

pub(crate) fn check_header(file: &str, header: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(Error::data(
                Location::file(file).line(1),
                format!("header field {} is empty; every column needs a name", i + 1),
            ));
        }
        if let Some(first) = seen.insert(h.as_str(), i) {
            return Err(Error::data(
                Location::file(file).line(1).column(h),
                format!(
                    "the column name appears twice in the header (fields {} and {})",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

fn utf8<'a>(file: &str, line: u64, field: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(field).map_err(|_| {
        Error::data(
            Location::file(file).line(line),
            "the line is not valid UTF-8 text",
        )
    })
}

/// Calls `f(line, fields)` for every non-blank line of a table, the header
/// first. Fields are trimmed. The field count of every line is checked
/// against the header's.
pub fn for_each_record(
    file: &str,
    bytes: &[u8],
    delimiter: Delimiter,
    mut f: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<()> {
    let mut bytes = bytes;
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes = &bytes[3..];
    }
    let mut width: Option<usize> = None;
    let mut check = |line: u64, n: usize| -> Result<()> {
        match width {
            None => width = Some(n),
            Some(w) if w != n => {
                return Err(Error::data(
                    Location::file(file).line(line),
                    format!("the line has {n} fields but the header has {w}"),
                ))
            }
            _ => {}
        }
        Ok(())
    };
    match delimiter {
        Delimiter::Byte(d) => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(d)
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut record = csv::ByteRecord::new();
            // The csv crate's line numbers drift with CRLF endings, so lines
            // are counted from the record's byte offset.
            let (mut counted_to, mut line_at) = (0usize, 1u64);
            loop {
                let more = reader.read_byte_record(&mut record).map_err(|e| {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    Error::data(
                        Location::file(file).line(line),
                        format!("cannot parse the line: {e}"),
                    )
                })?;
                if !more {
                    break;
                }
                let mut start = record.position().map_or(0, |p| p.byte() as usize);
                while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
                    start += 1;
                }
                let start = start.min(bytes.len()).max(counted_to);
                line_at += bytes[counted_to..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64;
                counted_to = start;
                let line = line_at;
                if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                check(line, record.len())?;
                let mut fields: Vec<&str> = Vec::with_capacity(record.len());
                for field in record.iter() {
                    fields.push(utf8(file, line, field)?.trim());
                }
                f(line, &fields)?;
            }
        }
        Delimiter::Whitespace => {
            for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
                let line = i as u64 + 1;
                let text = utf8(file, line, raw_line)?;
                if text.trim().is_empty() {
                    continue;
                }
                let fields: Vec<&str> = text.split_ascii_whitespace().collect();
                check(line, fields.len())?;
                f(line, &fields)?;
            }
        }
    }
    Ok(())
}

fn parse_records(file: &str, bytes: &[u8], delimiter: Delimiter) -> Result<RawTable> {
    let mut header: Option<Vec<String>> = None;
    let mut columns: Vec<Vec<String>> = Vec::new();
    let mut lines = Vec::new();
    for_each_record(file, bytes, delimiter, |line, fields| {
        if header.is_none() {
            header = Some(fields.iter().map(|s| s.to_string()).collect());
            columns = vec![Vec::new(); fields.len()];
        } else {
            for (c, v) in fields.iter().enumerate() {
                columns[c].push(v.to_string());
            }
            lines.push(line);
        }
        Ok(())
    })?;
    Ok(RawTable {
        file: file.to_string(),
        header: header.unwrap_or_default(),
        columns,
        lines,
    })
}

/// Builds the ID index of a table: every row's ID, checking for empty and
/// duplicate IDs (the error names both lines).
pub fn id_index(table: &RawTable, id_col: usize) -> Result<HashMap<&str, usize>> {
    let ids = &table.columns[id_col];
    if let Some(r) = ids.iter().position(|id| is_missing(id)) {
        return Err(Error::data(table.loc(r, id_col), "the patient ID is empty"));
    }
    index_ids(&table.file, &table.header[id_col], ids, &table.lines)
}

/// Maps every ID to its row; a duplicate is an error naming both lines.
pub fn index_ids<'a>(
    file: &str,
    column: &str,
    ids: &'a [String],
    lines: &[u64],
) -> Result<HashMap<&'a str, usize>> {
    let mut index = HashMap::with_capacity(ids.len());
    for (r, id) in ids.iter().enumerate() {
        if let Some(first) = index.insert(id.as_str(), r) {
            return Err(Error::data(
                Location::file(file).column(column),
                format!(
                    "duplicate patient ID `{id}` on lines {} and {}",
                    lines[first], lines[r]
                ),
            ));
        }
    }
    Ok(index)
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
    fn parses_csv_with_bom_and_crlf() {
        let l = load("a.csv", "\u{feff}id,x\r\nA,1\r\nB,NA\r\n");
        let t = RawTable::parse(&l, Delimiter::Byte(b',')).unwrap();
        assert_eq!(t.header, vec!["id", "x"]);
        assert_eq!(t.columns[1], vec!["1", "NA"]);
        assert_eq!(t.lines, vec![2, 3]);
        let l = load("b.csv", "id,x\n\"A\nB\",1\n\nC,2\n");
        let t = RawTable::parse(&l, Delimiter::Byte(b',')).unwrap();
        assert_eq!(t.lines, vec![2, 5]);
        assert_eq!(t.columns[0], vec!["A\nB", "C"]);
    }

    #[test]
    fn parses_plink_raw() {
        let l = load(
            "g.raw",
            "FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_G\nF1 P1 0 0 1 -9 0 NA\nF2  P2 0 0 2 -9\t2 1\n",
        );
        let t = RawTable::parse(&l, Delimiter::Whitespace).unwrap();
        assert_eq!(t.header.len(), 8);
        assert_eq!(t.columns[1], vec!["P1", "P2"]);
        assert_eq!(t.columns[7], vec!["NA", "1"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = RawTable::parse(&load("a.csv", "  \n"), Delimiter::Byte(b',')).unwrap_err();
        assert_eq!(e.to_string(), "a.csv: the file is empty");
        let e = RawTable::parse(&load("a.csv", "id,x\n"), Delimiter::Byte(b',')).unwrap_err();
        assert!(e.to_string().contains("no data rows"));
        let e =
            RawTable::parse(&load("a.csv", "id,x\n1,2\n3\n"), Delimiter::Byte(b',')).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.csv, line 3: the line has 1 fields but the header has 2"
        );
        let e =
            RawTable::parse(&load("a.csv", "id,x,x\n1,2,3\n"), Delimiter::Byte(b',')).unwrap_err();
        assert!(e.to_string().contains("column `x`"));
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let t = RawTable::parse(
            &load("a.csv", "id,x\nA,1\nB,2\nA,3\n"),
            Delimiter::Byte(b','),
        )
        .unwrap();
        let e = id_index(&t, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.csv, column `id`: duplicate patient ID `A` on lines 2 and 4"
        );
    }

    #[test]
    fn missing_tokens() {
        for t in ["", " ", "NA", "nan", "N/A", ".", "NULL"] {
            assert!(is_missing(t), "{t}");
        }
        assert!(!is_missing("0"));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number(" 2.5 "), Some(2.5));
    }
}
