//! Password reset, the account security page, and the staff second factor.

use crate::raw_text::PageTitle;
use bikriagent::auth::sessions;
use leptos::prelude::*;

use crate::account_fns::{
    ChangePassword, Logout, LogoutEverywhere, RequestPasswordReset, ResetPassword, RevokeSession, TotpBegin,
    TotpConfirm, TotpVerify,
};
use crate::forms::{CsrfField, Field, FlashNotice, flash_for};
use crate::web::{Services, request_context};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let flash = flash_for("forgot");
    let action = ServerAction::<RequestPasswordReset>::new();
    view! {
        <PageTitle text="Forgot your password · BikriAgent"/>
        <h1>"Forgot your password?"</h1>
        <FlashNotice flash=flash.clone()/>
        <p>"Enter your account's email. We will send a link to set a new password."</p>
        <ActionForm action=action attr:class="stack">
            <CsrfField/>
            <Field flash=flash name="email" label="Email" kind="email" autocomplete="email"/>
            <crate::forms::TurnstileWidget/>
            <button type="submit">"Send the link"</button>
        </ActionForm>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let flash = flash_for("reset");
    let token = crate::forms::query_text("token", bikriagent::input::text::Shape::Line);
    let action = ServerAction::<ResetPassword>::new();
    view! {
        <PageTitle text="Set a new password · BikriAgent"/>
        <h1>"Set a new password"</h1>
        <FlashNotice flash=flash.clone()/>
        <ActionForm action=action attr:class="stack">
            <CsrfField/>
            <input type="hidden" name="token" value=token/>
            <Field flash=flash.clone() name="password" label="New password" kind="password" autocomplete="new-password"
                hint="At least 12 characters. A few unrelated words make a strong, memorable password."/>
            <Field flash=flash name="password_confirm" label="New password again" kind="password" autocomplete="new-password"/>
            <button type="submit">"Set the new password"</button>
        </ActionForm>
    }
}

/// One row of the sessions table, owned for rendering.
#[derive(Clone)]
struct SessionRow {
    key: String,
    created: String,
    last_seen: String,
    ip: String,
    user_agent: String,
    current: bool,
}

fn when(at: bikriagent::clock::Timestamp) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[component]
pub fn AccountSecurityPage() -> impl IntoView {
    let ctx = request_context();
    let flash = flash_for("password");
    let Some(principal) = ctx.principal.clone() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let services = use_context::<Services>();
    let current = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<tower_sessions::Session>().and_then(|s| s.id()))
        .map(|id| bikriagent::auth::session_store::session_key(&id));
    let account = principal.id;
    let load_rows = move || {
        let services = services.clone();
        let current = current.clone();
        async move {
            let Some(services) = services else { return Vec::new() };
            sessions::list(&services.accounts.pool, account)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|s| SessionRow {
                    current: current.as_deref() == Some(s.key.as_str()),
                    key: s.key,
                    created: when(s.created_at),
                    last_seen: when(s.last_seen_at),
                    ip: s.ip.unwrap_or_default(),
                    user_agent: s.user_agent.unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        }
    };
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let logout = ServerAction::<Logout>::new();
    view! {
        <PageTitle text="Account security · BikriAgent"/>
        <h1>"Account security"</h1>
        <FlashNotice flash=flash.clone()/>
        <h2>"Where you are logged in"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load_rows();
                Suspend::new(async move {
                    let rows = rows.await;
                    view! {
                        <table class="sessions">
                            <thead><tr><th>"Started"</th><th>"Last seen"</th><th>"Address"</th><th>"Browser"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| {
                                    let revoke = ServerAction::<RevokeSession>::new();
                                    view! {
                                        <tr>
                                            <td>{row.created}</td>
                                            <td>{row.last_seen}</td>
                                            <td>{row.ip}</td>
                                            <td>{row.user_agent}</td>
                                            <td>
                                                {if row.current {
                                                    view! { <strong>"This session"</strong> }.into_any()
                                                } else {
                                                    view! {
                                                        <ActionForm action=revoke>
                                                            <CsrfField/>
                                                            <input type="hidden" name="key" value=row.key/>
                                                            <button type="submit" class="button secondary">"Log out"</button>
                                                        </ActionForm>
                                                    }.into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                })
            }}
        </Suspense>
        <div class="cta">
            <ActionForm action=everywhere>
                <CsrfField/>
                <button type="submit" class="button danger">"Log out everywhere"</button>
            </ActionForm>
            <ActionForm action=logout>
                <CsrfField/>
                <button type="submit" class="button secondary">"Log out"</button>
            </ActionForm>
        </div>
        <h2>"Change your password"</h2>
        <ActionForm action=change attr:class="stack">
            <CsrfField/>
            <Field flash=flash.clone() name="current_password" label="Current password" kind="password" autocomplete="current-password"/>
            <Field flash=flash.clone() name="password" label="New password" kind="password" autocomplete="new-password"/>
            <Field flash=flash name="password_confirm" label="New password again" kind="password" autocomplete="new-password"/>
            <button type="submit">"Change password"</button>
        </ActionForm>
    }
    .into_any()
}

/// Staff: enrol an authenticator, or enter a code after the password.
#[component]
pub fn StaffTotpPage() -> impl IntoView {
    let ctx = request_context();
    let flash = flash_for("totp");
    let Some(staff) = ctx.staff().cloned() else {
        return view! { <p>"Staff only."</p> }.into_any();
    };
    if staff.totp_enabled {
        let verify = ServerAction::<TotpVerify>::new();
        return view! {
            <PageTitle text="Two-step verification · BikriAgent"/>
            <h1>"Enter your code"</h1>
            <FlashNotice flash=flash.clone()/>
            <p>"Open your authenticator app and enter the 6-digit code for BikriAgent, or one of your recovery codes."</p>
            <ActionForm action=verify attr:class="stack">
                <CsrfField/>
                <Field flash=flash name="code" label="Code" autocomplete="one-time-code"/>
                <button type="submit">"Continue"</button>
            </ActionForm>
        }
        .into_any();
    }
    let services = use_context::<Services>();
    let account = staff.id;
    let email = staff.email.clone();
    let pending = move || {
        let services = services.clone();
        let email = email.clone();
        async move {
            let secret = services?.accounts.pending_totp_secret(account).await.ok()??;
            Some((
                secret.to_base32(),
                bikriagent::auth::totp::otpauth_uri(&secret, "BikriAgent", &email),
            ))
        }
    };
    view! {
        <PageTitle text="Set up two-step verification · BikriAgent"/>
        <h1>"Set up two-step verification"</h1>
        <FlashNotice flash=flash.clone()/>
        <p>"Staff pages need a second step. You will add BikriAgent to an authenticator app (Aegis, Google Authenticator, 1Password…) and enter the code it shows."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let pending = pending();
                let flash = flash.clone();
                Suspend::new(async move {
                    let begin = ServerAction::<TotpBegin>::new();
                    match pending.await {
                        Some((key, uri)) => {
                            let confirm = ServerAction::<TotpConfirm>::new();
                            view! {
                                <p class="notice">"Key: " <code id="totp-secret">{key}</code></p>
                                <p><small>"Or as a link: " <code id="totp-uri">{uri}</code></small></p>
                                <ActionForm action=confirm attr:class="stack">
                                    <CsrfField/>
                                    <Field flash=flash name="code" label="Code from the app" autocomplete="one-time-code"/>
                                    <button type="submit">"Turn on two-step verification"</button>
                                </ActionForm>
                                <ActionForm action=begin>
                                    <CsrfField/>
                                    <button type="submit" class="button secondary">"Start over with a new key"</button>
                                </ActionForm>
                            }
                            .into_any()
                        }
                        None => view! {
                            <ActionForm action=begin>
                                <CsrfField/>
                                <button type="submit">"Start set-up"</button>
                            </ActionForm>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The staff console's home (the review pages come with the staff console).
#[component]
pub fn StaffHomePage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let codes = flash.values.get("recovery_codes").cloned();
    let name = ctx.staff().map(|s| s.name.clone()).unwrap_or_default();
    let logout = ServerAction::<Logout>::new();
    view! {
        <PageTitle text="Staff console · BikriAgent"/>
        <h1>"Staff console"</h1>
        <FlashNotice flash=flash/>
        {codes.map(|codes| view! {
            <div class="notice">
                <p><strong>"Your recovery codes (shown once):"</strong></p>
                <pre id="recovery-codes">{codes.replace(' ', "\n")}</pre>
            </div>
        })}
        <p>{format!("Signed in as {name}.")}</p>
        <p><a href="/staff/owners">"Owners to review (verify payments, limits, suspend)"</a></p>
        <p><a href="/staff/channels">"All channels (pause any channel)"</a></p>
        <p><a href="/staff/kill-switch">"Global kill switch"</a></p>
        <p><a href="/staff/audit">"Audit log"</a></p>
        <p><a href="/account/security">"Account security"</a></p>
        <ActionForm action=logout>
            <CsrfField/>
            <button type="submit" class="button secondary">"Log out"</button>
        </ActionForm>
    }
}
