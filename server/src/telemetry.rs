//! Structured logs with `tracing`.
//!
//! Text for people by default, one JSON object per line with
//! `BIKRI_LOG_FORMAT=json`. Every line logged while a request is handled
//! carries the request's id (the `request` span's field). Logs never hold a
//! password, token, key, cookie or message body: call sites log ids and
//! masked values, and every line goes through [`bikriagent::redact`] on its
//! way out, which masks any email address or phone number that still slipped
//! into a message (a third party's error text, say).

use std::io;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,leptos=warn";

/// Installs the global subscriber, writing to standard output. Safe to call
/// more than once (later calls are ignored).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = try_init_with(format, filter, io::stdout);
}

/// Installs the global subscriber the binary uses, writing to `writer`
/// (tests pass a buffer to read what production would log).
///
/// # Errors
///
/// When a global subscriber is already installed.
pub fn try_init_with<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(Redacting(writer));
    match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    }
}

/// The log format asked for by the environment, before the full config is read.
pub fn format_from_env() -> LogFormat {
    match std::env::var("BIKRI_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Text,
    }
}

/// Masks contact details in every formatted line before it is written.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

struct RedactingWriter<W>(W);

impl<W: io::Write> io::Write for RedactingWriter<W> {
    /// The formatter hands over each event as one whole line, so a value is
    /// never split between two calls.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(bikriagent::redact::contact_details(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn lines_are_written_with_contact_details_masked() {
        let mut out = Vec::new();
        RedactingWriter(&mut out)
            .write_all(b"{\"error\":\"550 <rahima@example.com> 01711-000123\"}\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"error\":\"550 <r***@example.com> +880*******123\"}\n"
        );
    }
}
