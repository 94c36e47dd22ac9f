//! Feature handling: typed columns and the fitted preprocessing pipeline.

pub mod columns;
pub mod frame;
pub mod genetic;
pub mod pipeline;

pub use frame::{FeatureSchema, Frame, Kind};
pub use genetic::{GenotypeModel, GenotypesAs};
pub use pipeline::{FittedFeature, Pipeline, TransformNotes};
