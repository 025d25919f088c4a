//! Load generation on loopback: an open loop at a fixed offered rate (latency
//! measured from when each request was due, so a stalled server cannot hide
//! its queue: no coordinated omission), and a closed loop of N connections
//! for the maximum sustained rate.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// How one request ended.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was due (open loop) or sent (closed loop).
    pub due: Instant,
    pub latency: Duration,
    pub ok: bool,
}

/// Latency percentiles of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        let at = |q: f64| -> Duration {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let index = ((latencies.len() as f64) * q).ceil() as usize;
            latencies[index.clamp(1, latencies.len()) - 1]
        };
        Self {
            count: latencies.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

/// Milliseconds with two decimals, for the report.
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// What an open-loop run measured.
#[derive(Debug, Clone)]
pub struct RateRun {
    pub samples: Vec<Sample>,
}

impl RateRun {
    pub fn ok(&self) -> usize {
        self.samples.iter().filter(|s| s.ok).count()
    }

    /// Latencies of the successful requests.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles::of(self.samples.iter().filter(|s| s.ok).map(|s| s.latency).collect())
    }
}

/// Fires `send(i)` for i = 0, 1, … at `rate` per second for `duration`,
/// each in its own task (at most `max_in_flight` at once: a request that
/// waits for a slot still counts its wait).
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, max_in_flight: usize, send: F) -> RateRun
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let send = Arc::new(send);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (send, slots) = (send.clone(), slots.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            let ok = send(i).await;
            Sample {
                due,
                latency: due.elapsed(),
                ok,
            }
        }));
    }
    let mut samples = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(sample) = task.await {
            samples.push(sample);
        }
    }
    RateRun { samples }
}

/// What a closed-loop run measured.
#[derive(Debug, Clone)]
pub struct MaxRun {
    /// The measured window (after the warm-up).
    pub window: Duration,
    /// Successful requests completed inside the window.
    pub ok_in_window: u64,
    /// Every successful request, warm-up included (for durability checks).
    pub ok_total: u64,
    pub failed_total: u64,
    pub latency: Percentiles,
}

impl MaxRun {
    pub fn per_sec(&self) -> f64 {
        self.ok_in_window as f64 / self.window.as_secs_f64()
    }
}

/// `connections` loops, each sending `send(next i)` as soon as the previous
/// request was answered, for `warmup` + `window`; counts what completed in
/// the window.
pub async fn closed_loop<F, Fut>(connections: usize, warmup: Duration, window: Duration, send: F) -> MaxRun
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (window_start, end) = (start + warmup, start + warmup + window);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (send, next) = (send.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok_in_window, mut ok_total, mut failed) = (0u64, 0u64, 0u64);
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let ok = send(i).await;
                let done = Instant::now();
                if ok {
                    ok_total += 1;
                    if sent >= window_start && done <= end {
                        ok_in_window += 1;
                        latencies.push(done - sent);
                    }
                } else {
                    failed += 1;
                }
            }
            (ok_in_window, ok_total, failed, latencies)
        }));
    }
    let mut run = MaxRun {
        window,
        ok_in_window: 0,
        ok_total: 0,
        failed_total: 0,
        latency: Percentiles::default(),
    };
    let mut latencies = Vec::new();
    for task in tasks {
        if let Ok((in_window, total, failed, mut own)) = task.await {
            run.ok_in_window += in_window;
            run.ok_total += total;
            run.failed_total += failed;
            latencies.append(&mut own);
        }
    }
    run.latency = Percentiles::of(latencies);
    run
}

/// A client for the load: HTTP/1.1 keep-alive, no proxy, no redirects.
pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client can be built")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(latencies);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50, Duration::from_millis(50));
        assert_eq!(p.p99, Duration::from_millis(99));
        assert_eq!(p.max, Duration::from_millis(100));
        assert_eq!(Percentiles::of(Vec::new()).p99, Duration::ZERO);
    }
}
