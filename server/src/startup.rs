//! Building and running the application: migrations, pools, the listener,
//! the workers, and a graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bikriagent::auth::accounts::AccountMail;
use bikriagent::auth::accounts::Accounts;
use bikriagent::auth::hashing::PasswordHasher;
use bikriagent::channels::MetaDeletionJob;
use bikriagent::clock::{SharedClock, SystemClock};
use bikriagent::db;
use bikriagent::jobs::{self, Registry, WorkerOptions};
use bikriagent::mail::{self, SendMailJob};
use bikriagent::processing::{DecideJob, ProcessInboundJob};
use bikriagent::sending::SendJob;
use bikriagent_app::web::Services;
use leptos::config::LeptosOptions;
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{Config, Mode};
use crate::http::{self, AppState};

/// Why the application could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("the server stopped with an error: {0}")]
    Serve(#[source] std::io::Error),
}

/// Applies migrations as the owner role, then rewrites, as the application
/// role and with the data key, rows of earlier versions that SQL could not
/// (customers' ids stored in clear, see `customer_ids::backfill`; once per
/// database). The app refuses to start if either fails.
pub async fn migrate(config: &Config) -> Result<(), db::DbError> {
    db::migrate(config.migration_url().expose_secret()).await?;
    let pool = db::connect_app_pool(config.database_url.expose_secret(), 2).await?;
    let backfilled = bikriagent::customer_ids::backfill(&pool, &data_keys(config)).await;
    pool.close().await;
    backfilled?;
    Ok(())
}

/// SMTP when `SMTP_URL` is set (checked at start), otherwise the local mailbox folder.
pub fn mail_transport(config: &Config) -> mail::Transport {
    match &config.smtp_url {
        Some(url) => match mail::Transport::smtp(url.expose_secret(), &config.mail_from) {
            Ok(transport) => transport,
            Err(error) => {
                // Config validation accepted the scheme; a deeper URL error
                // must not lose mail: keep it in the mailbox folder and say so.
                tracing::error!(%error, "SMTP is misconfigured; writing mail to the mailbox folder instead");
                mail::Transport::Mailbox(config.mailbox_dir.clone())
            }
        },
        None => mail::Transport::Mailbox(config.mailbox_dir.clone()),
    }
}

/// The message pipeline: storage, engine, sender and the optional LLM.
pub fn pipeline(pool: &PgPool, config: &Config, clock: SharedClock) -> bikriagent::processing::Pipeline {
    let llm = config.llm.as_ref().and_then(|llm| {
        bikriagent::pipeline::llm::LlmClient::new(bikriagent::pipeline::llm::LlmSettings {
            base_url: llm.base_url.clone(),
            api_key: llm.api_key.clone(),
            model: llm.model.clone(),
            timeout: Duration::from_secs(20),
        })
        .map_err(|error| tracing::error!(%error, "the LLM client could not be built; answering with the embedded engine only"))
        .ok()
    });
    bikriagent::processing::Pipeline {
        pool: pool.clone(),
        keys: data_keys(config),
        clock,
        sender: bikriagent::sending::Sender {
            pool: pool.clone(),
            keys: data_keys(config),
            graph: graph_client(config),
            limits: config.send_limits,
            public_url: config.public_url.clone(),
        },
        llm,
        burst_quiet: config.burst_quiet,
        takeover_quiet: config.takeover_quiet,
    }
}

fn graph_client(config: &Config) -> bikriagent::meta::graph::GraphClient {
    bikriagent::meta::graph::GraphClient::new(
        &config.meta_graph_url,
        &config.meta_app_id,
        config.meta_app_secret.clone(),
    )
    .expect("an HTTP client with rustls can be built at start")
}

/// The job types this binary runs, each with what it needs.
pub fn job_registry(pool: &PgPool, config: &Arc<Config>, pipeline: &bikriagent::processing::Pipeline) -> Registry {
    let keys = data_keys(config);
    let accounts = Accounts {
        pool: pool.clone(),
        hasher: PasswordHasher::new(1),
        clock: pipeline.clock.clone(),
        keys: keys.clone(),
        public_url: config.public_url.clone(),
    };
    let mailer = mail::Mailer {
        pool: pool.clone(),
        keys: keys.clone(),
        transport: mail_transport(config),
    };
    Registry::new()
        .register::<AccountMail>(accounts)
        .register::<SendMailJob>(mailer)
        .register::<ProcessInboundJob>(pipeline.clone())
        .register::<DecideJob>(pipeline.clone())
        .register::<SendJob>(pipeline.clone())
        .register::<MetaDeletionJob>((pool.clone(), keys))
}

/// How many argon2 hashes may run at once: half the cores (at least one),
/// so a flood of password guesses queues behind itself and leaves the other
/// half to webhook acks and pages (measured in BENCHMARKS.md, section 4).
fn hash_permits() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    (cores / 2).max(1)
}

/// The data keys: the current one seals, older ones still open.
pub fn data_keys(config: &Config) -> bikriagent::crypto::DataKeys {
    bikriagent::crypto::DataKeys::new(
        config.data_key_id,
        config.data_key.expose_secret(),
        &config.old_data_keys,
    )
}

/// The services pages and server functions use.
pub fn services(pool: &PgPool, config: &Config, clock: SharedClock) -> Services {
    let accounts = Accounts {
        pool: pool.clone(),
        hasher: PasswordHasher::new(hash_permits()),
        clock: clock.clone(),
        keys: data_keys(config),
        public_url: config.public_url.clone(),
    };
    let turnstile = config.turnstile.as_ref().map(|t| {
        Arc::new(
            bikriagent::net::turnstile::Turnstile::new(t.secret.clone(), t.verify_url.clone())
                .expect("an HTTP client with rustls can be built at start"),
        )
    });
    let fetch_policy = match config.mode {
        Mode::Development => bikriagent::net::safe_fetch::FetchPolicy::development(),
        Mode::Production => bikriagent::net::safe_fetch::FetchPolicy::production(),
    };
    Services {
        accounts,
        clock: clock.clone(),
        turnstile,
        turnstile_site_key: config.turnstile.as_ref().map(|t| t.site_key.clone()),
        fetch_policy,
        resolver: Arc::new(bikriagent::net::safe_fetch::SystemResolver),
        graph: graph_client(config),
        pipeline: pipeline(pool, config, clock),
        payment_link: config.stripe.as_ref().and_then(|stripe| stripe.payment_link.clone()),
    }
}

/// Starts `count` workers; each stops after its current job once `shutdown` is set.
pub fn spawn_workers(
    pool: &PgPool,
    config: &Arc<Config>,
    pipeline: &bikriagent::processing::Pipeline,
    count: usize,
    shutdown: &watch::Receiver<bool>,
) -> JoinSet<()> {
    let registry = job_registry(pool, config, pipeline);
    let mut workers = JoinSet::new();
    for _ in 0..count {
        workers.spawn(jobs::run_worker(
            pool.clone(),
            registry.clone(),
            WorkerOptions::default(),
            shutdown.clone(),
        ));
    }
    workers
}

/// Starts the periodic cleanup (`bikriagent::cleanup`); it stops when
/// `shutdown` is set. Every `serve` and `worker` starts one; an advisory lock
/// lets one instance at a time run it.
pub fn spawn_cleanup(
    pool: &PgPool,
    config: &Config,
    clock: SharedClock,
    shutdown: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(bikriagent::cleanup::run_periodically(
        pool.clone(),
        clock,
        config.cleanup,
        shutdown.clone(),
    ))
}

/// Batch writers of webhook deliveries: enough that one batch commits while
/// the next is forming, few enough to leave the pool to pages and workers.
const INGEST_WRITERS: usize = 4;

/// A built application, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    /// The private `/metrics` listener (`BIKRI_METRICS_ADDR`).
    metrics_listener: Option<TcpListener>,
    state: AppState,
    workers: usize,
}

impl Application {
    /// Migrates, connects as the application role and binds the listener.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with a given clock (tests move time).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        migrate(&config).await?;
        let pool = db::connect_app_pool(config.database_url.expose_secret(), config.db_max_connections).await?;
        let addr = config.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        let metrics_listener = bind_metrics(&config).await?;
        let leptos_options = LeptosOptions::builder()
            .output_name("bikriagent")
            .site_root("public")
            .site_addr(listener.local_addr().unwrap_or(addr))
            .build();
        let workers = config.workers;
        let services = services(&pool, &config, clock);
        let state = AppState {
            ingest: bikriagent::ingest::IngestQueue::start(&pool, INGEST_WRITERS, config.channel_pace),
            pool,
            config: Arc::new(config),
            leptos_options,
            services,
        };
        Ok(Self {
            listener,
            metrics_listener,
            state,
            workers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.state.config.addr)
    }

    /// The bound metrics address, when `BIKRI_METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn pool(&self) -> &PgPool {
        &self.state.pool
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting, finishes
    /// in-flight requests and jobs, and returns.
    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        self.run_until(stop_rx).await
    }

    /// Serves until `stop` turns true.
    pub async fn run_until(self, stop: watch::Receiver<bool>) -> Result<(), StartError> {
        let Application {
            listener,
            metrics_listener,
            state,
            workers,
        } = self;
        let mut worker_set = spawn_workers(&state.pool, &state.config, &state.services.pipeline, workers, &stop);
        let cleanup = spawn_cleanup(&state.pool, &state.config, state.services.clock.clone(), &stop);
        let addr = listener.local_addr().map_err(StartError::Serve)?;
        let config = state.config.clone();
        tracing::info!(%addr, public_url = %config.public_url, mode = ?config.mode, "serving");
        if config.mode == Mode::Development {
            tracing::info!("development mode: open {}", config.public_url);
        }
        let pool = state.pool.clone();
        let metrics = metrics_listener.map(|listener| serve_metrics(listener, pool.clone(), stop.clone()));
        let app = http::router(state);
        // Header and body read timeouts (axum::serve has none).
        crate::serve::serve(listener, app, config.read_timeout, stop.clone()).await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        finish_workers(&mut worker_set).await;
        let _ = cleanup.await;
        pool.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Binds `BIKRI_METRICS_ADDR` when it is set.
pub async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, StartError> {
    let Some(addr) = config.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    Ok(Some(listener))
}

/// Serves `/metrics` for Prometheus on the private listener until `stop`
/// turns true. Scrapes are not logged (one every few seconds would drown
/// the request log) and have no session: the address must not be public.
pub fn serve_metrics(listener: TcpListener, pool: PgPool, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "serving metrics");
        }
        let served = axum::serve(listener, http::metrics::listener_router(pool))
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics listener stopped");
        }
    })
}

/// Waits for the workers to finish their current jobs (at most 30 s).
pub async fn finish_workers(workers: &mut JoinSet<()>) {
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("workers did not finish within 30 s; their jobs will be retried");
        workers.abort_all();
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
