//! The route policy: every route the router knows, who may use it, its rate
//! limits and whether the bot check applies, in one table beside the router.
//!
//! It is enforced on the route the router *matched* (axum's `MatchedPath`,
//! or for server functions the exact function path the dispatcher looks
//! up), never on the raw request path: [`refuse_non_canonical`] answers 400
//! to any path that a router or framework could read as another one (`.`
//! and `..` segments, encoded dots, slashes or backslashes, backslashes,
//! doubled slashes, control characters) before routing, so the path that is
//! checked is the path that runs. A route missing from the table is closed.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use bikriagent::auth::access::Audience;
use bikriagent::ratelimit::{self, Limit};

/// How a route is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page or download (GET and HEAD).
    Page,
    /// A form post (server functions and the few hand-written form handlers).
    Form,
    /// Reached by machines or for public files, outside sessions: webhooks
    /// (the handler checks the sender's signature), health, assets.
    Machine,
}

/// What a limit counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// The client's address; IPv6 grouped by /64.
    Ip,
    /// The signed-in account (anonymous callers share the IP's count).
    Account,
}

/// One rate limit of a route.
#[derive(Debug, Clone, Copy)]
pub struct RouteLimit {
    pub limit: Limit,
    pub per: Per,
    /// Counted only when the request's query has this (non-empty) field:
    /// a page that *does* something only when asked (the playground).
    pub only_with_query: Option<&'static str>,
}

const fn per_ip(limit: Limit) -> RouteLimit {
    RouteLimit {
        limit,
        per: Per::Ip,
        only_with_query: None,
    }
}

const fn per_account(limit: Limit) -> RouteLimit {
    RouteLimit {
        limit,
        per: Per::Account,
        only_with_query: None,
    }
}

/// One route: its path as the router knows it (axum's syntax), how it is
/// used, who may use it, its limits, and whether Turnstile applies when
/// configured.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    pub route: &'static str,
    pub kind: Kind,
    pub audience: Audience,
    pub limits: &'static [RouteLimit],
    pub turnstile: bool,
    /// Where staff go instead of a refusal (the owner's dashboard sends
    /// them to their console).
    pub staff_go_to: Option<&'static str>,
}

const fn page(route: &'static str, audience: Audience) -> RoutePolicy {
    RoutePolicy {
        route,
        kind: Kind::Page,
        audience,
        limits: &[],
        turnstile: false,
        staff_go_to: None,
    }
}

const fn form(route: &'static str, audience: Audience) -> RoutePolicy {
    RoutePolicy {
        route,
        kind: Kind::Form,
        audience,
        limits: &[],
        turnstile: false,
        staff_go_to: None,
    }
}

const fn machine(route: &'static str) -> RoutePolicy {
    RoutePolicy {
        route,
        kind: Kind::Machine,
        audience: Audience::Machine,
        limits: &[],
        turnstile: false,
        staff_go_to: None,
    }
}

impl RoutePolicy {
    const fn limited(mut self, limits: &'static [RouteLimit]) -> Self {
        self.limits = limits;
        self
    }

    const fn turnstile(mut self) -> Self {
        self.turnstile = true;
        self
    }

    const fn staff_go_to(mut self, to: &'static str) -> Self {
        self.staff_go_to = Some(to);
        self
    }
}

use Audience::{Admin, Anyone, Authenticated, Owner, Staff, StaffPassword, VerifiedOwner};

/// Every route. Pages first, then forms, then machine routes.
pub const ROUTES: &[RoutePolicy] = &[
    // Pages.
    page("/", Anyone),
    page("/signup", Anyone),
    page("/login", Anyone),
    page("/verify-email", Anyone),
    page("/suspended", Anyone),
    page("/forgot-password", Anyone),
    page("/reset-password", Anyone),
    page("/meta/deletion-status", Anyone),
    page("/dashboard", Owner).staff_go_to("/staff"),
    page("/account/security", Authenticated),
    page("/business", Owner),
    page("/catalog", Owner),
    page("/catalog/new", Owner),
    page("/catalog/import", Owner),
    page("/catalog/import/{id}", Owner),
    page("/catalog/{id}", Owner),
    page("/catalog/template.csv", Owner),
    page("/catalog/shop-example.json", Owner),
    page("/rules", Owner),
    page("/channels", Owner),
    page("/channels/connect", VerifiedOwner),
    page("/oauth/meta/start", VerifiedOwner).limited(&[per_account(ratelimit::OAUTH_START_PER_ACCOUNT)]),
    page("/oauth/meta/callback", VerifiedOwner),
    page("/inbox", Owner),
    page("/inbox/{id}", Owner),
    page("/inbox/{id}/delete", Owner),
    page("/review", Owner),
    page("/orders", Owner),
    page("/orders/{id}", Owner),
    page("/playground", Owner).limited(&[RouteLimit {
        limit: ratelimit::PLAYGROUND_PER_OWNER,
        per: Per::Account,
        only_with_query: Some("message"),
    }]),
    page("/sandbox", Owner),
    page("/staff/totp", StaffPassword),
    page("/staff", Staff),
    page("/staff/owners", Staff),
    page("/staff/owners/{id}", Staff),
    page("/staff/owners/{id}/cases/{case}", Staff),
    page("/staff/channels", Staff),
    page("/staff/audit", Staff),
    page("/staff/kill-switch", Staff),
    page("/metrics", Staff),
    // Forms: accounts and sessions.
    form("/api/signup", Anyone)
        .limited(&[per_ip(ratelimit::SIGNUP_PER_IP)])
        .turnstile(),
    form("/api/login", Anyone).limited(&[per_ip(ratelimit::LOGIN_PER_IP)]),
    form("/api/logout", Anyone),
    form("/api/verify_email", Anyone),
    form("/api/resend_verification", Owner).limited(&[
        per_account(ratelimit::RESEND_VERIFICATION_PER_ACCOUNT),
        per_ip(ratelimit::RESEND_VERIFICATION_PER_IP),
    ]),
    form("/api/request_password_reset", Anyone)
        .limited(&[per_ip(ratelimit::RESET_PER_IP)])
        .turnstile(),
    form("/api/reset_password", Anyone).limited(&[per_ip(ratelimit::RESET_PER_IP)]),
    form("/api/change_password", Authenticated).limited(&[
        per_account(ratelimit::PASSWORD_CHANGE_PER_ACCOUNT),
        per_ip(ratelimit::PASSWORD_CHANGE_PER_IP),
    ]),
    form("/api/logout_everywhere", Authenticated),
    form("/api/revoke_session", Authenticated),
    form("/api/totp_begin", StaffPassword),
    form("/api/totp_confirm", StaffPassword).limited(&[per_ip(ratelimit::SECOND_FACTOR_PER_IP)]),
    form("/api/totp_verify", StaffPassword).limited(&[per_ip(ratelimit::SECOND_FACTOR_PER_IP)]),
    // Forms: the shop.
    form("/api/save_profile", Owner),
    form("/api/save_contact", Owner),
    form("/api/add_delivery_area", Owner),
    form("/api/remove_delivery_area", Owner),
    form("/api/add_payment_method", Owner),
    form("/api/remove_payment_method", Owner),
    form("/api/save_product", Owner),
    form("/api/archive_product", Owner),
    form("/api/add_variant", Owner),
    form("/api/remove_variant", Owner),
    form("/api/save_rules", Owner),
    form("/api/add_faq", Owner),
    form("/api/remove_faq", Owner),
    form("/api/confirm_import", Owner),
    form("/api/import_csv", Owner).limited(&[per_account(ratelimit::IMPORT_PER_OWNER)]),
    form("/api/import_shop", Owner).limited(&[per_account(ratelimit::IMPORT_PER_OWNER)]),
    form("/api/import_url", Owner)
        .limited(&[per_account(ratelimit::IMPORT_PER_OWNER)])
        .turnstile(),
    // Forms: channels, conversations, orders.
    form("/api/connect_channels", VerifiedOwner),
    form("/api/pause_channel", Owner),
    form("/api/resume_channel", Owner),
    form("/api/disconnect_channel", Owner),
    form("/api/owner_reply", Owner),
    form("/api/take_over", Owner),
    form("/api/hand_back", Owner),
    form("/api/approve_review", Owner),
    form("/api/dismiss_review", Owner),
    form("/api/set_order_status", Owner),
    form("/api/sandbox_say", Owner).limited(&[per_account(ratelimit::SANDBOX_PER_OWNER)]),
    form("/api/delete_customer_data", Owner),
    // Forms: staff.
    form("/api/staff_delete_customer", Staff),
    form("/api/staff_pause_channel", Staff),
    form("/api/staff_resume_channel", Staff),
    form("/api/staff_record_payment", Staff),
    form("/api/staff_grant_allowance", Staff),
    form("/api/staff_set_limits", Staff),
    form("/api/staff_suspend", Staff),
    form("/api/staff_unsuspend", Staff),
    form("/api/set_kill_switch", Admin),
    // Machines and public files.
    machine("/webhooks/meta"),
    machine("/webhooks/meta/deauthorize"),
    machine("/webhooks/meta/data-deletion"),
    machine("/webhooks/stripe"),
    machine("/healthz"),
    machine("/readyz"),
    machine("/assets/{*file}"),
    machine("/favicon.ico"),
];

/// The policy of `route` (a matched route pattern or a server function's path).
pub fn lookup(route: &str) -> Option<&'static RoutePolicy> {
    ROUTES.iter().find(|policy| policy.route == route)
}

/// Whether `path` (as sent, still percent-encoded) is the one spelling of
/// itself: no `.` or `..` segment, no encoded dot, slash or backslash, no
/// backslash, no empty segment, no control character.
pub fn is_canonical(path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    if path == "/" {
        return true;
    }
    let bytes = path.as_bytes();
    // Percent escapes: anything that decodes to a separator, a dot, a
    // control character or `%` itself would read as another path once
    // decoded; so would a malformed escape.
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let Some(hex) = path.get(i + 1..i + 3) else {
                    return false;
                };
                let Ok(byte) = u8::from_str_radix(hex, 16) else {
                    return false;
                };
                if matches!(byte, b'.' | b'/' | b'\\' | b'%' | b';') || byte < 0x20 || byte == 0x7f {
                    return false;
                }
                i += 3;
            }
            b'\\' => return false,
            byte if byte < 0x20 || byte == 0x7f => return false,
            _ => i += 1,
        }
    }
    // Segments: no empty one (doubled slash) except a trailing slash's, no
    // dot segments.
    let inner = path[1..].strip_suffix('/').unwrap_or(&path[1..]);
    !inner
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
}

/// Answers 400 to a request whose path is not canonical, before routing.
pub async fn refuse_non_canonical(req: Request, next: Next) -> Response {
    if is_canonical(req.uri().path()) {
        return next.run(req).await;
    }
    tracing::warn!(
        security_event = "non_canonical_path",
        "refused a request whose path is not canonical"
    );
    super::identity::error_page(
        StatusCode::BAD_REQUEST,
        "This address is not valid",
        "Check the address and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_pass_and_every_other_spelling_is_refused() {
        for ok in [
            "/",
            "/staff/owners",
            "/staff/owners/",
            "/catalog/3f0c",
            "/assets/app.css",
            "/inbox/a%20b",
            "/x/%E0%A6%95",
        ] {
            assert!(is_canonical(ok), "{ok}");
        }
        for bad in [
            "",
            "staff",
            "/x/../staff/owners",
            "/%2e%2e/staff/owners",
            "/.%2e/staff/owners",
            "/%2e/staff/audit",
            "/x/%2E%2E/staff/owners",
            "/staff\\owners",
            "/staff%5cowners",
            "/staff%2Fowners",
            "/staff%2fowners",
            "//staff/owners",
            "/staff//owners",
            "/./staff/owners",
            "/staff/owners/.",
            "/staff/owners/..",
            "/staff/owners%3bx",
            "/staff/%00owners",
            "/staff/%",
            "/staff/%zz",
            "/staff/%25%32%65",
        ] {
            assert!(!is_canonical(bad), "{bad}");
        }
    }

    #[test]
    fn routes_are_listed_once_and_machine_routes_have_no_session_audience() {
        for (i, policy) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[..i].iter().all(|other| other.route != policy.route),
                "{} is listed twice",
                policy.route
            );
            assert_eq!(
                policy.kind == Kind::Machine,
                policy.audience == Audience::Machine,
                "{}",
                policy.route
            );
            assert_eq!(
                policy.kind == Kind::Form,
                policy.route.starts_with("/api/"),
                "{}",
                policy.route
            );
        }
    }
}
