//! Cloudflare Turnstile server-side verification.
//!
//! The widget on our public forms produces a one-time token; only Cloudflare
//! can tell whether it is genuine, so the server posts it (with our secret) to
//! the siteverify endpoint before accepting the form. The secret and the token
//! are never logged.
//!
//! Callers must **fail closed**: the forms treat [`TurnstileError::Unavailable`]
//! exactly like a failed check (the submission is refused and the visitor asked
//! to retry), because letting submissions through whenever Cloudflare is
//! unreachable would let bots in by cutting that path.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// Cloudflare's production siteverify endpoint.
pub const DEFAULT_VERIFY_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/// How long a form submission may wait for Cloudflare.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Cloudflare documents tokens as at most 2048 characters; longer ones are
/// refused locally instead of being forwarded.
const MAX_TOKEN_LEN: usize = 2048;

/// The siteverify answer is tiny; anything bigger is not a real answer.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why a Turnstile check did not pass. Messages are meant for the visitor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnstileError {
    /// The form came without a token (widget not completed, or scripts blocked).
    #[error("Please complete the \"I'm not a robot\" check.")]
    Missing,
    /// Cloudflare said no; the Cloudflare error codes are kept for logs.
    #[error("The \"I'm not a robot\" check failed. Please try again.")]
    Failed(Vec<String>),
    /// We could not get an answer (network, timeout, 5xx, unreadable reply).
    /// Forms treat this as a failure (fail closed).
    #[error("We couldn't confirm the \"I'm not a robot\" check right now. Please try again in a moment.")]
    Unavailable,
}

/// A configured Turnstile verifier; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Turnstile {
    secret: SecretString,
    verify_url: String,
    client: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct SiteVerifyResponse {
    success: bool,
    #[serde(rename = "error-codes", default)]
    error_codes: Vec<String>,
}

impl Turnstile {
    /// A verifier posting to `verify_url` (normally [`DEFAULT_VERIFY_URL`]; tests
    /// point it at a local fake). The HTTP client times out after 5 s and never
    /// follows redirects, so the secret is only ever sent to `verify_url`.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built (TLS backend initialisation).
    pub fn new(secret: SecretString, verify_url: impl Into<String>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(VERIFY_TIMEOUT)
            .connect_timeout(VERIFY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            secret,
            verify_url: verify_url.into(),
            client,
        })
    }

    /// Checks `token` (the `cf-turnstile-response` form field) with Cloudflare.
    /// `remote_ip` is the visitor's address, when known, as extra signal.
    ///
    /// # Errors
    ///
    /// [`TurnstileError::Missing`] for an empty token (no request is made),
    /// [`TurnstileError::Failed`] when Cloudflare rejects it, and
    /// [`TurnstileError::Unavailable`] when no trustworthy answer came back —
    /// which callers must treat as a failure.
    pub async fn verify(&self, token: &str, remote_ip: Option<&str>) -> Result<(), TurnstileError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TurnstileError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(TurnstileError::Failed(vec!["invalid-input-response".to_owned()]));
        }

        let mut form = vec![("secret", self.secret.expose_secret()), ("response", token)];
        if let Some(ip) = remote_ip.map(str::trim).filter(|ip| !ip.is_empty()) {
            form.push(("remoteip", ip));
        }

        // reqwest errors name the URL, never the form body, so they are safe to log.
        let mut response = self
            .client
            .post(&self.verify_url)
            .form(&form)
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(%error, "turnstile: siteverify request failed");
                TurnstileError::Unavailable
            })?;
        let status = response.status();
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "turnstile: siteverify answered with an error status"
            );
            return Err(TurnstileError::Unavailable);
        }

        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        tracing::warn!("turnstile: siteverify answer too large");
                        return Err(TurnstileError::Unavailable);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "turnstile: reading the siteverify answer failed");
                    return Err(TurnstileError::Unavailable);
                }
            }
        }
        let answer: SiteVerifyResponse = serde_json::from_slice(&body).map_err(|error| {
            tracing::warn!(%error, "turnstile: siteverify answer is not the expected JSON");
            TurnstileError::Unavailable
        })?;

        if answer.success {
            return Ok(());
        }
        if answer.error_codes.iter().any(|code| code == "internal-error") {
            tracing::warn!("turnstile: Cloudflare reported an internal error");
            return Err(TurnstileError::Unavailable);
        }
        if answer.error_codes.iter().any(|code| code.ends_with("-secret")) {
            tracing::error!(codes = ?answer.error_codes, "turnstile: the configured secret is missing or wrong");
        } else {
            tracing::info!(codes = ?answer.error_codes, "turnstile: check failed");
        }
        Err(TurnstileError::Failed(answer.error_codes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    /// A fake siteverify endpoint: answers every request with `status` and
    /// `body`, and records each request body it received.
    struct FakeVerifier {
        addr: SocketAddr,
        bodies: Arc<Mutex<Vec<String>>>,
    }

    impl FakeVerifier {
        fn url(&self) -> String {
            format!("http://{}/turnstile/v0/siteverify", self.addr)
        }

        fn bodies(&self) -> Vec<String> {
            self.bodies.lock().unwrap().clone()
        }
    }

    fn content_length(head: &str) -> usize {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn fake_verifier(status: &'static str, body: &'static str) -> FakeVerifier {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    let header_end = loop {
                        if let Some(pos) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            break pos + 4;
                        }
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    };
                    let wanted = content_length(&String::from_utf8_lossy(&request[..header_end]));
                    while request.len() < header_end + wanted {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    recorded
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&request[header_end..]).into_owned());
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeVerifier { addr, bodies }
    }

    fn turnstile(url: String) -> Turnstile {
        Turnstile::new(SecretString::from("test-secret-0x4AAA".to_owned()), url).unwrap()
    }

    #[tokio::test]
    async fn passes_when_cloudflare_says_success() {
        let fake = fake_verifier(
            "200 OK",
            r#"{"success":true,"error-codes":[],"hostname":"shop.example"}"#,
        )
        .await;
        let result = turnstile(fake.url()).verify("tok-123", Some("203.0.113.7")).await;
        assert_eq!(result, Ok(()));

        let bodies = fake.bodies();
        assert_eq!(bodies.len(), 1);
        let fields: Vec<&str> = bodies[0].split('&').collect();
        assert!(fields.contains(&"secret=test-secret-0x4AAA"), "{bodies:?}");
        assert!(fields.contains(&"response=tok-123"), "{bodies:?}");
        assert!(fields.contains(&"remoteip=203.0.113.7"), "{bodies:?}");
    }

    #[tokio::test]
    async fn fails_with_cloudflare_error_codes() {
        let fake = fake_verifier(
            "200 OK",
            r#"{"success":false,"error-codes":["invalid-input-response","timeout-or-duplicate"]}"#,
        )
        .await;
        let result = turnstile(fake.url()).verify("tok-bad", None).await;
        assert_eq!(
            result,
            Err(TurnstileError::Failed(vec![
                "invalid-input-response".into(),
                "timeout-or-duplicate".into()
            ]))
        );
        let bodies = fake.bodies();
        assert_eq!(bodies.len(), 1);
        assert!(bodies[0].contains("secret=test-secret-0x4AAA"));
        assert!(bodies[0].contains("response=tok-bad"));
        assert!(!bodies[0].contains("remoteip"), "no remote ip was given: {bodies:?}");
    }

    #[tokio::test]
    async fn missing_token_makes_no_request() {
        let fake = fake_verifier("200 OK", r#"{"success":true}"#).await;
        let verifier = turnstile(fake.url());
        assert_eq!(
            verifier.verify("", Some("203.0.113.7")).await,
            Err(TurnstileError::Missing)
        );
        assert_eq!(verifier.verify("   ", None).await, Err(TurnstileError::Missing));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(fake.bodies().is_empty());
    }

    #[tokio::test]
    async fn overlong_token_is_refused_locally() {
        let fake = fake_verifier("200 OK", r#"{"success":true}"#).await;
        let token = "a".repeat(MAX_TOKEN_LEN + 1);
        let result = turnstile(fake.url()).verify(&token, None).await;
        assert_eq!(
            result,
            Err(TurnstileError::Failed(vec!["invalid-input-response".into()]))
        );
        assert!(fake.bodies().is_empty());
    }

    #[tokio::test]
    async fn server_error_is_unavailable() {
        let fake = fake_verifier("500 Internal Server Error", r#"{"success":false}"#).await;
        assert_eq!(
            turnstile(fake.url()).verify("tok-123", None).await,
            Err(TurnstileError::Unavailable)
        );
        assert_eq!(fake.bodies().len(), 1);
    }

    #[tokio::test]
    async fn unreadable_answer_and_internal_error_are_unavailable() {
        let fake = fake_verifier("200 OK", "<html>oops</html>").await;
        assert_eq!(
            turnstile(fake.url()).verify("tok-123", None).await,
            Err(TurnstileError::Unavailable)
        );

        let fake = fake_verifier("200 OK", r#"{"success":false,"error-codes":["internal-error"]}"#).await;
        assert_eq!(
            turnstile(fake.url()).verify("tok-123", None).await,
            Err(TurnstileError::Unavailable)
        );
    }

    #[tokio::test]
    async fn unreachable_verifier_is_unavailable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let result = turnstile(format!("http://{addr}/siteverify"))
            .verify("tok-123", None)
            .await;
        assert_eq!(result, Err(TurnstileError::Unavailable));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let verifier = turnstile(DEFAULT_VERIFY_URL.to_owned());
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("test-secret-0x4AAA"), "{debug}");
    }
}
