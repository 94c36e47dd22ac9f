//! Text tables as read from disk: a header and column-major cells, with the
//! source line of every row kept for error messages.

use std::collections::HashMap;

use crate::data::input::{Delimiter, Loaded};
use crate::error::{Error, Location, Result};

/// Cell values that mean "missing" (compared case-insensitively).
pub(crate) const MISSING_TOKENS: [&str; 6] = ["", "na", "nan", "n/a", ".", "null"];

/// True when a (trimmed) cell is one of the missing tokens.
pub(crate) fn is_missing(cell: &str) -> bool {
    if cell.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false; // the usual case: a number
    }
    let c = cell.trim();
    c.is_empty()
        || MISSING_TOKENS[1..]
            .iter()
            .any(|t| c.eq_ignore_ascii_case(t))
}

/// Parses a non-missing cell as a finite number.
pub(crate) fn parse_number(cell: &str) -> Option<f64> {
    let v: f64 = cell.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// The cell with its decimal comma made a point, when it reads as a number
/// written with a decimal comma (`2,6`, `-0,25`, `1,5e-3`; one comma, no
/// point, digits on both sides).
pub(crate) fn decimal_comma_number(cell: &str) -> Option<String> {
    let c = cell.trim();
    let (whole, frac) = c.split_once(',')?;
    let whole = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let frac_digits = frac.split(['e', 'E']).next().unwrap_or("");
    if !digits(whole) || !digits(frac_digits) || frac.contains([',', '.']) {
        return None;
    }
    let point = c.replacen(',', ".", 1);
    parse_number(&point).map(|_| point)
}

/// A hint for a cell that is not a number but looks like one written with a
/// decimal comma (empty otherwise).
pub(crate) fn decimal_comma_hint(cell: &str) -> &'static str {
    if decimal_comma_number(cell).is_some() {
        " (it looks like a number with a decimal comma: pass --decimal comma)"
    } else {
        ""
    }
}

/// The text cells of one column in one buffer (no allocation per cell).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextColumn {
    text: String,
    ends: Vec<usize>,
}

impl TextColumn {
    /// Appends a cell.
    pub(crate) fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// The cell of row `r`.
    pub(crate) fn get(&self, r: usize) -> &str {
        let start = if r == 0 { 0 } else { self.ends[r - 1] };
        &self.text[start..self.ends[r]]
    }

    /// Number of cells.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of text in all cells.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// True when there are no cells.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends every cell of `other`.
    pub(crate) fn append(&mut self, other: &TextColumn) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }

    /// The cells in row order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|r| self.get(r))
    }
}

impl std::ops::Index<usize> for TextColumn {
    type Output = str;

    fn index(&self, r: usize) -> &str {
        self.get(r)
    }
}

impl<S: AsRef<str>> FromIterator<S> for TextColumn {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> TextColumn {
        let mut column = TextColumn::default();
        for cell in cells {
            column.push(cell.as_ref());
        }
        column
    }
}

/// A table of text cells, stored column by column.
#[derive(Debug, Clone)]
pub(crate) struct RawTable {
    /// File name for messages.
    pub(crate) file: String,
    /// Column names, in file order.
    pub(crate) header: Vec<String>,
    /// `columns[c][r]` is the cell of row `r` in column `c`.
    pub(crate) columns: Vec<TextColumn>,
    /// 1-based source line of every data row.
    pub(crate) lines: Vec<u64>,
    /// Column name → first column, built on the first lookup (a wide
    /// table is searched by hash, not scanned once per feature).
    index: std::sync::OnceLock<HashMap<String, usize>>,
}

impl RawTable {
    /// Number of data rows.
    pub(crate) fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// Index of a column by exact name.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        let index = self.index.get_or_init(|| {
            let mut m = HashMap::with_capacity(self.header.len());
            for (c, h) in self.header.iter().enumerate() {
                m.entry(h.clone()).or_insert(c);
            }
            m
        });
        index.get(name).copied()
    }

    /// Index of a required column; the error lists the columns that exist.
    pub(crate) fn require(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| Error::MissingColumns {
            file: self.file.clone(),
            missing: vec![name.to_string()],
            available: self.header.clone(),
            hint: (self.header.len() == 1 && self.header[0].contains(name)).then(|| {
                "the header was read as one field: pass the file's delimiter with --delimiter (comma, semicolon, tab, whitespace or one character)".to_string()
            }),
        })
    }

    /// Location of a cell, for messages.
    pub(crate) fn loc(&self, row: usize, col: usize) -> Location {
        Location::file(&self.file)
            .line(self.lines[row])
            .column(&self.header[col])
    }

    /// Makes every decimal-comma number (`2,6`) a decimal-point one (`2.6`),
    /// leaving other cells as they are (`--decimal comma`).
    pub(crate) fn read_decimal_commas(&mut self) {
        for column in &mut self.columns {
            if !column.text.contains(',') {
                continue;
            }
            let converted: TextColumn = column
                .iter()
                .map(|c| decimal_comma_number(c).unwrap_or_else(|| c.to_string()))
                .collect();
            *column = converted;
        }
    }

    /// Parses a loaded file into a table.
    pub(crate) fn parse(loaded: &Loaded, delimiter: Delimiter) -> Result<RawTable> {
        let file = loaded.name.clone();
        let bytes = &loaded.bytes[..];
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::data(Location::file(&file), "the file is empty"));
        }
        let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if start.starts_with(b"##fileformat=VCF")
            || start.starts_with(b"#CHROM")
            || crate::data::vcf::is_headerless_vcf(start)
        {
            return Err(Error::data(
                Location::file(&file),
                "is a VCF (genotypes), not a table of patients: pass it with --genotypes",
            ));
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

/// True when a carriage return is not followed by a line feed (the csv
/// crate then ends a record there).
fn has_bare_cr(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(i) = memchr::memchr(b'\r', rest) {
        if rest.get(i + 1) != Some(&b'\n') {
            return true;
        }
        rest = &rest[i + 2..];
    }
    false
}

/// `str::trim`, skipping the work for the usual cell that has no
/// surrounding white space.
fn trim(field: &str) -> &str {
    match (field.as_bytes().first(), field.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => field,
        _ => field.trim(),
    }
}

pub(crate) fn utf8<'a>(file: &str, line: u64, field: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(field).map_err(|_| not_utf8(file, line))
}

fn not_utf8(file: &str, line: u64) -> Error {
    Error::data(
        Location::file(file).line(line),
        "the line is not valid UTF-8 text",
    )
}

/// The non-blank lines of a table (1-based line number, bytes without the
/// line ending), for files where a record is exactly one line. As in the
/// csv crate's reading, a line of white space alone is blank unless it holds
/// the delimiter (a line of tabs in a TSV is a record of empty cells).
pub(crate) struct SimpleLines<'a> {
    bytes: &'a [u8],
    delimiter: u8,
    at: usize,
    line: u64,
}

impl<'a> SimpleLines<'a> {
    fn new(bytes: &'a [u8], delimiter: u8) -> SimpleLines<'a> {
        SimpleLines {
            bytes,
            delimiter,
            at: 0,
            line: 0,
        }
    }
}

impl<'a> Iterator for SimpleLines<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        let bytes = self.bytes;
        while self.at < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[self.at..]).map_or(bytes.len(), |i| self.at + i);
            let raw = &bytes[self.at..end];
            self.at = end + 1;
            self.line += 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if !raw.iter().all(u8::is_ascii_whitespace) || raw.contains(&self.delimiter) {
                return Some((self.line, raw));
            }
        }
        None
    }
}

/// When `delimiter` is a byte and the file has no double quote and no bare
/// carriage return, every record is one line split at that byte: returns
/// the delimiter and the lines (after any byte-order mark). `None` means the
/// csv crate's rules are needed.
pub(crate) fn simple_lines(bytes: &[u8], delimiter: Delimiter) -> Option<(u8, SimpleLines<'_>)> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match delimiter {
        Delimiter::Byte(d)
            if d.is_ascii() && d != b'"' && !bytes.contains(&b'"') && !has_bare_cr(bytes) =>
        {
            Some((d, SimpleLines::new(bytes, d)))
        }
        _ => None,
    }
}

/// Splits one line (from [`SimpleLines`]) at `d` into trimmed fields.
pub(crate) fn split_fields<'a>(
    file: &str,
    line: u64,
    raw: &'a [u8],
    d: u8,
    fields: &mut Vec<&'a str>,
) -> Result<()> {
    let text = utf8(file, line, raw)?;
    fields.clear();
    let mut start = 0;
    for (j, &b) in raw.iter().enumerate() {
        if b == d {
            fields.push(trim(text.get(start..j).unwrap_or("")));
            start = j + 1;
        }
    }
    fields.push(trim(text.get(start..).unwrap_or("")));
    Ok(())
}

/// The field count of a table's first line, which every later line must have.
#[derive(Debug, Default)]
pub(crate) struct Width(Option<usize>);

impl Width {
    /// Records the first count; a later line with another count is an error.
    pub(crate) fn check(&mut self, file: &str, line: u64, n: usize) -> Result<()> {
        match self.0 {
            None => self.0 = Some(n),
            Some(w) if w != n => {
                return Err(Error::data(
                    Location::file(file).line(line),
                    if w == 1 {
                        format!("the line has {n} fields but the header has 1: if the file is not separated by the delimiter it was read with, pass --delimiter (comma, semicolon, tab, whitespace or one character)")
                    } else {
                        format!("the line has {n} fields but the header has {w}")
                    },
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// The header's field count, once seen.
    pub(crate) fn get(&self) -> Option<usize> {
        self.0
    }
}

/// Calls `f(line, fields)` for every non-blank line of a table, the header
/// first. Fields are trimmed. The field count of every line is checked
/// against the header's.
pub(crate) fn for_each_record(
    file: &str,
    bytes: &[u8],
    delimiter: Delimiter,
    mut f: impl FnMut(u64, &[&str]) -> Result<()>,
) -> Result<()> {
    let mut bytes = bytes;
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes = &bytes[3..];
    }
    let mut width = Width::default();
    let mut check = |line: u64, n: usize| width.check(file, line, n);
    match delimiter {
        // Without quotes or bare carriage returns a record is one line split
        // at the delimiter: split it directly (the csv crate gives the same
        // records, more slowly).
        Delimiter::Byte(d) if simple_lines(bytes, delimiter).is_some() => {
            let mut fields: Vec<&str> = Vec::new();
            for (line, raw_line) in SimpleLines::new(bytes, d) {
                split_fields(file, line, raw_line, d, &mut fields)?;
                check(line, fields.len())?;
                f(line, &fields)?;
            }
        }
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
                // One UTF-8 check per record; fields split at ASCII
                // delimiters are then valid too.
                let text = utf8(file, line, record.as_slice())?;
                let mut fields: Vec<&str> = Vec::with_capacity(record.len());
                for i in 0..record.len() {
                    // A character split by a delimiter is invalid here even
                    // though the joined record bytes may decode.
                    let field = record
                        .range(i)
                        .and_then(|r| text.get(r))
                        .ok_or_else(|| not_utf8(file, line))?;
                    fields.push(trim(field));
                }
                f(line, &fields)?;
            }
        }
        Delimiter::Whitespace => {
            let mut line = 0u64;
            let mut at = 0usize;
            while at < bytes.len() {
                let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
                let raw_line = &bytes[at..end];
                at = end + 1;
                line += 1;
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
    let mut columns: Vec<TextColumn> = Vec::new();
    let mut lines = Vec::new();
    for_each_record(file, bytes, delimiter, |line, fields| {
        if header.is_none() {
            header = Some(fields.iter().map(|s| s.to_string()).collect());
            columns = vec![TextColumn::default(); fields.len()];
        } else {
            for (c, v) in fields.iter().enumerate() {
                columns[c].push(v);
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
        index: std::sync::OnceLock::new(),
    })
}

/// A fast, non-cryptographic hasher for the ID index (the multiply-rotate
/// scheme of rustc's FxHash). Inputs are the user's own files, so
/// resistance to crafted collisions is not needed; a collision only costs
/// the map a comparison (the duplicate check of a ranking uses SipHash).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hasher state for maps keyed by patient IDs.
pub(crate) type IdBuild = std::hash::BuildHasherDefault<IdHasher>;

/// Patient ID → row.
pub(crate) type IdMap<'a> = HashMap<&'a str, usize, IdBuild>;

/// Builds the ID index of a table: every row's ID, checking for empty and
/// duplicate IDs (the error names both lines).
pub(crate) fn id_index(table: &RawTable, id_col: usize) -> Result<IdMap<'_>> {
    let ids = &table.columns[id_col];
    if let Some(r) = ids.iter().position(is_missing) {
        return Err(Error::data(table.loc(r, id_col), "the patient ID is empty"));
    }
    index_ids(&table.file, &table.header[id_col], ids.iter(), &table.lines)
}

/// Maps every ID to its row; a duplicate is an error naming both lines.
pub(crate) fn index_ids<'a>(
    file: &str,
    column: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
    lines: &[u64],
) -> Result<IdMap<'a>> {
    let mut index = IdMap::with_capacity_and_hasher(ids.len(), Default::default());
    for (r, id) in ids.enumerate() {
        if let Some(first) = index.insert(id, r) {
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
        Loaded::from_text(name, text)
    }

    #[test]
    fn parses_csv_with_bom_and_crlf() {
        let l = load("a.csv", "\u{feff}id,x\r\nA,1\r\nB,NA\r\n");
        let t = RawTable::parse(&l, Delimiter::Byte(b',')).unwrap();
        assert_eq!(t.header, vec!["id", "x"]);
        assert_eq!(t.columns[1].iter().collect::<Vec<_>>(), vec!["1", "NA"]);
        assert_eq!(t.lines, vec![2, 3]);
        let l = load("b.csv", "id,x\n\"A\nB\",1\n\nC,2\n");
        let t = RawTable::parse(&l, Delimiter::Byte(b',')).unwrap();
        assert_eq!(t.lines, vec![2, 5]);
        assert_eq!(t.columns[0].iter().collect::<Vec<_>>(), vec!["A\nB", "C"]);
    }

    /// Files without quotes are split directly; a quote anywhere sends the
    /// file through the csv crate. Both must give the same table.
    #[test]
    fn direct_split_matches_the_csv_crate() {
        let body = "A, 1 ,x\r\n\n  \nB,,y\nC,3,\n";
        let direct = RawTable::parse(
            &load("a.csv", &format!("id,n,s\n{body}")),
            Delimiter::Byte(b','),
        )
        .unwrap();
        let quoted = RawTable::parse(
            &load("a.csv", &format!("\"id\",n,s\n{body}")),
            Delimiter::Byte(b','),
        )
        .unwrap();
        assert_eq!(direct.header, quoted.header);
        assert_eq!(direct.columns, quoted.columns);
        assert_eq!(direct.lines, quoted.lines);
        assert_eq!(direct.lines, vec![2, 5, 6]);
        assert_eq!(
            direct.columns[1].iter().collect::<Vec<_>>(),
            vec!["1", "", "3"]
        );
        // A bare carriage return ends a record for the csv crate: same here.
        let cr =
            RawTable::parse(&load("a.csv", "id,n\rA,1\rB,2\n"), Delimiter::Byte(b',')).unwrap();
        assert_eq!(cr.columns[0].iter().collect::<Vec<_>>(), vec!["A", "B"]);
        // A line of delimiters alone is a record of empty cells (TSV), a
        // vertical tab is trimmed, on both paths.
        for header in ["id\tn", "\"id\"\tn"] {
            let t = RawTable::parse(
                &load("a.tsv", &format!("{header}\nA\t1\n\t\n\u{b}B\t2\n")),
                Delimiter::Byte(b'\t'),
            )
            .unwrap();
            assert_eq!(
                t.columns[0].iter().collect::<Vec<_>>(),
                vec!["A", "", "B"],
                "{header}"
            );
            assert_eq!(t.lines, vec![2, 3, 4]);
        }
        // Invalid UTF-8, and a character cut in two by a delimiter, name
        // the line on both paths.
        for bad in [&b"B,\xff\n"[..], b"B\xc3,\xa9\n"] {
            for header in ["id,n", "\"id\",n"] {
                let mut bytes = format!("{header}\nA,1\n").into_bytes();
                bytes.extend_from_slice(bad);
                let l = Loaded {
                    bytes,
                    ..load("a.csv", "")
                };
                let e = RawTable::parse(&l, Delimiter::Byte(b','))
                    .unwrap_err()
                    .to_string();
                assert_eq!(
                    e, "a.csv, line 3: the line is not valid UTF-8 text",
                    "{header}"
                );
            }
        }
    }

    #[test]
    fn parses_plink_raw() {
        let l = load(
            "g.raw",
            "FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_G\nF1 P1 0 0 1 -9 0 NA\nF2  P2 0 0 2 -9\t2 1\n",
        );
        let t = RawTable::parse(&l, Delimiter::Whitespace).unwrap();
        assert_eq!(t.header.len(), 8);
        assert_eq!(t.columns[1].iter().collect::<Vec<_>>(), vec!["P1", "P2"]);
        assert_eq!(t.columns[7].iter().collect::<Vec<_>>(), vec!["NA", "1"]);
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
    fn decimal_commas() {
        for (cell, want) in [
            ("2,6", Some("2.6")),
            ("-0,25", Some("-0.25")),
            (" 1,5e-3 ", Some("1.5e-3")),
            ("1.234,5", None),
            ("1,2,3", None),
            (",5", None),
            ("5,", None),
            ("a,b", None),
            ("2.6", None),
        ] {
            assert_eq!(decimal_comma_number(cell).as_deref(), want, "{cell}");
        }
        let mut t = RawTable::parse(
            &load("a.csv", "id;x;y\n1;2,6;a,b\n2;3;c\n"),
            Delimiter::Byte(b';'),
        )
        .unwrap();
        t.read_decimal_commas();
        assert_eq!(t.columns[1].iter().collect::<Vec<_>>(), ["2.6", "3"]);
        assert_eq!(t.columns[2].iter().collect::<Vec<_>>(), ["a,b", "c"]);
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
