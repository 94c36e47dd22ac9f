//! responder: train and score therapy-response models for precision
//! psychiatry research.
//!
//! The flow is `data` (read and join patient files) → `features` (the fitted
//! preprocessing pipeline) → `models` (one classifier per therapy arm) →
//! `eval` / `rank` / `report`. The binary in `main.rs` is a thin wrapper over
//! [`cli::run`].

#![warn(missing_docs)]

pub mod bundle;
pub mod cli;
pub mod data;
pub mod error;
pub mod eval;
pub mod features;
pub mod models;
pub(crate) mod notes;
pub mod output;
pub mod ranking;
pub mod report;
pub mod simulate;
pub(crate) mod stats;
pub(crate) mod training;

pub use error::{Error, Result};
