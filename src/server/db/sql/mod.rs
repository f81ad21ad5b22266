//! The SQL of every feature, written once as plain Rust and compiled once per backend: each
//! backend module (`sqlite.rs`, `postgres.rs`) includes this directory as its child `sql`, and
//! every file here reaches that backend's `backend::Db` (its sqlx database) and `backend::This`
//! (its store type) through `super::backend`. Placeholders are `$n`, which both accept.

use super::backend;

mod access;
mod accounts;
mod alerts;
mod catalog;
mod collector;
mod failover;
mod feed;
mod kafka;
mod lineage;
mod notify;
mod schemas;
mod sso;
mod store;
mod trust;
