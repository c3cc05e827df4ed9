//! ecomap: maps a bank outlet's local-life ecosystem.
//!
//! Data flows one way: `ingest` → `storage` → `index` → domain models → `http` / CLI → browser.

pub mod domain;
pub mod gen;
pub mod geo;
pub mod index;
pub mod ingest;
pub mod storage;
