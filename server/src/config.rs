//! Configuration from environment variables, validated at start.
//!
//! Every variable is documented in `.env.example`. Parsing collects every
//! problem at once and names each variable, so a broken deployment is fixed
//! in one pass. Secrets have no defaults in production; in development any
//! missing secret is generated for this run and the log says which.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;

use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretBox, SecretString};

/// Production (the default) or local development.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Production,
    Development,
}

/// Human-readable text logs or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
pub struct Config {
    pub mode: Mode,
    /// The app's connection string; its queries run as the application role.
    pub database_url: SecretString,
    /// The owner role's connection string for migrations, when different.
    pub database_admin_url: Option<SecretString>,
    pub addr: SocketAddr,
    /// Where Prometheus scrapes `/metrics` (`BIKRI_METRICS_ADDR`); `None`:
    /// no metrics listener (staff still see `/metrics` on the public address).
    pub metrics_addr: Option<SocketAddr>,
    /// The external base URL, without a trailing slash (e.g. `https://shop.example`).
    pub public_url: String,
    /// The AES-256-GCM key for tokens and message bodies at rest.
    pub data_key: SecretBox<[u8; 32]>,
    pub meta_app_id: String,
    pub meta_app_secret: SecretString,
    pub meta_verify_token: SecretString,
    /// Graph API base with the pinned version, e.g. `https://graph.facebook.com/v21.0`.
    pub meta_graph_url: String,
    /// Facebook Login dialog URL.
    pub meta_dialog_url: String,
    /// Id of `BIKRI_DATA_KEY` in sealed values (rotation).
    pub data_key_id: u8,
    /// Older keys still accepted for reading: (id, key).
    pub old_data_keys: Vec<(u8, [u8; 32])>,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    /// How many job workers `serve` and `worker` run in-process.
    pub workers: usize,
    /// Development over plain http: drop `Secure` and the `__Host-` prefix.
    pub insecure_cookies: bool,
    /// Take the client address from the last `X-Forwarded-For` hop.
    pub trust_proxy: bool,
    /// SMTP server for outgoing mail; without it mail goes to `mailbox_dir`.
    pub smtp_url: Option<SecretString>,
    /// Sender of outgoing mail.
    pub mail_from: String,
    /// Where mail is written when no SMTP server is configured.
    pub mailbox_dir: std::path::PathBuf,
    /// Cloudflare Turnstile: secret, site key and the verification URL.
    pub turnstile: Option<TurnstileConfig>,
    /// Caps on automatic replies (per owner and channel per day, per conversation per minute).
    pub send_limits: bikriagent::pipeline::gates::SendLimits,
    /// An OpenAI-compatible chat completions API for answers the embedded engine has none for.
    pub llm: Option<LlmConfig>,
    /// Card payments through Stripe; `None` when `STRIPE_WEBHOOK_SECRET` is
    /// unset (then `/webhooks/stripe` answers 404 and staff verify payments by hand).
    pub stripe: Option<StripeConfig>,
    /// How long the agent waits for more messages of a burst before answering.
    pub burst_quiet: std::time::Duration,
    /// How long a client may take to send a request's headers, and then its
    /// body (`BIKRI_READ_TIMEOUT_MS`, 10 s); uploads get at least a minute.
    pub read_timeout: std::time::Duration,
    /// Pace of a channel's messages past its burst (`BIKRI_CHANNEL_MESSAGES_PER_SECOND`, `BIKRI_CHANNEL_BURST`).
    pub channel_pace: bikriagent::ingest::ChannelPace,
    /// After a takeover, the agent answers again once the owner was quiet this long (`None`: never on its own).
    pub takeover_quiet: Option<time::Duration>,
    /// How long message bodies, closed review cases, finished jobs and sent
    /// mail are kept, and how often the cleanup runs.
    pub cleanup: bikriagent::cleanup::CleanupConfig,
    /// Names of secrets generated for this development run.
    pub generated: Vec<&'static str>,
}

/// `LLM_BASE_URL`, `LLM_API_KEY`, `LLM_MODEL`.
#[derive(Clone)]
pub struct LlmConfig {
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of Debug output (secrecy already redacts them).
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("addr", &self.addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("public_url", &self.public_url)
            .field("meta_app_id", &self.meta_app_id)
            .field("log_format", &self.log_format)
            .field("db_max_connections", &self.db_max_connections)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// `STRIPE_WEBHOOK_SECRET` and `STRIPE_PAYMENT_LINK`.
///
/// The webhook secret is what turns Stripe on: without it no payment could
/// verify an owner, so a payment link alone is refused at start (owners
/// would pay and stay in trial). The link is optional: with only the secret,
/// webhooks are accepted (e.g. for links sent by hand) but no page shows one.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// The endpoint's signing secret (`whsec_…`) from Stripe's dashboard.
    pub webhook_secret: SecretString,
    /// The Payment Link owners follow to pay; see
    /// [`bikriagent::stripe::payment_link_url`] for the per-owner URL.
    pub payment_link: Option<String>,
}

/// Turnstile settings (all or nothing).
pub struct TurnstileConfig {
    pub secret: SecretString,
    pub site_key: String,
    pub verify_url: String,
}

/// Every problem found in the environment, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration is not valid (see .env.example):")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

struct Vars {
    map: HashMap<String, String>,
    problems: Vec<String>,
}

impl Vars {
    /// A variable's value; empty counts as unset.
    fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn problem(&mut self, name: &str, message: impl fmt::Display) {
        self.problems.push(format!("{name}: {message}"));
    }
}

fn random_base64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Parses `BIKRI_PUBLIC_URL`: scheme and host (and port), nothing after.
fn parse_public_url(raw: &str, mode: Mode) -> Result<String, String> {
    let uri: http::Uri = raw.parse().map_err(|_| "is not a URL".to_owned())?;
    let scheme = uri.scheme_str().ok_or("needs a scheme, e.g. https://")?;
    match (scheme, mode) {
        ("https", _) | ("http", Mode::Development) => {}
        ("http", Mode::Production) => {
            return Err("must use https:// in production (cookies are Secure)".to_owned());
        }
        _ => return Err(format!("has the unsupported scheme {scheme}")),
    }
    let authority = uri.authority().ok_or("needs a host")?;
    if authority.as_str().contains('@') {
        return Err("must not contain a user name or password".to_owned());
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err("must be only scheme and host, e.g. https://bikri.example.com".to_owned());
    }
    Ok(format!("{scheme}://{authority}"))
}

/// Checks `STRIPE_PAYMENT_LINK`: an https:// URL with a host (plain http
/// only to this machine in development, for a fake), no user name.
fn parse_payment_link(raw: &str, mode: Mode) -> Result<String, String> {
    let local = raw.starts_with("http://127.0.0.1") || raw.starts_with("http://localhost");
    if !(raw.starts_with("https://") || (mode == Mode::Development && local)) {
        return Err(
            "must be an https:// URL such as https://buy.stripe.com/… (http://127.0.0.1 only in development)".into(),
        );
    }
    let uri: http::Uri = raw.parse().map_err(|_| "is not a URL".to_owned())?;
    let authority = uri.authority().ok_or("needs a host")?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err("must be a plain https:// link, without a user name or password".to_owned());
    }
    Ok(raw.to_owned())
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Parses the given variables (tests pass a map instead of the real environment).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut vars = Vars {
            map: vars.into_iter().collect(),
            problems: Vec::new(),
        };
        let mut generated = Vec::new();

        let mode = match vars.get("BIKRI_ENV") {
            None | Some("production") => Mode::Production,
            Some("development") => Mode::Development,
            Some(other) => {
                let message = format!("must be `production` or `development`, not `{other}`");
                vars.problem("BIKRI_ENV", message);
                Mode::Production
            }
        };

        let database_url = match vars.get("DATABASE_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                vars.problem("DATABASE_URL", "must start with postgres:// or postgresql://");
                None
            }
            None => {
                vars.problem("DATABASE_URL", "is missing: the PostgreSQL connection string");
                None
            }
        };
        let database_admin_url = match vars.get("DATABASE_ADMIN_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                vars.problem("DATABASE_ADMIN_URL", "must start with postgres:// or postgresql://");
                None
            }
            None => None,
        };

        let addr = match vars.get("BIKRI_ADDR").unwrap_or("127.0.0.1:3000").parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                vars.problem("BIKRI_ADDR", "must be an address and port such as 127.0.0.1:3000");
                SocketAddr::from(([127, 0, 0, 1], 3000))
            }
        };

        let metrics_addr = match vars.get("BIKRI_METRICS_ADDR").map(str::parse::<SocketAddr>) {
            None => None,
            Some(Ok(metrics)) if metrics.port() != 0 && metrics == addr => {
                vars.problem(
                    "BIKRI_METRICS_ADDR",
                    "must differ from BIKRI_ADDR: metrics are never public",
                );
                None
            }
            Some(Ok(metrics)) => Some(metrics),
            Some(Err(_)) => {
                vars.problem(
                    "BIKRI_METRICS_ADDR",
                    "must be an address and port such as 127.0.0.1:9464",
                );
                None
            }
        };

        let public_url = match vars.get("BIKRI_PUBLIC_URL") {
            Some(raw) => match parse_public_url(raw, mode) {
                Ok(url) => url,
                Err(message) => {
                    vars.problem("BIKRI_PUBLIC_URL", message);
                    String::new()
                }
            },
            None if mode == Mode::Development => format!("http://{addr}"),
            None => {
                vars.problem("BIKRI_PUBLIC_URL", "is missing: the external https:// URL of this site");
                String::new()
            }
        };

        let data_key = match vars.get("BIKRI_DATA_KEY") {
            Some(raw) => match base64::engine::general_purpose::STANDARD.decode(raw) {
                Ok(bytes) if bytes.len() == 32 => {
                    let mut key = [0u8; 32];
                    key.copy_from_slice(&bytes);
                    Some(key)
                }
                Ok(bytes) => {
                    let message = format!("must decode to 32 bytes, not {}", bytes.len());
                    vars.problem("BIKRI_DATA_KEY", message);
                    None
                }
                Err(_) => {
                    vars.problem("BIKRI_DATA_KEY", "is not valid base64 (e.g. `openssl rand -base64 32`)");
                    None
                }
            },
            None if mode == Mode::Development => {
                generated.push("BIKRI_DATA_KEY");
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                Some(key)
            }
            None => {
                vars.problem(
                    "BIKRI_DATA_KEY",
                    "is missing: base64 of 32 random bytes (`openssl rand -base64 32`)",
                );
                None
            }
        };

        let mut secret = |vars: &mut Vars, name: &'static str, what: &str| match vars.get(name) {
            Some(value) => SecretString::from(value.to_owned()),
            None if mode == Mode::Development => {
                generated.push(name);
                SecretString::from(random_base64(24))
            }
            None => {
                vars.problem(name, format!("is missing: {what}"));
                SecretString::from(String::new())
            }
        };
        let meta_app_secret = secret(&mut vars, "META_APP_SECRET", "the Meta app's secret");
        let meta_verify_token = secret(
            &mut vars,
            "META_VERIFY_TOKEN",
            "the webhook verify token you set in Meta's dashboard",
        );

        let meta_app_id = match vars.get("META_APP_ID") {
            Some(id) if id.chars().all(|c| c.is_ascii_digit()) => id.to_owned(),
            Some(_) => {
                vars.problem("META_APP_ID", "must be the numeric Meta app id");
                String::new()
            }
            None if mode == Mode::Development => "1234567890".to_owned(),
            None => {
                vars.problem("META_APP_ID", "is missing: the numeric Meta app id");
                String::new()
            }
        };

        let meta_url = |vars: &mut Vars, name: &str, default: &str| -> String {
            let value = vars.get(name).unwrap_or(default).trim_end_matches('/').to_owned();
            let local = value.starts_with("http://127.0.0.1") || value.starts_with("http://localhost");
            if !(value.starts_with("https://") || (mode == Mode::Development && local)) {
                vars.problem(name, "must be an https:// URL (http://127.0.0.1 only in development)");
            }
            value
        };
        let meta_graph_url = meta_url(&mut vars, "META_GRAPH_URL", bikriagent::meta::graph::DEFAULT_GRAPH_URL);
        let meta_dialog_url = meta_url(
            &mut vars,
            "META_DIALOG_URL",
            bikriagent::meta::graph::DEFAULT_DIALOG_URL,
        );

        let data_key_id = match vars.get("BIKRI_DATA_KEY_ID").map(str::parse::<u8>) {
            None => 1,
            Some(Ok(id)) if id > 0 => id,
            Some(_) => {
                vars.problem("BIKRI_DATA_KEY_ID", "must be a number from 1 to 255");
                1
            }
        };
        let mut old_data_keys = Vec::new();
        if let Some(raw) = vars.get("BIKRI_OLD_DATA_KEYS").map(str::to_owned) {
            for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let parsed = item.split_once(':').and_then(|(id, key)| {
                    let id = id
                        .trim()
                        .parse::<u8>()
                        .ok()
                        .filter(|id| *id > 0 && *id != data_key_id)?;
                    let bytes = base64::engine::general_purpose::STANDARD.decode(key.trim()).ok()?;
                    let key: [u8; 32] = bytes.try_into().ok()?;
                    Some((id, key))
                });
                match parsed {
                    Some(entry) => old_data_keys.push(entry),
                    None => vars.problem(
                        "BIKRI_OLD_DATA_KEYS",
                        "must be a comma-separated list of id:base64-key (32 bytes), ids other than BIKRI_DATA_KEY_ID",
                    ),
                }
            }
        }

        let log_format = match vars.get("BIKRI_LOG_FORMAT") {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                vars.problem("BIKRI_LOG_FORMAT", "must be `text` or `json`");
                LogFormat::Text
            }
        };

        let number = |vars: &mut Vars, name: &str, default: u32, max: u32| -> u32 {
            match vars.get(name).map(str::parse::<u32>) {
                None => default,
                Some(Ok(n)) if (1..=max).contains(&n) => n,
                Some(_) => {
                    vars.problem(name, format!("must be a whole number from 1 to {max}"));
                    default
                }
            }
        };
        let flag = |vars: &mut Vars, name: &str| -> bool {
            match vars.get(name) {
                None | Some("false" | "0") => false,
                Some("true" | "1") => true,
                Some(_) => {
                    vars.problem(name, "must be `true` or `false`");
                    false
                }
            }
        };
        let insecure_cookies = flag(&mut vars, "BIKRI_INSECURE_COOKIES");
        let trust_proxy = flag(&mut vars, "BIKRI_TRUST_PROXY");
        if insecure_cookies && mode == Mode::Production {
            vars.problem("BIKRI_INSECURE_COOKIES", "is only allowed with BIKRI_ENV=development");
        }
        let mailbox_dir = std::path::PathBuf::from(vars.get("BIKRI_MAILBOX_DIR").unwrap_or(match mode {
            Mode::Development => ".dev/mailbox",
            Mode::Production => "mailbox",
        }));

        let smtp_url = match vars.get("SMTP_URL") {
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                vars.problem("SMTP_URL", "must start with smtp:// or smtps://");
                None
            }
            None => None,
        };
        let mail_from = match vars.get("MAIL_FROM") {
            Some(from) => from.to_owned(),
            None => {
                let host = public_url
                    .split("://")
                    .nth(1)
                    .unwrap_or("localhost")
                    .split(':')
                    .next()
                    .unwrap_or("localhost");
                format!("BikriAgent <no-reply@{host}>")
            }
        };
        if let Some(url) = &smtp_url
            && let Err(message) = bikriagent::mail::Transport::smtp(url.expose_secret(), &mail_from)
        {
            vars.problem("SMTP_URL", message);
        }

        let turnstile_vars = (
            vars.get("TURNSTILE_SECRET").map(str::to_owned),
            vars.get("TURNSTILE_SITE_KEY").map(str::to_owned),
        );
        let turnstile = match turnstile_vars {
            (Some(secret), Some(site_key)) => {
                let verify_url = vars
                    .get("TURNSTILE_VERIFY_URL")
                    .unwrap_or(bikriagent::net::turnstile::DEFAULT_VERIFY_URL)
                    .to_owned();
                // Plain http only to a local fake in development (tests).
                if !(verify_url.starts_with("https://")
                    || (mode == Mode::Development && verify_url.starts_with("http://127.0.0.1")))
                {
                    vars.problem("TURNSTILE_VERIFY_URL", "must be an https:// URL");
                }
                Some(TurnstileConfig {
                    secret: SecretString::from(secret),
                    site_key,
                    verify_url,
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                vars.problem(
                    "TURNSTILE_SITE_KEY",
                    "is missing: set it together with TURNSTILE_SECRET",
                );
                None
            }
            (None, Some(_)) => {
                vars.problem(
                    "TURNSTILE_SECRET",
                    "is missing: set it together with TURNSTILE_SITE_KEY",
                );
                None
            }
        };

        let db_max_connections = number(&mut vars, "BIKRI_DB_MAX_CONNECTIONS", 20, 1000);
        // 0: `serve` answers the web and webhooks only, with the jobs run by
        // `bikriagent worker` processes elsewhere (the queue is in PostgreSQL).
        let workers = match vars.get("BIKRI_WORKERS").map(str::parse::<u32>) {
            None => 8,
            Some(Ok(n)) if n <= 64 => n as usize,
            Some(_) => {
                vars.problem("BIKRI_WORKERS", "must be a whole number from 0 to 64");
                8
            }
        };
        let defaults = bikriagent::pipeline::gates::SendLimits::default();
        let send_limits = bikriagent::pipeline::gates::SendLimits {
            owner_daily: i64::from(number(
                &mut vars,
                "BIKRI_DAILY_OWNER_LIMIT",
                defaults.owner_daily as u32,
                1_000_000,
            )),
            channel_daily: i64::from(number(
                &mut vars,
                "BIKRI_DAILY_CHANNEL_LIMIT",
                defaults.channel_daily as u32,
                1_000_000,
            )),
            conversation_per_minute: i64::from(number(
                &mut vars,
                "BIKRI_CONVERSATION_PER_MINUTE",
                defaults.conversation_per_minute as u32,
                60,
            )),
        };
        let cleanup = bikriagent::cleanup::CleanupConfig {
            retention: bikriagent::deletion::Retention {
                message_days: i64::from(number(&mut vars, "BIKRI_RETENTION_DAYS", 180, 3650)),
                review_days: i64::from(number(&mut vars, "BIKRI_REVIEW_RETENTION_DAYS", 90, 3650)),
            },
            finished_days: i64::from(number(&mut vars, "BIKRI_JOB_RETENTION_DAYS", 7, 3650)),
            security_event_days: {
                let days = number(&mut vars, "BIKRI_SECURITY_EVENT_RETENTION_DAYS", 730, 3650);
                if i64::from(days) < bikriagent::cleanup::SECURITY_EVENT_FLOOR_DAYS {
                    vars.problem(
                        "BIKRI_SECURITY_EVENT_RETENTION_DAYS",
                        "must be a whole number from 365 to 3650: the audit log is kept for a year at least",
                    );
                }
                i64::from(days).max(bikriagent::cleanup::SECURITY_EVENT_FLOOR_DAYS)
            },
            interval: std::time::Duration::from_secs(
                60 * u64::from(number(&mut vars, "BIKRI_CLEANUP_INTERVAL_MINUTES", 60, 1440)),
            ),
        };
        let burst_quiet = match vars.get("BIKRI_BURST_QUIET_MS").map(str::parse::<u64>) {
            None => std::time::Duration::from_millis(3000),
            Some(Ok(ms)) if ms <= 60_000 => std::time::Duration::from_millis(ms),
            Some(_) => {
                vars.problem(
                    "BIKRI_BURST_QUIET_MS",
                    "must be a whole number of milliseconds from 0 to 60000",
                );
                std::time::Duration::from_millis(3000)
            }
        };
        let read_timeout = match vars.get("BIKRI_READ_TIMEOUT_MS").map(str::parse::<u64>) {
            None => std::time::Duration::from_secs(10),
            Some(Ok(ms)) if (100..=600_000).contains(&ms) => std::time::Duration::from_millis(ms),
            Some(_) => {
                vars.problem(
                    "BIKRI_READ_TIMEOUT_MS",
                    "must be a whole number of milliseconds from 100 to 600000",
                );
                std::time::Duration::from_secs(10)
            }
        };
        let default_pace = bikriagent::ingest::ChannelPace::default();
        let channel_pace = bikriagent::ingest::ChannelPace {
            per_second: f64::from(number(
                &mut vars,
                "BIKRI_CHANNEL_MESSAGES_PER_SECOND",
                default_pace.per_second as u32,
                100_000,
            )),
            burst: i64::from(number(
                &mut vars,
                "BIKRI_CHANNEL_BURST",
                default_pace.burst as u32,
                100_000,
            )),
        };
        let takeover_quiet = match vars.get("BIKRI_TAKEOVER_QUIET_HOURS").map(str::parse::<i64>) {
            None => Some(time::Duration::hours(12)),
            Some(Ok(0)) => None,
            Some(Ok(hours)) if (1..=720).contains(&hours) => Some(time::Duration::hours(hours)),
            Some(_) => {
                vars.problem(
                    "BIKRI_TAKEOVER_QUIET_HOURS",
                    "must be a whole number of hours from 0 (never) to 720",
                );
                None
            }
        };
        let llm = match (
            vars.get("LLM_BASE_URL").map(str::to_owned),
            vars.get("LLM_MODEL").map(str::to_owned),
        ) {
            (Some(base_url), Some(model)) => {
                let local = base_url.starts_with("http://127.0.0.1") || base_url.starts_with("http://localhost");
                if !(base_url.starts_with("https://") || local) {
                    vars.problem(
                        "LLM_BASE_URL",
                        "must be an https:// URL (or http:// on this machine, e.g. Ollama)",
                    );
                }
                Some(LlmConfig {
                    base_url,
                    api_key: vars.get("LLM_API_KEY").map(|k| SecretString::from(k.to_owned())),
                    model,
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                vars.problem("LLM_MODEL", "is missing: set it together with LLM_BASE_URL");
                None
            }
            (None, Some(_)) => {
                vars.problem("LLM_BASE_URL", "is missing: set it together with LLM_MODEL");
                None
            }
        };

        let stripe_secret = vars.get("STRIPE_WEBHOOK_SECRET").map(str::to_owned);
        if stripe_secret
            .as_deref()
            .is_some_and(|secret| !secret.starts_with("whsec_"))
        {
            vars.problem(
                "STRIPE_WEBHOOK_SECRET",
                "must be the webhook endpoint's signing secret (whsec_…) from Stripe's dashboard, not an API key",
            );
        }
        let payment_link = match vars.get("STRIPE_PAYMENT_LINK").map(str::to_owned) {
            Some(link) => match parse_payment_link(&link, mode) {
                Ok(link) => Some(link),
                Err(message) => {
                    vars.problem("STRIPE_PAYMENT_LINK", message);
                    None
                }
            },
            None => None,
        };
        let stripe = match (stripe_secret, payment_link) {
            (Some(secret), payment_link) => Some(StripeConfig {
                webhook_secret: SecretString::from(secret),
                payment_link,
            }),
            (None, Some(_)) => {
                vars.problem(
                    "STRIPE_WEBHOOK_SECRET",
                    "is missing: set it together with STRIPE_PAYMENT_LINK, or payments would never verify an owner",
                );
                None
            }
            (None, None) => None,
        };

        if !vars.problems.is_empty() {
            return Err(ConfigError {
                problems: vars.problems,
            });
        }
        Ok(Config {
            mode,
            database_url: database_url.expect("checked above"),
            database_admin_url,
            addr,
            metrics_addr,
            public_url,
            data_key: SecretBox::new(Box::new(data_key.expect("checked above"))),
            meta_app_id,
            meta_app_secret,
            meta_verify_token,
            meta_graph_url,
            meta_dialog_url,
            data_key_id,
            old_data_keys,
            log_format,
            db_max_connections,
            workers,
            insecure_cookies,
            trust_proxy,
            mailbox_dir,
            smtp_url,
            mail_from,
            turnstile,
            send_limits,
            llm,
            stripe,
            burst_quiet,
            read_timeout,
            channel_pace,
            takeover_quiet,
            cleanup,
            generated,
        })
    }

    /// The current data key's bytes.
    pub fn data_key_bytes(&self) -> &[u8; 32] {
        use secrecy::ExposeSecret as _;
        self.data_key.expose_secret()
    }

    /// The connection string migrations run with: the admin URL when given.
    pub fn migration_url(&self) -> &SecretString {
        self.database_admin_url.as_ref().unwrap_or(&self.database_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn production() -> Vec<(&'static str, &'static str)> {
        vec![
            ("DATABASE_URL", "postgres://app@localhost/bikri"),
            ("BIKRI_PUBLIC_URL", "https://bikri.example.com/"),
            ("BIKRI_DATA_KEY", KEY),
            ("META_APP_ID", "1234567890"),
            ("META_APP_SECRET", "s3cret"),
            ("META_VERIFY_TOKEN", "verify-me"),
        ]
    }

    fn errors(pairs: &[(&str, &str)]) -> Vec<String> {
        Config::from_vars(vars(pairs)).expect_err("should be refused").problems
    }

    #[test]
    fn a_complete_production_environment_parses() {
        let config = Config::from_vars(vars(&production())).expect("valid");
        assert_eq!(config.mode, Mode::Production);
        assert_eq!(config.public_url, "https://bikri.example.com");
        assert_eq!(config.addr, "127.0.0.1:3000".parse().unwrap());
        assert!(config.generated.is_empty());
        assert_eq!(config.workers, 8);
        assert_eq!(config.channel_pace, bikriagent::ingest::ChannelPace::default());
    }

    #[test]
    fn serve_may_run_without_workers_and_channels_may_be_paced() {
        let mut env = production();
        env.extend([
            ("BIKRI_WORKERS", "0"),
            ("BIKRI_CHANNEL_MESSAGES_PER_SECOND", "50"),
            ("BIKRI_CHANNEL_BURST", "5"),
        ]);
        let config = Config::from_vars(vars(&env)).expect("valid");
        assert_eq!(config.workers, 0);
        assert_eq!(
            config.channel_pace,
            bikriagent::ingest::ChannelPace {
                per_second: 50.0,
                burst: 5
            }
        );
        assert_eq!(
            errors(&[production(), vec![("BIKRI_CHANNEL_BURST", "0")]].concat()).len(),
            1
        );
    }

    #[test]
    fn cleanup_periods_have_defaults_and_are_checked() {
        let config = Config::from_vars(vars(&production())).expect("valid");
        assert_eq!(config.cleanup, bikriagent::cleanup::CleanupConfig::default());
        assert_eq!(config.cleanup.finished_days, 7);
        assert_eq!(config.cleanup.interval, std::time::Duration::from_secs(3600));
        let mut env = production();
        env.extend([
            ("BIKRI_JOB_RETENTION_DAYS", "30"),
            ("BIKRI_CLEANUP_INTERVAL_MINUTES", "15"),
            ("BIKRI_RETENTION_DAYS", "365"),
        ]);
        let config = Config::from_vars(vars(&env)).expect("valid");
        assert_eq!(config.cleanup.finished_days, 30);
        assert_eq!(config.cleanup.interval, std::time::Duration::from_secs(900));
        assert_eq!(config.cleanup.retention.message_days, 365);
        for (name, value) in [
            ("BIKRI_JOB_RETENTION_DAYS", "0"),
            ("BIKRI_JOB_RETENTION_DAYS", "a week"),
            ("BIKRI_CLEANUP_INTERVAL_MINUTES", "0"),
            ("BIKRI_CLEANUP_INTERVAL_MINUTES", "1441"),
            ("BIKRI_SECURITY_EVENT_RETENTION_DAYS", "364"),
        ] {
            let problems = errors(&[production(), vec![(name, value)]].concat());
            assert_eq!(problems.len(), 1, "{name}={value}: {problems:?}");
            assert!(
                problems[0].starts_with(&format!("{name}: must be a whole number")),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn the_metrics_address_is_optional_and_never_the_public_one() {
        assert_eq!(Config::from_vars(vars(&production())).unwrap().metrics_addr, None);
        let mut env = production();
        env.push(("BIKRI_METRICS_ADDR", "127.0.0.1:9464"));
        let config = Config::from_vars(vars(&env)).expect("valid");
        assert_eq!(config.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        for (value, expected) in [
            ("127.0.0.1:3000", "BIKRI_METRICS_ADDR: must differ"),
            ("localhost", "BIKRI_METRICS_ADDR: must be an address"),
        ] {
            let mut env = production();
            env.push(("BIKRI_METRICS_ADDR", value));
            let problems = errors(&env);
            assert_eq!(problems.len(), 1, "{value}: {problems:?}");
            assert!(problems[0].starts_with(expected), "{value}: {problems:?}");
        }
    }

    #[test]
    fn production_secrets_have_no_defaults_and_each_missing_one_is_named() {
        let problems = errors(&[("DATABASE_URL", "postgres://x@y/z")]);
        for name in [
            "BIKRI_PUBLIC_URL",
            "BIKRI_DATA_KEY",
            "META_APP_ID",
            "META_APP_SECRET",
            "META_VERIFY_TOKEN",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(&format!("{name}:"))),
                "{name} not named in {problems:?}"
            );
        }
        assert!(!problems.iter().any(|p| p.starts_with("DATABASE_URL")));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let cases = [
            ("DATABASE_URL", "mysql://x", "DATABASE_URL:"),
            ("BIKRI_ADDR", "not-an-addr", "BIKRI_ADDR:"),
            ("BIKRI_PUBLIC_URL", "http://bikri.example.com", "BIKRI_PUBLIC_URL:"),
            ("BIKRI_PUBLIC_URL", "https://bikri.example.com/app", "BIKRI_PUBLIC_URL:"),
            ("BIKRI_DATA_KEY", "c2hvcnQ=", "BIKRI_DATA_KEY: must decode to 32 bytes"),
            ("BIKRI_DATA_KEY", "%%%", "BIKRI_DATA_KEY: is not valid base64"),
            ("BIKRI_ENV", "staging", "BIKRI_ENV:"),
            ("BIKRI_LOG_FORMAT", "xml", "BIKRI_LOG_FORMAT:"),
            ("BIKRI_WORKERS", "65", "BIKRI_WORKERS:"),
            ("META_APP_ID", "abc", "META_APP_ID:"),
        ];
        for (name, value, expected) in cases {
            let mut env = production();
            env.retain(|(k, _)| *k != name);
            env.push((name, value));
            let problems = errors(&env);
            assert_eq!(problems.len(), 1, "{name}={value}: {problems:?}");
            assert!(problems[0].starts_with(expected), "{name}={value}: {problems:?}");
        }
    }

    #[test]
    fn the_error_message_lists_every_problem() {
        let message = Config::from_vars(vars(&[])).expect_err("empty env").to_string();
        assert!(message.contains("DATABASE_URL: is missing"));
        assert!(message.contains("BIKRI_DATA_KEY: is missing"));
    }

    #[test]
    fn development_generates_missing_secrets_and_says_which() {
        let config = Config::from_vars(vars(&[
            ("BIKRI_ENV", "development"),
            ("DATABASE_URL", "postgres://x@y/z"),
        ]))
        .expect("development fills in secrets");
        assert_eq!(config.mode, Mode::Development);
        assert_eq!(
            config.generated,
            vec!["BIKRI_DATA_KEY", "META_APP_SECRET", "META_VERIFY_TOKEN"]
        );
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn development_still_requires_a_database() {
        let problems = errors(&[("BIKRI_ENV", "development")]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("DATABASE_URL:"));
    }

    #[test]
    fn stripe_is_off_without_a_webhook_secret_and_a_link_needs_one() {
        let config = Config::from_vars(vars(&production())).expect("valid");
        assert!(config.stripe.is_none());

        let mut env = production();
        env.push(("STRIPE_WEBHOOK_SECRET", "whsec_abc123"));
        let stripe = Config::from_vars(vars(&env)).expect("valid").stripe.expect("on");
        assert_eq!(stripe.webhook_secret.expose_secret(), "whsec_abc123");
        assert_eq!(stripe.payment_link, None);

        env.push(("STRIPE_PAYMENT_LINK", "https://buy.stripe.com/test_abc?locale=bn"));
        let stripe = Config::from_vars(vars(&env)).expect("valid").stripe.expect("on");
        assert_eq!(
            stripe.payment_link.as_deref(),
            Some("https://buy.stripe.com/test_abc?locale=bn")
        );
        assert!(
            !format!("{stripe:?}").contains("whsec_abc123"),
            "the secret stays out of Debug"
        );

        let mut link_only = production();
        link_only.push(("STRIPE_PAYMENT_LINK", "https://buy.stripe.com/test_abc"));
        let problems = errors(&link_only);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("STRIPE_WEBHOOK_SECRET: is missing"),
            "{problems:?}"
        );
    }

    #[test]
    fn stripe_values_are_checked() {
        let cases = [
            ("STRIPE_WEBHOOK_SECRET", "sk_live_123", "STRIPE_WEBHOOK_SECRET: must be"),
            (
                "STRIPE_PAYMENT_LINK",
                "http://buy.stripe.com/x",
                "STRIPE_PAYMENT_LINK: must be an https://",
            ),
            (
                "STRIPE_PAYMENT_LINK",
                "http://127.0.0.1:9/x",
                "STRIPE_PAYMENT_LINK: must be an https://",
            ),
            (
                "STRIPE_PAYMENT_LINK",
                "buy.stripe.com/x",
                "STRIPE_PAYMENT_LINK: must be an https://",
            ),
            (
                "STRIPE_PAYMENT_LINK",
                "https://user:pw@buy.stripe.com/x",
                "STRIPE_PAYMENT_LINK: must be a plain",
            ),
            (
                "STRIPE_PAYMENT_LINK",
                "https://buy.stripe.com/a b",
                "STRIPE_PAYMENT_LINK: is not a URL",
            ),
        ];
        for (name, value, expected) in cases {
            let mut env = production();
            if name != "STRIPE_WEBHOOK_SECRET" {
                env.push(("STRIPE_WEBHOOK_SECRET", "whsec_abc123"));
            }
            env.push((name, value));
            let problems = errors(&env);
            assert_eq!(problems.len(), 1, "{name}={value}: {problems:?}");
            assert!(problems[0].starts_with(expected), "{name}={value}: {problems:?}");
        }
        // A local fake is fine in development only.
        let config = Config::from_vars(vars(&[
            ("BIKRI_ENV", "development"),
            ("DATABASE_URL", "postgres://x@y/z"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_abc123"),
            ("STRIPE_PAYMENT_LINK", "http://127.0.0.1:9/pay"),
        ]))
        .expect("development accepts a local link");
        assert!(config.stripe.is_some());
        assert!(!config.generated.contains(&"STRIPE_WEBHOOK_SECRET"), "never generated");
    }
}
