//! Meta's signatures: `X-Hub-Signature-256` on webhook deliveries and the
//! `signed_request` of the Deauthorize and Data Deletion callbacks. Both are
//! HMAC-SHA256 with the app secret, checked in constant time before anything
//! else is read.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signed request has expired")]
    Expired,
    #[error("the signed request has no issued_at")]
    NotDated,
    #[error("the signed request was issued in the future")]
    IssuedInFuture,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
pub fn verify_hub_signature(secret: &[u8], raw_body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_digest = header.strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| SignatureError::Malformed)?;
    mac.update(raw_body);
    // verify_slice compares in constant time.
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// The signature header for a body (for tests and the fake Meta).
pub fn hub_signature(secret: &[u8], raw_body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(raw_body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long after its `issued_at` a `signed_request` is accepted. Meta
/// calls the Deauthorize and Data Deletion callbacks when the person acts,
/// so an hour leaves room for Meta's retries and little for a replay.
pub const SIGNED_REQUEST_MAX_AGE: i64 = 3600;
/// How far in the future an `issued_at` may be: Meta's clock and ours may
/// differ by this much (NTP keeps both far closer).
pub const CLOCK_SKEW: i64 = 300;

/// The payload of a verified `signed_request`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignedRequest {
    pub algorithm: String,
    pub user_id: String,
    pub issued_at: Option<i64>,
    pub expires: Option<i64>,
    /// SHA-256 of the decoded signature: one value per signed payload,
    /// however its base64 is padded, to recognise a request seen before.
    #[serde(skip)]
    pub fingerprint: [u8; 32],
}

fn b64url(input: &str) -> Result<Vec<u8>, SignatureError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(input.trim_end_matches('='))
        .map_err(|_| SignatureError::Malformed)
}

/// Verifies `base64url(sig).base64url(payload)`: the signature is
/// HMAC-SHA256(secret, encoded payload), the algorithm must be HMAC-SHA256.
/// At `now` (Unix seconds) the request must have been issued at most
/// [`SIGNED_REQUEST_MAX_AGE`] ago and at most [`CLOCK_SKEW`] ahead, and not be
/// past its `expires` (0 means none). Whether it was seen before is for the
/// caller to check ([`crate::meta::signed_requests`]).
pub fn verify_signed_request(secret: &[u8], signed_request: &str, now: i64) -> Result<SignedRequest, SignatureError> {
    let (signature, payload) = signed_request.trim().split_once('.').ok_or(SignatureError::Malformed)?;
    let signature = b64url(signature)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| SignatureError::Malformed)?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature).map_err(|_| SignatureError::Mismatch)?;
    let mut request: SignedRequest =
        serde_json::from_slice(&b64url(payload)?).map_err(|_| SignatureError::Malformed)?;
    if !request.algorithm.eq_ignore_ascii_case("HMAC-SHA256") || request.user_id.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let issued_at = request.issued_at.ok_or(SignatureError::NotDated)?;
    if issued_at.saturating_sub(now) > CLOCK_SKEW {
        return Err(SignatureError::IssuedInFuture);
    }
    if now.saturating_sub(issued_at) > SIGNED_REQUEST_MAX_AGE {
        return Err(SignatureError::Expired);
    }
    if request.expires.is_some_and(|expires| expires > 0 && expires < now) {
        return Err(SignatureError::Expired);
    }
    request.fingerprint = Sha256::digest(&signature).into();
    Ok(request)
}

/// Signs a payload the way Meta does (for tests and the fake Meta).
pub fn sign_request(secret: &[u8], payload_json: &str) -> String {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload_json);
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signature}.{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-app-secret";

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../shared/meta-samples/{name}", env!("CARGO_MANIFEST_DIR"))).expect("sample")
    }

    fn signatures() -> Vec<(String, String)> {
        String::from_utf8(sample("SIGNATURES.tsv"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(f, s)| (f.to_owned(), s.to_owned()))
            .collect()
    }

    #[test]
    fn every_shared_sample_verifies_with_its_signature() {
        let all = signatures();
        assert!(all.len() >= 12);
        for (file, header) in all {
            let body = sample(&file);
            assert_eq!(verify_hub_signature(SECRET, &body, Some(&header)), Ok(()), "{file}");
            assert_eq!(hub_signature(SECRET, &body), header, "{file}");
        }
    }

    #[test]
    fn the_signature_table() {
        let body = sample("messenger_text.json");
        let good = hub_signature(SECRET, &body);
        assert_eq!(verify_hub_signature(SECRET, &body, Some(&good)), Ok(()));
        assert_eq!(
            verify_hub_signature(b"wrong-secret", &body, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = body.clone();
        flipped[10] ^= 0x01;
        assert_eq!(
            verify_hub_signature(SECRET, &flipped, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_hub_signature(SECRET, &body, None), Err(SignatureError::Missing));
        let sha1 = good.replace("sha256=", "sha1=");
        assert_eq!(
            verify_hub_signature(SECRET, &body, Some(&sha1)),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_hub_signature(SECRET, &body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_hub_signature(SECRET, &body, Some("sha256=abcd")),
            Err(SignatureError::Malformed)
        );
    }

    /// The shared sample's `issued_at`.
    const SAMPLE_ISSUED_AT: i64 = 1_763_880_000;

    #[test]
    fn the_shared_signed_request_verifies_and_tampering_is_refused() {
        let raw = String::from_utf8(sample("signed_request.txt")).unwrap();
        let now = SAMPLE_ISSUED_AT + 60;
        let request = verify_signed_request(SECRET, &raw, now).expect("valid");
        assert_eq!(request.user_id, "6100000000000001");
        assert_eq!(request.issued_at, Some(SAMPLE_ISSUED_AT));
        assert_eq!(
            verify_signed_request(b"other", &raw, now),
            Err(SignatureError::Mismatch)
        );
        let (sig, payload) = raw.trim().split_once('.').unwrap();
        let mut forged_payload = payload.to_owned().into_bytes();
        forged_payload[5] = if forged_payload[5] == b'A' { b'B' } else { b'A' };
        let forged = format!("{sig}.{}", String::from_utf8(forged_payload).unwrap());
        assert!(verify_signed_request(SECRET, &forged, now).is_err());
        assert_eq!(
            verify_signed_request(SECRET, "no-dot", now),
            Err(SignatureError::Malformed)
        );
        let own = sign_request(
            SECRET,
            r#"{"algorithm":"HMAC-SHA256","user_id":"42","issued_at":1,"expires":100}"#,
        );
        assert_eq!(verify_signed_request(SECRET, &own, 50).unwrap().user_id, "42");
        assert_eq!(verify_signed_request(SECRET, &own, 101), Err(SignatureError::Expired));
        let wrong_algorithm = sign_request(SECRET, r#"{"algorithm":"none","user_id":"42","issued_at":1}"#);
        assert_eq!(
            verify_signed_request(SECRET, &wrong_algorithm, 1),
            Err(SignatureError::Malformed)
        );
    }

    fn issued(issued_at: Option<i64>) -> String {
        let issued_at = issued_at.map(|t| format!(r#","issued_at":{t}"#)).unwrap_or_default();
        sign_request(
            SECRET,
            &format!(r#"{{"algorithm":"HMAC-SHA256","user_id":"42"{issued_at}}}"#),
        )
    }

    #[test]
    fn a_signed_request_must_be_dated_within_the_last_hour_and_not_ahead_of_the_skew() {
        let now = 1_800_000_000;
        assert_eq!(
            verify_signed_request(SECRET, &issued(None), now),
            Err(SignatureError::NotDated)
        );
        for accepted in [now, now - SIGNED_REQUEST_MAX_AGE, now + CLOCK_SKEW] {
            assert!(
                verify_signed_request(SECRET, &issued(Some(accepted)), now).is_ok(),
                "issued {} s from now",
                accepted - now
            );
        }
        assert_eq!(
            verify_signed_request(SECRET, &issued(Some(now - SIGNED_REQUEST_MAX_AGE - 1)), now),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify_signed_request(SECRET, &issued(Some(now + CLOCK_SKEW + 1)), now),
            Err(SignatureError::IssuedInFuture)
        );
        // The shared sample is long past its hour.
        let raw = String::from_utf8(sample("signed_request.txt")).unwrap();
        assert_eq!(verify_signed_request(SECRET, &raw, now), Err(SignatureError::Expired));
        // Extreme values neither overflow nor pass.
        assert_eq!(
            verify_signed_request(SECRET, &issued(Some(i64::MIN)), now),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify_signed_request(SECRET, &issued(Some(i64::MAX)), now),
            Err(SignatureError::IssuedInFuture)
        );
    }

    #[test]
    fn the_fingerprint_names_the_signed_payload_however_it_is_padded() {
        let now = 1_800_000_000;
        let raw = issued(Some(now));
        let first = verify_signed_request(SECRET, &raw, now).unwrap();
        let (sig, payload) = raw.split_once('.').unwrap();
        let padded = verify_signed_request(SECRET, &format!("{sig}=.{payload}"), now).unwrap();
        assert_eq!(first.fingerprint, padded.fingerprint);
        let other = verify_signed_request(SECRET, &issued(Some(now - 1)), now).unwrap();
        assert_ne!(first.fingerprint, other.fingerprint);
    }
}
