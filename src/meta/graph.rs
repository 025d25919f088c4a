//! The Graph API client: OAuth token exchange, the Pages, Instagram accounts
//! and WhatsApp numbers an owner granted, webhook subscriptions, and sending.
//!
//! The base URL is configuration (`META_GRAPH_URL`, with a pinned API
//! version), so tests point it at the fake Meta. The HTTP client follows no
//! redirects and has timeouts; tokens are never logged.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

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
    Api { status: u16, code: i64, subcode: Option<i64>, kind: ErrorKind },
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
