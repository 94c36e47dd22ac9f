//! Writers for results: aligned text tables, CSV and JSON, SVG plots and
//! the model card.

pub mod card;
pub(crate) mod evaluation;
pub mod plots;
pub mod ranked;
pub mod table;

pub use table::{render_csv, render_table, Cell};
