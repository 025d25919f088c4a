//! The HTTP listener: hyper with read timeouts.
//!
//! `axum::serve` sets no timeouts, so a client could send its headers or its
//! body as slowly as it liked and hold a request open for ever (and with it
//! a session loaded before a "log out everywhere"). Here hyper closes a
//! connection whose request headers do not arrive within the read timeout;
//! the body has the same time again once the headers are in
//! ([`crate::http::read_body_within`]). The timer runs from the first byte
//! of a connection (and again between requests on a kept-alive one), so a
//! connection that sends nothing is closed too.
//!
//! HTTP/1.1 only: the reverse proxy in front speaks it to us, and
//! `axum::serve`'s protocol detection (for cleartext HTTP/2) waits for the
//! first bytes with no timeout at all. Otherwise this is what `axum::serve`
//! does: the client's address as `ConnectInfo`, and a graceful stop that
//! finishes requests in flight.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `stop` turns true, then stops accepting
/// and waits for the requests in flight.
pub async fn serve(mut listener: TcpListener, app: Router, read_timeout: Duration, mut stop: watch::Receiver<bool>) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        // `accept` retries transient errors itself (axum's listener).
        let (stream, remote) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let service = app.clone().map_request(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            request.map(Body::new)
        });
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    graceful.shutdown().await;
}
