//! Tongban (通办): a district's 一网通办 government services platform.
//!
//! Layers, dependencies pointing down only: `domain` (pure rules) → `store` (SQL) → `app` (use
//! cases, each checking permissions itself) → `web` (axum routers per audience); `jobs` runs the
//! background work. `server`, `cli` and `demo` wire them together for the binary.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod demo_cases;
pub mod domain;
pub mod jobs;
pub mod server;
pub mod signing;
pub mod sm4x;
pub mod store;
pub mod telemetry;
pub mod web;
