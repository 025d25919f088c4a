//! What every page and server function gets from the request: the signed-in
//! principal, the CSRF token, a one-time flash message, and the services.
//!
//! The server's identity middleware builds a [`RequestContext`] from the
//! session and puts it in the request's extensions before any page renders
//! or any server function runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use bikriagent::audit::RequestMeta;
use bikriagent::auth::accounts::{Accounts, FieldErrors, Principal, Role};
use bikriagent::clock::SharedClock;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Session data keys.
pub mod keys {
    pub use bikriagent::auth::session_store::{ACCOUNT_ID, IP, USER_AGENT};
    /// Unix time of the login (absolute lifetime).
    pub const AUTH_AT: &str = "auth_at";
    /// Unix time of the last request (idle timeout).
    pub const LAST_SEEN: &str = "last_seen";
    pub const CSRF: &str = "csrf";
    pub const FLASH: &str = "flash";
    /// Staff passed their TOTP check in this session.
    pub const SECOND_FACTOR: &str = "second_factor";
}

/// Name of the hidden form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// Shared services, provided to pages and server functions.
#[derive(Clone)]
pub struct Services {
    pub accounts: Accounts,
    pub clock: SharedClock,
    /// Bot checks on signup, password reset and import, when configured.
    pub turnstile: Option<Arc<bikriagent::net::turnstile::Turnstile>>,
    pub turnstile_site_key: Option<String>,
    /// How product feeds are fetched (https only in production).
    pub fetch_policy: bikriagent::net::safe_fetch::FetchPolicy,
    pub resolver: Arc<dyn bikriagent::net::safe_fetch::Resolver>,
    /// The Graph API client (token exchange, subscriptions, sending).
    pub graph: bikriagent::meta::graph::GraphClient,
    /// The message pipeline (inbox replies, review queue, sandbox, playground).
    pub pipeline: bikriagent::processing::Pipeline,
    /// The Stripe Payment Link a trial owner follows to pay, when configured.
    pub payment_link: Option<String>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("turnstile", &self.turnstile.is_some())
            .finish_non_exhaustive()
    }
}

/// The most characters of one field kept to refill a form: more than any
/// field accepts (a product description: 5,000), so a refill loses nothing.
pub const KEPT_CHARS: usize = 6_000;

/// A one-time message carried across the redirect after a form post: the
/// outcome, and for a failed form its values (never passwords) and errors.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub form: Option<String>,
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, String>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Flash {
    pub fn notice(message: impl Into<String>) -> Self {
        Self {
            notice: Some(message.into()),
            ..Self::default()
        }
    }

    /// An error message not tied to a form.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn form_error(form: &str, message: impl Into<String>) -> Self {
        Self {
            form: Some(form.to_owned()),
            error: Some(message.into()),
            ..Self::default()
        }
    }

    pub fn fields(form: &str, errors: &FieldErrors) -> Self {
        Self {
            form: Some(form.to_owned()),
            errors: errors.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
            ..Self::default()
        }
    }

    /// Keeps what the person typed (not secrets) to refill the form, without
    /// control characters (a text area keeps its tabs and line breaks): the
    /// session cannot store a NUL, and no form field may hold one.
    pub fn keep(mut self, field: &str, value: &str) -> Self {
        use bikriagent::input::text::{Shape, strip_controls};
        let value: String = strip_controls(value, Shape::Lines).chars().take(KEPT_CHARS).collect();
        self.values.insert(strip_controls(field, Shape::Line), value);
        self
    }

    pub fn value(&self, field: &str) -> String {
        self.values.get(field).cloned().unwrap_or_default()
    }

    pub fn field_error(&self, field: &str) -> Option<String> {
        self.errors.get(field).cloned()
    }
}

/// The request as pages and server functions see it.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub principal: Option<Principal>,
    pub csrf: Option<String>,
    pub flash: Option<Flash>,
    pub meta: RequestMeta,
    pub second_factor: bool,
    /// Staff stopped every automatic send (shown as a banner on every page).
    pub kill_switch_engaged: bool,
}

impl RequestContext {
    pub fn owner(&self) -> Option<&Principal> {
        self.principal.as_ref().filter(|p| p.role == Role::Owner)
    }

    pub fn staff(&self) -> Option<&Principal> {
        self.principal.as_ref().filter(|p| p.role.is_staff())
    }
}

/// The context of the request being rendered.
pub fn request_context() -> RequestContext {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Arc<RequestContext>>().map(|c| (**c).clone()))
        .unwrap_or_default()
}

pub fn services() -> Result<Services, ServerFnError> {
    use_context::<Services>().ok_or_else(|| ServerFnError::new("services missing"))
}

/// Logs an unexpected error once and gives the person a generic message.
pub fn internal(error: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(%error, "server function failed");
    ServerFnError::new("Something went wrong on our side. Please try again.")
}

/// A signed-in owner, as an extractor: refuses (401 anonymous, 403 other
/// roles) before a handler or server function does any work. Carries the
/// owner's tenant scope, which can only be built from a verified session.
#[derive(Debug, Clone)]
pub struct OwnerSession {
    pub principal: Principal,
    pub owner: bikriagent::tenancy::OwnerId,
    pub context: Arc<RequestContext>,
}

/// A staff member or admin who passed their second factor, as an extractor.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub principal: Principal,
    pub context: Arc<RequestContext>,
}

/// Why an extractor refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRejection {
    Anonymous,
    WrongRole,
}

impl axum::response::IntoResponse for SessionRejection {
    fn into_response(self) -> axum::response::Response {
        let (status, title, message) = match self {
            SessionRejection::Anonymous => (http::StatusCode::UNAUTHORIZED, "Please log in", "Log in to do this."),
            SessionRejection::WrongRole => (
                http::StatusCode::FORBIDDEN,
                "Not allowed",
                "Your account cannot do this.",
            ),
        };
        (
            status,
            [(http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::error_document(status.as_u16(), title, message),
        )
            .into_response()
    }
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionRejection::Anonymous => "Log in first.",
            SessionRejection::WrongRole => "Your account cannot do this.",
        })
    }
}

fn context_of(parts: &http::request::Parts) -> Arc<RequestContext> {
    parts
        .extensions
        .get::<Arc<RequestContext>>()
        .cloned()
        .unwrap_or_default()
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for OwnerSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let context = context_of(parts);
        match (&context.principal, context.owner().and_then(|p| p.owner_id())) {
            (None, _) => Err(SessionRejection::Anonymous),
            (Some(principal), Some(owner)) => Ok(OwnerSession {
                principal: principal.clone(),
                owner,
                context: context.clone(),
            }),
            (Some(_), None) => Err(SessionRejection::WrongRole),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for StaffSession {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let context = context_of(parts);
        match (&context.principal, context.staff()) {
            (None, _) => Err(SessionRejection::Anonymous),
            (Some(_), Some(staff)) if context.second_factor => Ok(StaffSession {
                principal: staff.clone(),
                context: context.clone(),
            }),
            _ => Err(SessionRejection::WrongRole),
        }
    }
}

/// The owner of this server-function call, or an error naming why not.
pub async fn owner_session() -> Result<OwnerSession, ServerFnError> {
    leptos_axum::extract::<OwnerSession>()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// The staff member of this server-function call, or an error naming why not.
pub async fn staff_session() -> Result<StaffSession, ServerFnError> {
    leptos_axum::extract::<StaffSession>()
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}
