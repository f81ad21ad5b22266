//! Everything that runs only on the server.

pub mod auth;
pub mod background;
pub mod collector;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod health;
pub mod kafka;
pub mod lineage;
pub mod loadgen;
pub mod memo;
pub mod peek;
pub mod schema;
pub mod sdk;
pub mod search;
pub mod services;
pub mod signin;
pub mod sso;
pub mod state;
pub mod web;
pub mod webhooks;
