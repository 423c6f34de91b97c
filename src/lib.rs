//! Wrong Labels: the experiments of "Learning from Incorrectly Labeled Data" (Wallace, Distill
//! 2019) in burn, running the same natively and in a browser.

pub mod attack;
pub mod data;
pub mod experiments;
pub mod host;
pub mod models;
pub mod parallel;
pub mod replay;
pub mod report;
pub mod train;
#[cfg(target_family = "wasm")]
pub mod web;
