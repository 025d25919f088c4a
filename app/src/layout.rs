//! The frame around every page, and standalone error documents.

use leptos::prelude::*;

use crate::assets;

#[component]
pub fn Header() -> impl IntoView {
    let ctx = crate::web::request_context();
    let signed_in = ctx.principal.is_some();
    let home = if ctx.staff().is_some() { "/staff" } else { "/dashboard" };
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <img src=assets::url("favicon.svg") alt="" width="28" height="28"/>
                "BikriAgent"
            </a>
            <nav class="nav" aria-label="Account">
                {if signed_in {
                    view! { <a class="button secondary" href=home>"Your dashboard"</a> }.into_any()
                } else {
                    view! {
                        <a class="button secondary" href="/login">"Log in"</a>
                        <a class="button" href="/signup">"Sign up"</a>
                    }
                        .into_any()
                }}
            </nav>
        </header>
        {ctx.kill_switch_engaged.then(|| view! {
            <p class="banner" role="alert">
                "Automatic replies are stopped across BikriAgent right now (staff kill switch). "
                "Messages still arrive and wait in the review queue."
            </p>
        })}
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <span>"BikriAgent: a careful sales assistant for small shops."</span>
            <span>"We never ask for your Facebook, bank or email password."</span>
        </footer>
    }
}

/// A complete HTML page for errors answered outside the router (500, 429, 413…).
/// It names no internals: only the status, a title and a message for people.
pub fn error_document(status: u16, title: &str, message: &str) -> String {
    let title = title.to_owned();
    let message = message.to_owned();
    let page_title = format!("{title} · BikriAgent");
    let body = view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <crate::raw_text::DocumentTitle text=page_title/>
                <link rel="stylesheet" href=assets::url("main.css")/>
            </head>
            <body>
                <Header/>
                <main id="main">
                    <section class="error-page">
                        <p class="code">{status}</p>
                        <h1>{title}</h1>
                        <p>{message}</p>
                        <p><a class="button" href="/">"Go to the home page"</a></p>
                    </section>
                </main>
                <Footer/>
            </body>
        </html>
    };
    body.to_html()
}
