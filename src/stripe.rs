//! Stripe: the webhook signature, the events we act on, and the Payment Link
//! an owner follows to pay.
//!
//! Pure: plain values in, plain values out, so every rule is unit-tested
//! without HTTP or a database. The webhook handler (server) verifies the
//! signature here before it parses anything, then records the payment with
//! [`crate::owners::record_payment`].
//!
//! How an owner pays by card: the owner page links to our Stripe Payment Link
//! with `client_reference_id=<owner id>` ([`payment_link_url`]); Stripe sends
//! `checkout.session.completed` with that id back to `/webhooks/stripe`, and
//! the owner becomes verified.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from our clock, either way.
/// Stripe's own libraries default to five minutes; a captured delivery can
/// be replayed only within this window (and the event id stops it then).
pub const TOLERANCE: Duration = Duration::minutes(5);

/// The longest `Stripe-Signature` header we read. Stripe sends one `t` and a
/// few signatures (one per active secret during a rotation); anything much
/// longer is not Stripe.
const MAX_HEADER_LEN: usize = 4096;

/// The most signatures in one header we compare against.
const MAX_SIGNATURES: usize = 16;

/// Why a `Stripe-Signature` was refused. The text is for logs and audit
/// rows: it names the reason, never the secret, the header or the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    /// Not `t=<unix>,v1=<hex>,…`: no timestamp, a repeated one, a piece
    /// without `=`, or too long.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// Only other schemes (such as `v0`, which test mode also sends) or none.
    #[error("the Stripe-Signature header has no v1 signature")]
    NoV1Signature,
    #[error("no v1 signature matches")]
    Mismatch,
    /// A genuine signature older than [`TOLERANCE`]: a replay or a delivery
    /// that sat in a queue.
    #[error("the signature's timestamp is too old")]
    Expired,
    /// A genuine signature dated after now plus [`TOLERANCE`]: our clock or
    /// the sender's is wrong.
    #[error("the signature's timestamp is in the future")]
    FromTheFuture,
}

/// Verifies Stripe's webhook signature over the raw request body.
///
/// The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`; each `v1`
/// is hex(HMAC-SHA256(secret, "<t>.<payload>")). The delivery is accepted
/// when any `v1` matches (Stripe sends one per active secret while a secret
/// is rolled), compared in constant time, and `t` is within `tolerance` of
/// `now` in either direction. The signature is checked before the
/// timestamp, so `Expired` and `FromTheFuture` only ever describe genuine
/// deliveries, which makes the log tell replays from forgeries.
pub fn verify_signature(
    header: &str,
    payload: &[u8],
    secret: &[u8],
    now: OffsetDateTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for piece in header.split(',') {
        let (key, value) = piece.split_once('=').ok_or(SignatureError::Malformed)?;
        match key.trim() {
            "t" if timestamp.is_none() => timestamp = Some(value.trim()),
            "t" => return Err(SignatureError::Malformed),
            "v1" => signatures.push(value.trim()),
            // Other schemes (v0 in test mode) are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    // Digits only: `i64::from_str` would also take a sign.
    if timestamp.is_empty() || timestamp.len() > 18 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed);
    }
    let seconds: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoV1Signature);
    }
    if signatures.len() > MAX_SIGNATURES {
        return Err(SignatureError::Malformed);
    }

    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| SignatureError::Malformed)?;
    // Signed as sent: the timestamp's own digits, a dot, the raw body.
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = mac.finalize().into_bytes();
    let mut matched = subtle::Choice::from(0);
    for signature in signatures {
        // A garbled candidate is simply not a match; the others still count.
        if let Ok(candidate) = hex::decode(signature)
            && candidate.len() == expected.len()
        {
            matched |= expected.as_slice().ct_eq(&candidate);
        }
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }

    let age = now.unix_timestamp().saturating_sub(seconds);
    let tolerance = tolerance.whole_seconds().max(0);
    if age > tolerance {
        return Err(SignatureError::Expired);
    }
    if age < -tolerance {
        return Err(SignatureError::FromTheFuture);
    }
    Ok(())
}

/// A valid `Stripe-Signature` header for `payload` signed at `timestamp`
/// (Unix seconds): what Stripe sends, for tests and a fake Stripe.
pub fn sign(secret: &[u8], timestamp: i64, payload: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A verified Stripe event, reduced to what we act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stripe's event id (`evt_…`): the idempotency key, since Stripe may
    /// deliver one event several times.
    pub id: String,
    /// The event's `type`, e.g. `checkout.session.completed`.
    pub kind: String,
    /// Set for a Checkout Session that is paid; `None` for every other event
    /// (which we acknowledge and ignore).
    pub checkout: Option<CheckoutCompleted>,
}

/// A paid Checkout Session: the owner paid through our Payment Link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutCompleted {
    /// The session id (`cs_…`), recorded as the payment's reference so staff
    /// can find it in Stripe's dashboard.
    pub session_id: String,
    /// The owner, from the session's `client_reference_id`. `None` when the
    /// session has none or one that is not a UUID (someone paid through the
    /// bare link): staff must match that payment by hand.
    pub owner: Option<Uuid>,
    /// `amount_total`, in the currency's minor units.
    pub amount_minor: i64,
    /// Upper-case ISO 4217 code (Stripe sends lower case).
    pub currency: String,
}

/// Why a signed body is not an event we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Stripe event: {0}")]
pub struct EventError(&'static str);

/// The event types that may carry a paid Checkout Session: `completed`
/// (card payments are paid at once) and `async_payment_succeeded` (methods
/// that settle later; `completed` then arrived unpaid).
pub const CHECKOUT_PAID_EVENTS: &[&str] = &["checkout.session.completed", "checkout.session.async_payment_succeeded"];

/// Longest id we accept for an event or a session (Stripe's are under 100;
/// the payment reference column holds 200).
const MAX_ID_LEN: usize = 200;

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: RawData,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSession {
    id: String,
    payment_status: Option<String>,
    client_reference_id: Option<String>,
    amount_total: Option<i64>,
    currency: Option<String>,
}

fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses a verified event body. Unknown fields and event types are fine
/// (Stripe adds them freely); a body that is not a Stripe event, or a paid
/// session without a usable amount or currency, is an error. Never panics;
/// the body is bounded by the route's limit and serde_json's depth limit.
pub fn parse_event(body: &[u8]) -> Result<Event, EventError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|_| EventError("not a Stripe event"))?;
    if !plain_id(&raw.id) {
        return Err(EventError("the event id is not a Stripe id"));
    }
    if raw.kind.is_empty() || raw.kind.len() > MAX_ID_LEN {
        return Err(EventError("the event type is missing or too long"));
    }
    let mut event = Event {
        id: raw.id,
        kind: raw.kind,
        checkout: None,
    };
    if !CHECKOUT_PAID_EVENTS.contains(&event.kind.as_str()) {
        return Ok(event);
    }
    let session: RawSession =
        serde_json::from_value(raw.data.object).map_err(|_| EventError("not a Checkout Session"))?;
    if !plain_id(&session.id) {
        return Err(EventError("the session id is not a Stripe id"));
    }
    if session.payment_status.as_deref() != Some("paid") {
        // `unpaid` (settles later) or `no_payment_required`: nothing was paid yet.
        return Ok(event);
    }
    let amount_minor = session
        .amount_total
        .filter(|amount| *amount > 0)
        .ok_or(EventError("a paid session without a positive amount_total"))?;
    let currency = session
        .currency
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .ok_or(EventError("a paid session without a three-letter currency"))?
        .to_ascii_uppercase();
    let owner = session
        .client_reference_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id.trim()).ok());
    event.checkout = Some(CheckoutCompleted {
        session_id: session.id,
        owner,
        amount_minor,
        currency,
    });
    Ok(event)
}

/// Query parameters [`payment_link_url`] sets; any the configured link
/// already carries are replaced, so Stripe sees exactly one of each.
const LINK_PARAMS: &[&str] = &["client_reference_id", "prefilled_email"];

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The configured Stripe Payment Link for one owner: `link` with
/// `client_reference_id=<owner>` (how the webhook knows whom the payment
/// verifies) and `prefilled_email=<email>` (so the receipt goes to the
/// owner's address) appended, URL-encoded. Keeps the link's own query and
/// fragment.
pub fn payment_link_url(link: &str, owner: Uuid, email: &str) -> String {
    let link = link.trim();
    let (without_fragment, fragment) = match link.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (link, None),
    };
    let (base, query) = match without_fragment.split_once('?') {
        Some((base, query)) => (base, query),
        None => (without_fragment, ""),
    };
    let mut params: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| !LINK_PARAMS.contains(&pair.split('=').next().unwrap_or_default()))
        .map(str::to_owned)
        .collect();
    params.push(format!("client_reference_id={}", owner.hyphenated()));
    params.push(format!("prefilled_email={}", encode_component(email.trim())));
    let mut url = format!("{base}?{}", params.join("&"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"ping","data":{"object":{}}}"#;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    const NOW: i64 = 1_770_000_000;

    fn check(header: &str) -> Result<(), SignatureError> {
        verify_signature(header, BODY, SECRET, at(NOW), TOLERANCE)
    }

    #[test]
    fn the_signature_table() {
        let good = sign(SECRET, NOW, BODY);
        let good_v1 = good.split_once(",v1=").unwrap().1.to_owned();
        let other_v1 = sign(b"whsec_other", NOW, BODY).split_once(",v1=").unwrap().1.to_owned();
        let cases: Vec<(&str, String, Result<(), SignatureError>)> = vec![
            ("valid", good.clone(), Ok(())),
            ("with spaces", format!(" t={NOW}, v1={good_v1} "), Ok(())),
            (
                "second v1 is right",
                format!("t={NOW},v1={other_v1},v1={good_v1}"),
                Ok(()),
            ),
            ("v0 alongside", format!("t={NOW},v1={good_v1},v0=abcdef"), Ok(())),
            (
                "garbled v1 beside a good one",
                format!("t={NOW},v1=zz,v1={good_v1}"),
                Ok(()),
            ),
            (
                "wrong secret",
                sign(b"whsec_other", NOW, BODY),
                Err(SignatureError::Mismatch),
            ),
            (
                "only wrong v1s",
                format!("t={NOW},v1={other_v1},v1=00"),
                Err(SignatureError::Mismatch),
            ),
            (
                "timestamp not the signed one",
                format!("t={},v1={good_v1}", NOW + 1),
                Err(SignatureError::Mismatch),
            ),
            ("empty", String::new(), Err(SignatureError::Missing)),
            ("blank", "   ".to_owned(), Err(SignatureError::Missing)),
            ("no timestamp", format!("v1={good_v1}"), Err(SignatureError::Malformed)),
            (
                "two timestamps",
                format!("t={NOW},t={NOW},v1={good_v1}"),
                Err(SignatureError::Malformed),
            ),
            (
                "signed timestamp",
                format!("t=+{NOW},v1={good_v1}"),
                Err(SignatureError::Malformed),
            ),
            (
                "negative timestamp",
                format!("t=-{NOW},v1={good_v1}"),
                Err(SignatureError::Malformed),
            ),
            ("letters", format!("t=abc,v1={good_v1}"), Err(SignatureError::Malformed)),
            (
                "piece without =",
                format!("t={NOW},v1{good_v1}"),
                Err(SignatureError::Malformed),
            ),
            ("garbage", "sha256=abc".to_owned(), Err(SignatureError::Malformed)),
            (
                "huge",
                format!("t={NOW},v1={}", "a".repeat(5000)),
                Err(SignatureError::Malformed),
            ),
            (
                "v0 only",
                format!("t={NOW},v0={good_v1}"),
                Err(SignatureError::NoV1Signature),
            ),
            ("timestamp only", format!("t={NOW}"), Err(SignatureError::NoV1Signature)),
        ];
        for (what, header, expected) in cases {
            assert_eq!(check(&header), expected, "{what}");
        }
        let many = format!("t={NOW}{}", ",v1=00".repeat(MAX_SIGNATURES + 1));
        assert_eq!(check(&many), Err(SignatureError::Malformed));
    }

    #[test]
    fn the_timestamp_must_be_within_tolerance_either_way() {
        let window = TOLERANCE.whole_seconds();
        for (offset, expected) in [
            (0, Ok(())),
            (-window, Ok(())),
            (window, Ok(())),
            (-window - 1, Err(SignatureError::Expired)),
            (-86_400, Err(SignatureError::Expired)),
            (window + 1, Err(SignatureError::FromTheFuture)),
        ] {
            let header = sign(SECRET, NOW + offset, BODY);
            assert_eq!(check(&header), expected, "offset {offset}");
        }
        // The signature is checked first: a forged old header is a mismatch.
        let forged = sign(b"whsec_other", NOW - 3600, BODY);
        assert_eq!(check(&forged), Err(SignatureError::Mismatch));
        // A different tolerance is honoured.
        let header = sign(SECRET, NOW - 60, BODY);
        assert_eq!(
            verify_signature(&header, BODY, SECRET, at(NOW), Duration::seconds(30)),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn the_payload_is_signed_byte_for_byte() {
        let header = sign(SECRET, NOW, BODY);
        let mut flipped = BODY.to_vec();
        flipped[3] ^= 1;
        assert_eq!(
            verify_signature(&header, &flipped, SECRET, at(NOW), TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, b"", SECRET, at(NOW), TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        // Errors never carry the secret or the header.
        for error in [
            SignatureError::Mismatch,
            SignatureError::Malformed,
            SignatureError::Expired,
        ] {
            assert!(!error.to_string().contains("whsec"));
        }
    }

    #[test]
    fn matches_stripes_documented_scheme() {
        // hex(HMAC-SHA256(secret, "t.payload")), computed independently with
        // `printf '%s' '1770000000.<BODY>' | openssl dgst -sha256 -hmac whsec_test_secret`.
        let expected = "a244139025a0c2f136b8a3ef2aedda77b347933dd611767d8e3418e56acaeb3d";
        assert_eq!(sign(SECRET, NOW, BODY), format!("t={NOW},v1={expected}"));
        assert_eq!(check(&format!("t={NOW},v1={expected}")), Ok(()));
        assert_eq!(check(&format!("t={NOW},v1={}", expected.to_uppercase())), Ok(()));
    }

    fn session_event(kind: &str, session: serde_json::Value) -> Vec<u8> {
        serde_json::json!({
            "id": "evt_1Pq2Rs3Tu4Vw5Xy6",
            "object": "event",
            "type": kind,
            "livemode": false,
            "data": { "object": session }
        })
        .to_string()
        .into_bytes()
    }

    const OWNER: &str = "5b3f0c52-9a43-4f6e-8d53-3a6c1f6f1e2b";

    fn paid_session() -> serde_json::Value {
        serde_json::json!({
            "id": "cs_test_a1B2c3",
            "object": "checkout.session",
            "amount_total": 150000,
            "currency": "bdt",
            "client_reference_id": OWNER,
            "payment_status": "paid",
            "status": "complete",
            "customer_details": { "email": "owner@example.com" }
        })
    }

    #[test]
    fn a_paid_checkout_session_names_the_owner_amount_and_reference() {
        let event = parse_event(&session_event("checkout.session.completed", paid_session())).unwrap();
        assert_eq!(event.id, "evt_1Pq2Rs3Tu4Vw5Xy6");
        assert_eq!(event.kind, "checkout.session.completed");
        assert_eq!(
            event.checkout,
            Some(CheckoutCompleted {
                session_id: "cs_test_a1B2c3".into(),
                owner: Some(Uuid::parse_str(OWNER).unwrap()),
                amount_minor: 150_000,
                currency: "BDT".into(),
            })
        );
        let later = parse_event(&session_event(
            "checkout.session.async_payment_succeeded",
            paid_session(),
        ))
        .unwrap();
        assert!(later.checkout.is_some());
    }

    #[test]
    fn unpaid_sessions_and_other_events_carry_no_payment() {
        let mut unpaid = paid_session();
        unpaid["payment_status"] = "unpaid".into();
        let event = parse_event(&session_event("checkout.session.completed", unpaid)).unwrap();
        assert_eq!(event.checkout, None);
        let mut free = paid_session();
        free["payment_status"] = "no_payment_required".into();
        free["amount_total"] = 0.into();
        assert_eq!(
            parse_event(&session_event("checkout.session.completed", free))
                .unwrap()
                .checkout,
            None
        );
        // Another type with a completely different object is still an event.
        let other = session_event(
            "invoice.paid",
            serde_json::json!({ "id": "in_1", "amount_total": "weird" }),
        );
        let event = parse_event(&other).unwrap();
        assert_eq!((event.kind.as_str(), event.checkout), ("invoice.paid", None));
        let expired = session_event("checkout.session.expired", paid_session());
        assert_eq!(parse_event(&expired).unwrap().checkout, None);
    }

    #[test]
    fn a_missing_or_foreign_reference_leaves_the_owner_unknown() {
        for reference in [serde_json::Value::Null, "not-a-uuid".into(), "".into()] {
            let mut session = paid_session();
            session["client_reference_id"] = reference.clone();
            let event = parse_event(&session_event("checkout.session.completed", session)).unwrap();
            let checkout = event.checkout.expect("still a payment");
            assert_eq!(checkout.owner, None, "{reference}");
        }
        let mut session = paid_session();
        session.as_object_mut().unwrap().remove("client_reference_id");
        let event = parse_event(&session_event("checkout.session.completed", session)).unwrap();
        assert_eq!(event.checkout.unwrap().owner, None);
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        let bad_amount = |amount: serde_json::Value| {
            let mut session = paid_session();
            session["amount_total"] = amount;
            session_event("checkout.session.completed", session)
        };
        let bad_currency = |currency: serde_json::Value| {
            let mut session = paid_session();
            session["currency"] = currency;
            session_event("checkout.session.completed", session)
        };
        let mut no_session_id = paid_session();
        no_session_id.as_object_mut().unwrap().remove("id");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("not json", b"hello".to_vec()),
            ("truncated", br#"{"id":"evt_1","type":"#.to_vec()),
            ("array", b"[1,2,3]".to_vec()),
            ("no id", br#"{"type":"ping","data":{"object":{}}}"#.to_vec()),
            ("no type", br#"{"id":"evt_1","data":{"object":{}}}"#.to_vec()),
            ("no data", br#"{"id":"evt_1","type":"ping"}"#.to_vec()),
            (
                "odd id",
                br#"{"id":"evt 1; drop","type":"ping","data":{"object":{}}}"#.to_vec(),
            ),
            (
                "empty type",
                br#"{"id":"evt_1","type":"","data":{"object":{}}}"#.to_vec(),
            ),
            (
                "long id",
                format!(
                    r#"{{"id":"{}","type":"ping","data":{{"object":{{}}}}}}"#,
                    "e".repeat(300)
                )
                .into_bytes(),
            ),
            (
                "deep",
                format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            ),
            ("no amount", bad_amount(serde_json::Value::Null)),
            ("zero amount", bad_amount(0.into())),
            ("negative amount", bad_amount((-5).into())),
            ("string amount", bad_amount("100".into())),
            ("no currency", bad_currency(serde_json::Value::Null)),
            ("long currency", bad_currency("taka".into())),
            ("odd currency", bad_currency("b$t".into())),
            (
                "no session id",
                session_event("checkout.session.completed", no_session_id),
            ),
            (
                "session not an object",
                session_event("checkout.session.completed", "cs_1".into()),
            ),
        ];
        for (what, body) in cases {
            assert!(parse_event(&body).is_err(), "{what}");
        }
    }

    #[test]
    fn the_payment_link_carries_the_owner_and_email() {
        let owner = Uuid::parse_str(OWNER).unwrap();
        assert_eq!(
            payment_link_url("https://buy.stripe.com/test_abc", owner, "rahima+shop@example.com"),
            format!(
                "https://buy.stripe.com/test_abc?client_reference_id={OWNER}&prefilled_email=rahima%2Bshop%40example.com"
            )
        );
        // A link with a query keeps it; ours replace any stale values.
        assert_eq!(
            payment_link_url(
                "https://buy.stripe.com/test_abc?locale=bn&client_reference_id=someone&prefilled_email=x",
                owner,
                "a@b.co"
            ),
            format!("https://buy.stripe.com/test_abc?locale=bn&client_reference_id={OWNER}&prefilled_email=a%40b.co")
        );
        assert_eq!(
            payment_link_url("https://buy.stripe.com/test_abc?", owner, "a@b.co"),
            format!("https://buy.stripe.com/test_abc?client_reference_id={OWNER}&prefilled_email=a%40b.co")
        );
        assert_eq!(
            payment_link_url("https://pay.example.com/l?x=1#top", owner, "a b&c=d@e.f"),
            format!(
                "https://pay.example.com/l?x=1&client_reference_id={OWNER}&prefilled_email=a%20b%26c%3Dd%40e.f#top"
            )
        );
        // Non-ASCII is encoded byte by byte.
        assert!(payment_link_url("https://buy.stripe.com/x", owner, "দোকান@example.com").contains("%E0%A6%A6"));
    }
}
