//! Signup, login, email verification and the owner's first page.

use crate::raw_text::PageTitle;
use leptos::prelude::*;

use crate::account_fns::{Login, Logout, ResendVerification, Signup, VerifyEmail};
use crate::forms::{CsrfField, Field, FlashNotice, flash_for};
use crate::web::request_context;

#[component]
pub fn SignupPage() -> impl IntoView {
    let flash = flash_for("signup");
    let action = ServerAction::<Signup>::new();
    view! {
        <PageTitle text="Create your account · BikriAgent"/>
        <h1>"Create your shop's account"</h1>
        <FlashNotice flash=flash.clone()/>
        <ActionForm action=action attr:class="stack" attr:novalidate=true>
            <CsrfField/>
            <Field flash=flash.clone() name="name" label="Your name" autocomplete="name"/>
            <Field flash=flash.clone() name="email" label="Email" kind="email" autocomplete="email"/>
            <Field flash=flash.clone() name="phone" label="Mobile number" kind="tel" autocomplete="tel"
                hint="For example 01711-000000 or +8801711000000"/>
            <Field flash=flash.clone() name="business_name" label="Business name" autocomplete="organization"/>
            <Field flash=flash.clone() name="password" label="Password" kind="password" autocomplete="new-password"
                hint="At least 12 characters. A few unrelated words make a strong, memorable password."/>
            <Field flash=flash.clone() name="password_confirm" label="Password again" kind="password"
                autocomplete="new-password"/>
            <crate::forms::TurnstileWidget/>
            <button type="submit">"Create account"</button>
        </ActionForm>
        <p>"Already have an account? " <a href="/login">"Log in"</a></p>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let flash = flash_for("login");
    let action = ServerAction::<Login>::new();
    view! {
        <PageTitle text="Log in · BikriAgent"/>
        <h1>"Log in"</h1>
        <FlashNotice flash=flash.clone()/>
        <ActionForm action=action attr:class="stack">
            <CsrfField/>
            <Field flash=flash.clone() name="email" label="Email" kind="email" autocomplete="username"/>
            <Field flash=flash.clone() name="password" label="Password" kind="password" autocomplete="current-password"/>
            <button type="submit">"Log in"</button>
        </ActionForm>
        <p><a href="/forgot-password">"Forgot your password?"</a></p>
        <p><a href="/signup">"Create an account"</a></p>
    }
}

/// The mailed link lands here; confirming is a POST, so link scanners that
/// open URLs change nothing.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = crate::forms::query_text("token", bikriagent::input::text::Shape::Line);
    let action = ServerAction::<VerifyEmail>::new();
    view! {
        <PageTitle text="Confirm your email · BikriAgent"/>
        <h1>"Confirm your email"</h1>
        <ActionForm action=action attr:class="stack">
            <CsrfField/>
            <input type="hidden" name="token" value=token/>
            <button type="submit">"Confirm my email address"</button>
        </ActionForm>
    }
}

/// The owner's home page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let Some(owner) = ctx.owner().cloned() else {
        leptos_axum::redirect("/login");
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let resend = ServerAction::<ResendVerification>::new();
    let logout = ServerAction::<Logout>::new();
    view! {
        <PageTitle text="Your shop · BikriAgent"/>
        <crate::catalog_pages::CatalogNav/>
        <h1>{format!("Hello, {}", owner.name)}</h1>
        <FlashNotice flash=flash/>
        {(!owner.email_verified).then(|| view! {
            <div class="notice">
                <p>"Confirm your email address to connect your Facebook Page, Instagram or WhatsApp "
                   "and to turn on automatic replies. You can already set up your catalog."</p>
                <ActionForm action=resend>
                    <CsrfField/>
                    <button type="submit" class="button secondary">"Send the link again"</button>
                </ActionForm>
            </div>
        })}
        <StandingNotice owner=owner.id email=owner.email.clone()/>
        <p>{format!("Signed in as {}", owner.email)}</p>
        <p><a href="/account/security">"Account security"</a></p>
        <ActionForm action=logout>
            <CsrfField/>
            <button type="submit" class="button secondary">"Log out"</button>
        </ActionForm>
    }
    .into_any()
}

/// Where the owner stands in the lifecycle, what unlocks the next step, and
/// (in the trial, when Stripe is configured) the payment link.
#[component]
fn StandingNotice(owner: uuid::Uuid, email: String) -> impl IntoView {
    let services = use_context::<crate::web::Services>();
    let load = move || {
        let services = services.clone();
        let email = email.clone();
        async move {
            let services = services?;
            let mut conn = services.accounts.pool.acquire().await.ok()?;
            let standing = bikriagent::owners::standing(&mut conn, owner).await.ok()?;
            let link = services
                .payment_link
                .as_deref()
                .filter(|_| standing.state == bikriagent::owners::OwnerState::Trial)
                .map(|link| bikriagent::stripe::payment_link_url(link, owner, &email));
            Some((standing, link))
        }
    };
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let data = load();
                Suspend::new(async move {
                    data.await.map(|(standing, link)| view! {
                        <div class="notice" data-state=standing.state.as_str()>
                            <p>{standing.state.explain()}</p>
                            {(standing.state == bikriagent::owners::OwnerState::Trial && standing.allowance.daily_replies > 0).then(|| view! {
                                <p>{format!("Staff granted you a trial allowance: {} live channel(s) and {} automatic replies a day.",
                                    standing.allowance.channels, standing.allowance.daily_replies)}</p>
                            })}
                            {link.map(|link| view! { <p><a class="button" href=link>"Pay by card (Stripe)"</a></p> })}
                        </div>
                    })
                })
            }}
        </Suspense>
    }
}

/// Shown to a suspended account.
#[component]
pub fn SuspendedPage() -> impl IntoView {
    view! {
        <PageTitle text="Account suspended · BikriAgent"/>
        <section class="error-page">
            <h1>"This account is suspended"</h1>
            <p>"Automatic replies are stopped and you cannot log in while the account is suspended. "
               "Your data is kept."</p>
            <p>"If you think this is a mistake, write to support@bikriagent.example with your account's "
               "email address, and we will review it within two working days."</p>
        </section>
    }
}
