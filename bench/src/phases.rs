//! The benchmark runs behind BENCHMARKS.md. Each starts the release server
//! on its own fresh database, drives it over loopback, checks what it
//! claims in the database (every 200 is a stored row, every reply is one
//! reply), and returns a section of the report.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::deliveries;
use crate::fake_graph::FakeGraph;
use crate::load::{self, Percentiles, ms};
use crate::seed;
use crate::server::{CpuUse, Secrets, Server, ServerSpec, free_port};

/// What every run needs.
pub struct Ctx {
    /// Superuser connection string of the benchmark's private cluster.
    pub admin_url: String,
    pub server_bin: PathBuf,
    pub bench_bin: PathBuf,
    /// The cluster's log (auto_explain writes the page query plans there).
    pub pg_log: Option<PathBuf>,
    pub results: PathBuf,
    pub quick: bool,
    /// The FastAPI reference receiver of the ingest section; `None` when
    /// `--fastapi-python` was not given (its rows are then skipped, and the
    /// report says so).
    pub fastapi: Option<crate::receivers::FastApiSpec>,
    /// The targets and what this run measured, for the summary.
    pub goals: std::sync::Mutex<Vec<Goal>>,
}

/// One line of the summary: a target and what this run measured.
#[derive(Debug, Clone)]
pub struct Goal {
    pub what: String,
    pub target: String,
    pub measured: String,
    /// `Some(met)` for a target with a threshold; `None` for a number we
    /// report without one.
    pub met: Option<bool>,
}

impl Ctx {
    /// Seconds of a measured window: full length, or a short smoke run.
    pub fn secs(&self, full: u64) -> Duration {
        Duration::from_secs(if self.quick { (full / 6).max(2) } else { full })
    }

    fn db_url(&self, name: &str) -> String {
        match self.admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => self.admin_url.clone(),
        }
    }

    /// A new empty database (dropped first if a previous run left it).
    pub async fn fresh_db(&self, name: &str) -> anyhow::Result<String> {
        let admin = PgPoolOptions::new().max_connections(1).connect(&self.admin_url).await?;
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&admin)
            .await?;
        sqlx::query(&format!("create database {name}")).execute(&admin).await?;
        admin.close().await;
        Ok(self.db_url(name))
    }

    /// Notes a target and what was measured against it.
    pub fn target(&self, what: &str, target: &str, measured: String, met: Option<bool>) {
        self.goals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Goal {
                what: what.to_owned(),
                target: target.to_owned(),
                measured,
                met,
            });
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.results.join(format!("{name}.log"))
    }
}

async fn admin_pool(url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new().max_connections(8).connect(url).await?)
}

async fn count(pool: &PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn latency_cells(p: &Percentiles) -> Vec<String> {
    vec![ms(p.p50), ms(p.p90), ms(p.p99), ms(p.p999), ms(p.max)]
}

/// A webhook target: where to post, with which secret.
#[derive(Clone)]
pub struct Target {
    pub client: reqwest::Client,
    pub url: String,
    pub secret: String,
    pub page: String,
}

impl Target {
    /// Posts to `server`'s webhook, signed with the bench's app secret; the
    /// Page is chosen per delivery.
    pub fn webhook(server: &Server, secrets: &Secrets) -> Self {
        Self {
            client: load::client(256),
            url: format!("{}/webhooks/meta", server.url),
            secret: secrets.app_secret.clone(),
            page: String::new(),
        }
    }

    pub async fn deliver(&self, mid: String, sender: String, text: &str) -> bool {
        let delivery = deliveries::messenger(&self.secret, &self.page, &sender, &mid, text);
        deliveries::post(&self.client, &self.url, &delivery).await
    }
}

/// Waits until something listens on a loopback port (30 s at most).
pub async fn wait_for_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listened on port {port} within 30 s")
}

/// A shop population for the end-to-end runs.
pub struct Shops {
    pub url: String,
    pub owners: Vec<seed::Owner>,
}

pub async fn seed_shops(
    ctx: &Ctx,
    secrets: &Secrets,
    graph: &FakeGraph,
    owners: usize,
    database: &str,
) -> anyhow::Result<Shops> {
    let url = ctx.fresh_db(database).await?;
    bikriagent::db::migrate(&url).await?;
    let admin = admin_pool(&url).await?;
    let app = bikriagent::db::connect_app_pool(&url, 16).await?;
    let started = Instant::now();
    let owners = seed::owners(&admin, &app, &secrets.keys(), &graph.graph_url(), owners, 50).await?;
    eprintln!(
        "seeded {} owners in {:.1} s",
        owners.len(),
        started.elapsed().as_secs_f64()
    );
    app.close().await;
    admin.close().await;
    Ok(Shops { url, owners })
}

/// Sends message `i` of a run: a fresh customer of owner `i % owners`
/// asking the price of one of that shop's products.
fn question(run: &str, i: u64, owners: &[seed::Owner]) -> (String, String, String, String) {
    let owner = &owners[(i as usize) % owners.len()];
    let sender = format!("psid-{run}-{i}");
    let mid = format!("m_{run}_{i}");
    let text = format!(
        "What is the price of the {}?",
        seed::product_name((i as usize / owners.len()) % 50)
    );
    (owner.page_id.clone(), sender, mid, text)
}

/// Latency from each delivery being due to its reply at the fake Graph API.
pub struct Replies {
    pub latencies: Vec<Duration>,
    pub missing: usize,
    pub duplicated: usize,
}

pub async fn collect_replies(graph: &FakeGraph, due: &[(String, Instant)], wait: Duration) -> Replies {
    let deadline = Instant::now() + wait;
    loop {
        let missing = due.iter().filter(|(s, _)| graph.replies_to(s).is_empty()).count();
        if missing == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut latencies = Vec::with_capacity(due.len());
    let (mut missing, mut duplicated) = (0, 0);
    for (sender, at) in due {
        let replies = graph.replies_to(sender);
        match replies.first() {
            Some(first) => latencies.push(first.saturating_duration_since(*at)),
            None => missing += 1,
        }
        if replies.len() > 1 {
            duplicated += 1;
        }
    }
    Replies {
        latencies,
        missing,
        duplicated,
    }
}

/// Posts `question(run, i)` at `rate`/s for `duration` and returns when
/// each was due, by sender.
pub async fn offer_questions(
    target: &Target,
    run: &str,
    owners: Arc<Vec<seed::Owner>>,
    rate: f64,
    duration: Duration,
) -> (load::RateRun, Vec<(String, Instant)>) {
    let (t, run_name) = (target.clone(), run.to_owned());
    let owners_for_load = owners.clone();
    let result = load::open_loop(rate, duration, 4096, move |i| {
        let (t, owners) = (t.clone(), owners_for_load.clone());
        let (page, sender, mid, text) = question(&run_name, i, &owners);
        async move {
            let t = Target { page, ..t };
            // Meta retries a failed delivery; so does the bench, up to 5 times.
            for _ in 0..5 {
                if t.deliver(mid.clone(), sender.clone(), &text).await {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            false
        }
    })
    .await;
    let due = result
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| (question(run, i as u64, &owners).1, s.due))
        .collect();
    (result, due)
}

/// 2. End to end: delivery in, reply out at the fake Graph API.
pub async fn end_to_end(ctx: &Ctx, secrets: &Secrets, workers: usize) -> anyhow::Result<String> {
    let owners_count = if ctx.quick { 50 } else { 500 };
    let graph = FakeGraph::spawn().await?;
    let shops = seed_shops(ctx, secrets, &graph, owners_count, "bench_e2e").await?;
    let owners = Arc::new(shops.owners.clone());
    let port = free_port()?;
    let server = Server::start(ServerSpec {
        binary: &ctx.server_bin,
        database_url: &shops.url,
        port,
        graph_url: &graph.graph_url(),
        secrets,
        workers,
        db_connections: 30,
        log: ctx.log("e2e-server"),
        extra: vec![],
    })
    .await?;
    let target = Target::webhook(&server, secrets);
    // Warm-up: one question per shop (first use of each shop's catalog).
    let (_, warm_due) = offer_questions(
        &target,
        "warm",
        owners.clone(),
        100.0,
        Duration::from_secs_f64(owners.len() as f64 / 100.0),
    )
    .await;
    let _ = collect_replies(&graph, &warm_due, Duration::from_secs(60)).await;

    const RATE: f64 = 200.0;
    let duration = ctx.secs(60);
    // Below saturation first: what a customer waits when the machine keeps up.
    let (half, half_due) = offer_questions(&target, "half", owners.clone(), RATE / 2.0, duration).await;
    let half_replies = collect_replies(&graph, &half_due, Duration::from_secs(60)).await;
    let stats = admin_pool(&shops.url).await?;
    let statements_on = statements_reset(&stats).await;
    let cpu_start = CpuUse::now(server.pid());
    let (steady, due) = offer_questions(&target, "steady", owners.clone(), RATE, duration).await;
    let replies = collect_replies(&graph, &due, Duration::from_secs(120)).await;
    let cpu = CpuUse::now(server.pid()).since(&cpu_start);
    let statements = if statements_on {
        statements_report(ctx, &stats, replies.latencies.len()).await?
    } else {
        "pg_stat_statements was not loaded: no per-statement counts.\n".to_owned()
    };
    stats.close().await;
    let steady_p = Percentiles::of(replies.latencies.clone());

    // Saturation: offer far more than the workers can answer and time the
    // replies of the whole batch.
    let batch: u64 = if ctx.quick { 1000 } else { 6000 };
    let started = Instant::now();
    let (flood, flood_due) = offer_questions(
        &target,
        "saturate",
        owners.clone(),
        2000.0,
        Duration::from_secs_f64(batch as f64 / 2000.0),
    )
    .await;
    let flood_replies = collect_replies(&graph, &flood_due, Duration::from_secs(180)).await;
    let last_reply = flood_due
        .iter()
        .filter_map(|(s, _)| graph.replies_to(s).first().copied())
        .max()
        .unwrap_or(started);
    let saturation = flood_replies.latencies.len() as f64 / last_reply.duration_since(started).as_secs_f64().max(0.001);
    let rss = server.peak_rss_mib();
    let half_p = Percentiles::of(half_replies.latencies.clone());
    ctx.target(
        "Delivery → reply p50 / p99 at 200 messages/s for 60 s",
        "≤ 20 ms / ≤ 100 ms",
        format!("{} / {} ms", ms(steady_p.p50), ms(steady_p.p99)),
        Some(
            steady_p.p50 <= Duration::from_millis(20)
                && steady_p.p99 <= Duration::from_millis(100)
                && replies.missing == 0,
        ),
    );
    ctx.target(
        "Delivery → reply p50 / p99 at 100 messages/s",
        "—",
        format!("{} / {} ms", ms(half_p.p50), ms(half_p.p99)),
        None,
    );
    ctx.target(
        "Answered messages/s at saturation",
        "—",
        format!("{saturation:.0}"),
        None,
    );
    ctx.target(
        "Duplicate replies, end to end",
        "0",
        (replies.duplicated + half_replies.duplicated + flood_replies.duplicated).to_string(),
        Some(replies.duplicated + half_replies.duplicated + flood_replies.duplicated == 0),
    );
    ctx.target("Peak RSS of the server, end to end", "—", format!("{rss:.1} MiB"), None);
    let db = admin_pool(&shops.url).await?;
    let sent_rows = count(&db, "select count(*) from outbound_sends where state = 'sent'").await?;
    let reviews = count(&db, "select count(*) from review_items").await?;
    db.close().await;
    server.stop()?;

    let mut out = String::new();
    writeln!(out, "## 2. End to end: delivery → reply at the Graph API\n")?;
    writeln!(
        out,
        "{owners_count} owners with 50 products each and one connected Page each (seeded through the \
         catalog and channel-connect code). Each message is a new customer of the next shop asking the \
         price of one of its products; the embedded engine answers from the catalog and the reply is \
         posted to a fake Graph API in the bench process, which notes when it arrived. Latency runs \
         from when the delivery was due to when its reply arrived. `bikriagent serve` (release) with \
         `BIKRI_WORKERS={workers}`, `BIKRI_DB_MAX_CONNECTIONS=30`, `BIKRI_BURST_QUIET_MS=0` (the default waits 3 s for a customer's \
         burst of messages to end, on purpose; that wait is not engine latency).\n"
    )?;
    writeln!(
        out,
        "| run | offered | 200s | replies | missing | duplicate replies | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    let mut cells = vec![
        format!("{}/s for {} s", RATE / 2.0, duration.as_secs()),
        half.samples.len().to_string(),
        half.ok().to_string(),
        half_replies.latencies.len().to_string(),
        half_replies.missing.to_string(),
        half_replies.duplicated.to_string(),
    ];
    cells.extend(latency_cells(&Percentiles::of(half_replies.latencies.clone())));
    out.push_str(&row(&cells));
    let mut cells = vec![
        format!("{RATE}/s for {} s", duration.as_secs()),
        steady.samples.len().to_string(),
        steady.ok().to_string(),
        replies.latencies.len().to_string(),
        replies.missing.to_string(),
        replies.duplicated.to_string(),
    ];
    cells.extend(latency_cells(&steady_p));
    out.push_str(&row(&cells));
    let flood_p = Percentiles::of(flood_replies.latencies.clone());
    let mut cells = vec![
        format!("{batch} at once"),
        flood.samples.len().to_string(),
        flood.ok().to_string(),
        flood_replies.latencies.len().to_string(),
        flood_replies.missing.to_string(),
        flood_replies.duplicated.to_string(),
    ];
    cells.extend(latency_cells(&flood_p));
    out.push_str(&row(&cells));
    writeln!(
        out,
        "\nSaturation: {:.0} answered messages/s ({} replies, the last {:.1} s after the first delivery). \
         Peak RSS of the server over the run: {rss:.1} MiB. The database shows {sent_rows} sends in state \
         `sent` and {reviews} review cases.\n",
        saturation,
        flood_replies.latencies.len(),
        last_reply.duration_since(started).as_secs_f64()
    )?;
    let per = |seconds: f64| seconds * 1000.0 / replies.latencies.len().max(1) as f64;
    writeln!(
        out,
        "CPU per answered message during the {RATE}/s run: server {:.2} ms, PostgreSQL {:.2} ms, the bench \
         itself (load generator and fake Graph API) {:.2} ms.\n",
        per(cpu.server),
        per(cpu.postgres),
        per(cpu.bench)
    )?;
    out.push_str(&statements);
    Ok(out)
}

/// Starts counting statements afresh; false when pg_stat_statements is not loaded.
async fn statements_reset(pool: &PgPool) -> bool {
    sqlx::query("create extension if not exists pg_stat_statements")
        .execute(pool)
        .await
        .is_ok()
        && sqlx::query("select pg_stat_statements_reset()")
            .execute(pool)
            .await
            .is_ok()
}

/// Statements per answered message, and the costliest ones (full list in
/// `bench/results/e2e-statements.txt`).
async fn statements_report(ctx: &Ctx, pool: &PgPool, answered: usize) -> anyhow::Result<String> {
    let rows: Vec<(i64, f64, f64, String)> = sqlx::query_as(
        "select calls, total_exec_time, mean_exec_time, regexp_replace(query, '\\s+', ' ', 'g') \
           from pg_stat_statements \
          where dbid = (select oid from pg_database where datname = current_database()) \
          order by total_exec_time desc",
    )
    .fetch_all(pool)
    .await?;
    let calls: i64 = rows.iter().map(|r| r.0).sum();
    let exec_ms: f64 = rows.iter().map(|r| r.1).sum();
    let mut full = String::new();
    for (calls, total, mean, query) in &rows {
        writeln!(
            full,
            "{calls:>8} calls {total:>10.1} ms total {mean:>8.3} ms mean  {query}"
        )?;
    }
    std::fs::write(ctx.results.join("e2e-statements.txt"), full)?;
    let per_message = calls as f64 / answered.max(1) as f64;
    let mut out = String::new();
    writeln!(
        out,
        "During the {RATE_NOTE} run PostgreSQL executed {calls} statements ({per_message:.1} per answered \
         message, every pool release's transaction check included) taking {:.1} ms of execution per \
         message. The five costliest in total time:\n",
        exec_ms / answered.max(1) as f64
    )?;
    writeln!(out, "| calls | total ms | mean ms | statement |")?;
    writeln!(out, "|---|---|---|---|")?;
    for (calls, total, mean, query) in rows.iter().take(5) {
        let short: String = query.chars().take(110).collect::<String>().replace('|', "\\|");
        writeln!(out, "| {calls} | {total:.0} | {mean:.3} | `{short}…` |")?;
    }
    writeln!(out)?;
    Ok(out)
}

const RATE_NOTE: &str = "200/s";
