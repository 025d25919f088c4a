//! Structured logs with `tracing`.
//!
//! Text for people by default, one JSON object per line with
//! `BIKRI_LOG_FORMAT=json`. Every line logged while a request is handled
//! carries the request's id (the `request` span's field). Logs never hold a
//! password, token, key, cookie or message body; see `bikriagent::redact` for
//! masking contact details.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls are ignored).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,leptos=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The log format asked for by the environment, before the full config is read.
pub fn format_from_env() -> LogFormat {
    match std::env::var("BIKRI_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}
