//! The two ways in: server functions for the console and the `/api/v1` REST API.
//! Both are thin and call the same services.

#[cfg(feature = "ssr")]
pub mod actor;
pub mod console;
#[cfg(feature = "ssr")]
pub mod registry;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod sso;
