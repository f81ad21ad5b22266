//! `watershed`: wiring only. Config → database → migrations → the chosen subcommand.
#![recursion_limit = "512"]

use anyhow::Context;
use clap::Parser;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;
use watershed::domain::{Role, UserView};
use watershed::server::config::{Cli, Command, Common, ServeArgs, UserCommand};
use watershed::server::crypto::SecretBox;
use watershed::server::db::{self, Store};
use watershed::server::services::{accounts, sso, Ctx};
use watershed::server::state::AppState;
use watershed::server::{demo, search, web, webhooks};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::Loadgen(args)) = cli.command {
        // Talks to a running server over HTTP; needs no database.
        return watershed::server::loadgen::run(args).await;
    }
    if matches!(
        cli.command,
        None | Some(Command::Serve(_)) | Some(Command::Demo(_))
    ) {
        // Refuse a missing shared key before touching the database.
        let c = &cli.common;
        SecretBox::for_database(c.secret_key.as_deref(), &c.data_dir, &c.database_url())?;
    }
    let store = open(&cli.common).await?;
    // No subcommand means `serve` with its flags from the environment.
    let command = cli
        .command
        .or_else(|| Cli::parse_from(["watershed", "serve"]).command)
        .context("no command")?;
    match command {
        Command::Serve(args) => serve(&cli.common, store, *args).await,
        Command::Loadgen(_) => unreachable!("handled above"),
        Command::Migrate => {
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::User(cmd) => user(store.as_ref(), cmd).await,
        Command::Reindex => {
            let (index, mut follower) =
                search::open(Some(&cli.common.index_dir()), store.clone()).await?;
            let n = follower.rebuild(true).await?;
            let (docs, segments) = index.stats();
            println!("indexed {n} queues ({docs} documents in {segments} segments)");
            Ok(())
        }
        Command::Demo(args) => {
            let c = &cli.common;
            let secrets =
                SecretBox::for_database(c.secret_key.as_deref(), &c.data_dir, &c.database_url())?;
            let actor = demo_actor(store.as_ref()).await?;
            let cx = Ctx::offline(store.clone(), Arc::new(secrets), actor)?;
            demo::seed(&cx, args.queues, true).await?;
            println!("seeded {} demo queues", args.queues);
            Ok(())
        }
    }
}

async fn open(common: &Common) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&common.data_dir)
        .with_context(|| format!("creating the data dir {}", common.data_dir.display()))?;
    let url = common.database_url();
    let store = db::connect(&url)
        .await
        .with_context(|| format!("opening {}", watershed::server::config::redact_url(&url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Demo data is created in the name of the first admin, who becomes an owner of every demo project.
async fn demo_actor(store: &dyn Store) -> anyhow::Result<UserView> {
    store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.role == Role::Admin)
        .context("no admin account: start `watershed serve` once, or add one with `watershed user add NAME --role admin`")
}

/// Catalogues up to this many queues get their search index built before the server answers.
const BUILD_BEFORE_SERVING_UP_TO: i64 = 10_000;

async fn serve(common: &Common, store: Arc<dyn Store>, args: ServeArgs) -> anyhow::Result<()> {
    let secrets = SecretBox::for_database(
        common.secret_key.as_deref(),
        &common.data_dir,
        &common.database_url(),
    )?;
    if let Some(password) =
        accounts::ensure_admin(store.as_ref(), args.admin_password.as_deref()).await?
    {
        println!("\n  Created the first account: admin / {password}\n  (shown once; change it with `watershed user set-password admin`)\n");
    }
    if args.seed_demo && store.list_projects().await?.is_empty() {
        let actor = demo_actor(store.as_ref()).await?;
        let cx = Ctx::offline(store.clone(), Arc::new(secrets.clone()), actor)?;
        demo::seed(&cx, 50, false).await?;
        tracing::info!("seeded the demo dataset");
    }
    let options = LeptosOptions::builder()
        .output_name("watershed")
        .site_root(args.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .build();
    // A missing index is built in the background, so the console answers at once; a small
    // catalogue (well under a second) is built first, so a fresh install never shows a data
    // map that is still filling.
    let (index, mut follower) = search::open(Some(&common.index_dir()), store.clone()).await?;
    if store.list_queues(&Default::default()).await?.total <= BUILD_BEFORE_SERVING_UP_TO {
        follower.build_if_needed().await?;
    }
    let mut state = AppState::with_sdk(
        store,
        secrets,
        options,
        args.secure_cookies,
        index,
        args.sdk_settings(),
    );
    watershed::server::background::start(
        &state,
        watershed::server::background::Jobs {
            follower: Some(follower),
            grant_sweeper: Some(args.request_reminder_days),
            webhooks: Some((
                webhooks::WebhookPolicy {
                    allow: args.webhook_allow.clone(),
                    ..Default::default()
                },
                args.notice_retention_days.max(1),
            )),
            alerts: Some(match &args.smtp_url {
                Some(url) => Some(
                    watershed::server::health::mail::Mailer::new(url, &args.smtp_from)
                        .context("alert e-mail")?,
                ),
                None => None,
            }),
        },
    );
    // Tags are stored lowercase; a setting of `PII` must still match them.
    state.sensitive_tag = args.sensitive_tag.trim().to_lowercase();
    state.webhook_allow = args.webhook_allow.clone();
    state.sign_in = Arc::new(watershed::server::signin::SignInGuard::new(
        args.sign_in_per_minute,
    ));
    state.local_sign_in = sso::LocalSignIn::parse(&args.sso.local_sign_in)
        .map_err(|e| anyhow::anyhow!("WATERSHED_LOCAL_SIGN_IN: {e}"))?;
    if let Some(settings) = args.sso.settings()? {
        let provider = Arc::new(
            watershed::server::sso::Sso::new(settings).context("single sign-on settings")?,
        );
        sso::record_mapping(state.store.as_ref(), &provider).await?;
        tracing::info!(issuer = %provider.settings.issuer, "single sign-on configured");
        state.sso = Some(provider);
        tokio::spawn(sso::check_forever(state.clone()));
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let collector = state.sdk.collector.clone();
    axum::serve(
        web::no_delay(listener),
        web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // Reports already taken are written before the process ends.
    collector.shutdown().await;
    tracing::info!("collector drained; stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn password_from_env_or_generated() -> (String, bool) {
    match std::env::var("WATERSHED_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (accounts::random_token()[..20].to_string(), true),
    }
}

async fn user(store: &dyn Store, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { username, role } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use admin, approver, developer or viewer")
            })?;
            let (password, generated) = password_from_env_or_generated();
            accounts::create_user(store, None, &username, &password, role).await?;
            println!("added {username} ({role})");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::SetPassword { username } => {
            let (password, generated) = password_from_env_or_generated();
            accounts::set_password(store, None, &username, &password).await?;
            println!("password set for {username}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Role { username, role } => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role:?}"))?;
            accounts::set_role(store, None, &username, role).await?;
            println!("{username} is now {role}");
        }
        UserCommand::Token {
            username,
            name,
            days,
        } => {
            let (view, token) =
                accounts::issue_token_for(store, &username, &name, Some(days)).await?;
            eprintln!(
                "personal API token {:?} for {username}, expires {}",
                view.name,
                watershed::domain::format_millis(view.expires_at.unwrap_or_default())
            );
            println!("{token}");
        }
    }
    Ok(())
}
