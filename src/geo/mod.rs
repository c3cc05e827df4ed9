//! Coordinate systems and geometry helpers used at ecomap's edges.

pub mod crs;
