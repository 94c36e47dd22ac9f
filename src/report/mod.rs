//! Writers for results: aligned text tables, CSV and JSON, SVG plots and
//! the model card.

pub(crate) mod card;
pub(crate) mod effects;
pub(crate) mod evaluation;
pub(crate) mod plots;
pub(crate) mod ranked;
pub(crate) mod table;

pub(crate) use table::{render_csv, render_table, Cell};
