//! Arbitrary bytes into the webhook path: the `X-Hub-Signature-256` check,
//! the delivery parser, and the `signed_request` check of the Deauthorize and
//! Data Deletion callbacks. None of them may panic, whatever the input, and
//! the parser's documented bounds must hold on every delivery it returns.
//!
//! The input is used whole as a body, and also split at its first newline
//! into a header line and a body, so the fuzzer controls both.
#![no_main]

use bikriagent::meta::signature::{self, SignatureError};
use bikriagent::meta::webhook::{self, Delivery, Event, MAX_EVENTS, MAX_TEXT_CHARS};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-app-secret";

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (String::from_utf8_lossy(&data[..at]), &data[at + 1..]),
        None => (String::from_utf8_lossy(data), &data[..0]),
    };

    // The signature check never panics, accepts the header it produces for
    // these bytes, and accepts no other header (but for the case of the hex
    // digits, which it rightly ignores).
    let _ = signature::verify_hub_signature(&data[..data.len().min(64)], body, Some(&header));
    assert_eq!(
        signature::verify_hub_signature(SECRET, data, None),
        Err(SignatureError::Missing)
    );
    let good = signature::hub_signature(SECRET, body);
    assert_eq!(signature::verify_hub_signature(SECRET, body, Some(&good)), Ok(()));
    if signature::verify_hub_signature(SECRET, body, Some(&header)).is_ok() {
        assert!(
            header.trim().eq_ignore_ascii_case(&good),
            "accepted a header that is not the body's signature"
        );
    }

    // The signed_request check on the whole input and on the header line,
    // and on the input signed as Meta would: a request we signed is never a
    // mismatch, whatever its payload says.
    let text = String::from_utf8_lossy(data);
    let _ = signature::verify_signed_request(SECRET, &text, 0);
    let _ = signature::verify_signed_request(SECRET, &header, i64::MAX);
    let signed = signature::sign_request(SECRET, &text);
    assert_ne!(
        signature::verify_signed_request(SECRET, &signed, 0).err(),
        Some(SignatureError::Mismatch)
    );

    // The parser, on the whole input and on the body after the header line.
    for bytes in [data, body] {
        if let Ok(delivery) = webhook::parse(bytes) {
            check_bounds(&delivery);
        }
    }
});

/// The bounds `parse` promises in its documentation.
fn check_bounds(delivery: &Delivery) {
    assert!(delivery.events.len() <= MAX_EVENTS, "{} events", delivery.events.len());
    assert!(delivery.object.chars().count() <= 64, "object too long");
    assert!(
        !delivery.object.chars().any(char::is_control),
        "control character in object"
    );
    for event in &delivery.events {
        let text = match event {
            Event::Message(message) => message.text.as_deref(),
            Event::Echo { text, .. } => text.as_deref(),
            _ => None,
        };
        if let Event::Message(message) = event
            && let Some(text) = &message.text
        {
            assert!(!text.is_empty(), "an empty message text is None");
        }
        if let Some(text) = text {
            assert!(
                text.chars().count() <= MAX_TEXT_CHARS,
                "text over {MAX_TEXT_CHARS} chars"
            );
            assert!(!text.contains('\0'), "NUL in text");
        }
    }
}
