//! Integration tests of the `responder` binary: one test binary (so a
//! change to `src/` relinks once), one module per subcommand.

#![allow(dead_code)]

mod common;
mod eval_common;

mod algorithms;
mod compare;
mod dr_learner;
mod effects;
mod evaluate;
mod explain;
mod genetics;
mod honesty;
mod inspect;
mod policy;
mod readers;
mod readme;
mod report;
mod safety;
mod score;
mod simulate;
mod split;
mod tamper;
mod train;
