//! Section 4, isolation under load: one owner flooding past their limits
//! next to everyone else, and a password-guessing flood (argon2 per
//! attempt) next to webhook acks.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::fake_graph::FakeGraph;
use crate::load::{self, Percentiles, ms};
use crate::pages::csrf_token;
use crate::phases::{Ctx, Target, collect_replies, offer_questions, seed_shops};
use crate::server::{Secrets, Server, ServerSpec, free_port};

const DAILY_LIMIT: usize = 100;

pub async fn isolation(ctx: &Ctx, secrets: &Secrets) -> anyhow::Result<String> {
    let owners_count = if ctx.quick { 20 } else { 100 };
    let graph = FakeGraph::spawn().await?;
    let shops = seed_shops(ctx, secrets, &graph, owners_count, "bench_isolation").await?;
    let server = Server::start(ServerSpec {
        binary: &ctx.server_bin,
        database_url: &shops.url,
        port: free_port()?,
        graph_url: &graph.graph_url(),
        secrets,
        workers: 16,
        db_connections: 30,
        log: ctx.log("isolation-server"),
        extra: vec![
            ("BIKRI_DAILY_OWNER_LIMIT", DAILY_LIMIT.to_string()),
            ("BIKRI_DAILY_CHANNEL_LIMIT", DAILY_LIMIT.to_string()),
        ],
    })
    .await?;
    let target = Target::webhook(&server, secrets);
    let flooder = Arc::new(vec![shops.owners[0].clone()]);
    let others = Arc::new(shops.owners[1..].to_vec());
    let window = ctx.secs(20);
    const OTHERS_RATE: f64 = 50.0;

    // Warm-up: one question per shop (each shop's first use, the pool
    // growing to size), not measured.
    let (_, warm_due) = offer_questions(
        &target,
        "warm",
        others.clone(),
        OTHERS_RATE,
        Duration::from_secs_f64(others.len() as f64 / OTHERS_RATE),
    )
    .await;
    let _ = collect_replies(&graph, &warm_due, Duration::from_secs(60)).await;

    // Quiet: everyone else at 50 messages/s.
    let (_, quiet_due) = offer_questions(&target, "quiet", others.clone(), OTHERS_RATE, window).await;
    let quiet = collect_replies(&graph, &quiet_due, Duration::from_secs(60)).await;
    let quiet_p = Percentiles::of(quiet.latencies);

    // Flood: the same, while one owner's customers send 10x that owner's
    // daily limit in the first seconds of the window.
    let flood_total = 10 * DAILY_LIMIT;
    let flood_secs = window.as_secs_f64().min(5.0);
    let flood_rate = flood_total as f64 / flood_secs;
    let before_flooder = graph.sent_by_page(&flooder[0].page_id);
    let (others_run, flood_run) = tokio::join!(
        offer_questions(&target, "during", others.clone(), OTHERS_RATE, window),
        offer_questions(
            &target,
            "flood",
            flooder.clone(),
            flood_rate,
            Duration::from_secs_f64(flood_secs)
        ),
    );
    let during = collect_replies(&graph, &others_run.1, Duration::from_secs(60)).await;
    let during_p = Percentiles::of(during.latencies);

    // Login flood against webhook acks (deliveries for a Page no one
    // connected, so the workers only resolve them).
    let ack_target = Target {
        page: "3999999999".to_owned(),
        ..target.clone()
    };
    const ACK_RATE: f64 = 500.0;
    let quiet_acks = acks(&ack_target, "ack-quiet", ACK_RATE, window).await;
    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(AtomicU64::new(0));
    let mut guessers = Vec::new();
    for g in 0..32u64 {
        let (base, stop, attempts) = (server.url.clone(), stop.clone(), attempts.clone());
        guessers.push(tokio::spawn(async move {
            guess_passwords(&base, g, &stop, &attempts).await
        }));
    }
    let flood_acks = acks(&ack_target, "ack-flood", ACK_RATE, window).await;
    stop.store(true, Ordering::Relaxed);
    for guesser in guessers {
        let _ = guesser.await;
    }
    let guesses = attempts.load(Ordering::Relaxed);
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&shops.url)
        .await?;
    let (checked, throttled): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where kind = 'login_failed'), count(*) filter (where kind = 'login_throttled') \
           from security_events",
    )
    .fetch_one(&db)
    .await?;
    // The flooded channel's backlog drains at the channel pace; wait for it,
    // then count where every one of its messages went.
    let lane = format!("messenger:{}", flooder[0].page_id);
    let drain_deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left: i64 =
            sqlx::query_scalar("select count(*) from jobs where lane = $1 and state in ('queued', 'running')")
                .bind(&lane)
                .fetch_one(&db)
                .await?;
        if left == 0 || Instant::now() > drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (flooder_stored, flooder_messages, flooder_reviews): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from inbound_messages where channel_meta_id = $1), \
                (select count(*) from messages where owner_id = $2 and direction = 'in'), \
                (select count(*) from review_items where owner_id = $2)",
    )
    .bind(&flooder[0].page_id)
    .bind(flooder[0].id.as_uuid())
    .fetch_one(&db)
    .await?;
    let flooder_sent = graph.sent_by_page(&flooder[0].page_id) - before_flooder;
    db.close().await;
    let rss = server.peak_rss_mib();
    server.stop()?;

    let mut out = String::new();
    writeln!(out, "## 4. Isolation under load\n")?;
    writeln!(
        out,
        "{owners_count} shops as in section 2 (`BIKRI_WORKERS=16`, pool 30), daily automatic-reply limits of \
         {DAILY_LIMIT} per owner and per channel. *Others* are the other {} shops' new customers at \
         {OTHERS_RATE}/s for {} s; latency is delivery → reply at the Graph API.\n",
        owners_count - 1,
        window.as_secs()
    )?;
    writeln!(out, "| others' run | replies | missing | p50 ms | p99 ms | max ms |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for (name, p, missing) in [
        ("quiet", &quiet_p, quiet.missing),
        ("one owner flooding", &during_p, during.missing),
    ] {
        writeln!(
            out,
            "| {name} | {} | {missing} | {} | {} | {} |",
            p.count,
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        )?;
    }
    let change = (during_p.p99.as_secs_f64() / quiet_p.p99.as_secs_f64().max(1e-9) - 1.0) * 100.0;
    ctx.target(
        "Other owners' reply p99 while one owner floods 10× their limits",
        "≤ +20%",
        format!("{change:+.1}% ({} → {} ms)", ms(quiet_p.p99), ms(during_p.p99)),
        Some(change <= 20.0 && during.missing == 0),
    );
    writeln!(
        out,
        "\nThe flooding owner's customers sent {} messages ({flood_total} offered at {:.0}/s, 10× the daily \
         limit), all acknowledged and stored ({flooder_stored} rows); the channel pace \
         (`BIKRI_CHANNEL_MESSAGES_PER_SECOND`, default 10/s past a burst of 3) processed them behind the \
         others' messages: {flooder_messages} recorded in the end, {flooder_sent} answered automatically (the \
         daily limit holds) and {flooder_reviews} in that owner's review queue. The others' p99 moved by \
         {change:+.1}%.\n",
        flood_run.0.ok(),
        flood_rate,
    )?;
    writeln!(
        out,
        "Login flood: 32 clients post wrong passwords for unknown addresses (each attempt is a full argon2id \
         verification against a dummy hash, so unknown and known addresses take the same time), each from \
         a new client address in X-Forwarded-For so the per-address limit does not stop them, while \
         webhook deliveries arrive at {ACK_RATE}/s (open loop).\n"
    )?;
    writeln!(out, "| webhook acks | 200s | p50 ms | p99 ms | max ms |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for (name, run) in [("quiet", &quiet_acks), ("during the login flood", &flood_acks)] {
        let p = run.percentiles();
        writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            run.ok(),
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        )?;
    }
    let ack_ratio = flood_acks.percentiles().p99.as_secs_f64() / quiet_acks.percentiles().p99.as_secs_f64().max(1e-9);
    ctx.target(
        "Webhook ack p99 during a login (argon2) flood",
        "≤ 2× quiet",
        format!(
            "{ack_ratio:.2}× ({} → {} ms)",
            ms(quiet_acks.percentiles().p99),
            ms(flood_acks.percentiles().p99)
        ),
        Some(ack_ratio <= 2.0),
    );
    writeln!(
        out,
        "\nLogin attempts answered during the flood: {guesses} ({:.0}/s); the audit log shows {checked} \
         checked and refused, {throttled} throttled before checking. Webhook ack p99 during the flood is {ack_ratio:.2}× the quiet \
         value. Peak RSS of the server: {rss:.1} MiB.\n",
        guesses as f64 / window.as_secs_f64()
    )?;
    Ok(out)
}

async fn acks(target: &Target, run: &str, rate: f64, window: Duration) -> load::RateRun {
    let (t, run) = (target.clone(), run.to_owned());
    load::open_loop(rate, window, 4096, move |i| {
        let (t, mid, sender) = (t.clone(), format!("m_{run}_{i}"), format!("psid-{run}-{i}"));
        async move { t.deliver(mid, sender, "is the red saree available?").await }
    })
    .await
}

/// One password guesser: posts wrong logins until `stop`.
async fn guess_passwords(base: &str, guesser: u64, stop: &AtomicBool, attempts: &AtomicU64) {
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return;
    };
    let page = match client
        .get(format!("{base}/login"))
        .header("x-forwarded-for", format!("172.16.0.{}", guesser + 1))
        .send()
        .await
    {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return,
    };
    let Some(csrf) = csrf_token(&page) else { return };
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let address = format!("100.{}.{}.{}", guesser + 64, (n >> 8) & 255, n & 255);
        let email = format!("guess{guesser}-{n}@example.com");
        let response = client
            .post(format!("{base}/api/login"))
            .header("x-forwarded-for", address)
            .form(&[
                ("email", email.as_str()),
                ("password", "Wrong-Password-123!"),
                ("csrf_token", &csrf),
            ])
            .send()
            .await;
        if response.is_ok() {
            attempts.fetch_add(1, Ordering::Relaxed);
        }
    }
}
