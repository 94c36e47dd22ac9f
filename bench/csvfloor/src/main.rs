//! `csvfloor FILE...`: read each CSV with `csv::Reader::read_byte_record`
//! (one reused `ByteRecord`, no per-cell allocation), count rows and fields,
//! print the counts. Used by bench/perf.sh as the "parse floor" of `score`.
use std::io::BufReader;

fn main() {
    let mut total_rows = 0u64;
    let mut total_fields = 0u64;
    for path in std::env::args().skip(1) {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let mut rec = csv::ByteRecord::new();
        let (mut rows, mut fields) = (0u64, 0u64);
        while rdr.read_byte_record(&mut rec).unwrap_or_else(|e| panic!("{path}: {e}")) {
            rows += 1;
            fields += rec.len() as u64;
        }
        println!("{path}: {rows} rows, {fields} fields");
        total_rows += rows;
        total_fields += fields;
    }
    println!("total: {total_rows} rows, {total_fields} fields");
}
