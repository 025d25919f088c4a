//! Server functions for accounts. Each is a form target: it reads the
//! request context, calls one library function, stores the outcome as a
//! flash message and redirects to a page that shows it.
//!
//! Who may call which function is enforced twice: by the server's API guard
//! (before any work, by path) and here, by what each function requires of
//! the principal.

use leptos::prelude::*;
use leptos::server;

#[cfg(feature = "ssr")]
mod imp {
    use std::sync::Arc;

    use bikriagent::auth::accounts::Principal;
    use bikriagent::auth::tokens::random_token;
    use leptos::prelude::ServerFnError;
    use tower_sessions::Session;

    use crate::web::{Flash, RequestContext, keys};

    pub async fn session() -> Result<Session, ServerFnError> {
        leptos_axum::extract::<Session>().await.map_err(crate::web::internal)
    }

    pub async fn context() -> RequestContext {
        leptos_axum::extract::<axum_extension::Ctx>()
            .await
            .map(|c| (*c.0).clone())
            .unwrap_or_default()
    }

    pub async fn flash(session: &Session, flash: Flash) -> Result<(), ServerFnError> {
        session.insert(keys::FLASH, flash).await.map_err(crate::web::internal)
    }

    /// Starts an authenticated session: a new id (no fixation), a new CSRF token.
    pub async fn sign_in(
        session: &Session,
        principal: &Principal,
        ctx: &RequestContext,
        now: i64,
    ) -> Result<(), ServerFnError> {
        session.cycle_id().await.map_err(crate::web::internal)?;
        session.clear().await;
        let entries: [(&str, serde_json::Value); 6] = [
            (keys::ACCOUNT_ID, principal.id.to_string().into()),
            (keys::AUTH_AT, now.into()),
            (keys::LAST_SEEN, now.into()),
            (keys::CSRF, random_token().into()),
            (keys::IP, ctx.meta.ip.clone().unwrap_or_default().into()),
            (keys::USER_AGENT, ctx.meta.user_agent.clone().unwrap_or_default().into()),
        ];
        for (key, value) in entries {
            session.insert(key, value).await.map_err(crate::web::internal)?;
        }
        Ok(())
    }

    pub mod axum_extension {
        use super::*;

        /// Extracts the [`RequestContext`] the identity middleware stored.
        pub struct Ctx(pub Arc<RequestContext>);

        impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
            type Rejection = std::convert::Infallible;

            async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
                Ok(Ctx(parts
                    .extensions
                    .get::<Arc<RequestContext>>()
                    .cloned()
                    .unwrap_or_default()))
            }
        }
    }
}

/// The session, for server functions in other modules.
#[cfg(feature = "ssr")]
pub(crate) async fn session_for_fns() -> Result<tower_sessions::Session, ServerFnError> {
    imp::session().await
}

/// Creates an owner account.
#[server(endpoint = "signup")]
#[middleware(crate::forms::PlainText::form("signup"))]
pub async fn signup(
    name: String,
    email: String,
    phone: String,
    business_name: String,
    password: String,
    password_confirm: String,
) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::{AuthError, SignupInput};
    use secrecy::SecretString;

    use crate::web::{Flash, services};

    let services = services()?;
    let ctx = imp::context().await;
    let session = imp::session().await?;
    let input = SignupInput {
        name: name.clone(),
        email: email.clone(),
        phone: phone.clone(),
        business_name: business_name.clone(),
        password: SecretString::from(password),
        password_confirm: SecretString::from(password_confirm),
    };
    match services.accounts.signup(input, &ctx.meta).await {
        Ok(()) => {
            imp::flash(
                &session,
                Flash::notice("Thanks! We sent a link to your email. Open it to confirm your address, then log in."),
            )
            .await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        Err(AuthError::Invalid(errors)) => {
            let flash = Flash::fields("signup", &errors)
                .keep("name", &name)
                .keep("email", &email)
                .keep("phone", &phone)
                .keep("business_name", &business_name);
            imp::flash(&session, flash).await?;
            leptos_axum::redirect("/signup");
            Ok(())
        }
        Err(error) => Err(crate::web::internal(error)),
    }
}

/// Checks the credentials and starts a session.
#[server(endpoint = "login")]
#[middleware(crate::forms::PlainText::form("login"))]
pub async fn login(email: String, password: String) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;
    use secrecy::SecretString;

    use crate::web::{Flash, services};

    let services = services()?;
    let ctx = imp::context().await;
    let session = imp::session().await?;
    let password = SecretString::from(password);
    match services.accounts.login(&email, &password, &ctx.meta).await {
        Ok(principal) => {
            let now = services.clock.now().unix_timestamp();
            imp::sign_in(&session, &principal, &ctx, now).await?;
            leptos_axum::redirect(if principal.role.is_staff() {
                "/staff"
            } else {
                "/dashboard"
            });
            Ok(())
        }
        Err(AuthError::Suspended) => {
            leptos_axum::redirect("/suspended");
            Ok(())
        }
        Err(error @ (AuthError::InvalidCredentials | AuthError::Throttled { .. })) => {
            imp::flash(
                &session,
                Flash::form_error("login", error.to_string()).keep("email", &email),
            )
            .await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        Err(error) => Err(crate::web::internal(error)),
    }
}

/// Ends this session.
#[server(endpoint = "logout")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn logout() -> Result<(), ServerFnError> {
    use crate::web::Flash;

    let session = imp::session().await?;
    let ctx = imp::context().await;
    if let Some(principal) = &ctx.principal {
        let services = crate::web::services()?;
        bikriagent::audit::record(
            &services.accounts.pool,
            bikriagent::audit::AuditKind::Logout,
            Some(principal.id),
            Some(principal.id),
            &ctx.meta,
            serde_json::json!({}),
        )
        .await
        .map_err(crate::web::internal)?;
    }
    session.flush().await.map_err(crate::web::internal)?;
    imp::flash(&session, Flash::notice("You are logged out.")).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Confirms an email address with the token from the mailed link.
#[server(endpoint = "verify_email")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn verify_email(token: String) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;

    use crate::web::{Flash, services};

    let services = services()?;
    let ctx = imp::context().await;
    let session = imp::session().await?;
    match services.accounts.verify_email(&token, &ctx.meta).await {
        Ok(_) => {
            imp::flash(&session, Flash::notice("Your email is confirmed.")).await?;
            leptos_axum::redirect(if ctx.principal.is_some() {
                "/dashboard"
            } else {
                "/login"
            });
            Ok(())
        }
        Err(error @ AuthError::TokenInvalid) => {
            imp::flash(&session, Flash::error(error.to_string())).await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        Err(error) => Err(crate::web::internal(error)),
    }
}

/// Mails a new verification link to the signed-in owner.
#[server(endpoint = "resend_verification")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn resend_verification() -> Result<(), ServerFnError> {
    use crate::web::{Flash, services};

    let ctx = imp::context().await;
    let Some(owner) = ctx.owner() else {
        return Err(ServerFnError::new("Log in first."));
    };
    let services = services()?;
    services
        .accounts
        .resend_verification(owner.id)
        .await
        .map_err(crate::web::internal)?;
    let session = imp::session().await?;
    imp::flash(
        &session,
        Flash::notice("We sent a new confirmation link to your email."),
    )
    .await?;
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Mails a reset link; answers the same whether or not the email has an account.
#[server(endpoint = "request_password_reset")]
#[middleware(crate::forms::PlainText::form("forgot"))]
pub async fn request_password_reset(email: String) -> Result<(), ServerFnError> {
    use bikriagent::ratelimit;

    use crate::web::{Flash, services};

    let services = services()?;
    let ctx = imp::context().await;
    let session = imp::session().await?;
    let key = bikriagent::auth::accounts::email_key(&email);
    // Per-email limit, silent: the answer must not differ for real accounts.
    if ratelimit::hit(
        &services.accounts.pool,
        ratelimit::RESET_PER_EMAIL,
        &key,
        services.clock.now(),
    )
    .await
    .is_ok()
    {
        services
            .accounts
            .request_password_reset(&email, &ctx.meta)
            .await
            .map_err(crate::web::internal)?;
    }
    imp::flash(
        &session,
        Flash::notice(
            "If that email has an account, we sent it a link to set a new password. It works for 30 minutes.",
        ),
    )
    .await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Sets a new password from a reset link; every session of the account ends.
#[server(endpoint = "reset_password")]
#[middleware(crate::forms::PlainText::form("reset"))]
pub async fn reset_password(token: String, password: String, password_confirm: String) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;
    use secrecy::SecretString;

    use crate::web::{Flash, services};

    let services = services()?;
    let ctx = imp::context().await;
    let session = imp::session().await?;
    let outcome = services
        .accounts
        .reset_password(
            &token,
            &SecretString::from(password),
            &SecretString::from(password_confirm),
            &ctx.meta,
        )
        .await;
    match outcome {
        Ok(_) => {
            session.flush().await.map_err(crate::web::internal)?;
            imp::flash(
                &session,
                Flash::notice("Your password is changed. Log in with the new one."),
            )
            .await?;
            leptos_axum::redirect("/login");
        }
        Err(AuthError::Invalid(errors)) => {
            imp::flash(&session, Flash::fields("reset", &errors)).await?;
            leptos_axum::redirect(&format!("/reset-password?token={}", urlencode(&token)));
        }
        Err(error @ AuthError::TokenInvalid) => {
            imp::flash(&session, Flash::error(error.to_string())).await?;
            leptos_axum::redirect("/forgot-password");
        }
        Err(error) => return Err(crate::web::internal(error)),
    }
    Ok(())
}

/// Changes the password of the signed-in account; other sessions end and this one gets a new id.
#[server(endpoint = "change_password")]
#[middleware(crate::forms::PlainText::form("password"))]
pub async fn change_password(
    current_password: String,
    password: String,
    password_confirm: String,
) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;
    use bikriagent::auth::sessions;
    use secrecy::SecretString;

    use crate::web::{Flash, keys, services};

    let ctx = imp::context().await;
    let Some(principal) = ctx.principal.clone() else {
        return Err(ServerFnError::new("Log in first."));
    };
    let services = services()?;
    let session = imp::session().await?;
    let outcome = services
        .accounts
        .change_password(
            principal.id,
            &SecretString::from(current_password),
            &SecretString::from(password),
            &SecretString::from(password_confirm),
            &ctx.meta,
        )
        .await;
    match outcome {
        Ok(()) => {
            session.cycle_id().await.map_err(crate::web::internal)?;
            session
                .insert(keys::CSRF, bikriagent::auth::tokens::random_token())
                .await
                .map_err(crate::web::internal)?;
            session.save().await.map_err(crate::web::internal)?;
            let current = session.id().map(|id| bikriagent::auth::session_store::session_key(&id));
            sessions::revoke_others(&services.accounts.pool, principal.id, current.as_deref())
                .await
                .map_err(crate::web::internal)?;
            imp::flash(
                &session,
                Flash::notice("Your password is changed. Your other sessions were logged out."),
            )
            .await?;
        }
        Err(AuthError::Invalid(errors)) => imp::flash(&session, Flash::fields("password", &errors)).await?,
        Err(error) => return Err(crate::web::internal(error)),
    }
    leptos_axum::redirect("/account/security");
    Ok(())
}

/// Ends every session of the signed-in account, this one included.
#[server(endpoint = "logout_everywhere")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn logout_everywhere() -> Result<(), ServerFnError> {
    use crate::web::{Flash, services};

    let ctx = imp::context().await;
    let Some(principal) = ctx.principal.clone() else {
        return Err(ServerFnError::new("Log in first."));
    };
    let services = services()?;
    let session = imp::session().await?;
    let ended = bikriagent::auth::session_store::delete_account_sessions(&services.accounts.pool, principal.id)
        .await
        .map_err(crate::web::internal)?;
    bikriagent::audit::record(
        &services.accounts.pool,
        bikriagent::audit::AuditKind::SessionsRevokedAll,
        Some(principal.id),
        Some(principal.id),
        &ctx.meta,
        serde_json::json!({ "sessions": ended }),
    )
    .await
    .map_err(crate::web::internal)?;
    session.flush().await.map_err(crate::web::internal)?;
    imp::flash(&session, Flash::notice("You are logged out on every device.")).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Ends one of the signed-in account's sessions.
#[server(endpoint = "revoke_session")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn revoke_session(key: String) -> Result<(), ServerFnError> {
    use crate::web::{Flash, services};

    let ctx = imp::context().await;
    let Some(principal) = ctx.principal.clone() else {
        return Err(ServerFnError::new("Log in first."));
    };
    let services = services()?;
    let session = imp::session().await?;
    let ended = bikriagent::auth::sessions::revoke(&services.accounts.pool, principal.id, &key)
        .await
        .map_err(crate::web::internal)?;
    if ended {
        bikriagent::audit::record(
            &services.accounts.pool,
            bikriagent::audit::AuditKind::SessionRevoked,
            Some(principal.id),
            Some(principal.id),
            &ctx.meta,
            serde_json::json!({}),
        )
        .await
        .map_err(crate::web::internal)?;
    }
    let current = session.id().map(|id| bikriagent::auth::session_store::session_key(&id));
    if current.as_deref() == Some(key.as_str()) {
        session.flush().await.map_err(crate::web::internal)?;
        leptos_axum::redirect("/login");
        return Ok(());
    }
    imp::flash(
        &session,
        Flash::notice(if ended {
            "That session is logged out."
        } else {
            "That session had already ended."
        }),
    )
    .await?;
    leptos_axum::redirect("/account/security");
    Ok(())
}

/// Starts (or restarts) a staff member's authenticator set-up: a new secret.
#[server(endpoint = "totp_begin")]
#[middleware(crate::forms::PlainText::form("totp"))]
pub async fn totp_begin() -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;

    use crate::web::{Flash, services};

    let ctx = imp::context().await;
    let Some(staff) = ctx.staff().cloned() else {
        return Err(ServerFnError::new("Staff only."));
    };
    let services = services()?;
    match services.accounts.begin_totp_enrolment(staff.id).await {
        Ok(_) => {}
        Err(AuthError::Invalid(errors)) => {
            let session = imp::session().await?;
            imp::flash(&session, Flash::fields("totp", &errors)).await?;
        }
        Err(error) => return Err(crate::web::internal(error)),
    }
    leptos_axum::redirect("/staff/totp");
    Ok(())
}

/// Confirms a staff member's authenticator with a first code.
#[server(endpoint = "totp_confirm")]
#[middleware(crate::forms::PlainText::form("totp"))]
pub async fn totp_confirm(code: String) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;

    use crate::web::{Flash, keys, services};

    let ctx = imp::context().await;
    let Some(staff) = ctx.staff().cloned() else {
        return Err(ServerFnError::new("Staff only."));
    };
    let services = services()?;
    let session = imp::session().await?;
    match services.accounts.confirm_totp(staff.id, &code, &ctx.meta).await {
        Ok(codes) => {
            // A privilege change: new session id.
            session.cycle_id().await.map_err(crate::web::internal)?;
            session
                .insert(keys::SECOND_FACTOR, true)
                .await
                .map_err(crate::web::internal)?;
            let mut flash = Flash::notice(
                "Two-step verification is on. Keep these recovery codes somewhere safe: each works once if you lose your phone.",
            );
            flash.values.insert("recovery_codes".into(), codes.join(" "));
            imp::flash(&session, flash).await?;
            leptos_axum::redirect("/staff");
        }
        Err(AuthError::Invalid(errors)) => {
            imp::flash(&session, Flash::fields("totp", &errors)).await?;
            leptos_axum::redirect("/staff/totp");
        }
        Err(error) => return Err(crate::web::internal(error)),
    }
    Ok(())
}

/// Checks a staff member's code (or recovery code) after the password.
#[server(endpoint = "totp_verify")]
#[middleware(crate::forms::PlainText::form("totp"))]
pub async fn totp_verify(code: String) -> Result<(), ServerFnError> {
    use bikriagent::auth::accounts::AuthError;

    use crate::web::{Flash, keys, services};

    let ctx = imp::context().await;
    let Some(staff) = ctx.staff().cloned() else {
        return Err(ServerFnError::new("Staff only."));
    };
    let services = services()?;
    let session = imp::session().await?;
    match services.accounts.verify_second_factor(staff.id, &code, &ctx.meta).await {
        Ok(()) => {
            session.cycle_id().await.map_err(crate::web::internal)?;
            session
                .insert(keys::SECOND_FACTOR, true)
                .await
                .map_err(crate::web::internal)?;
            leptos_axum::redirect("/staff");
        }
        Err(AuthError::Invalid(errors)) => {
            imp::flash(&session, Flash::fields("totp", &errors)).await?;
            leptos_axum::redirect("/staff/totp");
        }
        Err(error) => return Err(crate::web::internal(error)),
    }
    Ok(())
}

#[cfg(feature = "ssr")]
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
