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
        leptos_axum::extract::<Session>()
            .await
            .map_err(crate::web::internal)
    }

    pub async fn context() -> RequestContext {
        leptos_axum::extract::<axum_extension::Ctx>()
            .await
            .map(|c| (*c.0).clone())
            .unwrap_or_default()
    }

    pub async fn flash(session: &Session, flash: Flash) -> Result<(), ServerFnError> {
        session
            .insert(keys::FLASH, flash)
            .await
            .map_err(crate::web::internal)
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
            (
                keys::USER_AGENT,
                ctx.meta.user_agent.clone().unwrap_or_default().into(),
            ),
        ];
        for (key, value) in entries {
            session
                .insert(key, value)
                .await
                .map_err(crate::web::internal)?;
        }
        Ok(())
    }

    pub mod axum_extension {
        use super::*;

        /// Extracts the [`RequestContext`] the identity middleware stored.
        pub struct Ctx(pub Arc<RequestContext>);

        impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
            type Rejection = std::convert::Infallible;

            async fn from_request_parts(
                parts: &mut http::request::Parts,
                _: &S,
            ) -> Result<Self, Self::Rejection> {
                Ok(Ctx(parts
                    .extensions
                    .get::<Arc<RequestContext>>()
                    .cloned()
                    .unwrap_or_default()))
            }
        }
    }
}

/// Creates an owner account.
#[server(endpoint = "signup")]
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
                Flash::notice(
                    "Thanks! We sent a link to your email. Open it to confirm your address, then log in.",
                ),
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
pub async fn logout() -> Result<(), ServerFnError> {
    use crate::web::Flash;

    let session = imp::session().await?;
    let ctx = imp::context().await;
    if let Some(principal) = &ctx.principal {
        let services = crate::web::services()?;
        bikriagent::audit::record(
            &services.accounts.pool,
            "logout",
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

/// Every server function's path and the least role it requires. The API
/// guard refuses any path missing here, so a new function is closed until
/// it is listed. `public` ones need no session (they still need CSRF).
pub const ACCESS: &[(&str, Access)] = &[
    ("/api/signup", Access::Public),
    ("/api/login", Access::Public),
    ("/api/logout", Access::Public),
    ("/api/verify_email", Access::Public),
    ("/api/resend_verification", Access::Owner),
];

/// Who may call a server function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Owner,
    Staff,
    Admin,
}
