//! Integration tests: the real application on a real database (SQLite by default; set
//! `TONGBAN_TEST_DATABASE_URL=postgres://root@127.0.0.1:5432/postgres` for PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod accounts;
mod applications;
mod at_rest;
mod audit;
mod auth;
mod builders;
mod calendar_admin;
mod cases;
mod catalogue;
mod catalogue_admin;
mod cli;
mod common;
mod demo;
mod duties;
mod errors;
mod hostile_input;
mod jobs;
mod licences;
mod messages;
mod ops;
mod paging;
mod queue;
mod refusals_and_metrics;
mod sessions_and_redirects;
