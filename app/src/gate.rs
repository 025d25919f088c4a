//! Pages that require a typed session render only for it.
//!
//! The server's route policy refuses callers before any page renders; these
//! wrappers are the second line: a staff or owner page's component is not
//! even built unless the request carries the session it needs, so a
//! mistake in the table (or a path the table never saw) shows nothing.

use leptos::prelude::*;

use crate::web::request_context;

fn refused() -> AnyView {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="error-page">
            <p class="code">"403"</p>
            <h1>"Not allowed"</h1>
            <p>"Your account cannot open this page."</p>
        </section>
    }
    .into_any()
}

/// Renders `children` only for staff who passed their second factor.
#[component]
pub fn StaffOnly(children: Children) -> impl IntoView {
    let ctx = request_context();
    if ctx.staff().is_some() && ctx.second_factor {
        children().into_any()
    } else {
        refused()
    }
}

/// Renders `children` only for staff who passed their password (the
/// second-factor page itself).
#[component]
pub fn StaffPasswordOnly(children: Children) -> impl IntoView {
    if request_context().staff().is_some() {
        children().into_any()
    } else {
        refused()
    }
}

/// Renders `children` only for a signed-in owner.
#[component]
pub fn OwnerOnly(children: Children) -> impl IntoView {
    if request_context().owner().is_some() {
        children().into_any()
    } else {
        refused()
    }
}
