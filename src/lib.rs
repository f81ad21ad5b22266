//! Watershed: a self-hosted stream data platform.
#![recursion_limit = "512"]

pub mod api;
pub mod app;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

/// Entry point of the browser bundle. Pages are rendered on the server; only the interactive
/// islands in them (`#[island]` components) are hydrated, which keeps the bundle small.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
