//! Personal API tokens (every user) and user accounts (admins).

use super::layout::{field_msg, form_field_errors, ErrorBox, QueryError};
use crate::api::console::{
    list_accounts, my_tokens, CreateMyToken, RevokeMyToken, SetUserDisabled,
};
use crate::domain::{format_millis, DEFAULT_TOKEN_DAYS};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

fn when(ms: Option<i64>, none: &'static str) -> String {
    ms.map_or(none.to_string(), format_millis)
}

/// `/tokens`: the viewer's personal API tokens, with expiry, last use and revocation.
#[component]
pub fn TokensPage() -> impl IntoView {
    let panel = Resource::new(|| (), |_| my_tokens());
    let errors = form_field_errors();
    view! {
        <Title text="API tokens · Watershed" />
        <h1>"Personal API tokens"</h1>
        <p class="muted">
            "For scripts and Schema Registry clients (Bearer, or the password of Basic auth). A token ends when it expires, when you revoke it, and when your password is reset or your account disabled."
        </p>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match panel.await {
                    Ok(p) => {
                        let fresh = p.new_token.map(|t| view! {
                            <div class="card notice" data-testid="new-token">
                                <p>"Your new token, shown this once:"</p>
                                <code>{t}</code>
                            </div>
                        });
                        let rows = p.tokens.into_iter().map(|t| {
                            let live = t.revoked_at.is_none();
                            view! {
                                <tr>
                                    <td>{t.name}</td>
                                    <td><code>{format!("{}…", t.prefix)}</code></td>
                                    <td>{format_millis(t.created_at)}</td>
                                    <td>{when(t.expires_at, "never")}</td>
                                    <td>{when(t.last_used_at, "not yet")}</td>
                                    <td>
                                        {if live {
                                            view! {
                                                <form method="post" action=RevokeMyToken::url()>
                                                    <input type="hidden" name="id" value=t.id.to_string() />
                                                    <button type="submit" class="secondary">"Revoke"</button>
                                                </form>
                                            }.into_any()
                                        } else {
                                            view! { <span class="muted">{format!("revoked {}", when(t.revoked_at, ""))}</span> }.into_any()
                                        }}
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            {fresh}
                            <table class="list" data-testid="tokens">
                                <thead><tr><th>"Name"</th><th>"Token"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
        <form method="post" action=CreateMyToken::url() class="form card">
            <h3>"New token"</h3>
            <label>
                "Name" <input name="name" required placeholder="ci-schema-publisher" />
                {field_msg(&errors, "name")}
            </label>
            <label>
                {format!("Expires in days (empty: {DEFAULT_TOKEN_DAYS})")}
                <input name="days" inputmode="numeric" />
                {field_msg(&errors, "expires_in_days")}
            </label>
            <button type="submit">"Create token"</button>
        </form>
    }
}

/// `/users`: every account, with disabling and enabling (admins).
#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_accounts());
    view! {
        <Title text="Users · Watershed" />
        <h1>"Users"</h1>
        <p class="muted">"Disabling a user ends their sessions and revokes their personal tokens."</p>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => {
                        let rows = list.into_iter().map(|u| {
                            let disabled = u.disabled_at.is_some();
                            view! {
                                <tr>
                                    <td>{u.username.clone()}</td>
                                    <td>{u.role.to_string()}</td>
                                    <td>{u.disabled_at.map_or("active".to_string(), |at| format!("disabled {}", format_millis(at)))}</td>
                                    <td>
                                        <form method="post" action=SetUserDisabled::url()>
                                            <input type="hidden" name="username" value=u.username.clone() />
                                            <input type="hidden" name="disabled" value=(!disabled).to_string() />
                                            <button type="submit" class="secondary">
                                                {if disabled { "Enable" } else { "Disable" }}
                                            </button>
                                        </form>
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="list" data-testid="users">
                                <thead><tr><th>"User"</th><th>"Role"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
