//! Components and pages. No SQL and no business rules: pages call server functions.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod charts;
pub mod clusters;
pub mod failover;
pub mod health;
pub mod layout;
pub mod lineage;
pub mod login;
pub mod notify;
pub mod peek;
pub mod projects;
pub mod queues;
pub mod schemas;
pub mod search;
