//! Feature handling: typed columns and the fitted preprocessing pipeline.

pub(crate) mod columns;
pub(crate) mod frame;
pub(crate) mod genetic;
pub(crate) mod pipeline;

pub(crate) use frame::{FeatureSchema, Frame, Kind};
pub(crate) use genetic::{GenotypeModel, GenotypesAs};
pub(crate) use pipeline::{FittedFeature, Pipeline, TransformNotes};
