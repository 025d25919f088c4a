//! The real `bikriagent serve` binary (release build) as a child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Secrets shared by the bench and the server it starts.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub data_key: [u8; 32],
    pub app_secret: String,
}

impl Secrets {
    pub fn random() -> Self {
        use rand::RngCore as _;
        let mut data_key = [0u8; 32];
        rand::rng().fill_bytes(&mut data_key);
        let mut secret = [0u8; 16];
        rand::rng().fill_bytes(&mut secret);
        Self {
            data_key,
            app_secret: hex::encode(secret),
        }
    }

    pub fn data_key_b64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.data_key)
    }

    pub fn keys(&self) -> bikriagent::crypto::DataKeys {
        bikriagent::crypto::DataKeys::new(1, &self.data_key, &[])
    }
}

pub const APP_ID: &str = "4200000001";

/// A running server.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

/// Where the server runs and what it may use.
pub struct ServerSpec<'a> {
    pub binary: &'a Path,
    pub database_url: &'a str,
    pub port: u16,
    pub graph_url: &'a str,
    pub secrets: &'a Secrets,
    pub workers: usize,
    pub db_connections: u32,
    pub log: PathBuf,
    /// Extra variables (limits).
    pub extra: Vec<(&'static str, String)>,
}

impl Server {
    pub async fn start(spec: ServerSpec<'_>) -> anyhow::Result<Self> {
        let log = std::fs::File::create(&spec.log)?;
        let url = format!("http://127.0.0.1:{}", spec.port);
        let child = Command::new(spec.binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", spec.database_url)
            .env("BIKRI_ENV", "development")
            .env("BIKRI_INSECURE_COOKIES", "true")
            // The pages and login runs stand for many clients, each with its
            // own address in X-Forwarded-For (the proxy's header).
            .env("BIKRI_TRUST_PROXY", "true")
            .env("BIKRI_ADDR", format!("127.0.0.1:{}", spec.port))
            .env("BIKRI_PUBLIC_URL", &url)
            .env("BIKRI_DATA_KEY", spec.secrets.data_key_b64())
            .env("META_APP_ID", APP_ID)
            .env("META_APP_SECRET", &spec.secrets.app_secret)
            .env("META_VERIFY_TOKEN", "bench-verify-token")
            .env("META_GRAPH_URL", spec.graph_url)
            .env("META_DIALOG_URL", format!("{}/dialog/oauth", spec.graph_url))
            .env("BIKRI_WORKERS", spec.workers.to_string())
            .env("BIKRI_DB_MAX_CONNECTIONS", spec.db_connections.to_string())
            .env("BIKRI_BURST_QUIET_MS", "0")
            .env("BIKRI_MAILBOX_DIR", std::env::temp_dir().join("bikri-bench-mailbox"))
            .envs(spec.extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut server = Self {
            child,
            url,
            log: spec.log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the server exited ({status}); see {}", self.log.display());
            }
            if let Ok(response) = client.get(format!("{}/readyz", self.url)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("the server was not ready in 120 s; see {}", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        peak_rss_mib(self.pid())
    }

    /// Graceful stop (SIGTERM), then waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmHWM of a process, in MiB (0 when unreadable).
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process of this bench (the reference receiver).
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds used so far by every `postgres` process.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "postgres"))
        .map(cpu_seconds)
        .sum()
}

/// CPU use of the server, PostgreSQL and this bench process over a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server: f64,
    pub postgres: f64,
    pub bench: f64,
}

impl CpuUse {
    pub fn now(server_pid: u32) -> Self {
        Self {
            server: cpu_seconds(server_pid),
            postgres: postgres_cpu_seconds(),
            bench: cpu_seconds(std::process::id()),
        }
    }

    pub fn since(&self, start: &Self) -> Self {
        Self {
            server: self.server - start.server,
            postgres: self.postgres - start.postgres,
            bench: self.bench - start.bench,
        }
    }
}
