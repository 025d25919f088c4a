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
pub mod inbox_fns;
mod inbox_pages;
mod layout;
mod pages;
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
                    <Route path=path!("/staff") view=security_pages::StaffHomePage/>
                    <Route path=path!("/staff/totp") view=security_pages::StaffTotpPage/>
                    <Route path=path!("/business") view=catalog_pages::BusinessPage/>
                    <Route path=path!("/catalog") view=catalog_pages::ProductListPage/>
                    <Route path=path!("/catalog/new") view=catalog_pages::NewProductPage/>
                    <Route path=path!("/catalog/import") view=catalog_pages::ImportPage/>
                    <Route path=path!("/catalog/import/:id") view=catalog_pages::ImportPreviewPage/>
                    <Route path=path!("/catalog/:id") view=catalog_pages::EditProductPage/>
                    <Route path=path!("/rules") view=catalog_pages::RulesPage/>
                    <Route path=path!("/channels") view=channel_pages::ChannelsPage/>
                    <Route path=path!("/channels/connect") view=channel_pages::ConnectPage/>
                    <Route path=path!("/meta/deletion-status") view=channel_pages::DeletionStatusPage/>
                    <Route path=path!("/staff/channels") view=channel_pages::StaffChannelsPage/>
                    <Route path=path!("/staff/owners") view=staff_pages::StaffOwnersPage/>
                    <Route path=path!("/staff/owners/:id") view=staff_pages::StaffOwnerPage/>
                    <Route path=path!("/staff/owners/:id/cases/:case") view=staff_pages::StaffCasePage/>
                    <Route path=path!("/staff/audit") view=staff_pages::StaffAuditPage/>
                    <Route path=path!("/staff/kill-switch") view=staff_pages::KillSwitchPage/>
                    <Route path=path!("/inbox") view=inbox_pages::InboxPage/>
                    <Route path=path!("/inbox/:id") view=inbox_pages::ConversationPage/>
                    <Route path=path!("/inbox/:id/delete") view=inbox_pages::DeleteCustomerPage/>
                    <Route path=path!("/review") view=inbox_pages::ReviewPage/>
                    <Route path=path!("/orders") view=inbox_pages::OrdersPage/>
                    <Route path=path!("/orders/:id") view=inbox_pages::OrderPage/>
                    <Route path=path!("/playground") view=inbox_pages::PlaygroundPage/>
                    <Route path=path!("/sandbox") view=inbox_pages::SandboxPage/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
