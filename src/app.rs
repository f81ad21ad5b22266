//! The HTML shell, the root component and the routes.

use crate::api::console::me;
use crate::ui::{
    access::{ApplicationPage, RequestPage, RequestsPage},
    accounts::{TokensPage, UsersPage},
    audit::AuditPage,
    clusters::{ClusterEditPage, ClusterNewPage, ClusterPage, ClustersPage},
    layout::{Layout, NotFound, UserResource},
    lineage::LineagePage,
    login::LoginPage,
    notify::NotificationsPage,
    peek::QueueMessagesPage,
    projects::{ProjectNewPage, ProjectPage, ProjectsPage},
    queues::{QueueEditPage, QueueNewPage, QueuePage},
    schemas::SchemaPage,
    search::DataMapPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The console. Pages stream in order, so every page is complete HTML without JavaScript.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(UserResource(Resource::new(|| (), |_| me())));
    view! {
        <Stylesheet id="leptos" href="/pkg/watershed.css" />
        <Title text="Watershed" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::InOrder />
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=DataMapPage ssr=SsrMode::InOrder />
                    <Route path=path!("projects") view=ProjectsPage ssr=SsrMode::InOrder />
                    <Route path=path!("projects/new") view=ProjectNewPage ssr=SsrMode::InOrder />
                    <Route path=path!("projects/:name") view=ProjectPage ssr=SsrMode::InOrder />
                    <Route path=path!("clusters") view=ClustersPage ssr=SsrMode::InOrder />
                    <Route path=path!("clusters/new") view=ClusterNewPage ssr=SsrMode::InOrder />
                    <Route path=path!("clusters/:name") view=ClusterPage ssr=SsrMode::InOrder />
                    <Route path=path!("clusters/:name/edit") view=ClusterEditPage ssr=SsrMode::InOrder />
                    <Route path=path!("queues/new") view=QueueNewPage ssr=SsrMode::InOrder />
                    <Route path=path!("queues/:project/:name") view=QueuePage ssr=SsrMode::InOrder />
                    <Route path=path!("queues/:project/:name/edit") view=QueueEditPage ssr=SsrMode::InOrder />
                    <Route path=path!("queues/:project/:name/schema") view=SchemaPage ssr=SsrMode::InOrder />
                    <Route path=path!("queues/:project/:name/messages") view=QueueMessagesPage ssr=SsrMode::InOrder />
                    <Route path=path!("lineage") view=LineagePage ssr=SsrMode::InOrder />
                    <Route path=path!("requests") view=RequestsPage ssr=SsrMode::InOrder />
                    <Route path=path!("requests/:id") view=RequestPage ssr=SsrMode::InOrder />
                    // Async: the page clears the one-time token cookie in its response headers.
                    <Route
                        path=path!("applications/:project/:name")
                        view=ApplicationPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("notifications") view=NotificationsPage ssr=SsrMode::InOrder />
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::InOrder />
                    <Route path=path!("tokens") view=TokensPage ssr=SsrMode::InOrder />
                    <Route path=path!("users") view=UsersPage ssr=SsrMode::InOrder />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
