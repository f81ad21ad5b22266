//! Sign-in. A plain form and a plain link, so it works the same with and without JavaScript.

use super::layout::QueryError;
use crate::api::console::{sign_in_options, Login};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| sign_in_options());
    // Where the user was going, kept through the provider's round trip.
    let next = use_query_map()
        .read_untracked()
        .get("next")
        .unwrap_or_default();
    let start = format!(
        "/auth/oidc/start?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .finish()
    );
    view! {
        <Title text="Sign in · Watershed" />
        <main class="login">
            <h1>"≋ Watershed"</h1>
            <p class="muted">"Stream data platform"</p>
            <QueryError />
            <Suspense fallback=|| ()>
                {move || {
                    options
                        .get()
                        .and_then(Result::ok)
                        .and_then(|o| {
                            let admins_only = o.admins_only;
                            o.provider
                                .map(|name| {
                                    view! {
                                        <div class="card sso">
                                            <a class="button" href=start.clone()>
                                                {format!("Sign in with {name}")}
                                            </a>
                                            {admins_only
                                                .then(|| {
                                                    view! {
                                                        <p class="muted">
                                                            "Password sign-in below is for administrators only."
                                                        </p>
                                                    }
                                                })}
                                        </div>
                                    }
                                })
                        })
                }}
            </Suspense>
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
