//! Process-wide counters and a request latency histogram, in Prometheus'
//! text format.
//!
//! One static registry ([`METRICS`]) of atomics: the library counts where an
//! outcome is decided (webhook ingest, sends, classification, logins, rate
//! limits) and the server observes request latency. Every label comes from a
//! fixed set (an enum's `as_str`, a route pattern), never from input, so no
//! id, address or text can reach a label and the series count stays bounded.
//! Counters start at zero in every series so rates work from the first scrape.
//!
//! The job queue is read from the database at scrape time ([`scrape`]); the
//! encoder itself ([`Metrics::render`]) is pure.
//!
//! Counters are per process: with separate `worker` processes each exposes
//! its own, and Prometheus sums them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use crate::pipeline::classifier::{Classification, Risk};
use crate::pipeline::gates::Gate;
use crate::ratelimit::{self, Limit};
use crate::sending::SendOutcome;

/// The registry every part of the process counts in.
pub static METRICS: Metrics = Metrics::new();

/// How a Meta webhook delivery ended. A refused delivery (bad signature,
/// malformed, storage unavailable) counts once; an accepted one counts each
/// event it carried as stored, duplicate, ignored or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Stored,
    Duplicate,
    Ignored,
    Unknown,
    BadSignature,
    Malformed,
    Unavailable,
}

impl WebhookOutcome {
    pub const ALL: [WebhookOutcome; 7] = [
        WebhookOutcome::Stored,
        WebhookOutcome::Duplicate,
        WebhookOutcome::Ignored,
        WebhookOutcome::Unknown,
        WebhookOutcome::BadSignature,
        WebhookOutcome::Malformed,
        WebhookOutcome::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Stored => "stored",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Unknown => "unknown",
            WebhookOutcome::BadSignature => "bad_signature",
            WebhookOutcome::Malformed => "malformed",
            WebhookOutcome::Unavailable => "unavailable",
        }
    }
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Wrong password or unknown email (the same answer for both).
    InvalidCredentials,
    /// Too many recent failures for this email.
    Throttled,
    /// The right password for a suspended account.
    Suspended,
}

impl LoginFailure {
    pub const ALL: [LoginFailure; 3] = [
        LoginFailure::InvalidCredentials,
        LoginFailure::Throttled,
        LoginFailure::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::InvalidCredentials => "invalid_credentials",
            LoginFailure::Throttled => "throttled",
            LoginFailure::Suspended => "suspended",
        }
    }
}

/// The gates, in the order they are listed on `/metrics`.
const GATES: [Gate; 10] = [
    Gate::KillSwitch,
    Gate::OwnerNotActive,
    Gate::NotLiveYet,
    Gate::ChannelPaused,
    Gate::ChannelUnavailable,
    Gate::HumanTakeover,
    Gate::OutsideWindow,
    Gate::OwnerDailyLimit,
    Gate::ChannelDailyLimit,
    Gate::ConversationRate,
];

/// Exhaustive, so a new gate does not compile until it has a series.
fn gate_index(gate: Gate) -> usize {
    match gate {
        Gate::KillSwitch => 0,
        Gate::OwnerNotActive => 1,
        Gate::NotLiveYet => 2,
        Gate::ChannelPaused => 3,
        Gate::ChannelUnavailable => 4,
        Gate::HumanTakeover => 5,
        Gate::OutsideWindow => 6,
        Gate::OwnerDailyLimit => 7,
        Gate::ChannelDailyLimit => 8,
        Gate::ConversationRate => 9,
    }
}

const SEND_OUTCOMES: [&str; 3] = ["sent", "failed", "uncertain"];

/// The slot after the risk categories counts messages with none.
const NO_RISK: usize = Risk::ALL.len();

/// The slot after the known limits counts a limit missing from [`ratelimit::ALL`].
const OTHER_LIMIT: usize = ratelimit::ALL.len();

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The methods the app serves, and `OTHER` (last) for anything else.
const METHODS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];

/// One histogram per method for a route.
type RouteLatency = [Histogram; METHODS.len()];

/// The route label of a request no route matched (so raw paths never become labels).
pub const UNMATCHED_ROUTE: &str = "unmatched";

const fn zeros<const N: usize>() -> [AtomicU64; N] {
    [const { AtomicU64::new(0) }; N]
}

/// One latency histogram: counts per bucket (not cumulative), the `+Inf`
/// bucket last, and the sum in microseconds.
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    const fn new() -> Self {
        Self {
            buckets: zeros(),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The registry: counters with fixed label sets, and latency histograms by
/// method and route pattern (created on first use; routes are finite).
pub struct Metrics {
    webhook: [AtomicU64; WebhookOutcome::ALL.len()],
    sends: [AtomicU64; SEND_OUTCOMES.len()],
    blocked: [AtomicU64; GATES.len()],
    classified: [AtomicU64; NO_RISK + 1],
    login_failures: [AtomicU64; LoginFailure::ALL.len()],
    rate_limited: [AtomicU64; OTHER_LIMIT + 1],
    /// Pooled connections that came back inside a transaction and were closed.
    leaked_transactions: AtomicU64,
    latency: RwLock<BTreeMap<String, RouteLatency>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What the job queue looked like at scrape time: (depth, oldest age in seconds).
pub type QueueDepth = (i64, Option<f64>);

impl Metrics {
    /// An empty registry (the process uses [`METRICS`]; tests make their own).
    pub const fn new() -> Self {
        Self {
            webhook: zeros(),
            sends: zeros(),
            blocked: zeros(),
            classified: zeros(),
            login_failures: zeros(),
            rate_limited: zeros(),
            leaked_transactions: AtomicU64::new(0),
            latency: RwLock::new(BTreeMap::new()),
        }
    }

    /// Counts `count` webhook events (or one refused delivery) with this outcome.
    pub fn webhook(&self, outcome: WebhookOutcome, count: usize) {
        let slot = WebhookOutcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        self.webhook[slot].fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Counts how a send job ended. A send already finished by an earlier
    /// run is not counted again.
    pub fn send(&self, outcome: &SendOutcome) {
        let slot = match outcome {
            SendOutcome::Sent { .. } => 0,
            SendOutcome::Failed { .. } => 1,
            SendOutcome::Uncertain => 2,
            SendOutcome::Blocked(gate) => {
                self.blocked[gate_index(*gate)].fetch_add(1, Ordering::Relaxed);
                return;
            }
            SendOutcome::AlreadyDone => return,
        };
        self.sends[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a classified customer message once per risk category, or
    /// under `none` when it had none.
    pub fn classified(&self, classification: &Classification) {
        if classification.categories.is_empty() {
            self.classified[NO_RISK].fetch_add(1, Ordering::Relaxed);
        }
        for risk in &classification.categories {
            let slot = Risk::ALL.iter().position(|r| r == risk).unwrap_or(NO_RISK);
            self.classified[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn login_failed(&self, reason: LoginFailure) {
        let slot = LoginFailure::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.login_failures[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused by `limit`.
    pub fn rate_limited(&self, limit: &Limit) {
        let slot = ratelimit::ALL
            .iter()
            .position(|known| known.name == limit.name)
            .unwrap_or(OTHER_LIMIT);
        self.rate_limited[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a pooled connection that came back inside a transaction (and
    /// was closed): a future dropped mid-transaction somewhere.
    pub fn leaked_transaction(&self) {
        self.leaked_transactions.fetch_add(1, Ordering::Relaxed);
    }

    /// How many connections came back inside a transaction so far.
    pub fn leaked_transactions(&self) -> u64 {
        self.leaked_transactions.load(Ordering::Relaxed)
    }

    /// Observes one request's latency. `route` is the matched route pattern
    /// (e.g. `/inbox/{id}`), `None` when no route matched.
    pub fn observe_request(&self, method: &str, route: Option<&str>, elapsed: Duration) {
        let other = METHODS.len() - 1;
        let slot = METHODS[..other].iter().position(|m| *m == method).unwrap_or(other);
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        // The common case: a route seen before, under the shared lock, without allocating.
        if let Ok(map) = self.latency.read()
            && let Some(histograms) = map.get(route)
        {
            histograms[slot].observe(elapsed);
            return;
        }
        let mut map = self.latency.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(route.to_owned())
            .or_insert_with(|| std::array::from_fn(|_| Histogram::new()))[slot]
            .observe(elapsed);
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric, with
    /// the job queue as read at scrape time (`None`: the database did not answer).
    pub fn render(&self, queue: Option<QueueDepth>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        header(
            &mut out,
            "bikri_db_connections_left_in_transaction_total",
            "counter",
            "Pooled connections that came back inside a transaction and were closed (a dropped future).",
        );
        sample(
            &mut out,
            "bikri_db_connections_left_in_transaction_total",
            &[],
            get(&self.leaked_transactions),
        );

        header(
            &mut out,
            "bikri_webhook_deliveries_total",
            "counter",
            "Meta webhook deliveries by outcome: refused deliveries count once, accepted ones once per event.",
        );
        for (outcome, count) in WebhookOutcome::ALL.iter().zip(&self.webhook) {
            sample(
                &mut out,
                "bikri_webhook_deliveries_total",
                &[("outcome", outcome.as_str())],
                get(count),
            );
        }

        header(
            &mut out,
            "bikri_sends_total",
            "counter",
            "Replies that reached Meta's API, by outcome.",
        );
        for (outcome, count) in SEND_OUTCOMES.iter().zip(&self.sends) {
            sample(&mut out, "bikri_sends_total", &[("outcome", *outcome)], get(count));
        }

        header(
            &mut out,
            "bikri_sends_blocked_total",
            "counter",
            "Replies held back by a send gate, by gate.",
        );
        for (gate, count) in GATES.iter().zip(&self.blocked) {
            sample(
                &mut out,
                "bikri_sends_blocked_total",
                &[("gate", gate.as_str())],
                get(count),
            );
        }

        header(
            &mut out,
            "bikri_messages_classified_total",
            "counter",
            "Customer messages by risk category found (none: answerable automatically).",
        );
        for (slot, count) in self.classified.iter().enumerate() {
            let category = Risk::ALL.get(slot).map_or("none", |risk| risk.as_str());
            sample(
                &mut out,
                "bikri_messages_classified_total",
                &[("category", category)],
                get(count),
            );
        }

        header(
            &mut out,
            "bikri_login_failures_total",
            "counter",
            "Failed logins, by reason.",
        );
        for (reason, count) in LoginFailure::ALL.iter().zip(&self.login_failures) {
            sample(
                &mut out,
                "bikri_login_failures_total",
                &[("reason", reason.as_str())],
                get(count),
            );
        }

        header(
            &mut out,
            "bikri_rate_limit_hits_total",
            "counter",
            "Requests refused by a rate limit, by limit.",
        );
        for (slot, count) in self.rate_limited.iter().enumerate() {
            let name = ratelimit::ALL.get(slot).map_or("other", |limit| limit.name);
            if slot < OTHER_LIMIT || get(count) > 0 {
                sample(&mut out, "bikri_rate_limit_hits_total", &[("limit", name)], get(count));
            }
        }

        // Each family's samples follow its own header; without the database there are none.
        header(
            &mut out,
            "bikri_job_queue_depth",
            "gauge",
            "Jobs waiting to run now (queued and due).",
        );
        if let Some((depth, _)) = queue {
            let _ = writeln!(out, "bikri_job_queue_depth {depth}");
        }
        header(
            &mut out,
            "bikri_job_queue_oldest_age_seconds",
            "gauge",
            "How long the oldest due job has waited (0 when none waits).",
        );
        if let Some((_, oldest)) = queue {
            let _ = writeln!(
                out,
                "bikri_job_queue_oldest_age_seconds {}",
                oldest.unwrap_or(0.0).max(0.0)
            );
        }
        header(
            &mut out,
            "bikri_database_up",
            "gauge",
            "Whether the database answered the queue query at this scrape.",
        );
        let _ = writeln!(out, "bikri_database_up {}", u8::from(queue.is_some()));

        let name = "bikri_http_request_duration_seconds";
        header(
            &mut out,
            name,
            "histogram",
            "Time to answer a request, by method and matched route pattern.",
        );
        let map = self.latency.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let observed = map.iter().flat_map(|(route, histograms)| {
            METHODS
                .iter()
                .zip(histograms)
                .map(move |(method, histogram)| (*method, route, histogram))
        });
        for (method, route, histogram) in observed {
            if histogram.buckets.iter().all(|count| get(count) == 0) {
                continue;
            }
            let mut cumulative = 0;
            for (slot, count) in histogram.buckets.iter().enumerate() {
                cumulative += get(count);
                let le = LATENCY_BUCKETS
                    .get(slot)
                    .map_or_else(|| "+Inf".to_owned(), |bound| bound.to_string());
                sample(
                    &mut out,
                    &format!("{name}_bucket"),
                    &[("method", method), ("route", route), ("le", &le)],
                    cumulative,
                );
            }
            let labels = [("method", method), ("route", route.as_str())];
            let sum = get(&histogram.sum_micros) as f64 / 1_000_000.0;
            let _ = writeln!(out, "{name}_sum{} {sum}", labels_text(&labels));
            sample(&mut out, &format!("{name}_count"), &labels, cumulative);
        }
        out
    }
}

/// Reads the job queue and renders [`METRICS`]: what `/metrics` answers.
pub async fn scrape(pool: &PgPool) -> String {
    let queue = match crate::jobs::depth(pool).await {
        Ok(depth) => Some(depth),
        Err(error) => {
            tracing::warn!(%error, "metrics: could not read the job queue");
            None
        }
    };
    METRICS.render(queue)
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    let _ = writeln!(out, "{name}{} {value}", labels_text(labels));
}

/// `{a="x",b="y"}` with values escaped as the format requires.
fn labels_text(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut text = String::from("{");
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(key);
        text.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                c => text.push(c),
            }
        }
        text.push('"');
    }
    text.push('}');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::classifier::Language;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn every_series_starts_at_zero() {
        let text = Metrics::new().render(Some((0, None)));
        for outcome in WebhookOutcome::ALL {
            let series = format!("bikri_webhook_deliveries_total{{outcome=\"{}\"}} 0", outcome.as_str());
            assert!(text.contains(&series), "{series} in {text}");
        }
        for gate in GATES {
            assert!(text.contains(&format!("bikri_sends_blocked_total{{gate=\"{}\"}} 0", gate.as_str())));
        }
        for limit in ratelimit::ALL {
            assert!(text.contains(&format!("bikri_rate_limit_hits_total{{limit=\"{}\"}} 0", limit.name)));
        }
        assert!(!text.contains("limit=\"other\""));
        assert!(text.contains("bikri_messages_classified_total{category=\"none\"} 0"));
        assert!(text.contains("bikri_job_queue_depth 0\n"));
        assert!(text.contains("bikri_job_queue_oldest_age_seconds 0\n"));
        assert!(text.contains("bikri_database_up 1\n"));
    }

    #[test]
    fn gates_are_listed_in_index_order() {
        for (i, gate) in GATES.iter().enumerate() {
            assert_eq!(gate_index(*gate), i, "{}", gate.as_str());
        }
    }

    #[test]
    fn outcomes_are_counted_under_their_labels() {
        let metrics = Metrics::new();
        metrics.webhook(WebhookOutcome::Stored, 2);
        metrics.webhook(WebhookOutcome::BadSignature, 1);
        metrics.send(&SendOutcome::Sent {
            provider_message_id: "m".into(),
        });
        metrics.send(&SendOutcome::Blocked(Gate::OutsideWindow));
        metrics.send(&SendOutcome::AlreadyDone);
        metrics.classified(&Classification {
            categories: vec![Risk::Refund, Risk::AngryComplaint],
            language: Language::En,
            confidence: 100,
            model_only: false,
        });
        metrics.classified(&Classification {
            categories: vec![],
            language: Language::En,
            confidence: 100,
            model_only: false,
        });
        metrics.login_failed(LoginFailure::InvalidCredentials);
        metrics.rate_limited(&ratelimit::LOGIN_PER_IP);
        metrics.rate_limited(&Limit {
            name: "ad-hoc",
            max: 1,
            window_secs: 1,
        });
        let text = metrics.render(None);
        for expected in [
            "bikri_webhook_deliveries_total{outcome=\"stored\"} 2",
            "bikri_webhook_deliveries_total{outcome=\"bad_signature\"} 1",
            "bikri_sends_total{outcome=\"sent\"} 1",
            "bikri_sends_total{outcome=\"failed\"} 0",
            "bikri_sends_blocked_total{gate=\"outside_24h_window\"} 1",
            "bikri_messages_classified_total{category=\"refund\"} 1",
            "bikri_messages_classified_total{category=\"angry_complaint\"} 1",
            "bikri_messages_classified_total{category=\"none\"} 1",
            "bikri_login_failures_total{reason=\"invalid_credentials\"} 1",
            "bikri_rate_limit_hits_total{limit=\"login-ip\"} 1",
            "bikri_rate_limit_hits_total{limit=\"other\"} 1",
            "bikri_database_up 0",
        ] {
            assert!(text.lines().any(|l| l == expected), "{expected} in {text}");
        }
        assert!(
            line(&text, "bikri_job_queue_depth ").is_none(),
            "no queue value without the database"
        );
    }

    #[test]
    fn latency_is_a_cumulative_histogram_by_method_and_route() {
        let metrics = Metrics::new();
        metrics.observe_request("GET", Some("/inbox/{id}"), Duration::from_millis(3));
        metrics.observe_request("GET", Some("/inbox/{id}"), Duration::from_millis(40));
        metrics.observe_request("BREW", None, Duration::from_secs(60));
        let text = metrics.render(Some((3, Some(1.5))));
        let series = |rest: &str| format!("bikri_http_request_duration_seconds_{rest}");
        for expected in [
            series("bucket{method=\"GET\",route=\"/inbox/{id}\",le=\"0.005\"} 1"),
            series("bucket{method=\"GET\",route=\"/inbox/{id}\",le=\"0.025\"} 1"),
            series("bucket{method=\"GET\",route=\"/inbox/{id}\",le=\"0.05\"} 2"),
            series("bucket{method=\"GET\",route=\"/inbox/{id}\",le=\"+Inf\"} 2"),
            series("sum{method=\"GET\",route=\"/inbox/{id}\"} 0.043"),
            series("count{method=\"GET\",route=\"/inbox/{id}\"} 2"),
            series("bucket{method=\"OTHER\",route=\"unmatched\",le=\"30\"} 0"),
            series("count{method=\"OTHER\",route=\"unmatched\"} 1"),
            "bikri_job_queue_depth 3".to_owned(),
            "bikri_job_queue_oldest_age_seconds 1.5".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == expected), "{expected} in {text}");
        }
        assert!(
            !text.contains(r#"method="POST",route="/inbox/{id}""#),
            "no series for a method the route never saw"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels_text(&[("route", "a\"b\\c\nd")]), r#"{route="a\"b\\c\nd"}"#);
    }

    #[test]
    fn every_sample_follows_its_familys_header() {
        let metrics = Metrics::new();
        metrics.observe_request("POST", Some("/api/{*fn_name}"), Duration::from_millis(7));
        let mut family = String::new();
        let mut seen = Vec::new();
        for line in metrics.render(Some((1, Some(0.25)))).lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap_or_default().to_owned();
                assert!(!seen.contains(&family), "one TYPE line per family: {family}");
                seen.push(family.clone());
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a sample");
            let name = series.split('{').next().unwrap_or_default();
            let suffix = name.strip_prefix(family.as_str());
            assert!(
                matches!(suffix, Some("" | "_bucket" | "_sum" | "_count")),
                "{line} under {family}"
            );
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(seen.len(), 11);
    }
}
