//! Ranking scored patients: each patient's best therapy and its advantage
//! over the runner-up, scoring files into a ranking (streamed in blocks
//! when the files allow), and the ranking itself in bounded memory
//! (sorted runs spilled to temporary files and merged).

pub(crate) mod best;
pub(crate) mod indexed;
pub(crate) mod score;
pub(crate) mod spill;

pub(crate) use best::{best_and_advantage, RankedRow};
pub(crate) use score::{rank_cross_fitted, score_files, ScoreFiles};
pub(crate) use spill::{Ranked, Ranker, DEFAULT_SPILL_ROWS};
