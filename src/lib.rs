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
pub mod trained;
#[cfg(target_family = "wasm")]
pub mod web;

/// The backend's random generator (initialization, dropout) is one per process, so unit tests
/// that draw from it while another seeds and compares would see each other's draws: they take
/// turns through this lock.
#[cfg(test)]
pub(crate) fn rng_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}
