//! Field visits (issue 7): planning outlet staff's merchant visits (`plan`, with opening hours
//! in `hours`) and the outcomes they record, from which a merchant's pipeline status follows
//! (`outcome`). Models only: no HTTP, no SQL.

pub mod agenda;
pub mod hours;
pub mod outcome;
pub mod params;
pub mod plan;
mod solve;
