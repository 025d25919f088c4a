//! `bikri-bench`: the benchmarks behind BENCHMARKS.md.
//!
//! `bench/run.sh` builds the release binaries, starts a private PostgreSQL
//! (fsync on) and runs `bikri-bench run`, which starts the real
//! `bikriagent serve` for each section, drives it over loopback and writes
//! the report. Timings live here and in BENCHMARKS.md, never in tests.

mod deliveries;
mod fake_graph;
mod ingest;
mod isolation;
mod load;
mod pages;
mod phases;
mod receivers;
mod reference;
mod seed;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  bikri-bench run --admin-url URL --server-bin PATH --out FILE [--pg-log FILE]
                  [--results DIR] [--only ingest,e2e,pages,isolation] [--quick]
                  [--fastapi-python PATH [--fastapi-app DIR]]
      run the benchmarks against the release server and write the report;
      --fastapi-python is a python with the packages of
      bench/fastapi_reference/requirements.txt (bench/run.sh makes bench/.venv),
      --fastapi-app the folder of its app.py (default bench/fastapi_reference);
      without --fastapi-python the ingest section skips the FastAPI reference
  bikri-bench reference-receiver --addr ADDR --database-url URL --secret S [--connections N]
      the minimal axum receiver the ingest run compares against";

/// Workers of the end-to-end server (`BENCH_WORKERS` overrides).
const E2E_WORKERS: usize = 16;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn required(args: &[String], name: &str) -> anyhow::Result<String> {
    arg(args, name).ok_or_else(|| anyhow::anyhow!("{name} is required\n{USAGE}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run(&args).await,
        Some("reference-receiver") => reference_receiver(&args).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bikri-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn reference_receiver(args: &[String]) -> anyhow::Result<()> {
    let addr = required(args, "--addr")?.parse()?;
    let connections = arg(args, "--connections").map_or(Ok(20), |c| c.parse())?;
    reference::serve(
        addr,
        &required(args, "--database-url")?,
        &required(args, "--secret")?,
        connections,
    )
    .await
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let out = PathBuf::from(required(args, "--out")?);
    let results = PathBuf::from(arg(args, "--results").unwrap_or_else(|| "bench/results".to_owned()));
    std::fs::create_dir_all(&results)?;
    let ctx = phases::Ctx {
        admin_url: required(args, "--admin-url")?,
        server_bin: PathBuf::from(required(args, "--server-bin")?),
        bench_bin: std::env::current_exe()?,
        pg_log: arg(args, "--pg-log").map(PathBuf::from),
        results,
        quick: args.iter().any(|a| a == "--quick"),
        fastapi: fastapi_spec(args)?,
        goals: std::sync::Mutex::new(Vec::new()),
    };
    let only = arg(args, "--only").unwrap_or_else(|| "ingest,e2e,pages,isolation".to_owned());
    let wanted = |name: &str| only.split(',').any(|o| o == name);
    let secrets = server::Secrets::random();
    let mut sections = Vec::new();
    if wanted("ingest") {
        eprintln!("== ingest");
        sections.push(ingest::ingest(&ctx, &secrets).await?);
    }
    if wanted("e2e") {
        eprintln!("== end to end");
        let workers = std::env::var("BENCH_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(E2E_WORKERS);
        sections.push(phases::end_to_end(&ctx, &secrets, workers).await?);
    }
    if wanted("pages") {
        eprintln!("== pages");
        sections.push(pages::pages(&ctx, &secrets).await?);
    }
    if wanted("isolation") {
        eprintln!("== isolation");
        sections.push(isolation::isolation(&ctx, &secrets).await?);
    }
    let report = format!(
        "{}\n{}\n{}",
        header(&ctx, &only).await,
        summary(&ctx),
        sections.join("\n")
    );
    std::fs::write(&out, report)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The FastAPI reference receiver, when `--fastapi-python` is given.
fn fastapi_spec(args: &[String]) -> anyhow::Result<Option<receivers::FastApiSpec>> {
    let Some(python) = arg(args, "--fastapi-python").map(PathBuf::from) else {
        return Ok(None);
    };
    let app_dir = PathBuf::from(arg(args, "--fastapi-app").unwrap_or_else(|| "bench/fastapi_reference".to_owned()));
    anyhow::ensure!(python.exists(), "--fastapi-python {} does not exist", python.display());
    anyhow::ensure!(
        app_dir.join("app.py").exists(),
        "--fastapi-app {} has no app.py",
        app_dir.display()
    );
    Ok(Some(receivers::FastApiSpec {
        // Absolute, not canonical: a virtualenv's python is a symlink that
        // must keep its path to find the environment.
        python: std::path::absolute(python)?,
        app_dir: std::fs::canonicalize(app_dir)?,
    }))
}

/// The targets of the issue against what this run measured.
fn summary(ctx: &phases::Ctx) -> String {
    let goals = ctx.goals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = String::from("## Summary\n\n| what | target | measured | |\n|---|---|---|---|\n");
    for t in goals.iter() {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "",
        };
        out.push_str(&format!("| {} | {} | {} | {verdict} |\n", t.what, t.target, t.measured));
    }
    out.push_str(
        "| PostgreSQL crashed mid-replay of 1,000 deliveries with retries: lost / duplicate replies | 0 / 0 | \
         asserted by `faults::postgres_crashing_mid_replay_loses_no_message_and_sends_no_reply_twice` in \
         `scripts/test.sh` | test |\n",
    );
    out
}

/// Output of a command, or `unknown`.
fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn header(ctx: &phases::Ctx, only: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0),
        );
    let pg_version = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&ctx.admin_url)
        .await
    {
        Ok(pool) => {
            let version: String = sqlx::query_scalar("show server_version")
                .fetch_one(&pool)
                .await
                .unwrap_or_default();
            pool.close().await;
            version
        }
        Err(_) => "unknown".to_owned(),
    };
    format!(
        "# Benchmarks\n\n\
         Regenerate with `bench/run.sh` (about 20 minutes; `BENCH_QUICK=1 bench/run.sh` is a short smoke \
         run that writes `bench/results/BENCHMARKS.quick.md` instead). It builds `bikriagent` and \
         `bikri-bench` in release mode, starts a private PostgreSQL with `fsync=on`, runs `bikri-bench run` \
         (sections: {only}), and writes this file. Raw server logs and the captured query plans are in \
         `bench/results/` (not committed). Everything — load generator, fake Graph API, server, \
         PostgreSQL — shares one machine, so every number includes the load generator's own CPU use.\n\n\
         Machine: {} cores ({cpu}), {memory} RAM, Linux {}, PostgreSQL {pg_version}, {}; commit {}{}.\n\n\
         No timing is asserted in the test suite. The correctness halves of sections 4 and 5 are tests: \
         `server/tests/api/faults.rs` (PostgreSQL restarted during a 1,000-message replay with retries: \
         zero lost, zero duplicate replies; one owner flooding past their limits does not take another \
         owner's replies).\n",
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get),
        command_output("uname", &["-r"]),
        command_output("rustc", &["--version"]),
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        if ctx.quick { " (quick run)" } else { "" },
    )
}
