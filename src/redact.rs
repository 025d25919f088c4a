//! Masking contact details in free text, for log lines.
//!
//! Call sites log ids and masked values ([`Email::masked`], [`Phone::masked`],
//! [`mask_email`], [`mask_phone`]); they never log a body, a secret or a
//! contact detail. Some text is not ours to choose, though: an SMTP server's
//! refusal repeats the recipient, a database error may quote a value. The
//! server's log writer therefore passes every line through
//! [`contact_details`] as a last line of defence.
//!
//! What it finds: email addresses (`local@domain.tld`), Bangladesh mobile
//! numbers in their national and international forms (`01711-000000`,
//! `8801711000000`, `+880 1711 000000`) and any number written with a `+`
//! and 8 to 15 digits. Other bare digit runs (ids, timestamps) are left
//! alone: masking them would make logs useless and they are not contact
//! details. A number standing where a JSON number could stand is replaced by
//! a quoted string, so a JSON line stays valid.
//!
//! [`Email::masked`]: crate::auth::identity::Email::masked
//! [`Phone::masked`]: crate::auth::identity::Phone::masked

use std::borrow::Cow;

pub use crate::auth::identity::{mask_email, mask_phone};

/// Characters allowed in the part of an address before the `@`.
fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'')
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// `text` with every email address and phone number masked; borrowed when
/// there was nothing to mask (the common case).
pub fn contact_details(text: &str) -> Cow<'_, str> {
    let emails = emails(text);
    let phones = phones(text);
    if emails.is_empty() && phones.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut spans: Vec<(usize, usize, String)> = emails.into_iter().chain(phones).collect();
    spans.sort_by_key(|(start, _, _)| *start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, masked) in spans {
        // A digit run inside an address is already covered by the address.
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&masked);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Byte spans of email addresses in `text`, with their masked form.
fn emails(text: &str) -> Vec<(usize, usize, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let after = at + 1;
        let domain_len: usize = text[after..]
            .chars()
            .take_while(|c| is_domain_char(*c))
            .map(char::len_utf8)
            .sum();
        let domain = text[after..after + domain_len].trim_end_matches(['.', '-']);
        let end = after + domain.len();
        let local = &text[start..at];
        let looks_like_domain = domain.contains('.') && !domain.starts_with(['.', '-']);
        if local.is_empty() || !looks_like_domain || found.last().is_some_and(|(_, e, _)| *e > start) {
            continue;
        }
        found.push((start, end, mask_email(&text[start..end])));
    }
    found
}

/// Byte spans of phone numbers in `text`, with their masked form.
fn phones(text: &str) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number =
            bytes[i].is_ascii_digit() || (bytes[i] == b'+' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        // Not in the middle of a word, an id or a decimal number.
        let free_before = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'.' | b'+'));
        if starts_number
            && free_before
            && let Some(end) = phone_at(bytes, i)
        {
            let raw = &text[i..end];
            let masked = mask_phone(raw);
            let bare_json_number = i > 0
                && matches!(bytes[i - 1], b':' | b'[' | b',')
                && bytes.get(end).is_none_or(|b| matches!(b, b',' | b'}' | b']'));
            found.push((
                i,
                end,
                if bare_json_number {
                    format!("\"{masked}\"")
                } else {
                    masked
                },
            ));
            i = end;
            continue;
        }
        i += 1;
    }
    found
}

/// The end of a phone number starting at `start`, if one does: digits with
/// single spaces or hyphens between them, forming a Bangladesh mobile number
/// or a `+` number of 8 to 15 digits, and not followed by more of a word or
/// number.
fn phone_at(bytes: &[u8], start: usize) -> Option<usize> {
    let plus = bytes[start] == b'+';
    let mut i = start + usize::from(plus);
    let mut digits = String::new();
    let mut best = None;
    while i < bytes.len() && digits.len() < 15 {
        let b = bytes[i];
        if b.is_ascii_digit() {
            digits.push(char::from(b));
            i += 1;
            let ends_here = bytes.get(i).is_none_or(|next| {
                !(next.is_ascii_alphanumeric() || (*next == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
            });
            if ends_here && (is_bd_mobile(&digits) || (plus && digits.len() >= 8)) {
                best = Some(i);
            }
        } else if matches!(b, b' ' | b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) && !digits.is_empty() {
            i += 1;
        } else {
            break;
        }
    }
    best
}

/// `01[3-9]` and 8 digits, optionally after `880` or `00880` instead of the `0`.
fn is_bd_mobile(digits: &str) -> bool {
    let subscriber = digits
        .strip_prefix("00880")
        .or_else(|| digits.strip_prefix("880"))
        .or_else(|| digits.strip_prefix('0'));
    subscriber.is_some_and(|n| {
        let b = n.as_bytes();
        b.len() == 10 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked_in_text() {
        assert_eq!(
            contact_details("SMTP refused mail 12: 550 5.1.1 <rahima.khatun@example.com>: no such user"),
            "SMTP refused mail 12: 550 5.1.1 <r***@example.com>: no such user"
        );
        assert_eq!(
            contact_details(r#"{"message":"to Rahima@Example.COM."}"#),
            r#"{"message":"to R***@example.com."}"#
        );
        assert_eq!(contact_details("a@b.co and c@d.org"), "a***@b.co and c***@d.org");
    }

    #[test]
    fn bangladesh_and_plus_numbers_are_masked() {
        let cases = [
            ("call 01711-000123 now", "call +880*******123 now"),
            ("call 01711000123", "call +880*******123"),
            ("wa_id 8801711000123.", "wa_id +880*******123."),
            ("+880 1711 000123", "+880*******123"),
            ("(008801711000123)", "(+880*******123)"),
            ("uk +44 7911 123456", "uk +447******456"),
        ];
        for (raw, want) in cases {
            assert_eq!(contact_details(raw), want, "{raw}");
        }
    }

    #[test]
    fn a_bare_json_number_becomes_a_string() {
        assert_eq!(
            contact_details(r#"{"wa_id":8801711000123,"n":1}"#),
            r#"{"wa_id":"+880*******123","n":1}"#
        );
    }

    #[test]
    fn ids_timestamps_and_decimals_are_left_alone() {
        for text in [
            r#"{"timestamp":"2025-06-01T10:00:00.017110001Z","elapsed_ms":0.01711000123,"job_id":1718000000}"#,
            "request_id=0171100012345678abcdef page 1000000001 psid 5551234",
            "uuid 3f2a1b4c-0000-4000-8000-017110001234",
            "x01711000123 01711000123x 017110001234",
            "no at sign here, nor @ alone, nor a@localhost",
        ] {
            assert_eq!(contact_details(text), text);
            assert!(matches!(contact_details(text), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn masking_is_idempotent() {
        let once = contact_details("r@example.com 01711000123").into_owned();
        assert_eq!(contact_details(&once), once);
    }
}
