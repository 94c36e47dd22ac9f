//! Feature handling: typed columns and the fitted preprocessing pipeline.

pub(crate) mod columns;
pub(crate) mod frame;
pub(crate) mod genotype;
pub(crate) mod pipeline;

pub(crate) use frame::{FeatureSchema, Frame, Kind};
pub(crate) use genotype::{GenotypeModel, GenotypesAs};
pub(crate) use pipeline::{FittedFeature, Pipeline, TransformNotes};
