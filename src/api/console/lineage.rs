//! Console server functions for lineage: the laid-out page and a queue's strip.
// The page's URL has nine parameters, and the server macro's client half repeats them.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{ImpactView, LineageLanding, LineagePage, LineageStrip};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The lineage page and its drawing as SVG markup (drawn on the server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageScreen {
    pub page: LineagePage,
    pub svg: String,
}

/// The lineage page for a node, as its URL asks (see [`crate::domain::LineagePageInput`]).
#[server(prefix = "/console")]
pub async fn draw_lineage(
    node: String,
    direction: Option<String>,
    depth: Option<String>,
    days: Option<String>,
    stale: Option<bool>,
    open: String,
    expand: String,
    selected: String,
    edge: String,
) -> Result<LineageScreen, AppError> {
    let input = crate::domain::LineagePageInput {
        query: crate::domain::LineageQueryInput {
            node,
            direction,
            depth,
            days,
            stale,
        },
        open,
        expand,
        selected,
        edge,
    };
    let call = Call::new().await?;
    call.actor()?;
    let (page, svg) = crate::server::services::lineage::page(
        call.state.store.as_ref(),
        &call.state.lineage,
        &call.state.kafka.monitor,
        &call.state.sensitive_tag,
        &input,
    )
    .await?;
    Ok(LineageScreen { page, svg })
}

/// The lineage landing page and its folded graph as SVG markup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageLandingScreen {
    pub landing: LineageLanding,
    pub svg: String,
}

/// The lineage landing page: a search, the graph folded by project, the week's digest.
#[server(prefix = "/console")]
pub async fn lineage_overview(
    q: String,
    days: Option<String>,
    expand: String,
) -> Result<LineageLandingScreen, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let (landing, svg) = crate::server::services::lineage::landing(&cx, &q, days, &expand).await?;
    Ok(LineageLandingScreen { landing, svg })
}

/// Everything downstream of a queue and the owners to tell (the schema page shows it beside
/// the publish form).
#[server(prefix = "/console")]
pub async fn queue_impact(project: String, queue: String) -> Result<ImpactView, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let input = crate::domain::LineageQueryInput {
        node: crate::domain::node_key(crate::domain::NodeKind::Queue, &project, &queue),
        ..Default::default()
    };
    Ok(crate::server::services::lineage::impact(
        call.state.store.as_ref(),
        &call.state.lineage,
        &call.state.sensitive_tag,
        &input,
    )
    .await?)
}

/// A queue's direct writers and readers.
#[server(prefix = "/console")]
pub async fn queue_lineage(project: String, queue: String) -> Result<LineageStrip, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let (store, lineage) = (call.state.store.as_ref(), &call.state.lineage);
    call.kept("lineage_strip", &format!("{project}/{queue}"), || {
        crate::server::services::lineage::strip(store, lineage, &project, &queue)
    })
    .await
}
