//! Section 1, webhook ingest: ours against the FastAPI and the minimal axum
//! reference receivers, side by side in one run, for deliveries spread over
//! many Pages and for one flooded Page; then a fixed offered rate; then
//! racing deliveries (Meta retrying while the first attempt is in flight).
//!
//! Every receiver runs on its own fresh database of the same PostgreSQL,
//! behind the same load generator with the same 64 connections, and every
//! 200 it gave is checked against the rows in its table.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;
use sqlx::postgres::PgPoolOptions;

use crate::deliveries::{self, INGEST_TEXTS};
use crate::fake_graph::FakeGraph;
use crate::load::{self, MaxRun, Percentiles, RateRun, ms};
use crate::phases::Ctx;
use crate::receivers::{FASTAPI_POOL_PER_WORKER, FASTAPI_WORKERS, Kind, POOL, Running};
use crate::seed;
use crate::server::Secrets;

const CONNECTIONS: usize = 64;
const RATE: f64 = 1000.0;
/// Interleaved rounds of every receiver per load; the report takes the median.
const ROUNDS: usize = 3;
const PAGES: u64 = 500;
const CUSTOMERS: u64 = 5000;
const WARMUP: Duration = Duration::from_secs(2);

/// How deliveries are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// Over 500 Pages, in turn.
    Spread,
    /// Every delivery to one Page: a flooded shop.
    OnePage,
}

impl Load {
    fn name(self) -> &'static str {
        match self {
            Self::Spread => "spread over 500 Pages",
            Self::OnePage => "one Page",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Self::Spread => "Deliveries spread over 500 Pages",
            Self::OnePage => "Every delivery to one Page (a flooded shop)",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Spread => "spread",
            Self::OnePage => "onepage",
        }
    }

    fn page(self, i: u64) -> String {
        match self {
            Self::Spread => seed::page_id((i % PAGES) as usize),
            Self::OnePage => seed::page_id(0),
        }
    }
}

/// Delivery `i` of a run: its own message id, one of 5,000 customers,
/// addressed as `load` says.
fn sender(
    client: reqwest::Client,
    webhook: String,
    secret: String,
    load: Load,
    run: String,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync + 'static {
    let shared = Arc::new((client, webhook, secret, run));
    move |i| {
        let shared = shared.clone();
        Box::pin(async move {
            let (client, webhook, secret, run) = &*shared;
            let delivery = deliveries::messenger(
                secret,
                &load.page(i),
                &format!("psid-{}", i % CUSTOMERS),
                &format!("m_{run}_{i}"),
                INGEST_TEXTS[(i % 4) as usize],
            );
            deliveries::post(client, webhook, &delivery).await
        })
    }
}

/// Flushes what earlier runs left dirty, so no run pays for another's writes.
async fn checkpoint(ctx: &Ctx) -> anyhow::Result<()> {
    let admin = PgPoolOptions::new().max_connections(1).connect(&ctx.admin_url).await?;
    sqlx::query("checkpoint").execute(&admin).await?;
    admin.close().await;
    Ok(())
}

/// Every 200 of a run against the rows in the receiver's table.
#[derive(Debug, Clone, Copy)]
struct Stored {
    acked: i64,
    rows: i64,
    /// Ours: processing jobs (one per stored message).
    jobs: Option<i64>,
}

impl Stored {
    /// Every delivery had its own message id, so each 200 must be a row
    /// (a failed request may still have stored one); ours queues one job
    /// per row.
    fn durable(&self) -> bool {
        self.rows >= self.acked && self.jobs.is_none_or(|jobs| jobs == self.rows)
    }
}

/// One closed-loop run of one receiver.
struct MaxSample {
    run: MaxRun,
    stored: Stored,
    rss: f64,
}

/// Starts `kind` on a fresh database, lets `drive` load it, counts what it stored.
async fn measured<T, F, Fut>(
    ctx: &Ctx,
    secrets: &Secrets,
    graph: &FakeGraph,
    kind: Kind,
    database: &str,
    drive: F,
) -> anyhow::Result<(T, Stored, f64)>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = (T, i64)>,
{
    let receiver = Running::start(ctx, secrets, graph, kind, database).await?;
    checkpoint(ctx).await?;
    let (result, acked) = drive(receiver.webhook.clone()).await;
    let rss = receiver.peak_rss_mib();
    let (rows, jobs) = receiver.stored().await?;
    receiver.stop()?;
    Ok((result, Stored { acked, rows, jobs }, rss))
}

async fn max_run(
    ctx: &Ctx,
    secrets: &Secrets,
    graph: &FakeGraph,
    kind: Kind,
    load: Load,
    round: usize,
) -> anyhow::Result<MaxSample> {
    let name = format!("{}_{}_{round}", load.slug(), kind.slug());
    eprintln!(
        "ingest: {} at {CONNECTIONS} connections, {}, round {round}",
        kind.name(),
        load.name()
    );
    let secret = secrets.app_secret.clone();
    let window = ctx.secs(15);
    let (run, stored, rss) = measured(ctx, secrets, graph, kind, &format!("bench_ingest_{name}"), |webhook| {
        let send = sender(load::client(CONNECTIONS), webhook, secret, load, name.clone());
        async move {
            let run = load::closed_loop(CONNECTIONS, WARMUP, window, send).await;
            let acked = run.ok_total as i64;
            (run, acked)
        }
    })
    .await?;
    Ok(MaxSample { run, stored, rss })
}

async fn rate_run(
    ctx: &Ctx,
    secrets: &Secrets,
    graph: &FakeGraph,
    kind: Kind,
) -> anyhow::Result<(RateRun, Stored, f64)> {
    eprintln!("ingest: {} at {RATE}/s", kind.name());
    let secret = secrets.app_secret.clone();
    let duration = ctx.secs(20);
    let name = format!("rate_{}", kind.slug());
    measured(ctx, secrets, graph, kind, &format!("bench_ingest_{name}"), |webhook| {
        let send = sender(load::client(CONNECTIONS), webhook, secret, Load::Spread, name.clone());
        async move {
            let run = load::open_loop(RATE, duration, 4096, send).await;
            let acked = run.ok() as i64;
            (run, acked)
        }
    })
    .await
}

/// Deliveries whose copies are shuffled together in a racing run.
const RACE_CHUNK: u64 = 16;
/// Posts of a chunk: even deliveries are posted 3 times, odd ones twice.
const RACE_CHUNK_POSTS: u64 = 40;

fn race_copies(delivery: u64) -> usize {
    if delivery.is_multiple_of(2) { 3 } else { 2 }
}

/// Which delivery post `i` of a racing run sends: the copies of 16
/// deliveries in a random order, chunk after chunk, so with 64 connections
/// the copies of one delivery (and its neighbours, which share a message)
/// are in flight together.
fn race_delivery(seed: u64, i: u64) -> u64 {
    let chunk = i / RACE_CHUNK_POSTS;
    let mut posts: Vec<u64> = (0..RACE_CHUNK)
        .flat_map(|d| std::iter::repeat_n(d, race_copies(d)))
        .collect();
    debug_assert_eq!(posts.len() as u64, RACE_CHUNK_POSTS);
    posts.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
        seed ^ chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    chunk * RACE_CHUNK + posts[(i % RACE_CHUNK_POSTS) as usize]
}

fn race_mid(message: u64) -> String {
    format!("m_race_{message}")
}

/// Delivery `d` of a racing run carries messages `d` and `d + 1` (in an
/// order that depends on `d`), so neighbouring deliveries overlap. Each
/// message is the same wherever it appears, and so is each delivery's body:
/// a copy is the same signed delivery, as Meta's retries are.
fn race_body(secret: &str, seed: u64, base_ms: i64, d: u64) -> deliveries::Signed {
    let event = |m: u64| deliveries::Event {
        page_id: seed::page_id((m % PAGES) as usize),
        sender: format!("psid-race-{}", m % CUSTOMERS),
        mid: race_mid(m),
        text: INGEST_TEXTS[(m % 4) as usize].to_owned(),
        time_ms: base_ms + m as i64,
    };
    let swapped = (d ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63 == 1;
    let events = if swapped {
        [event(d + 1), event(d)]
    } else {
        [event(d), event(d + 1)]
    };
    deliveries::messenger_batch(secret, &events)
}

/// What the racing run found.
struct Race {
    run: MaxRun,
    posts: u64,
    /// Distinct message ids in deliveries that were answered 2xx at least once.
    acked_messages: usize,
    rows: i64,
    /// Rows beyond one per (platform, message id).
    twice: i64,
    /// Acknowledged message ids with no row.
    missing: usize,
    jobs: i64,
    rss: f64,
}

impl Race {
    fn stored_once(&self) -> bool {
        self.missing == 0 && self.twice == 0 && self.jobs == self.rows
    }
}

async fn race_run(ctx: &Ctx, secrets: &Secrets, graph: &FakeGraph) -> anyhow::Result<Race> {
    eprintln!("ingest: BikriAgent, racing deliveries at {CONNECTIONS} connections");
    let receiver = Running::start(ctx, secrets, graph, Kind::Ours, "bench_ingest_race").await?;
    checkpoint(ctx).await?;
    let seed: u64 = rand::random();
    let base_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let acked = Arc::new(Mutex::new(HashSet::<u64>::new()));
    let shared = Arc::new((
        load::client(CONNECTIONS),
        receiver.webhook.clone(),
        secrets.app_secret.clone(),
        acked.clone(),
    ));
    let run = load::closed_loop(CONNECTIONS, WARMUP, ctx.secs(15), move |i| {
        let shared = shared.clone();
        async move {
            let (client, webhook, secret, acked) = &*shared;
            let d = race_delivery(seed, i);
            let ok = deliveries::post(client, webhook, &race_body(secret, seed, base_ms, d)).await;
            if ok {
                acked.lock().unwrap_or_else(PoisonError::into_inner).insert(d);
            }
            ok
        }
    })
    .await;
    let rss = receiver.peak_rss_mib();
    let expected: HashSet<String> = acked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .flat_map(|&d| [race_mid(d), race_mid(d + 1)])
        .collect();
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&receiver.database_url)
        .await?;
    let stored: Vec<String> = sqlx::query_scalar("select provider_message_id from inbound_messages")
        .fetch_all(&db)
        .await?;
    let distinct: i64 =
        sqlx::query_scalar("select count(distinct (platform, provider_message_id)) from inbound_messages")
            .fetch_one(&db)
            .await?;
    let jobs: i64 = sqlx::query_scalar("select count(*) from jobs where kind = 'process_inbound'")
        .fetch_one(&db)
        .await?;
    db.close().await;
    receiver.stop()?;
    let rows = stored.len() as i64;
    let stored: HashSet<String> = stored.into_iter().collect();
    Ok(Race {
        posts: run.ok_total + run.failed_total,
        acked_messages: expected.len(),
        missing: expected.iter().filter(|mid| !stored.contains(*mid)).count(),
        twice: rows - distinct,
        rows,
        jobs,
        rss,
        run,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

fn median_ms(values: impl Iterator<Item = Duration>) -> Duration {
    Duration::from_secs_f64(median(values.map(|d| d.as_secs_f64()).collect()))
}

/// One receiver's rounds of one load, summarised by their medians.
struct Summary {
    kind: Kind,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    failed: u64,
    rss: f64,
    rounds: Vec<f64>,
    acked: i64,
    rows: i64,
    jobs: Option<i64>,
    durable: bool,
}

impl Summary {
    fn of(kind: Kind, samples: &[MaxSample]) -> Self {
        Self {
            kind,
            per_sec: median(samples.iter().map(|s| s.run.per_sec()).collect()),
            p50: median_ms(samples.iter().map(|s| s.run.latency.p50)),
            p99: median_ms(samples.iter().map(|s| s.run.latency.p99)),
            failed: samples.iter().map(|s| s.run.failed_total).sum(),
            rss: samples.iter().map(|s| s.rss).fold(0.0, f64::max),
            rounds: samples.iter().map(|s| s.run.per_sec()).collect(),
            acked: samples.iter().map(|s| s.stored.acked).sum(),
            rows: samples.iter().map(|s| s.stored.rows).sum(),
            jobs: samples
                .iter()
                .map(|s| s.stored.jobs)
                .try_fold(0, |sum, jobs| jobs.map(|j| sum + j)),
            durable: samples.iter().all(|s| s.stored.durable()),
        }
    }
}

fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// `ours / other` as a multiple, or a dash when the other did not run.
fn ratio(ours: f64, other: Option<&Summary>) -> Option<f64> {
    other.map(|o| ours / o.per_sec.max(1.0))
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"))
}

/// 1. Webhook ingest.
pub async fn ingest(ctx: &Ctx, secrets: &Secrets) -> anyhow::Result<String> {
    let graph = FakeGraph::spawn().await?;
    let mut kinds = vec![Kind::Ours];
    if ctx.fastapi.is_some() {
        kinds.push(Kind::FastApi);
    } else {
        eprintln!("ingest: no --fastapi-python: the FastAPI reference is skipped");
    }
    kinds.push(Kind::Axum);

    // Maximum at 64 connections: interleaved rounds, each receiver on a
    // fresh database every time, the order rotated from round to round.
    let mut loads = Vec::new();
    for load in [Load::Spread, Load::OnePage] {
        let mut samples: Vec<(Kind, Vec<MaxSample>)> = kinds.iter().map(|&k| (k, Vec::new())).collect();
        for round in 1..=ROUNDS {
            let mut order = kinds.clone();
            order.rotate_left((round - 1) % kinds.len());
            for kind in order {
                let sample = max_run(ctx, secrets, &graph, kind, load, round).await?;
                if let Some((_, runs)) = samples.iter_mut().find(|(k, _)| *k == kind) {
                    runs.push(sample);
                }
            }
        }
        let summaries: Vec<Summary> = samples.iter().map(|(k, runs)| Summary::of(*k, runs)).collect();
        loads.push((load, summaries));
    }

    // A fixed offered rate, spread over 500 Pages.
    let mut rates = Vec::new();
    for &kind in &kinds {
        let (run, stored, rss) = rate_run(ctx, secrets, &graph, kind).await?;
        rates.push((kind, run, stored, rss));
    }

    // Racing deliveries, ours.
    let race = race_run(ctx, secrets, &graph).await?;

    // The summary's targets.
    let mut ours_rss: f64 = rates
        .iter()
        .filter(|(k, ..)| *k == Kind::Ours)
        .map(|r| r.3)
        .fold(race.rss, f64::max);
    for (load, summaries) in &loads {
        let find = |kind: Kind| summaries.iter().find(|s| s.kind == kind);
        let Some(ours) = find(Kind::Ours) else { continue };
        ours_rss = ours_rss.max(ours.rss);
        let what = |x: &str| format!("Webhook ingest, {}: {x}", load.name());
        ctx.target(
            &what("durable deliveries/s at 64 connections (median of 3 rounds)"),
            if *load == Load::Spread { "≥ 5,000" } else { "—" },
            format!("{:.0}", ours.per_sec),
            (*load == Load::Spread).then_some(ours.per_sec >= 5000.0),
        );
        let ratio_target = |name: &str, other: Kind, at_least: f64, target: &str| {
            let (measured, met) = match (ratio(ours.per_sec, find(other)), find(other)) {
                (Some(r), Some(o)) => (
                    format!("{r:.2}× ({:.0} against {:.0}/s)", ours.per_sec, o.per_sec),
                    Some(r >= at_least),
                ),
                _ => (
                    "**not measured**: the FastAPI reference did not run (no `--fastapi-python`)".to_owned(),
                    None,
                ),
            };
            ctx.target(&what(&format!("ratio to the {name}")), target, measured, met);
        };
        ratio_target("FastAPI reference", Kind::FastApi, 2.0, "≥ 2×");
        ratio_target("minimal axum reference", Kind::Axum, 0.75, "≥ 0.75×");
        ctx.target(
            &what("p99 at 64 connections"),
            "≤ 20 ms",
            format!("{} ms (p50 {} ms)", ms(ours.p99), ms(ours.p50)),
            Some(ours.p99 <= Duration::from_millis(20)),
        );
        ctx.target(
            &what("non-2xx answers (all rounds)"),
            "0",
            ours.failed.to_string(),
            Some(ours.failed == 0),
        );
    }
    let race_p = race.run.latency;
    ctx.target(
        "Racing deliveries (each posted 2–3 times at once): non-2xx answers",
        "0",
        race.run.failed_total.to_string(),
        Some(race.run.failed_total == 0),
    );
    ctx.target(
        "Racing deliveries: p99 at 64 connections",
        "≤ 50 ms",
        format!("{} ms (p50 {} ms)", ms(race_p.p99), ms(race_p.p50)),
        Some(race_p.p99 <= Duration::from_millis(50)),
    );
    ctx.target(
        "Racing deliveries: every acknowledged message id stored exactly once",
        "0 missing / 0 twice",
        format!(
            "{} / {} of {} ids ({} jobs for {} rows)",
            race.missing, race.twice, race.acked_messages, race.jobs, race.rows
        ),
        Some(race.stored_once()),
    );
    if let Some((_, run, ..)) = rates.iter().find(|(k, ..)| *k == Kind::Ours) {
        let p = run.percentiles();
        ctx.target(
            "Webhook ack p99 at 1,000 deliveries/s",
            "≤ 10 ms",
            format!("{} ms (p50 {} ms)", ms(p.p99), ms(p.p50)),
            Some(p.p99 <= Duration::from_millis(10) && run.ok() == run.samples.len()),
        );
    }
    let runs = loads.iter().map(|(_, s)| s.len() * ROUNDS).sum::<usize>() + rates.len();
    let all_durable = loads.iter().flat_map(|(_, s)| s).all(|s| s.durable) && rates.iter().all(|r| r.2.durable());
    ctx.target(
        "Webhook ingest: every 200 is a stored row (every receiver, every run)",
        "yes",
        if all_durable {
            format!("yes ({runs} runs)")
        } else {
            "**no**: see section 1".to_owned()
        },
        Some(all_durable),
    );
    ctx.target(
        "Peak RSS of the server, ingest",
        "—",
        format!("{ours_rss:.1} MiB"),
        None,
    );

    report(ctx, &loads, &rates, &race)
}

fn report(
    ctx: &Ctx,
    loads: &[(Load, Vec<Summary>)],
    rates: &[(Kind, RateRun, Stored, f64)],
    race: &Race,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let window = ctx.secs(15).as_secs();
    writeln!(out, "## 1. Webhook ingest\n")?;
    writeln!(
        out,
        "Signed Messenger deliveries (a distinct message id each, one of {CUSTOMERS} customers, \
         English/Banglish/Bangla bodies of 6–130 characters) posted over loopback HTTP/1.1 keep-alive by \
         the bench's load generator, to three receivers on the same machine and the same PostgreSQL \
         (fsync on), each on its own fresh database, each with {POOL} database connections in all, and each \
         answering 200 only once the delivery is committed:\n\n\
         - **BikriAgent**: `bikriagent serve` (release), `BIKRI_WORKERS=0`, `BIKRI_DB_MAX_CONNECTIONS={POOL}`; \
         a 200 means the message row and its processing job were committed.\n\
         - **FastAPI reference** (`bench/fastapi_reference/app.py`, pinned versions in its \
         `requirements.txt`, installed by `bench/run.sh` into `bench/.venv`): uvicorn with \
         `--workers {FASTAPI_WORKERS} --loop uvloop --http httptools --no-access-log`, asyncpg with a pool \
         of {FASTAPI_POOL_PER_WORKER} per worker; `hmac.compare_digest` signature check, JSON parse, one \
         autocommit `INSERT … ON CONFLICT (mid) DO NOTHING`.\n\
         - **axum reference** (`bench/src/reference.rs`): axum + sqlx with nothing of ours, the same \
         work as the FastAPI one.\n"
    )?;
    if ctx.fastapi.is_none() {
        writeln!(
            out,
            "**The FastAPI reference did not run in this report**: `bikri-bench run` was started without \
             `--fastapi-python` (`bench/run.sh` passes it). Its rows and the ratios to it are missing.\n"
        )?;
    }
    writeln!(
        out,
        "### Maximum at {CONNECTIONS} connections\n\n\
         A closed loop of {CONNECTIONS} connections for {window} s after a {} s warm-up. {ROUNDS} rounds \
         per load, the receivers interleaved (round 1: BikriAgent, FastAPI, axum; each later round starts \
         one receiver further on), each run on a fresh database after a `CHECKPOINT`. A receiver's \
         deliveries/s, p50 and p99 are the **medians of its {ROUNDS} rounds** (each taken separately; every \
         round's deliveries/s is listed); non-2xx counts every request of every round that did not get a \
         2xx answer. Peak RSS is the largest of the rounds; for FastAPI it is the sum of the uvicorn \
         master's and each worker's own peak (VmHWM), an upper bound of the group's peak.\n",
        WARMUP.as_secs()
    )?;
    for (load, summaries) in loads {
        let find = |kind: Kind| summaries.iter().find(|s| s.kind == kind);
        writeln!(out, "**{}**\n", load.heading())?;
        writeln!(
            out,
            "| receiver | deliveries/s | BikriAgent × it | p50 ms | p99 ms | non-2xx | peak RSS MiB | deliveries/s by round |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        let ours = find(Kind::Ours).map_or(0.0, |s| s.per_sec);
        for s in summaries {
            out.push_str(&row(&[
                s.kind.name().to_owned(),
                format!("{:.0}", s.per_sec),
                if s.kind == Kind::Ours {
                    "—".to_owned()
                } else {
                    times(ratio(ours, Some(s)))
                },
                ms(s.p50),
                ms(s.p99),
                s.failed.to_string(),
                format!("{:.1}", s.rss),
                s.rounds
                    .iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ]));
        }
        if find(Kind::FastApi).is_none() {
            out.push_str(&row(&[
                "FastAPI reference".to_owned(),
                "not run".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
                "—".to_owned(),
            ]));
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Durability check, every run of the table above (each delivery has its own message id, so each \
         200 must be a row of the receiver's table; BikriAgent also queues one processing job per row):\n"
    )?;
    writeln!(out, "| deliveries | receiver | 200s | rows | jobs | every 200 stored |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for (load, summaries) in loads {
        for s in summaries {
            out.push_str(&row(&[
                load.name().to_owned(),
                s.kind.name().to_owned(),
                s.acked.to_string(),
                s.rows.to_string(),
                s.jobs.map_or_else(|| "—".to_owned(), |j| j.to_string()),
                if s.durable { "yes" } else { "**no**" }.to_owned(),
            ]));
        }
    }

    writeln!(
        out,
        "\n### At a fixed {RATE} deliveries/s\n\n\
         An open loop (latency counted from when each request was due, so a stalled receiver cannot hide \
         its queue) for {} s, deliveries spread over 500 Pages, one run per receiver on a fresh database:\n",
        ctx.secs(20).as_secs()
    )?;
    writeln!(
        out,
        "| receiver | sent | 200s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | rows | every 200 stored |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|")?;
    for (kind, run, stored, _) in rates {
        let p = run.percentiles();
        out.push_str(&row(&[
            kind.name().to_owned(),
            run.samples.len().to_string(),
            run.ok().to_string(),
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.p999),
            ms(p.max),
            stored.rows.to_string(),
            if stored.durable() { "yes" } else { "**no**" }.to_owned(),
        ]));
    }

    let p: Percentiles = race.run.latency;
    writeln!(
        out,
        "\n### Racing deliveries (BikriAgent)\n\n\
         Meta retries a delivery it has no answer for yet, so the same signed delivery can arrive while \
         the first attempt is still being stored. Here every delivery carries two messages (message *n* \
         and *n + 1*, in either order, so neighbouring deliveries share one), every delivery is posted \
         2 or 3 times with the same bytes and signature, and the posts of 16 neighbouring deliveries are \
         shuffled together: with {CONNECTIONS} connections the copies and the neighbours are in flight at \
         the same time. A closed loop for {window} s after a {} s warm-up, on a fresh database. Afterwards \
         every message id of a delivery that was answered 2xx at least once must be in `inbound_messages` \
         exactly once (one row per (platform, provider_message_id)), with one processing job per row.\n",
        WARMUP.as_secs()
    )?;
    writeln!(
        out,
        "| posts/s (2xx) | posts | non-2xx | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | acknowledged ids | rows | missing | stored twice | jobs |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")?;
    out.push_str(&row(&[
        format!("{:.0}", race.run.per_sec()),
        race.posts.to_string(),
        race.run.failed_total.to_string(),
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max),
        race.acked_messages.to_string(),
        race.rows.to_string(),
        race.missing.to_string(),
        race.twice.to_string(),
        race.jobs.to_string(),
    ]));
    writeln!(
        out,
        "\nEach acknowledged message id arrived in {:.1} posts on average. Stored once: {}.\n",
        (race.posts * 2) as f64 / race.acked_messages.max(1) as f64,
        if race.stored_once() { "yes" } else { "**no**" }
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_posts_send_each_delivery_two_or_three_times_per_chunk() {
        let mut counts = std::collections::HashMap::new();
        for i in 0..RACE_CHUNK_POSTS * 3 {
            *counts.entry(race_delivery(7, i)).or_insert(0) += 1;
        }
        assert_eq!(counts.len() as u64, RACE_CHUNK * 3);
        for (d, n) in counts {
            assert_eq!(n, race_copies(d), "delivery {d}");
        }
    }

    #[test]
    fn a_racing_delivery_is_the_same_bytes_every_time() {
        let a = race_body("s", 1, 1000, 5);
        let b = race_body("s", 1, 1000, 5);
        assert_eq!(a.body, b.body);
        assert_eq!(a.signature, b.signature);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![4.0, 1.0]) - 2.5).abs() < f64::EPSILON);
    }
}
