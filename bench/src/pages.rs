//! Section 3, dashboard pages under 50 concurrent sessions, on one owner
//! with 10,000 conversations and 100,000 messages, and the plans of the
//! queries the pages run (auto_explain over the real requests).

use std::fmt::Write as _;
use std::io::{Read as _, Seek as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;

use crate::fake_graph::FakeGraph;
use crate::load::{self, Percentiles, ms};
use crate::phases::Ctx;
use crate::seed;
use crate::server::{Secrets, Server, ServerSpec, free_port};

const SESSIONS: usize = 50;

/// A logged-in browser (its own cookie jar and client address).
async fn login(base: &str, email: &str, n: usize) -> anyhow::Result<reqwest::Client> {
    let forwarded = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", forwarded.parse()?);
    headers.insert("accept", "text/html".parse()?);
    let client = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()?;
    let page = client.get(format!("{base}/login")).send().await?.text().await?;
    let csrf = csrf_token(&page).ok_or_else(|| anyhow::anyhow!("the login page has no CSRF token"))?;
    let response = client
        .post(format!("{base}/api/login"))
        .form(&[
            ("email", email),
            ("password", seed::OWNER_PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    anyhow::ensure!(location == "/dashboard", "login went to `{location}`, not /dashboard");
    Ok(client)
}

pub fn csrf_token(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The page of turn `n`: the inbox and the review queue in turn, with
/// what a real load of it contains.
fn page_of(n: u64) -> (&'static str, &'static str) {
    if n.is_multiple_of(2) {
        ("/inbox", "Customer")
    } else {
        ("/review", "no grounded answer")
    }
}

/// Latencies of the successful paced loads of one page (`which`: 0 inbox, 1 review).
fn pick(run: &load::RateRun, which: u64) -> Vec<Duration> {
    run.samples
        .iter()
        .enumerate()
        .filter(|(i, s)| s.ok && (*i as u64 / SESSIONS as u64) % 2 == which)
        .map(|(_, s)| s.latency)
        .collect()
}

/// GETs `path`; its latency when it answered 200 with `expect` in the page.
async fn timed_get(client: &reqwest::Client, url: &str, expect: &str) -> Option<Duration> {
    let started = Instant::now();
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body = response.text().await.ok()?;
    body.contains(expect).then(|| started.elapsed())
}

pub async fn pages(ctx: &Ctx, secrets: &Secrets) -> anyhow::Result<String> {
    let (conversations, per_conversation) = if ctx.quick { (1_000, 10) } else { (10_000, 10) };
    let graph = FakeGraph::spawn().await?;
    let url = ctx.fresh_db("bench_pages").await?;
    bikriagent::db::migrate(&url).await?;
    let admin = PgPoolOptions::new().max_connections(4).connect(&url).await?;
    let app = bikriagent::db::connect_app_pool(&url, 12).await?;
    let keys = secrets.keys();
    // The measured owner, and 20 neighbours whose rows share the tables.
    let owners = seed::owners(&admin, &app, &keys, &graph.graph_url(), 21, 50).await?;
    let owner = owners[0].clone();
    let started = Instant::now();
    seed::history(&app, &keys, owner.id, conversations, per_conversation, 5).await?;
    for neighbour in &owners[1..] {
        seed::history(&app, &keys, neighbour.id, 200, 5, 5).await?;
    }
    eprintln!("seeded page history in {:.1} s", started.elapsed().as_secs_f64());
    sqlx::query("analyze").execute(&admin).await?;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from messages where owner_id = $1), \
                (select count(*) from conversations where owner_id = $1), \
                (select count(*) from review_items where owner_id = $1 and state = 'open')",
    )
    .bind(owner.id.as_uuid())
    .fetch_one(&admin)
    .await?;
    app.close().await;

    let spec = |log: &str, port: u16| ServerSpec {
        binary: &ctx.server_bin,
        database_url: &url,
        port,
        graph_url: "http://127.0.0.1:9/v21.0",
        secrets,
        workers: 2,
        db_connections: 20,
        log: ctx.log(log),
        extra: vec![],
    };
    let port = free_port()?;
    let server = Server::start(spec("pages-server", port)).await?;
    let base = server.url.clone();
    let mut sessions = Vec::with_capacity(SESSIONS);
    for n in 0..SESSIONS {
        sessions.push(login(&base, &owner.email, n + 1).await?);
    }
    let window = ctx.secs(30);
    // Users: each session loads a page every second (50 pages/s in all),
    // open loop, the inbox and the review queue in turn.
    let paced = {
        let (sessions, base) = (Arc::new(sessions.clone()), base.clone());
        load::open_loop(SESSIONS as f64, window, 1024, move |i| {
            let client = sessions[(i as usize) % SESSIONS].clone();
            let (path, expect) = page_of(i / SESSIONS as u64);
            let url = format!("{base}{path}");
            async move { timed_get(&client, &url, expect).await.is_some() }
        })
        .await
    };
    let paced_inbox = Percentiles::of(pick(&paced, 0));
    let paced_review = Percentiles::of(pick(&paced, 1));
    let paced_failed = paced.samples.len() - paced.ok();
    // Capacity: the same sessions loading pages back to back.
    let end = Instant::now() + Duration::from_secs(2) + window;
    let window_start = end - window;
    let mut tasks = Vec::new();
    for client in &sessions {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let (mut inbox, mut review, mut failed) = (Vec::new(), Vec::new(), 0usize);
            let mut turn = 0u64;
            while Instant::now() < end {
                let (path, expect) = page_of(turn);
                let into = if turn.is_multiple_of(2) {
                    &mut inbox
                } else {
                    &mut review
                };
                turn += 1;
                let sent = Instant::now();
                match timed_get(&client, &format!("{base}{path}"), expect).await {
                    Some(latency) if sent >= window_start => into.push(latency),
                    Some(_) => {}
                    None => failed += 1,
                }
            }
            (inbox, review, failed)
        }));
    }
    let (mut inbox, mut review, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for task in tasks {
        let (mut i, mut r, f) = task.await?;
        inbox.append(&mut i);
        review.append(&mut r);
        failed += f;
    }
    let inbox_p = Percentiles::of(inbox);
    let review_p = Percentiles::of(review);
    let rss = server.peak_rss_mib();
    server.stop()?;
    for (page, p) in [("/inbox", &paced_inbox), ("/review", &paced_review)] {
        ctx.target(
            &format!("{page} SSR p99, 50 sessions (100,000 messages, 10,000 conversations)"),
            "≤ 25 ms",
            format!("{} ms (p50 {} ms)", ms(p.p99), ms(p.p50)),
            Some(p.p99 <= Duration::from_millis(25) && paced_failed == 0),
        );
    }

    let plans = capture_plans(ctx, &url, &admin, &sessions[0], spec("pages-explain-server", port)).await?;
    admin.close().await;

    let mut out = String::new();
    writeln!(out, "## 3. Dashboard pages\n")?;
    writeln!(
        out,
        "One owner with {} messages in {} conversations and {} open review cases (recorded through the \
         pipeline's own `record_customer_message`), 20 other owners with 1,000 messages each in the same \
         tables, `ANALYZE` run. {SESSIONS} logged-in sessions (each its own cookie and client address) \
         load `/inbox` (the newest 50 conversations) and `/review` (the oldest 50 open cases) in turn for \
         {} s. A page counts only if it answered 200 with the expected content. Server: release, pool 20.\n",
        counts.0,
        counts.1,
        counts.2,
        window.as_secs()
    )?;
    writeln!(
        out,
        "Each session loading a page every second (open loop, {SESSIONS} pages/s in all, latency from when \
         each load was due):\n"
    )?;
    writeln!(out, "| page | loads | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |")?;
    writeln!(out, "|---|---|---|---|---|---|---|")?;
    for (name, p) in [("/inbox", &paced_inbox), ("/review", &paced_review)] {
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            p.count,
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.p999),
            ms(p.max)
        )?;
    }
    writeln!(
        out,
        "\nCapacity: the {SESSIONS} sessions loading pages back to back (closed loop), so latency is mostly \
         waiting for a turn on the 2 cores:\n"
    )?;
    writeln!(
        out,
        "| page | loads | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | pages/s |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|")?;
    for (name, p) in [("/inbox", &inbox_p), ("/review", &review_p)] {
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {:.0} |",
            p.count,
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.p999),
            ms(p.max),
            p.count as f64 / window.as_secs_f64()
        )?;
    }
    writeln!(
        out,
        "\nFailed loads: {paced_failed} paced, {failed} back to back. Peak RSS of the server: {rss:.1} MiB.\n"
    )?;
    out.push_str(&plans);
    Ok(out)
}

/// Loads each page once with auto_explain on (every statement, with actual
/// rows), and reports every sequential scan and on which table.
async fn capture_plans(
    ctx: &Ctx,
    url: &str,
    admin: &sqlx::PgPool,
    session: &reqwest::Client,
    spec: ServerSpec<'_>,
) -> anyhow::Result<String> {
    let Some(pg_log) = &ctx.pg_log else {
        return Ok("Query plans: not captured (no `--pg-log`).\n".to_owned());
    };
    let database = url.rsplit('/').next().unwrap_or_default().to_owned();
    for setting in [
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_analyze = on",
        "auto_explain.log_nested_statements = on",
    ] {
        sqlx::query(&format!("alter database {database} set {setting}"))
            .execute(admin)
            .await?;
    }
    let offset = std::fs::metadata(pg_log).map(|m| m.len()).unwrap_or(0);
    let server = Server::start(spec).await?;
    // Sessions live in PostgreSQL: the cookie from before the restart still works.
    let inbox = timed_get(session, &format!("{}/inbox", server.url), "Customer").await;
    let review = timed_get(session, &format!("{}/review", server.url), "no grounded answer").await;
    server.stop()?;
    sqlx::query(&format!("alter database {database} reset all"))
        .execute(admin)
        .await?;
    anyhow::ensure!(
        inbox.is_some() && review.is_some(),
        "the pages did not load for the plan capture"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut log = std::fs::File::open(pg_log)?;
    log.seek(std::io::SeekFrom::Start(offset))?;
    let mut text = String::new();
    log.read_to_string(&mut text)?;
    let plans_path = ctx.results.join("pages-plans.txt");
    std::fs::write(&plans_path, &text)?;
    let tenant_tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns \
          where table_schema = 'public' and column_name = 'owner_id'",
    )
    .fetch_all(admin)
    .await?;
    let plan_count = text.matches("duration:").count();
    let mut seq: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.split("Seq Scan on ").nth(1) {
            let table = rest.split_whitespace().next().unwrap_or_default().to_owned();
            *seq.entry(table).or_default() += 1;
        }
    }
    let mut out = String::new();
    writeln!(
        out,
        "Query plans: one load of each page with `auto_explain` (`log_min_duration = 0`, `log_analyze`, \
         nested statements) logged {plan_count} plans, kept in `bench/results/pages-plans.txt`."
    )?;
    let mut large_tenant_scans = Vec::new();
    let mut small_tenant_scans = Vec::new();
    for table in seq.keys().filter(|t| tenant_tables.contains(*t)) {
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(admin)
            .await
            .unwrap_or(-1);
        if rows >= 1000 {
            large_tenant_scans.push(format!("{table} ({rows} rows)"));
        } else {
            small_tenant_scans.push(format!("{table} ({rows} rows)"));
        }
    }
    ctx.target(
        "Sequential scans on tenant tables while loading the pages",
        "none on a tenant table of 1,000+ rows",
        format!(
            "{}{}",
            if large_tenant_scans.is_empty() {
                "none".to_owned()
            } else {
                large_tenant_scans.join(", ")
            },
            if small_tenant_scans.is_empty() {
                String::new()
            } else {
                format!("; on small tables: {}", small_tenant_scans.join(", "))
            }
        ),
        Some(large_tenant_scans.is_empty()),
    );
    if seq.is_empty() {
        writeln!(out, "No plan has a sequential scan.\n")?;
    } else {
        writeln!(
            out,
            "\n| table seq-scanned | plans | tenant table (has owner_id) | rows in table |"
        )?;
        writeln!(out, "|---|---|---|---|")?;
        for (table, n) in &seq {
            let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
                .fetch_one(admin)
                .await
                .unwrap_or(-1);
            let tenant = if tenant_tables.contains(table) { "yes" } else { "no" };
            writeln!(out, "| {table} | {n} | {tenant} | {rows} |")?;
        }
        writeln!(out)?;
    }
    Ok(out)
}
