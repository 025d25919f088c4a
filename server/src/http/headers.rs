//! Security headers on every response: pages, errors, assets and webhooks.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use http::header::{self, HeaderName};

use crate::config::Config;

/// The Content-Security-Policy: no script of any kind, nothing from other
/// origins, and no way to frame the site or retarget its forms.
pub const CSP: &str = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; \
font-src 'self'; connect-src 'none'; manifest-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Where Turnstile's widget comes from; allowed only when Turnstile is configured.
pub const TURNSTILE_ORIGIN: &str = "https://challenges.cloudflare.com";

/// The policy for this configuration: [`CSP`], plus Turnstile's script and
/// frame origin when (and only when) Turnstile is configured.
pub fn csp(config: &Config) -> String {
    match config.turnstile {
        None => CSP.to_owned(),
        Some(_) => CSP
            .replace("script-src 'none'", &format!("script-src {TURNSTILE_ORIGIN}"))
            .replace(
                "connect-src 'none'",
                &format!("connect-src {TURNSTILE_ORIGIN}; frame-src {TURNSTILE_ORIGIN}"),
            ),
    }
}

pub const HSTS: &str = "max-age=63072000; includeSubDomains";
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=()";
pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// The header set, built once from the configuration.
#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        Self {
            csp: HeaderValue::from_str(&csp(config)).unwrap_or(HeaderValue::from_static(CSP)),
        }
    }

    /// Runs the request and stamps the headers on whatever comes back.
    pub async fn apply(&self, req: Request, next: Next) -> Response {
        let mut response = next.run(req).await;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(REFERRER_POLICY));
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        );
        headers.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.remove(header::SERVER);
        headers.remove(HeaderName::from_static("x-powered-by"));
        // Pages may show private data: never cache unless a handler said otherwise.
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}
