//! responder: train and score therapy-response models for precision
//! psychiatry research.
//!
//! The layers, each importing only those above it in this list:
//!
//! - `stats`, `notes`, `error`, `output`: numeric helpers, messages,
//!   errors, atomic output files;
//! - `data`: reading and joining patient files (tables, genotypes, target
//!   rules); no knowledge of models;
//! - `features`: typed feature columns, the fitted pipeline, genotype
//!   features (PRS, PCs);
//! - `models`: the Classifier trait and one file per algorithm;
//! - `bundle`: the persisted model format and its validation;
//! - `training`: cohort assembly, the one cross-validation loop, `auto`,
//!   learner strategies, `compare` — what writes a bundle;
//! - `eval`: metrics, bootstrap, calibration, decision curves, applying a
//!   bundle, recommendation evaluation;
//! - `ranking`: best therapy and advantage, scoring files into a ranking in
//!   bounded memory;
//! - `report`: tables, CSV/JSON writers, plots, the model card;
//! - `simulate`: the synthetic cohort generator;
//! - `cli`: one file per subcommand (clap args → a validated configuration
//!   → one call into the layers → rendering).
//!
//! The binary in `main.rs` is a thin wrapper over [`cli::run`].

#![warn(missing_docs)]

pub(crate) mod bundle;
pub mod cli;
pub(crate) mod data;
pub(crate) mod effects;
pub mod error;
pub(crate) mod eval;
pub(crate) mod features;
pub(crate) mod memory;
pub(crate) mod models;
pub(crate) mod notes;
pub(crate) mod output;
pub(crate) mod ranking;
pub(crate) mod report;
pub(crate) mod simulate;
pub(crate) mod stats;
pub(crate) mod training;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod reader_tests;

pub use error::{Error, Result};
