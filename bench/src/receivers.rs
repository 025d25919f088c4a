//! The three webhook receivers the ingest section compares, each started on
//! its own fresh database: ours (`bikriagent serve`), the minimal axum
//! reference (`bikri-bench reference-receiver`) and the FastAPI reference
//! (`bench/fastapi_reference/app.py` under uvicorn).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;

use crate::fake_graph::FakeGraph;
use crate::phases::Ctx;
use crate::server::{ChildGuard, Secrets, Server, ServerSpec, free_port, peak_rss_mib};

/// Where the FastAPI reference comes from (`--fastapi-python`, `--fastapi-app`).
#[derive(Debug, Clone)]
pub struct FastApiSpec {
    /// The virtualenv's python (`bench/.venv/bin/python`), which has uvicorn.
    pub python: PathBuf,
    /// The folder holding `app.py`.
    pub app_dir: PathBuf,
}

/// Table of the FastAPI reference (as in `app.py`).
pub const FASTAPI_TABLE: &str = "fastapi_inbound";

/// Uvicorn worker processes of the FastAPI reference.
pub const FASTAPI_WORKERS: usize = 2;

/// Pool size of each FastAPI worker: 2 × 10 = the 20 connections the
/// others have.
pub const FASTAPI_POOL_PER_WORKER: u32 = 10;

/// Database connections of every receiver, in total.
pub const POOL: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    FastApi,
    Axum,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ours => "BikriAgent",
            Self::FastApi => "FastAPI reference",
            Self::Axum => "axum reference",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::FastApi => "fastapi",
            Self::Axum => "axum",
        }
    }

    /// Where the receiver stores a delivery.
    pub fn table(self) -> &'static str {
        match self {
            Self::Ours => "inbound_messages",
            Self::FastApi => FASTAPI_TABLE,
            Self::Axum => crate::reference::TABLE,
        }
    }
}

enum Process {
    Ours(Server),
    Axum(ChildGuard),
    FastApi(ProcessGroup),
}

/// A receiver running on its own fresh database.
pub struct Running {
    pub kind: Kind,
    /// `http://127.0.0.1:PORT/webhooks/meta`
    pub webhook: String,
    pub database_url: String,
    process: Process,
}

impl Running {
    /// Starts `kind` on a new empty database called `database`.
    pub async fn start(
        ctx: &Ctx,
        secrets: &Secrets,
        graph: &FakeGraph,
        kind: Kind,
        database: &str,
    ) -> anyhow::Result<Self> {
        let database_url = ctx.fresh_db(database).await?;
        let port = free_port()?;
        let log = ctx.log(&format!("ingest-{database}"));
        let process = match kind {
            Kind::Ours => Process::Ours(
                Server::start(ServerSpec {
                    binary: &ctx.server_bin,
                    database_url: &database_url,
                    port,
                    graph_url: &graph.graph_url(),
                    secrets,
                    workers: 0,
                    db_connections: POOL,
                    log,
                    extra: vec![],
                })
                .await?,
            ),
            Kind::Axum => {
                let child = ChildGuard(
                    Command::new(&ctx.bench_bin)
                        .args([
                            "reference-receiver",
                            "--addr",
                            &format!("127.0.0.1:{port}"),
                            "--database-url",
                            &database_url,
                            "--secret",
                            &secrets.app_secret,
                            "--connections",
                            &POOL.to_string(),
                        ])
                        .stdin(Stdio::null())
                        .stdout(std::fs::File::create(&log)?)
                        .stderr(std::fs::File::create(ctx.log(&format!("ingest-{database}.err")))?)
                        .spawn()?,
                );
                crate::phases::wait_for_port(port).await?;
                Process::Axum(child)
            }
            Kind::FastApi => {
                let spec = ctx
                    .fastapi
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("the FastAPI reference needs --fastapi-python"))?;
                create_fastapi_table(&database_url).await?;
                Process::FastApi(
                    ProcessGroup::start_uvicorn(spec, &database_url, &secrets.app_secret, port, &log).await?,
                )
            }
        };
        Ok(Self {
            kind,
            webhook: format!("http://127.0.0.1:{port}/webhooks/meta"),
            database_url,
            process,
        })
    }

    /// Peak resident memory so far, in MiB: for FastAPI the sum over the
    /// uvicorn master and its workers (each one's own peak).
    pub fn peak_rss_mib(&self) -> f64 {
        match &self.process {
            Process::Ours(server) => server.peak_rss_mib(),
            Process::Axum(child) => peak_rss_mib(child.0.id()),
            Process::FastApi(group) => group.peak_rss_mib(),
        }
    }

    /// Rows in the receiver's table (and, for ours, its processing jobs).
    pub async fn stored(&self) -> anyhow::Result<(i64, Option<i64>)> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.database_url)
            .await?;
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from {}", self.kind.table()))
            .fetch_one(&pool)
            .await?;
        let jobs = if self.kind == Kind::Ours {
            Some(
                sqlx::query_scalar("select count(*) from jobs where kind = 'process_inbound'")
                    .fetch_one(&pool)
                    .await?,
            )
        } else {
            None
        };
        pool.close().await;
        Ok((rows, jobs))
    }

    /// Stops the receiver (gracefully where it has a graceful stop).
    pub fn stop(self) -> anyhow::Result<()> {
        match self.process {
            Process::Ours(server) => server.stop(),
            Process::Axum(child) => {
                drop(child);
                Ok(())
            }
            Process::FastApi(group) => group.stop(),
        }
    }
}

/// The bench creates the FastAPI table itself: two uvicorn workers running
/// `create table if not exists` at once can collide on the table's type.
async fn create_fastapi_table(database_url: &str) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new().max_connections(1).connect(database_url).await?;
    sqlx::query(&format!(
        "create table if not exists {FASTAPI_TABLE} (id bigserial primary key, mid text not null unique, \
         body bytea not null, received_at timestamptz not null default now())"
    ))
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(())
}

/// A process started in its own process group (uvicorn and its workers),
/// stopped as a group.
pub struct ProcessGroup {
    leader: Child,
    log: PathBuf,
}

impl ProcessGroup {
    async fn start_uvicorn(
        spec: &FastApiSpec,
        database_url: &str,
        secret: &str,
        port: u16,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let file = std::fs::File::create(log)?;
        let leader = Command::new(&spec.python)
            .args(["-m", "uvicorn", "app:app", "--app-dir"])
            .arg(&spec.app_dir)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", &FASTAPI_WORKERS.to_string()])
            .args([
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "info",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("FASTAPI_REF_DATABASE_URL", database_url)
            .env("FASTAPI_REF_SECRET", secret)
            .env("FASTAPI_REF_POOL_SIZE", FASTAPI_POOL_PER_WORKER.to_string())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()?;
        let mut group = Self {
            leader,
            log: log.to_owned(),
        };
        group.wait_ready(port).await?;
        Ok(group)
    }

    /// Ready when every worker has logged that its startup (pool, table)
    /// is complete and the port answers.
    async fn wait_ready(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.leader.try_wait()? {
                anyhow::bail!("uvicorn exited ({status}); see {}", self.log.display());
            }
            let started = std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .matches("Application startup complete")
                .count();
            if started >= FASTAPI_WORKERS && tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "uvicorn was not ready in 60 s ({started} of {FASTAPI_WORKERS} workers); see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pgid(&self) -> u32 {
        self.leader.id()
    }

    /// The leader and its descendants.
    fn members(&self) -> Vec<u32> {
        let mut all = vec![self.leader.id()];
        let mut next = 0;
        while next < all.len() {
            all.extend(children(all[next]));
            next += 1;
        }
        all
    }

    /// Sum of each member's peak resident memory (VmHWM), in MiB. The
    /// workers' peaks need not coincide and pages they share count twice,
    /// so this is an upper bound of the group's peak.
    pub fn peak_rss_mib(&self) -> f64 {
        self.members().into_iter().map(peak_rss_mib).sum()
    }

    /// SIGTERM to the group (uvicorn stops its workers), SIGKILL to whatever
    /// of it is left after 20 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let members = self.members();
        signal_group(self.pgid(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && self.leader.try_wait()?.is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        if self.leader.try_wait()?.is_none() {
            signal_group(self.pgid(), "KILL");
            self.leader.wait()?;
        }
        self.kill_leftovers(&members);
        Ok(())
    }

    /// Kills the given members that are still alive in this group.
    fn kill_leftovers(&self, members: &[u32]) {
        for &pid in members.iter().filter(|&&pid| pid != self.pgid()) {
            if process_group_of(pid) == Some(self.pgid()) {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if matches!(self.leader.try_wait(), Ok(None)) {
            let members = self.members();
            signal_group(self.pgid(), "KILL");
            let _ = self.leader.wait();
            self.kill_leftovers(&members);
        }
    }
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Child processes of `pid` (every thread's `children` list).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out: Vec<u32> = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The process group of `pid`, if it is alive.
fn process_group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesised command name: state, ppid, pgrp.
    stat.rsplit_once(')')?.1.split_whitespace().nth(2)?.parse().ok()
}
