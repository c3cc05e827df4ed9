//! One integration test binary (links once). Every storage and API test runs on SQLite and on
//! PostgreSQL: the PostgreSQL server comes from `ECOMAP_TEST_PG` (default the local server at
//! 127.0.0.1:5432, user postgres, database test). If it is not reachable the PostgreSQL tests
//! FAIL — they never skip.

mod support;

mod accounts;
mod api;
mod campaigns;
mod cli;
mod coverage;
mod gen;
mod osm;
mod plans;
mod postgis;
mod scoring;
mod scoring_network;
mod storage;
mod sync;
mod tiles;
mod visits;
