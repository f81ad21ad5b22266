//! Integration tests: one binary; every test runs on SQLite and, when
//! `WATERSHED_TEST_POSTGRES_URL` is set, again on a fresh PostgreSQL database.
#![recursion_limit = "512"]

mod access;
mod api;
mod approvals;
mod clusters;
mod console;
#[path = "../support/kafka_drill.rs"]
mod drill;
mod durability;
mod failover;
mod harness;
mod health;
mod kafka;
mod lineage;
mod matrix;
mod notify;
mod peek;
mod rocketmq;
#[path = "../support/rocketmq.rs"]
mod rocketmq_cluster;
mod schemas;
mod sdk;
mod search;
mod secure;
mod sso;
mod storage;
mod trust;
mod walkthrough;
