//! Writers for results: aligned text tables, CSV and JSON.

pub mod table;

pub use table::{render_csv, render_table, Cell};
