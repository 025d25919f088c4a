//! The Graph API client: OAuth token exchange, the Pages, Instagram accounts
//! and WhatsApp numbers an owner granted, webhook subscriptions, and sending.
//!
//! The base URL is configuration (`META_GRAPH_URL`, with a pinned API
//! version), so tests point it at the fake Meta. The HTTP client follows no
//! redirects and has timeouts; tokens are never logged.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, TokenResponse as _, TokenUrl,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The pinned Graph API version.
pub const GRAPH_VERSION: &str = "v21.0";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com/v21.0";
pub const DEFAULT_DIALOG_URL: &str = "https://www.facebook.com/v21.0/dialog/oauth";

/// Permissions asked for in the Login dialog: Page messaging, Instagram
/// messaging, WhatsApp Business messaging, and the business assets behind them.
pub const SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_messaging",
    "pages_manage_metadata",
    "instagram_basic",
    "instagram_manage_messages",
    "business_management",
    "whatsapp_business_management",
    "whatsapp_business_messaging",
];

/// A Graph API error, classified by Meta's numeric code (never by its text).
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("Meta refused the request (code {code}, subcode {subcode:?})")]
    Api {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        kind: ErrorKind,
    },
    #[error("Meta could not be reached: {0}")]
    Network(String),
    #[error("Meta answered something we did not understand: {0}")]
    Malformed(String),
}

/// What an API error means for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// 190: the token is invalid or expired: the channel needs reconnecting.
    InvalidToken,
    /// 10, 200–299: a permission is missing: the channel needs reconnecting.
    Permission,
    /// 4, 17, 32, 613: rate limited: back off.
    RateLimited,
    /// 368: temporarily blocked for policy reasons.
    TemporarilyBlocked,
    /// 551 (and 1545041 subcode): the person is not available.
    UserUnavailable,
    /// Any other 4xx: do not retry.
    Other,
    /// 5xx or code 1/2: Meta's side; retry with backoff.
    Transient,
}

impl ErrorKind {
    /// Classifies by code and subcode.
    pub fn classify(status: u16, code: i64, subcode: Option<i64>) -> ErrorKind {
        match (code, subcode) {
            (190, _) => ErrorKind::InvalidToken,
            (10, _) | (200..=299, _) => ErrorKind::Permission,
            (4 | 17 | 32 | 613, _) => ErrorKind::RateLimited,
            (368, _) => ErrorKind::TemporarilyBlocked,
            (551, _) | (_, Some(1_545_041)) => ErrorKind::UserUnavailable,
            (1 | 2, _) => ErrorKind::Transient,
            _ if status >= 500 => ErrorKind::Transient,
            _ => ErrorKind::Other,
        }
    }
}

/// A user access token with its lifetime.
#[derive(Debug)]
pub struct UserToken {
    pub token: SecretString,
    pub expires_in: Option<i64>,
}

/// A Facebook Page the owner granted, with its Page token, and its linked
/// Instagram professional account if any.
#[derive(Debug)]
pub struct PageGrant {
    pub page_id: String,
    pub name: String,
    pub access_token: SecretString,
    pub instagram: Option<InstagramAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstagramAccount {
    pub id: String,
    pub username: String,
}

/// A WhatsApp Business phone number the owner granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppNumber {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub waba_id: String,
}

/// The Graph API client.
#[derive(Clone, Debug)]
pub struct GraphClient {
    pub base_url: String,
    pub app_id: String,
    app_secret: SecretString,
    http: reqwest::Client,
}

/// A Graph call must not hold a worker (or a webhook reply) for long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Connecting to Meta should be quick; failing fast lets a job retry sooner.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Graph answers we read are small JSON documents; anything bigger is refused
/// rather than buffered, so a misbehaving peer cannot exhaust memory.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The Page webhook fields we subscribe to: messages and their postbacks,
/// echoes of what the shop sent, delivery and read receipts, and reactions.
pub const PAGE_SUBSCRIBED_FIELDS: &str =
    "messages,messaging_postbacks,message_echoes,message_deliveries,message_reads,message_reactions";

/// `/me/accounts` is paged; an owner with more than this many pages of 100
/// Pages is not a shop we serve, and the bound keeps a broken cursor from
/// looping forever.
const MAX_LIST_PAGES: usize = 10;

/// The Meta platform a channel runs on. In the database it is the type
/// `channel_platform` (`inbound_messages.platform`, `channels.platform`),
/// which also has the sandbox: read a channel's platform as
/// [`crate::channels::ChannelPlatform`], which may be the sandbox.
///
/// Ordered as the database type is (messenger, instagram, whatsapp), so rows
/// sorted here are in the order of an index on the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "channel_platform", rename_all = "lowercase")]
pub enum Platform {
    /// Facebook Messenger, through a Page.
    Messenger,
    /// Instagram Direct, through the Instagram account linked to a Page.
    Instagram,
    /// WhatsApp Business, through a phone number of a WhatsApp Business Account.
    Whatsapp,
}

impl Platform {
    /// Every platform, for forms and iteration.
    pub const ALL: [Platform; 3] = [Platform::Messenger, Platform::Instagram, Platform::Whatsapp];

    /// The stable name stored in the database and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Messenger => "messenger",
            Platform::Instagram => "instagram",
            Platform::Whatsapp => "whatsapp",
        }
    }

    /// The platform named by [`Platform::as_str`], or `None` for anything else
    /// (input from rows and URLs is not trusted to be valid).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "messenger" => Some(Platform::Messenger),
            "instagram" => Some(Platform::Instagram),
            "whatsapp" => Some(Platform::Whatsapp),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The start of a Facebook Login: where to send the owner, and the two values
/// the callback needs, which the caller keeps in the owner's session (never in
/// the URL or a cookie the browser can read).
pub struct AuthorizeStart {
    /// The Login dialog URL to redirect the browser to.
    pub url: String,
    /// The CSRF `state`; the callback must see exactly this value back.
    pub state: String,
    /// The PKCE verifier; [`GraphClient::exchange_code`] sends it with the code.
    pub pkce_verifier: String,
}

impl fmt::Debug for AuthorizeStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeStart")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("pkce_verifier", &"[redacted]")
            .finish()
    }
}

/// The S256 PKCE challenge of a verifier (RFC 7636: base64url without padding
/// of its SHA-256), so the fake Meta checks verifiers exactly as Meta does.
pub fn pkce_challenge_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Meta's error envelope: `{"error": {...}}`.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

/// The parts of a Graph error we act on or log; the `message` is ignored
/// because errors are classified by code only.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

/// A token answer. Not `Debug`, so the token cannot end up in a log line.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// A Graph list: `{"data": [...], "paging": {...}}`.
#[derive(Deserialize)]
struct Listed<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// One row of `/me/accounts`. Not `Debug`: it holds a Page token.
#[derive(Deserialize)]
struct PageRow {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    instagram_business_account: Option<InstagramRow>,
}

#[derive(Deserialize)]
struct InstagramRow {
    id: String,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct MeBusinesses {
    #[serde(default)]
    businesses: Option<Listed<Business>>,
}

#[derive(Deserialize)]
struct Business {
    #[serde(default)]
    owned_whatsapp_business_accounts: Option<Listed<Waba>>,
}

#[derive(Deserialize)]
struct Waba {
    id: String,
    #[serde(default)]
    phone_numbers: Option<Listed<PhoneRow>>,
}

#[derive(Deserialize)]
struct PhoneRow {
    id: String,
    #[serde(default)]
    display_phone_number: String,
    #[serde(default)]
    verified_name: String,
}

#[derive(Deserialize)]
struct SuccessAnswer {
    #[serde(default)]
    success: bool,
}

#[derive(Deserialize)]
struct MessengerSent {
    message_id: String,
}

#[derive(Deserialize)]
struct WhatsAppSent {
    #[serde(default)]
    messages: Vec<WhatsAppMessageId>,
}

#[derive(Deserialize)]
struct WhatsAppMessageId {
    id: String,
}

/// A network failure, described without the URL: some Graph URLs carry the
/// app secret or a token in their query string.
fn network_error(error: reqwest::Error) -> GraphError {
    let error = error.without_url();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = format!("{what}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    GraphError::Network(text)
}

/// Reads a response body, refusing more than [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, GraphError> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(GraphError::Malformed("answer too large".to_owned()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(GraphError::Malformed("answer too large".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Turns a non-2xx answer into a [`GraphError`]. Only Meta's numeric code,
/// subcode, type and trace id are looked at and logged: the message is free
/// text and is neither trusted nor recorded.
fn check_status(status: reqwest::StatusCode, body: &[u8], what: &'static str) -> Result<(), GraphError> {
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        tracing::warn!(operation = what, status = status.as_u16(), "graph: unexpected redirect");
        return Err(GraphError::Malformed("redirect".to_owned()));
    }
    let status = status.as_u16();
    let (code, subcode) = match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error }) => {
            tracing::warn!(
                operation = what,
                status,
                code = error.code,
                subcode = error.error_subcode,
                error_type = error.kind.as_deref(),
                fbtrace_id = error.fbtrace_id.as_deref(),
                "graph: Meta refused the request"
            );
            (error.code.unwrap_or(0), error.error_subcode)
        }
        Err(_) => {
            tracing::warn!(
                operation = what,
                status,
                "graph: Meta answered an error without a Graph error body"
            );
            (0, None)
        }
    };
    Err(GraphError::Api {
        status,
        code,
        subcode,
        kind: ErrorKind::classify(status, code, subcode),
    })
}

/// Parses a successful answer. The error names the operation and the position
/// only: serde's own messages can quote values, and values can be tokens.
fn decode<T: DeserializeOwned>(body: &[u8], what: &'static str) -> Result<T, GraphError> {
    serde_json::from_slice(body).map_err(|error| {
        GraphError::Malformed(format!(
            "{what}: unexpected JSON at line {} column {}",
            error.line(),
            error.column()
        ))
    })
}

/// Graph object ids are numeric; anything that could change the path or the
/// query (`/`, `..`, `?`) is refused before a request is made.
fn object_id<'a>(id: &'a str, what: &'static str) -> Result<&'a str, GraphError> {
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
    {
        Ok(id)
    } else {
        Err(GraphError::Malformed(format!("{what} is not a Graph object id")))
    }
}

/// The HTTP client the oauth2 crate uses for the code exchange: our client
/// (no redirects, timeouts), with the answer capped at [`MAX_RESPONSE_BYTES`]
/// and Meta's error envelope turned into a [`GraphError`] before oauth2
/// (which expects RFC 6749 errors) sees it. A named type rather than a
/// closure so the exchange future is `Send`.
struct OAuthHttp(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = GraphError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, GraphError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|_| GraphError::Malformed("the token request could not be built".to_owned()))?;
            let response = self.0.execute(request).await.map_err(network_error)?;
            let status = response.status();
            let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
            let body = read_capped(response).await?;
            check_status(status, &body, "exchange code")?;
            let mut answer = oauth2::http::Response::builder().status(status.as_u16());
            if let Some(content_type) = content_type {
                answer = answer.header(oauth2::http::header::CONTENT_TYPE, content_type.as_bytes());
            }
            answer
                .body(body)
                .map_err(|_| GraphError::Malformed("exchange code: unreadable answer".to_owned()))
        })
    }
}

impl GraphClient {
    /// A client for the Graph API at `base_url`, e.g.
    /// `https://graph.facebook.com/v21.0` (a trailing slash is ignored).
    ///
    /// The HTTP client follows no redirects, so tokens are only ever sent to
    /// `base_url`; it gives up after 10 s (5 s to connect), so a slow Meta
    /// cannot hold a worker.
    ///
    /// # Errors
    ///
    /// [`GraphError::Network`] when the HTTP client cannot be built.
    pub fn new(base_url: &str, app_id: &str, app_secret: SecretString) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(network_error)?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            app_secret,
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    fn oauth_client(
        &self,
        dialog_url: &str,
        redirect_uri: &str,
    ) -> Result<
        BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        GraphError,
    > {
        let auth_url = AuthUrl::new(dialog_url.to_owned())
            .map_err(|_| GraphError::Malformed("the Login dialog URL is invalid".to_owned()))?;
        let token_url = TokenUrl::new(self.url("oauth/access_token"))
            .map_err(|_| GraphError::Malformed("the Graph base URL is invalid".to_owned()))?;
        let redirect_url = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| GraphError::Malformed("the redirect URI is invalid".to_owned()))?;
        Ok(BasicClient::new(ClientId::new(self.app_id.clone()))
            .set_client_secret(ClientSecret::new(self.app_secret.expose_secret().to_owned()))
            .set_auth_uri(auth_url)
            .set_token_uri(token_url)
            .set_redirect_uri(redirect_url)
            .set_auth_type(AuthType::RequestBody))
    }

    /// Builds the Facebook Login dialog URL asking for [`SCOPES`], with a
    /// random `state` against login CSRF and a PKCE S256 challenge so a
    /// stolen code is useless without the verifier. The caller stores `state`
    /// and `pkce_verifier` in the owner's session for the callback.
    ///
    /// # Errors
    ///
    /// [`GraphError::Malformed`] when `dialog_url`, `redirect_uri` or the base
    /// URL is not a valid URL (a configuration mistake).
    pub fn authorize_url(&self, dialog_url: &str, redirect_uri: &str) -> Result<AuthorizeStart, GraphError> {
        let client = self.oauth_client(dialog_url, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|scope| Scope::new((*scope).to_owned())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(AuthorizeStart {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the Login callback's `code` (with the session's PKCE
    /// verifier) for a short-lived user token. The app secret travels in the
    /// POST body, never in a URL.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`] when Meta refuses (a used or expired code, a wrong
    /// verifier or redirect URI), [`GraphError::Network`] and
    /// [`GraphError::Malformed`] otherwise.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
    ) -> Result<UserToken, GraphError> {
        // The dialog URL is not used by the exchange; any valid URL will do.
        let client = self.oauth_client(&self.url("dialog/oauth"), redirect_uri)?;
        let http = OAuthHttp(self.http.clone());
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|error| match error {
                RequestTokenError::Request(error) => error,
                RequestTokenError::ServerResponse(error) => {
                    GraphError::Malformed(format!("exchange code: unexpected OAuth error {}", error.error()))
                }
                RequestTokenError::Parse(..) => {
                    GraphError::Malformed("exchange code: the token answer is not the expected JSON".to_owned())
                }
                RequestTokenError::Other(_) => GraphError::Malformed("exchange code: unexpected answer".to_owned()),
            })?;
        Ok(UserToken {
            token: SecretString::from(token.access_token().secret().clone()),
            expires_in: token
                .expires_in()
                .map(|lifetime| i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
        })
    }

    /// Trades a short-lived user token for a long-lived one (about 60 days),
    /// which is what we keep so the Page tokens derived from it do not expire.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`] (kind [`ErrorKind::InvalidToken`] for a bad token),
    /// [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn long_lived(&self, user_token: &SecretString) -> Result<UserToken, GraphError> {
        let request = self.http.get(self.url("oauth/access_token")).query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.app_secret.expose_secret()),
            ("fb_exchange_token", user_token.expose_secret()),
        ]);
        let answer: TokenAnswer = self.call(request, "long-lived token").await?;
        Ok(UserToken {
            token: SecretString::from(answer.access_token),
            expires_in: answer.expires_in,
        })
    }

    /// The Pages the owner granted, each with its Page token and linked
    /// Instagram professional account. Pages Meta returns without a token
    /// (the owner lacks the tasks to message from them) are left out, since
    /// we could do nothing with them.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`], [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn pages(&self, user_token: &SecretString) -> Result<Vec<PageGrant>, GraphError> {
        let mut grants = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut query = vec![
                ("fields", "id,name,access_token,instagram_business_account{id,username}"),
                ("limit", "100"),
            ];
            if let Some(cursor) = after.as_deref() {
                query.push(("after", cursor));
            }
            let request = self
                .http
                .get(self.url("me/accounts"))
                .query(&query)
                .bearer_auth(user_token.expose_secret());
            let listed: Listed<PageRow> = self.call(request, "list pages").await?;
            for row in listed.data {
                let Some(access_token) = row.access_token else {
                    tracing::info!(page_id = %row.id, "graph: a granted Page came without a Page token; skipped");
                    continue;
                };
                grants.push(PageGrant {
                    page_id: row.id,
                    name: row.name,
                    access_token: SecretString::from(access_token),
                    instagram: row.instagram_business_account.map(|account| InstagramAccount {
                        id: account.id,
                        username: account.username.unwrap_or_default(),
                    }),
                });
            }
            after = listed
                .paging
                .filter(|paging| paging.next.is_some())
                .and_then(|paging| paging.cursors)
                .and_then(|cursors| cursors.after);
            if after.is_none() {
                break;
            }
        }
        Ok(grants)
    }

    /// The Meta user id behind a user token (`GET /me?fields=id`), kept with
    /// each channel for Meta's deauthorize and data deletion callbacks.
    pub async fn me_id(&self, user_token: &SecretString) -> Result<String, GraphError> {
        #[derive(Deserialize)]
        struct Me {
            id: String,
        }
        let request = self
            .http
            .get(self.url("me"))
            .query(&[("fields", "id")])
            .bearer_auth(user_token.expose_secret());
        let me: Me = self.call(request, "read the Meta user").await?;
        Ok(me.id)
    }

    /// The WhatsApp Business phone numbers of the WhatsApp Business Accounts
    /// owned by the owner's businesses, flattened (each remembers its WABA,
    /// which is what webhooks are subscribed on).
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`], [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn whatsapp_numbers(&self, user_token: &SecretString) -> Result<Vec<WhatsAppNumber>, GraphError> {
        let request = self
            .http
            .get(self.url("me"))
            .query(&[(
                "fields",
                "businesses{owned_whatsapp_business_accounts{id,phone_numbers{id,display_phone_number,verified_name}}}",
            )])
            .bearer_auth(user_token.expose_secret());
        let me: MeBusinesses = self.call(request, "list WhatsApp numbers").await?;
        let mut numbers: Vec<WhatsAppNumber> = Vec::new();
        let wabas = me
            .businesses
            .into_iter()
            .flat_map(|listed| listed.data)
            .filter_map(|business| business.owned_whatsapp_business_accounts)
            .flat_map(|listed| listed.data);
        for waba in wabas {
            for phone in waba.phone_numbers.into_iter().flat_map(|listed| listed.data) {
                if numbers.iter().any(|known| known.phone_number_id == phone.id) {
                    continue;
                }
                numbers.push(WhatsAppNumber {
                    phone_number_id: phone.id,
                    display_phone_number: phone.display_phone_number,
                    verified_name: phone.verified_name,
                    waba_id: waba.id.clone(),
                });
            }
        }
        Ok(numbers)
    }

    /// Subscribes our app to a Page's messaging webhooks
    /// ([`PAGE_SUBSCRIBED_FIELDS`]), so its messages reach us. Instagram
    /// messages of the linked account arrive through the same subscription.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`], [`GraphError::Network`], and
    /// [`GraphError::Malformed`] when Meta does not confirm.
    pub async fn subscribe_page(&self, page_id: &str, page_token: &SecretString) -> Result<(), GraphError> {
        let page_id = object_id(page_id, "the Page id")?;
        let request = self
            .http
            .post(self.url(&format!("{page_id}/subscribed_apps")))
            .form(&[("subscribed_fields", PAGE_SUBSCRIBED_FIELDS)])
            .bearer_auth(page_token.expose_secret());
        self.confirm(request, "subscribe Page").await
    }

    /// Removes our app's webhook subscription from a Page, when the shop
    /// disconnects it, so Meta stops sending us its messages.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`], [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn unsubscribe_page(&self, page_id: &str, page_token: &SecretString) -> Result<(), GraphError> {
        let page_id = object_id(page_id, "the Page id")?;
        let request = self
            .http
            .delete(self.url(&format!("{page_id}/subscribed_apps")))
            .bearer_auth(page_token.expose_secret());
        self.confirm(request, "unsubscribe Page").await
    }

    /// Subscribes our app to a WhatsApp Business Account's webhooks, so
    /// messages to its numbers reach us.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`], [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn subscribe_waba(&self, waba_id: &str, token: &SecretString) -> Result<(), GraphError> {
        let waba_id = object_id(waba_id, "the WhatsApp Business Account id")?;
        let request = self
            .http
            .post(self.url(&format!("{waba_id}/subscribed_apps")))
            .bearer_auth(token.expose_secret());
        self.confirm(request, "subscribe WhatsApp Business Account").await
    }

    /// Sends a text reply and returns Meta's message id (kept to match
    /// delivery receipts and echoes). `sender_id` is the Page id (Messenger),
    /// the Instagram account id (Instagram) or the phone number id
    /// (WhatsApp); `token` is the Page token, or the user token for WhatsApp.
    ///
    /// # Errors
    ///
    /// [`GraphError::Api`] (see [`ErrorKind`] for what to do),
    /// [`GraphError::Network`], [`GraphError::Malformed`].
    pub async fn send_text(
        &self,
        platform: Platform,
        sender_id: &str,
        token: &SecretString,
        recipient: &str,
        text: &str,
    ) -> Result<String, GraphError> {
        let sender_id = object_id(sender_id, "the sender id")?;
        let url = self.url(&format!("{sender_id}/messages"));
        match platform {
            Platform::Messenger | Platform::Instagram => {
                let body = serde_json::json!({
                    "recipient": { "id": recipient },
                    "messaging_type": "RESPONSE",
                    "message": { "text": text },
                });
                let request = self.http.post(url).json(&body).bearer_auth(token.expose_secret());
                let sent: MessengerSent = self.call(request, "send message").await?;
                Ok(sent.message_id)
            }
            Platform::Whatsapp => {
                let body = serde_json::json!({
                    "messaging_product": "whatsapp",
                    "to": recipient,
                    "type": "text",
                    "text": { "body": text },
                });
                let request = self.http.post(url).json(&body).bearer_auth(token.expose_secret());
                let sent: WhatsAppSent = self.call(request, "send WhatsApp message").await?;
                sent.messages
                    .into_iter()
                    .next()
                    .map(|message| message.id)
                    .ok_or_else(|| GraphError::Malformed("send WhatsApp message: no message id".to_owned()))
            }
        }
    }

    /// Sends a request and decodes its JSON answer, mapping every failure to
    /// a [`GraphError`].
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<T, GraphError> {
        let response = request.send().await.map_err(network_error)?;
        let status = response.status();
        let body = read_capped(response).await?;
        check_status(status, &body, what)?;
        decode(&body, what)
    }

    /// Sends a request answered by `{"success": true}`.
    async fn confirm(&self, request: reqwest::RequestBuilder, what: &'static str) -> Result<(), GraphError> {
        let answer: SuccessAnswer = self.call(request, what).await?;
        if answer.success {
            Ok(())
        } else {
            Err(GraphError::Malformed(format!("{what}: Meta did not confirm")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip() {
        for platform in Platform::ALL {
            assert_eq!(Platform::parse(platform.as_str()), Some(platform));
            assert_eq!(
                serde_json::to_string(&platform).unwrap_or_default(),
                format!("\"{}\"", platform.as_str())
            );
        }
        assert_eq!(Platform::parse("Messenger"), None);
        assert_eq!(Platform::parse(""), None);
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn object_ids_cannot_change_the_path() {
        assert!(object_id("1000000001", "id").is_ok());
        for bad in ["", "..", "1/2", "1?x=1", "a b", "1%2F"] {
            assert!(object_id(bad, "id").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn error_bodies_are_classified_by_code() {
        let body = br#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}}"#;
        match check_status(reqwest::StatusCode::BAD_REQUEST, body, "test") {
            Err(GraphError::Api {
                status,
                code,
                subcode,
                kind,
            }) => {
                assert_eq!(
                    (status, code, subcode, kind),
                    (400, 190, Some(463), ErrorKind::InvalidToken)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        match check_status(reqwest::StatusCode::BAD_GATEWAY, b"<html>", "test") {
            Err(GraphError::Api {
                code: 0,
                kind: ErrorKind::Transient,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        match check_status(reqwest::StatusCode::NOT_FOUND, b"not found", "test") {
            Err(GraphError::Api {
                code: 0,
                kind: ErrorKind::Other,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        match check_status(reqwest::StatusCode::FOUND, b"", "test") {
            Err(GraphError::Malformed(reason)) => assert_eq!(reason, "redirect"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decode_errors_do_not_quote_values() {
        let Err(GraphError::Malformed(reason)) = decode::<MessengerSent>(br#"{"message_id":123}"#, "send") else {
            panic!("expected a decode error");
        };
        assert!(!reason.contains("123"), "{reason}");
    }
}
