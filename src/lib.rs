//! Watershed: a self-hosted stream data platform.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

/// Entry point of the browser bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
