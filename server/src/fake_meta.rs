//! A fake Meta for tests and local development.
//!
//! Connecting a Page, an Instagram account or a WhatsApp number needs a Meta
//! app, a reviewed permission set and real accounts; none of that exists on a
//! laptop or in CI. This small HTTP server on loopback answers the parts of
//! Meta we use — the Login dialog, the OAuth token endpoint, `/me/accounts`,
//! the WhatsApp business assets, webhook subscriptions and the Send API — with
//! Meta's shapes and error envelopes, so the real client code is exercised
//! over real HTTP. `bikriagent dev-meta` runs it for local development; tests
//! spawn one per test on port 0 and inspect what it received.
//!
//! It checks what Meta checks and that matters to us: the app id and secret,
//! single-use codes bound to their redirect URI and PKCE challenge, and that
//! every call carries the right token. Errors can be injected on demand with
//! [`FakeMeta::fail_next`].

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use bikriagent::meta::graph::{GRAPH_VERSION, pkce_challenge_s256};
use rand::RngCore as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What Meta answers as the lifetime of the user tokens it issues here.
const TOKEN_LIFETIME_SECS: i64 = 5_183_944;

/// The id `/me` answers with; nothing depends on its value.
const FAKE_USER_ID: &str = "5000000001";

/// The business owning every fake WhatsApp Business Account.
const FAKE_BUSINESS_ID: &str = "4000000001";

/// A Facebook Page the fake owner manages, with its Page token and its
/// linked Instagram professional account (`(id, username)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePage {
    pub id: String,
    pub name: String,
    pub token: String,
    pub instagram: Option<(String, String)>,
}

/// A WhatsApp Business phone number of the fake owner, and the WhatsApp
/// Business Account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub waba_id: String,
}

/// A message the fake accepted on `/{id}/messages`: who sent it, with which
/// token, and the JSON body exactly as received, so tests can check shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub sender_id: String,
    pub token: String,
    pub body: Value,
}

/// A running fake Meta. Cheap to clone; all clones see the same state. The
/// server task lives until the runtime shuts down.
#[derive(Clone, Debug)]
pub struct FakeMeta {
    /// Where it listens (always on 127.0.0.1).
    pub addr: SocketAddr,
    state: Arc<FakeState>,
}

#[derive(Debug)]
struct FakeState {
    app_id: String,
    app_secret: String,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pages: Vec<FakePage>,
    numbers: Vec<FakeNumber>,
    codes: HashMap<String, CodeGrant>,
    short_tokens: HashSet<String>,
    long_tokens: HashSet<String>,
    failures: Vec<Failure>,
    sent: Vec<SentMessage>,
    subscriptions: Vec<(String, bool)>,
    exchanges: usize,
}

#[derive(Debug)]
struct CodeGrant {
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

#[derive(Debug)]
struct Failure {
    path_contains: String,
    status: u16,
    code: i64,
    subcode: Option<i64>,
    remaining: usize,
}

impl FakeState {
    /// The state, even if a handler panicked while holding it (a test that
    /// failed should not make every later call fail too).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn is_user_token(&self, token: &str) -> bool {
        self.short_tokens.contains(token) || self.long_tokens.contains(token)
    }

    fn issue_long_lived(&mut self) -> String {
        let token = format!("EAAGfakeLongLivedToken{}", random_token(24));
        self.long_tokens.insert(token.clone());
        token
    }
}

/// The Pages a fresh fake shows, so local development has something to
/// connect: one with Instagram, one without.
fn default_pages() -> Vec<FakePage> {
    vec![
        FakePage {
            id: "1000000001".to_owned(),
            name: "Rahima Fashion House".to_owned(),
            token: "EAAGfakePageToken1000000001".to_owned(),
            instagram: Some(("1784000000001".to_owned(), "rahima.fashion".to_owned())),
        },
        FakePage {
            id: "1000000002".to_owned(),
            name: "Rahima Outlet".to_owned(),
            token: "EAAGfakePageToken1000000002".to_owned(),
            instagram: None,
        },
    ]
}

/// The WhatsApp number a fresh fake shows.
fn default_numbers() -> Vec<FakeNumber> {
    vec![FakeNumber {
        phone_number_id: "2000000001".to_owned(),
        display_phone_number: "+880 1711-000000".to_owned(),
        verified_name: "Rahima Fashion House".to_owned(),
        waba_id: "3000000001".to_owned(),
    }]
}

impl FakeMeta {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves in a spawned
    /// task, accepting only `app_id` and `app_secret` as the app's
    /// credentials. Loopback only: it hands out tokens to anyone who asks.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub async fn spawn(port: u16, app_id: &str, app_secret: &str) -> std::io::Result<FakeMeta> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(FakeState {
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
            inner: Mutex::new(Inner {
                pages: default_pages(),
                numbers: default_numbers(),
                ..Inner::default()
            }),
        });
        let router = router(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "fake Meta stopped serving");
            }
        });
        Ok(FakeMeta { addr, state })
    }

    /// The Graph API base URL, to use as `META_GRAPH_URL`.
    pub fn graph_url(&self) -> String {
        format!("http://{}/{GRAPH_VERSION}", self.addr)
    }

    /// The Login dialog URL, to use as `META_DIALOG_URL`.
    pub fn dialog_url(&self) -> String {
        format!("http://{}/{GRAPH_VERSION}/dialog/oauth", self.addr)
    }

    /// Replaces the Pages the fake owner manages.
    pub fn set_pages(&self, pages: Vec<FakePage>) {
        self.state.lock().pages = pages;
    }

    /// Replaces the WhatsApp numbers the fake owner has.
    pub fn set_whatsapp(&self, numbers: Vec<FakeNumber>) {
        self.state.lock().numbers = numbers;
    }

    /// Makes the next `times` requests whose path and query contain
    /// `path_contains` fail with `status` and Meta's error JSON carrying
    /// `code` and `subcode`, to test how callers handle each error class.
    /// Rules are consulted in the order they were added.
    pub fn fail_next(&self, path_contains: &str, status: u16, code: i64, subcode: Option<i64>, times: usize) {
        self.state.lock().failures.push(Failure {
            path_contains: path_contains.to_owned(),
            status,
            code,
            subcode,
            remaining: times,
        });
    }

    /// The messages accepted so far, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().sent.clone()
    }

    /// Every accepted `subscribed_apps` call so far, oldest first: the object
    /// id, and `true` for a subscription (POST) or `false` for a removal
    /// (DELETE).
    pub fn subscriptions(&self) -> Vec<(String, bool)> {
        self.state.lock().subscriptions.clone()
    }

    /// How many token exchanges succeeded (codes and long-lived upgrades).
    pub fn exchanges(&self) -> usize {
        self.state.lock().exchanges
    }

    /// Issues a long-lived user token without going through the Login
    /// dialog, for tests that only need a valid user token.
    /// The Meta user id of the fake's one user (for signed requests in tests).
    pub fn user_id(&self) -> String {
        FAKE_USER_ID.to_owned()
    }

    pub fn issue_user_token(&self) -> String {
        self.state.lock().issue_long_lived()
    }
}

fn router(state: Arc<FakeState>) -> Router {
    let graph = Router::new()
        .route("/dialog/oauth", get(dialog))
        .route("/oauth/access_token", get(token_query).post(token_form))
        .route("/me", get(me))
        .route("/me/accounts", get(accounts))
        .route("/{id}/subscribed_apps", post(subscribed_apps).delete(subscribed_apps))
        .route("/{id}/messages", post(messages));
    Router::new()
        .nest(&format!("/{GRAPH_VERSION}"), graph)
        .layer(axum::middleware::from_fn_with_state(state.clone(), inject_failures))
        .with_state(state)
}

/// `n` random bytes, base64url without padding.
fn random_token(n: usize) -> String {
    let mut bytes = vec![0_u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Meta's error envelope with `status`.
fn meta_error(status: StatusCode, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": format!("Fake{}", random_token(9)),
    });
    if let (Some(subcode), Some(object)) = (subcode, error.as_object_mut()) {
        object.insert("error_subcode".to_owned(), json!(subcode));
    }
    (status, Json(json!({ "error": error }))).into_response()
}

/// Meta's answer to a missing, unknown or wrong token.
fn invalid_token() -> Response {
    meta_error(
        StatusCode::BAD_REQUEST,
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

/// Meta's answer to bad or missing parameters.
fn invalid_parameter(subcode: Option<i64>, message: &str) -> Response {
    meta_error(StatusCode::BAD_REQUEST, 100, subcode, message)
}

/// Answers with an injected failure when a [`FakeMeta::fail_next`] rule
/// matches, before any routing or checks.
async fn inject_failures(State(state): State<Arc<FakeState>>, request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let injected = {
        let mut inner = state.lock();
        let rule = inner
            .failures
            .iter_mut()
            .find(|rule| rule.remaining > 0 && target.contains(&rule.path_contains));
        rule.map(|rule| {
            rule.remaining -= 1;
            (rule.status, rule.code, rule.subcode)
        })
    };
    match injected {
        Some((status, code, subcode)) => meta_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            subcode,
            "Fake Meta: injected failure",
        ),
        None => next.run(request).await,
    }
}

/// The `Authorization: Bearer` token, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Text made safe to put in HTML (content and quoted attributes).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `base` with `params` appended to its query string.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{query}")
}

fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Fake Meta: error</title></head>\
         <body><h1>Fake Meta: error</h1><p>{}</p></body></html>",
        escape_html(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// `GET /dialog/oauth`: the Login dialog. It approves on the owner's behalf:
/// the page links back to the app with a fresh code (and offers a Cancel that
/// reports `access_denied` as Facebook does); with `auto=1` it redirects
/// straight away, for tests.
async fn dialog(State(state): State<Arc<FakeState>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    if param("client_id") != state.app_id {
        return error_page("Invalid App ID: the client_id is not this app's id.");
    }
    let redirect_uri = param("redirect_uri");
    if !(redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")) {
        return error_page("URL blocked: the redirect_uri is missing or not an http(s) URL.");
    }
    if param("response_type") != "code" {
        return error_page("Unsupported response_type: only `code` is supported.");
    }
    let challenge = match (query.get("code_challenge"), param("code_challenge_method")) {
        (None, _) => None,
        (Some(challenge), "S256") if !challenge.is_empty() => Some(challenge.clone()),
        _ => return error_page("Invalid PKCE parameters: only a non-empty S256 code_challenge is supported."),
    };
    let oauth_state = param("state");
    let code = format!("AQfake{}", random_token(32));
    state.lock().codes.insert(
        code.clone(),
        CodeGrant {
            redirect_uri: redirect_uri.to_owned(),
            challenge,
            used: false,
        },
    );
    let approve = with_query(redirect_uri, &[("code", &code), ("state", oauth_state)]);
    if param("auto") == "1" {
        return (StatusCode::FOUND, [(header::LOCATION, approve)]).into_response();
    }
    let cancel = with_query(
        redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_code", "200"),
            ("error_description", "Permissions error"),
            ("error_reason", "user_denied"),
            ("state", oauth_state),
        ],
    );
    let scopes = param("scope");
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Fake Meta: log in</title></head><body>\
         <h1>Fake Meta: BikriAgent wants to manage your Pages</h1>\
         <p>This is the local fake of the Facebook Login dialog. Continuing grants: {scopes}</p>\
         <p><a id=\"continue\" href=\"{approve}\">Continue</a> <a id=\"cancel\" href=\"{cancel}\">Cancel</a></p>\
         </body></html>",
        scopes = escape_html(scopes),
        approve = escape_html(&approve),
        cancel = escape_html(&cancel),
    );
    Html(body).into_response()
}

/// `GET /oauth/access_token`: both grants, parameters in the query.
async fn token_query(State(state): State<Arc<FakeState>>, Query(params): Query<HashMap<String, String>>) -> Response {
    token(&state, &params)
}

/// `POST /oauth/access_token`: both grants, parameters in a form body (how
/// the oauth2 crate sends the code exchange).
async fn token_form(State(state): State<Arc<FakeState>>, body: Bytes) -> Response {
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    token(&state, &params)
}

fn token(state: &FakeState, params: &HashMap<String, String>) -> Response {
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    if param("client_id") != state.app_id {
        return invalid_parameter(None, "Error validating application. Invalid application ID.");
    }
    if param("client_secret") != state.app_secret {
        return invalid_parameter(None, "Error validating client secret.");
    }
    let mut inner = state.lock();
    let access_token = match param("grant_type") {
        "fb_exchange_token" => {
            if !inner.is_user_token(param("fb_exchange_token")) {
                return invalid_token();
            }
            inner.issue_long_lived()
        }
        "authorization_code" | "" => {
            let code = param("code");
            let Some(grant) = inner.codes.get_mut(code) else {
                return invalid_parameter(None, "Invalid verification code format.");
            };
            if grant.used {
                return invalid_parameter(Some(36009), "This authorization code has been used.");
            }
            if grant.redirect_uri != param("redirect_uri") {
                return invalid_parameter(
                    Some(36008),
                    "Error validating verification code. Please make sure your redirect_uri is identical to the \
                     one you used in the OAuth dialog request",
                );
            }
            if let Some(challenge) = &grant.challenge
                && pkce_challenge_s256(param("code_verifier")) != *challenge
            {
                return invalid_parameter(None, "Invalid code verifier.");
            }
            grant.used = true;
            let token = format!("EAAGfakeUserToken{}", random_token(24));
            inner.short_tokens.insert(token.clone());
            token
        }
        _ => return invalid_parameter(None, "Unsupported grant_type."),
    };
    inner.exchanges += 1;
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
    }))
    .into_response()
}

/// Whether the request carries a long-lived user token issued here: the
/// app must upgrade the Login token before listing assets.
fn long_lived_bearer(state: &FakeState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|token| state.lock().long_tokens.contains(token))
}

/// `GET /me/accounts`: the owner's Pages with their Page tokens.
async fn accounts(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !long_lived_bearer(&state, &headers) {
        return invalid_token();
    }
    let fields = query.get("fields").map(String::as_str).unwrap_or_default();
    let want_instagram = fields.contains("instagram_business_account");
    let data: Vec<Value> = state
        .lock()
        .pages
        .iter()
        .map(|page| {
            let mut row = json!({ "id": page.id, "name": page.name, "access_token": page.token });
            if let (true, Some((id, username)), Some(object)) = (want_instagram, &page.instagram, row.as_object_mut()) {
                object.insert(
                    "instagram_business_account".to_owned(),
                    json!({ "id": id, "username": username }),
                );
            }
            row
        })
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// `GET /me`: with `fields=businesses{...}`, the WhatsApp Business Accounts
/// and their numbers, nested as Meta nests them; otherwise just the user.
async fn me(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !long_lived_bearer(&state, &headers) {
        return invalid_token();
    }
    let fields = query.get("fields").map(String::as_str).unwrap_or_default();
    if !fields.contains("businesses") {
        return Json(json!({ "id": FAKE_USER_ID, "name": "Fake Owner" })).into_response();
    }
    let numbers = state.lock().numbers.clone();
    let mut wabas: Vec<(String, Vec<Value>)> = Vec::new();
    for number in numbers {
        let phone = json!({
            "id": number.phone_number_id,
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
        });
        match wabas.iter_mut().find(|(id, _)| *id == number.waba_id) {
            Some((_, phones)) => phones.push(phone),
            None => wabas.push((number.waba_id, vec![phone])),
        }
    }
    let accounts: Vec<Value> = wabas
        .into_iter()
        .map(|(id, phones)| json!({ "id": id, "phone_numbers": { "data": phones } }))
        .collect();
    let businesses = if accounts.is_empty() {
        Vec::new()
    } else {
        vec![json!({ "id": FAKE_BUSINESS_ID, "owned_whatsapp_business_accounts": { "data": accounts } })]
    };
    Json(json!({ "businesses": { "data": businesses }, "id": FAKE_USER_ID })).into_response()
}

/// `POST` / `DELETE /{id}/subscribed_apps` for a Page (with its Page token;
/// subscribing needs `subscribed_fields`) or a WhatsApp Business Account
/// (with a user token).
async fn subscribed_apps(
    State(state): State<Arc<FakeState>>,
    method: Method,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = bearer(&headers).unwrap_or_default();
    let subscribe = method == Method::POST;
    let mut inner = state.lock();
    if let Some(page) = inner.pages.iter().find(|page| page.id == id) {
        if page.token != token {
            return invalid_token();
        }
        if subscribe {
            let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
            if form.get("subscribed_fields").is_none_or(|fields| fields.is_empty()) {
                return invalid_parameter(None, "(#100) The parameter subscribed_fields is required.");
            }
        }
    } else if inner.numbers.iter().any(|number| number.waba_id == id) {
        if !inner.is_user_token(token) {
            return invalid_token();
        }
    } else {
        return invalid_parameter(
            Some(33),
            "Unsupported request. The object does not exist or does not support this operation.",
        );
    }
    inner.subscriptions.push((id, subscribe));
    Json(json!({ "success": true })).into_response()
}

/// `POST /{id}/messages`: the Send API for a Page or its Instagram account
/// (Page token, Messenger shape) and the Cloud API for a WhatsApp number
/// (user token, WhatsApp shape).
async fn messages(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = bearer(&headers).unwrap_or_default().to_owned();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_parameter(None, "(#100) The request body is not valid JSON.");
    };
    let mut inner = state.lock();
    let page_token = inner
        .pages
        .iter()
        .find(|page| page.id == id || page.instagram.as_ref().is_some_and(|(ig, _)| *ig == id))
        .map(|page| page.token.clone());
    let answer = if let Some(page_token) = page_token {
        if page_token != token {
            return invalid_token();
        }
        let recipient = body.pointer("/recipient/id").and_then(Value::as_str);
        let (Some(recipient), Some(_)) = (recipient, body.get("message").filter(|m| m.is_object())) else {
            return invalid_parameter(None, "(#100) recipient.id and message are required.");
        };
        json!({ "recipient_id": recipient, "message_id": format!("m_{}", random_token(24)) })
    } else if inner.numbers.iter().any(|number| number.phone_number_id == id) {
        if !inner.is_user_token(&token) {
            return invalid_token();
        }
        let to = body.get("to").and_then(Value::as_str);
        let product = body.get("messaging_product").and_then(Value::as_str);
        let (Some(to), Some("whatsapp")) = (to, product) else {
            return invalid_parameter(None, "(#100) messaging_product must be whatsapp and `to` is required.");
        };
        let wa_id: String = to.chars().filter(char::is_ascii_digit).collect();
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{ "input": to, "wa_id": wa_id }],
            "messages": [{ "id": format!("wamid.{}", random_token(24)) }],
        })
    } else {
        return invalid_parameter(
            Some(33),
            "Unsupported post request. The object does not exist or does not support this operation.",
        );
    };
    inner.sent.push(SentMessage {
        sender_id: id,
        token,
        body,
    });
    Json(answer).into_response()
}
