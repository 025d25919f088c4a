//! Form building blocks: every form is a plain HTML POST with a CSRF field,
//! and shows the flash (outcome, kept values, errors next to fields). Every
//! posted form passes [`PlainText`] before its handler sees it.

use leptos::prelude::*;

use crate::web::{CSRF_FIELD, Flash, request_context};

/// The flash of this request, if it belongs to `form` (or to no form).
pub fn flash_for(form: &str) -> Flash {
    match request_context().flash {
        Some(flash) if flash.form.as_deref().is_none_or(|f| f == form) => flash,
        _ => Flash::default(),
    }
}

/// The hidden CSRF token field.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = request_context().csrf.unwrap_or_default();
    view! { <input type="hidden" name=CSRF_FIELD value=token/> }
}

/// A labelled input with its error message and kept value.
#[component]
pub fn Field(
    flash: Flash,
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = flash.field_error(name);
    // Passwords are never refilled.
    let value = if kind == "password" {
        String::new()
    } else {
        flash.value(name)
    };
    let error_id = format!("{name}-error");
    let described = error.as_ref().map(|_| error_id.clone());
    view! {
        <label>
            {label}
            <input
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                aria-invalid=error.as_ref().map(|_| "true")
                aria-describedby=described
                required=true
            />
            {hint.map(|h| view! { <small>{h}</small> })}
            {error.map(|e| view! { <span class="field-error" id=error_id>{e}</span> })}
        </label>
    }
}

/// The outcome message of the last form post.
#[component]
pub fn FlashNotice(flash: Flash) -> impl IntoView {
    view! {
        {flash.notice.map(|n| view! { <p class="notice ok" role="status">{n}</p> })}
        {flash.error.map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        {(!flash.errors.is_empty()).then(|| view! {
            <p class="notice error" role="alert">"Please fix the fields marked below."</p>
        })}
    }
}

/// Cloudflare Turnstile's widget, only when a site key is configured (the
/// CSP then allows its script and frame origin, and only then).
#[component]
pub fn TurnstileWidget() -> impl IntoView {
    use_context::<crate::web::Services>()
        .and_then(|s| s.turnstile_site_key)
        .map(|key| {
            view! {
                <div class="cf-turnstile" data-sitekey=key></div>
                <script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async=true defer=true></script>
            }
        })
}

/// The `?page=` of a paged list, clamped to 1..=[`bikriagent::input::page::MAX_PAGE`]:
/// a missing, zero, negative, huge or non-numeric value never fails a page.
pub fn page_param() -> bikriagent::input::page::Page {
    use leptos_router::hooks::use_query_map;
    let raw = use_query_map().with_untracked(|q| q.get("page"));
    bikriagent::input::page::Page::parse(raw.as_deref())
}

/// The text of the query parameter `name` (a search box, a token from a
/// link), without control characters: what a page echoes or looks up is
/// plain text. `shape` is [`Shape::Lines`](bikriagent::input::text::Shape)
/// for a text area of a GET form.
pub fn query_text(name: &str, shape: bikriagent::input::text::Shape) -> String {
    use leptos_router::hooks::use_query_map;
    let raw = use_query_map().with_untracked(|q| q.get(name).unwrap_or_default());
    bikriagent::input::text::strip_controls(&raw, shape)
}

/// The list a page belongs to: `/orders/123` → `/orders`, `/catalog` stays.
pub fn list_of(page: &str) -> &str {
    match page.get(1..).and_then(|rest| rest.find('/')) {
        Some(end) => &page[..end + 1],
        None => page,
    }
}

/// A time to the minute, `2026-11-23 21:05`, in the offset `at` carries.
pub fn minute_stamp(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// The check every form post passes before its server function runs: no
/// field may hold a control character (a text area may hold tab, newline
/// and carriage return), by the rules of [`bikriagent::input::text`].
///
/// One attribute on each server function applies it to every field the
/// function takes, whatever they are:
/// `#[middleware(crate::forms::PlainText::form("profile").multiline(&["description"]))]`.
/// A refused post goes back to the page it came from (its `Referer`) with
/// an error next to each refused field and the other values kept; without a
/// `Referer` it is a 400 page naming the fields. The function never runs, so
/// no such value reaches the database, the session or a redirect header.
#[derive(Debug, Clone, Copy)]
pub struct PlainText {
    /// The form whose fields show the errors (as in [`flash_for`]).
    form: &'static str,
    /// The fields that are text areas.
    multiline: &'static [&'static str],
}

impl PlainText {
    /// The check for the form named `form` (empty: a form without a name).
    pub const fn form(form: &'static str) -> Self {
        Self { form, multiline: &[] }
    }

    /// Names the fields that are text areas.
    pub const fn multiline(self, fields: &'static [&'static str]) -> Self {
        Self {
            multiline: fields,
            ..self
        }
    }
}

#[cfg(feature = "ssr")]
mod plain_text {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Body;
    use axum::response::IntoResponse as _;
    use bikriagent::input::text::{Shape, refused_fields, strip_controls};
    use http::{Request, Response, StatusCode, header};
    use tower::ServiceExt as _;

    use super::PlainText;
    use crate::web::{Flash, keys};

    /// Fields never kept in the session to refill a form.
    const SECRET_FIELDS: &[&str] = &[
        crate::web::CSRF_FIELD,
        "cf-turnstile-response",
        "password",
        "password_confirm",
        "current_password",
        "code",
        "token",
        "key",
        "idempotency_key",
    ];

    /// Larger than any form the router lets through (it limits bodies first).
    const BODY_LIMIT: usize = 1024 * 1024;

    const FIELD_ERROR: &str = "This holds a character we can't accept (an invisible control character, such as one pasted from another program). Remove it and send again.";

    impl<S> tower::Layer<S> for PlainText {
        type Service = PlainTextService<S>;

        fn layer(&self, inner: S) -> Self::Service {
            PlainTextService {
                rules: *self,
                inner: Some(inner),
            }
        }
    }

    /// [`PlainText`] around a server function (or a route): built for one
    /// request, so `call` takes the inner service.
    #[derive(Clone)]
    pub struct PlainTextService<S> {
        rules: PlainText,
        inner: Option<S>,
    }

    impl<S> tower::Service<Request<Body>> for PlainTextService<S>
    where
        S: tower::Service<Request<Body>, Response = Response<Body>> + Send + 'static,
        S::Future: Send + 'static,
    {
        type Response = Response<Body>;
        type Error = S::Error;
        type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
            // The inner service is made ready in `call` (`oneshot`).
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<Body>) -> Self::Future {
            let (rules, inner) = (self.rules, self.inner.take());
            Box::pin(async move {
                let (parts, body) = req.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
                    return Ok(page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Too much data",
                        "The form sent too much data.",
                    ));
                };
                if let Some(refusal) = rules.refuse(&parts, &bytes).await {
                    return Ok(refusal);
                }
                match inner {
                    Some(inner) => inner.oneshot(Request::from_parts(parts, Body::from(bytes))).await,
                    None => {
                        tracing::error!("a PlainText service was called twice");
                        Ok(page(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Something went wrong",
                            "Something went wrong on our side. Please try again.",
                        ))
                    }
                }
            })
        }
    }

    impl PlainText {
        fn shape_of(&self, field: &str) -> Shape {
            if self.multiline.contains(&field) {
                Shape::Lines
            } else {
                Shape::Line
            }
        }

        /// The answer to a form with a refused field, or `None` to let it through.
        async fn refuse(&self, parts: &http::request::Parts, body: &[u8]) -> Option<Response<Body>> {
            let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            let refused = refused_fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), self.multiline);
            if refused.is_empty() {
                return None;
            }
            // Field names come from the request: shown short.
            let names = refused
                .iter()
                .map(|f| f.chars().take(40).collect::<String>().replace('_', " "))
                .collect::<Vec<_>>()
                .join(", ");
            tracing::info!(path = %parts.uri.path(), fields = %names, "form refused: control characters");
            let session = parts.extensions.get::<tower_sessions::Session>();
            if let (Some(back), Some(session)) = (referer_path(parts), session) {
                let mut flash = Flash {
                    form: (!self.form.is_empty()).then(|| self.form.to_owned()),
                    error: Some(format!("Some fields hold characters we can't accept: {names}.")),
                    ..Flash::default()
                };
                for field in &refused {
                    flash.errors.insert(field.clone(), FIELD_ERROR.to_owned());
                }
                for (name, value) in &fields {
                    if !SECRET_FIELDS.contains(&name.as_str()) && !name.contains("password") {
                        flash = flash.keep(name, &strip_controls(value, self.shape_of(name)));
                    }
                }
                if session.insert(keys::FLASH, flash).await.is_ok() {
                    return Some((StatusCode::FOUND, [(header::LOCATION, back)]).into_response());
                }
            }
            Some(page(
                StatusCode::BAD_REQUEST,
                "Some characters can't be accepted",
                &format!(
                    "These fields hold characters we can't accept (invisible control characters): {names}. \
                     Go back, remove them and send the form again."
                ),
            ))
        }
    }

    /// The path (and query) of the page the form was on, when the browser said.
    fn referer_path(parts: &http::request::Parts) -> Option<String> {
        let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
        let uri: http::Uri = referer.parse().ok()?;
        let path = uri.path_and_query()?;
        // A query naming an error would read as a failed server function.
        let path = match path.query() {
            Some(query) if query.contains("__err") => path.path(),
            _ => path.as_str(),
        };
        (path.starts_with('/') && !path.starts_with("//")).then(|| path.to_owned())
    }

    fn page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::error_document(status.as_u16(), title, message),
        )
            .into_response()
    }
}

#[cfg(feature = "ssr")]
pub use plain_text::PlainTextService;
