//! Sign-in. A plain form, so it works the same with and without JavaScript.

use super::layout::QueryError;
use crate::api::console::Login;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <Title text="Sign in · Watershed" />
        <main class="login">
            <h1>"≋ Watershed"</h1>
            <p class="muted">"Stream data platform"</p>
            <QueryError />
            <form method="post" action=Login::url() class="card">
                <label>
                    "User name" <input name="username" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input name="password" type="password" autocomplete="current-password" required />
                </label>
                <button type="submit">"Sign in"</button>
            </form>
        </main>
    }
}
