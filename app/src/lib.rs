//! BikriAgent's pages, rendered on the server only.
//!
//! There is no WebAssembly and no JavaScript: every page is plain HTML, every
//! form posts to a server function and is answered with a redirect, so the
//! Content-Security-Policy can forbid all script.

pub mod account_fns;
mod account_pages;
pub mod assets;
pub mod catalog_fns;
pub(crate) mod catalog_pages;
pub mod channel_fns;
mod channel_pages;
pub mod forms;
mod gate;
pub mod inbox_fns;
mod inbox_pages;
mod layout;
mod pages;
mod raw_text;
mod security_pages;
pub mod staff_fns;
mod staff_pages;
pub mod web;

use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

pub use layout::error_document;

/// The whole HTML document around the app.
pub fn shell() -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="stylesheet" href=assets::url("main.css")/>
                <link rel="icon" type="image/svg+xml" href=assets::url("favicon.svg")/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The router of every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <layout::Header/>
            <main id="main">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Landing/>
                    <Route path=path!("/signup") view=account_pages::SignupPage/>
                    <Route path=path!("/login") view=account_pages::LoginPage/>
                    <Route path=path!("/verify-email") view=account_pages::VerifyEmailPage/>
                    <Route path=path!("/dashboard") view=account_pages::DashboardPage/>
                    <Route path=path!("/suspended") view=account_pages::SuspendedPage/>
                    <Route path=path!("/forgot-password") view=security_pages::ForgotPasswordPage/>
                    <Route path=path!("/reset-password") view=security_pages::ResetPasswordPage/>
                    <Route path=path!("/account/security") view=security_pages::AccountSecurityPage/>
                    <Route path=path!("/staff") view=|| view! { <gate::StaffOnly><security_pages::StaffHomePage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/totp") view=|| view! { <gate::StaffPasswordOnly><security_pages::StaffTotpPage/></gate::StaffPasswordOnly> }/>
                    <Route path=path!("/business") view=|| view! { <gate::OwnerOnly><catalog_pages::BusinessPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/catalog") view=|| view! { <gate::OwnerOnly><catalog_pages::ProductListPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/catalog/new") view=|| view! { <gate::OwnerOnly><catalog_pages::NewProductPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/catalog/import") view=|| view! { <gate::OwnerOnly><catalog_pages::ImportPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/catalog/import/:id") view=|| view! { <gate::OwnerOnly><catalog_pages::ImportPreviewPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/catalog/:id") view=|| view! { <gate::OwnerOnly><catalog_pages::EditProductPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/rules") view=|| view! { <gate::OwnerOnly><catalog_pages::RulesPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/channels") view=|| view! { <gate::OwnerOnly><channel_pages::ChannelsPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/channels/connect") view=|| view! { <gate::OwnerOnly><channel_pages::ConnectPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/meta/deletion-status") view=channel_pages::DeletionStatusPage/>
                    <Route path=path!("/staff/channels") view=|| view! { <gate::StaffOnly><channel_pages::StaffChannelsPage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/owners") view=|| view! { <gate::StaffOnly><staff_pages::StaffOwnersPage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/owners/:id") view=|| view! { <gate::StaffOnly><staff_pages::StaffOwnerPage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/owners/:id/cases/:case") view=|| view! { <gate::StaffOnly><staff_pages::StaffCasePage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/audit") view=|| view! { <gate::StaffOnly><staff_pages::StaffAuditPage/></gate::StaffOnly> }/>
                    <Route path=path!("/staff/kill-switch") view=|| view! { <gate::StaffOnly><staff_pages::KillSwitchPage/></gate::StaffOnly> }/>
                    <Route path=path!("/inbox") view=|| view! { <gate::OwnerOnly><inbox_pages::InboxPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/inbox/:id") view=|| view! { <gate::OwnerOnly><inbox_pages::ConversationPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/inbox/:id/delete") view=|| view! { <gate::OwnerOnly><inbox_pages::DeleteCustomerPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/review") view=|| view! { <gate::OwnerOnly><inbox_pages::ReviewPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/orders") view=|| view! { <gate::OwnerOnly><inbox_pages::OrdersPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/orders/:id") view=|| view! { <gate::OwnerOnly><inbox_pages::OrderPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/playground") view=|| view! { <gate::OwnerOnly><inbox_pages::PlaygroundPage/></gate::OwnerOnly> }/>
                    <Route path=path!("/sandbox") view=|| view! { <gate::OwnerOnly><inbox_pages::SandboxPage/></gate::OwnerOnly> }/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
