//! Tongban (通办): a district's 一网通办 government services platform.
//!
//! The layers are crates, dependencies pointing down only (`docs/architecture.md`):
//! `tongban-domain` (pure rules) → `tongban-store` (SQL) → `tongban-app` (use cases, each checking
//! permissions itself) → `tongban-web` (axum routers per audience), with `tongban-crypto` (the
//! national algorithms) beside the store. This crate is the binary's: `server`, `cli`, `jobs`
//! and `demo` wire the layers together. The layers are re-exported under their short names for
//! the binary, the tests and the benches.

pub use tongban_app as app;
pub use tongban_app::clock;
pub use tongban_crypto as crypto;
pub use tongban_crypto::{signing, sm4x};
pub use tongban_domain as domain;
pub use tongban_store as store;
pub use tongban_web as web;

pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_cases;
pub mod jobs;
pub mod server;
pub mod telemetry;
