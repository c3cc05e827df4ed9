//! ecomap: maps a bank outlet's local-life ecosystem.
//!
//! Data flows one way: `ingest` → `storage` → `index` → domain models → `http` / CLI → browser.

pub mod app;
pub mod auth;
pub mod campaign;
pub mod coverage;
pub mod demo;
pub mod domain;
pub mod export;
pub mod features;
pub mod gen;
pub mod geo;
pub mod http;
pub mod index;
pub mod ingest;
pub mod network;
pub mod ranking;
pub mod scoring;
pub mod storage;
pub mod sync;
pub mod tiles;
pub mod visits;
pub mod visits_app;
