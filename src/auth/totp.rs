//! Second factor for staff accounts: RFC 6238 time-based one-time passwords
//! (TOTP) and single-use recovery codes.
//!
//! Everything here is pure: callers pass the current Unix time and the last
//! time step a user successfully used, and store what comes back. Parameters
//! are the ones every authenticator app supports by default: HMAC-SHA1,
//! 6 digits, 30-second period.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// Seconds per TOTP time step. 30 s is the RFC 6238 default and the only
/// value some authenticator apps honour.
pub const PERIOD_SECONDS: u64 = 30;

/// Number of digits in a TOTP code. 6 is what authenticator apps show by
/// default.
pub const DIGITS: usize = 6;

/// Length in bytes of a TOTP secret: 160 bits, the HMAC-SHA1 output size and
/// the length RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

/// Characters a recovery code is drawn from: lowercase letters and digits
/// without `0`, `o`, `1`, `l` and `i`, which people confuse when reading a
/// printed code back. 31 symbols, so 12 of them carry about 59.4 bits.
const RECOVERY_ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Symbols in a recovery code (not counting the dashes).
const RECOVERY_CODE_SYMBOLS: usize = 12;

/// Why a TOTP secret could not be read. Messages are meant for the person who
/// typed or pasted the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// A character outside the base32 alphabet (A–Z, 2–7) was found.
    #[error("the secret key may only contain the letters A to Z and the digits 2 to 7")]
    InvalidCharacter,
    /// The text cannot be base32 (impossible length, misplaced padding or
    /// leftover bits), usually because it was cut off when copied.
    #[error("the secret key is not valid base32; check that it was copied completely")]
    Malformed,
    /// Valid base32, but not a 160-bit secret.
    #[error("the secret key must be 160 bits long (32 base32 characters), but this one is {bits} bits")]
    WrongLength {
        /// Number of bits the given secret decoded to.
        bits: usize,
    },
}

/// A 160-bit TOTP shared secret.
///
/// The field is private and `Debug` prints `TotpSecret(..)` so the secret
/// cannot end up in logs by accident; use [`TotpSecret::to_base32`] or
/// [`TotpSecret::as_bytes`] deliberately when it must be stored or shown.
#[derive(Clone)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl TotpSecret {
    /// A fresh random secret from the thread-local CSPRNG, for enrolling a
    /// new authenticator.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps raw secret bytes, e.g. after loading them from storage.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw secret, for storage (encrypted) and for the HMAC.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// The secret as RFC 4648 base32, uppercase, without padding: the form
    /// authenticator apps expect in QR codes and for manual entry.
    #[must_use]
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0)
    }

    /// Reads a secret typed or pasted by a person: case-insensitive,
    /// whitespace ignored (apps often show it in groups of four), trailing
    /// `=` padding tolerated. It must decode to exactly 160 bits.
    pub fn from_base32(input: &str) -> Result<Self, TotpError> {
        let bytes = base32_decode(input)?;
        let bytes: [u8; SECRET_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| TotpError::WrongLength { bits: b.len() * 8 })?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// The `otpauth://` URI to put in the enrolment QR code (Google Authenticator
/// key-URI format). Issuer and account are percent-encoded; the issuer is
/// given both in the label and as a parameter, as apps differ in which one
/// they read.
#[must_use]
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    let account = percent_encode(account);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECONDS}",
        secret.to_base32()
    )
}

/// The 6-digit code an authenticator app shows at `unix_time`, zero-padded.
/// Mostly useful for tests and tooling; login should go through [`verify`].
#[must_use]
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    format_code(hotp(secret, unix_time / PERIOD_SECONDS))
}

/// Checks a code typed by the user and returns the time step it belongs to.
///
/// Whitespace is ignored (apps show `123 456`); the rest must be exactly six
/// ASCII digits. The current step and one step either side are accepted to
/// allow for clock skew between server and phone. Codes are compared in
/// constant time.
///
/// Replay protection: a step `<= last_used_step` is refused, so each code
/// (and any earlier one) works only once. On success the caller must store
/// the returned step as the new `last_used_step`, atomically with the login.
#[must_use]
pub fn verify(secret: &TotpSecret, code: &str, unix_time: u64, last_used_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = i64::try_from(unix_time / PERIOD_SECONDS).ok()?;

    // Check every candidate without stopping early, so timing does not tell
    // which window matched. If two windows match (a 1-in-a-million
    // collision), keep the later step: it burns more of the window for replay.
    let mut matched = None;
    for step in [current - 1, current, current + 1] {
        if last_used_step.is_some_and(|last| step <= last) {
            continue;
        }
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = format_code(hotp(secret, counter));
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(step);
        }
    }
    matched
}

/// Makes `n` new recovery codes such as `abcd-efgh-jkmn`: 12 symbols from an
/// unambiguous 31-character alphabet (about 59 bits each), grouped by four so
/// people can copy them by hand. Show them once; store only
/// [`hash_recovery_code`] of each.
#[must_use]
pub fn generate_recovery_codes(n: usize) -> Vec<String> {
    let mut rng = rand::rng();
    (0..n).map(|_| recovery_code(&mut rng)).collect()
}

/// Puts a recovery code typed by a person into canonical form: ASCII
/// lowercase, with dashes and whitespace removed, so `ABCD EFGH-JKMN` and
/// `abcd-efgh-jkmn` are the same code.
#[must_use]
pub fn normalise_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What to store for a recovery code: lowercase hex SHA-256 of the
/// normalised code. Look a typed code up by hashing it the same way.
#[must_use]
pub fn hash_recovery_code(code: &str) -> String {
    // A fast, unsalted hash is enough here, unlike for passwords: recovery
    // codes are generated by us with ~59 bits of uniform randomness, not
    // chosen by people, so there is no dictionary to try and brute-forcing
    // 2^59 SHA-256 preimages per code is out of reach. Slow hashing (Argon2)
    // only helps against guessable inputs.
    let digest = Sha256::digest(normalise_recovery_code(code).as_bytes());
    hex_lower(&digest)
}

/// RFC 4226 HOTP value for `counter`, reduced to [`DIGITS`] digits.
fn hotp(secret: &TotpSecret, counter: u64) -> u32 {
    // RFC 2104 right-pads keys shorter than the hash block size with zeros,
    // so building the block-sized key ourselves gives the same HMAC as
    // `new_from_slice`, without an (infallible) `Result` to unwrap.
    let mut key = hmac::digest::Key::<HmacSha1>::default();
    key[..SECRET_LEN].copy_from_slice(secret.as_bytes());
    let mut mac = <HmacSha1 as hmac::digest::KeyInit>::new(&key);
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();

    // Dynamic truncation (RFC 4226 section 5.3).
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 1_000_000
}

fn format_code(value: u32) -> String {
    format!("{value:0width$}", width = DIGITS)
}

fn recovery_code(rng: &mut impl RngCore) -> String {
    // Rejection sampling keeps every symbol uniform: 248 is the largest
    // multiple of 31 that fits in a byte.
    const LIMIT: u8 = (256 - 256 % RECOVERY_ALPHABET.len()) as u8;
    let mut code = String::with_capacity(RECOVERY_CODE_SYMBOLS + 2);
    let mut symbols = 0;
    let mut buf = [0u8; 32];
    while symbols < RECOVERY_CODE_SYMBOLS {
        rng.fill_bytes(&mut buf);
        for &byte in &buf {
            if symbols == RECOVERY_CODE_SYMBOLS {
                break;
            }
            if byte >= LIMIT {
                continue;
            }
            if symbols > 0 && symbols.is_multiple_of(4) {
                code.push('-');
            }
            code.push(char::from(
                RECOVERY_ALPHABET[usize::from(byte) % RECOVERY_ALPHABET.len()],
            ));
            symbols += 1;
        }
    }
    code
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, uppercase, no padding.
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in data {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32_ALPHABET[usize::from((buffer >> bits) & 0x1f)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32_ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

/// RFC 4648 base32 decoding, lenient about case, whitespace and trailing
/// padding, strict about everything else (no non-canonical trailing bits).
fn base32_decode(input: &str) -> Result<Vec<u8>, TotpError> {
    let cleaned: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let unpadded_len = cleaned.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let (symbols, padding) = cleaned.split_at(unpadded_len);
    if !padding.is_empty() && !cleaned.len().is_multiple_of(8) {
        return Err(TotpError::Malformed);
    }
    // 1, 3 or 6 leftover symbols cannot come from whole bytes.
    if matches!(symbols.len() % 8, 1 | 3 | 6) {
        return Err(TotpError::Malformed);
    }

    let mut out = Vec::with_capacity(symbols.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &symbol in symbols {
        let value = match symbol.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            b'=' => return Err(TotpError::Malformed),
            _ => return Err(TotpError::InvalidCharacter),
        };
        buffer = (buffer << 5) | u16::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if buffer != 0 {
        return Err(TotpError::Malformed);
    }
    Ok(out)
}

/// Percent-encodes everything except RFC 3986 unreserved characters, so
/// spaces, `:` and `@` in names cannot break the URI.
fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for &byte in input.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX_LOWER[usize::from(byte >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight_digits) in vectors {
            assert_eq!(code_at(&secret, time), &eight_digits[2..], "time {time}");
        }
        assert_eq!(code_at(&secret, 59), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109), "081804");
    }

    #[test]
    fn base32_rfc4648_vectors() {
        let vectors: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (raw, encoded) in vectors {
            assert_eq!(base32_encode(raw), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), raw);
        }
        // Padded forms, as RFC 4648 writes them, are accepted too.
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MY======").unwrap(), b"f");
    }

    #[test]
    fn base32_rejects_garbage() {
        assert_eq!(base32_decode("MZXW6YT1"), Err(TotpError::InvalidCharacter));
        assert_eq!(base32_decode("M"), Err(TotpError::Malformed));
        assert_eq!(base32_decode("MZX"), Err(TotpError::Malformed));
        // Non-zero leftover bits ("MZ" would be "f" plus stray bits).
        assert_eq!(base32_decode("MZ"), Err(TotpError::Malformed));
        assert_eq!(base32_decode("MY=="), Err(TotpError::Malformed));
        assert_eq!(base32_decode("M=Y"), Err(TotpError::Malformed));
    }

    #[test]
    fn secret_base32_round_trip() {
        for _ in 0..100 {
            let secret = TotpSecret::generate();
            let encoded = secret.to_base32();
            assert_eq!(encoded.len(), 32);
            assert!(encoded.bytes().all(|b| BASE32_ALPHABET.contains(&b)));
            let decoded = TotpSecret::from_base32(&encoded).unwrap();
            assert_eq!(decoded.as_bytes(), secret.as_bytes());
        }
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn secret_from_base32_is_lenient_about_case_and_spaces() {
        let secret = TotpSecret::from_base32("gezd gnbv gy3t qojq GEZD GNBV GY3T QOJQ").unwrap();
        assert_eq!(secret.as_bytes(), b"12345678901234567890");
    }

    #[test]
    fn secret_from_base32_requires_160_bits() {
        assert_eq!(
            TotpSecret::from_base32("MZXW6YTBOI").unwrap_err(),
            TotpError::WrongLength { bits: 48 }
        );
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE").unwrap_err(),
            TotpError::WrongLength { bits: 168 }
        );
        assert!(matches!(
            TotpSecret::from_base32("not base32!"),
            Err(TotpError::InvalidCharacter)
        ));
    }

    #[test]
    fn generated_secrets_differ() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn debug_hides_secret() {
        let secret = rfc_secret();
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }

    #[test]
    fn otpauth_uri_format() {
        let uri = otpauth_uri(&rfc_secret(), "Bikri Agent", "alice@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Bikri%20Agent:alice%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bikri%20Agent\
             &algorithm=SHA1&digits=6&period=30"
        );
        let uri = otpauth_uri(&rfc_secret(), "a:b&c", "ü~x.y_z-1");
        assert!(uri.starts_with("otpauth://totp/a%3Ab%26c:%C3%BC~x.y_z-1?"));
        assert!(uri.contains("&issuer=a%3Ab%26c&"));
    }

    const NOW: u64 = 1_700_000_015; // mid-window
    fn now_step() -> i64 {
        i64::try_from(NOW / PERIOD_SECONDS).unwrap()
    }

    #[test]
    fn verify_accepts_current_and_adjacent_steps() {
        let secret = rfc_secret();
        let step = now_step();
        assert_eq!(verify(&secret, &code_at(&secret, NOW), NOW, None), Some(step));
        assert_eq!(verify(&secret, &code_at(&secret, NOW - 30), NOW, None), Some(step - 1));
        assert_eq!(verify(&secret, &code_at(&secret, NOW + 30), NOW, None), Some(step + 1));
    }

    #[test]
    fn verify_rejects_two_steps_away() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, &code_at(&secret, NOW - 60), NOW, None), None);
        assert_eq!(verify(&secret, &code_at(&secret, NOW + 60), NOW, None), None);
    }

    #[test]
    fn verify_rejects_wrong_and_malformed_codes() {
        let secret = rfc_secret();
        let good = code_at(&secret, NOW);
        let window: HashSet<String> = [NOW - 30, NOW, NOW + 30].iter().map(|&t| code_at(&secret, t)).collect();
        let wrong = (0..1_000_000)
            .map(|n| format!("{n:06}"))
            .find(|c| !window.contains(c))
            .unwrap();
        assert_eq!(verify(&secret, &wrong, NOW, None), None);

        let eight = format!("{good}00");
        let fullwidth: String = good
            .chars()
            .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap())
            .collect();
        for bad in [
            "",
            "12345",
            "12345a",
            "abcdef",
            "+12345",
            "-12345",
            "12.345",
            &good[..5],
            &eight,
            &fullwidth,
        ] {
            assert_eq!(verify(&secret, bad, NOW, None), None, "{bad:?}");
        }
    }

    #[test]
    fn verify_ignores_whitespace() {
        let secret = rfc_secret();
        let good = code_at(&secret, NOW);
        let spaced = format!(" {} {} ", &good[..3], &good[3..]);
        assert_eq!(verify(&secret, &spaced, NOW, None), Some(now_step()));
    }

    #[test]
    fn verify_refuses_replay() {
        let secret = rfc_secret();
        let code = code_at(&secret, NOW);
        let step = verify(&secret, &code, NOW, None).unwrap();
        // Same code again, even a few seconds later in the same window.
        assert_eq!(verify(&secret, &code, NOW, Some(step)), None);
        assert_eq!(verify(&secret, &code, NOW + 10, Some(step)), None);
        // An older code is refused after a newer one was used.
        let previous = code_at(&secret, NOW - 30);
        assert_eq!(verify(&secret, &previous, NOW, Some(step)), None);
        // After using the "future" code, the current one is burnt as well.
        let next = code_at(&secret, NOW + 30);
        assert_eq!(verify(&secret, &next, NOW, Some(step)), Some(step + 1));
        assert_eq!(verify(&secret, &code, NOW, Some(step + 1)), None);
        // An earlier last-used step does not block the current code.
        assert_eq!(verify(&secret, &code, NOW, Some(step - 1)), Some(step));
    }

    #[test]
    fn verify_at_time_zero() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, &code_at(&secret, 0), 0, None), Some(0));
        assert_eq!(verify(&secret, &code_at(&secret, 30), 0, None), Some(1));
    }

    #[test]
    fn recovery_code_format() {
        for code in generate_recovery_codes(200) {
            assert_eq!(code.len(), 14, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 3, "{code}");
            for group in groups {
                assert_eq!(group.len(), 4, "{code}");
                assert!(group.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)), "{code}");
            }
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
            assert_eq!(normalise_recovery_code(&code), code.replace('-', ""));
        }
        assert!(generate_recovery_codes(0).is_empty());
        assert_eq!(generate_recovery_codes(10).len(), 10);
    }

    #[test]
    fn recovery_alphabet_gives_enough_entropy() {
        let alphabet: HashSet<u8> = RECOVERY_ALPHABET.iter().copied().collect();
        assert_eq!(alphabet.len(), RECOVERY_ALPHABET.len(), "no duplicates");
        for excluded in b"0o1li" {
            assert!(!alphabet.contains(excluded));
        }
        let bits = RECOVERY_CODE_SYMBOLS as f64 * (RECOVERY_ALPHABET.len() as f64).log2();
        assert!(bits >= 55.0, "{bits}");
    }

    #[test]
    fn recovery_codes_are_unique() {
        let codes = generate_recovery_codes(1000);
        let unique: HashSet<&String> = codes.iter().collect();
        assert_eq!(unique.len(), 1000);
    }

    #[test]
    fn recovery_code_normalisation_and_hash() {
        assert_eq!(normalise_recovery_code("ABCD EFGH-JKMN"), "abcdefghjkmn");
        assert_eq!(normalise_recovery_code(" abcd-efgh-jkmn\n"), "abcdefghjkmn");
        assert_eq!(
            hash_recovery_code("ABCD EFGH-JKMN"),
            hash_recovery_code("abcd-efgh-jkmn")
        );
        assert_ne!(
            hash_recovery_code("abcd-efgh-jkmn"),
            hash_recovery_code("abcd-efgh-jkmp")
        );
        // SHA-256("abcdefghjkmn") in lowercase hex.
        let hash = hash_recovery_code("abcd-efgh-jkmn");
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(hash, hex_lower(&Sha256::digest(b"abcdefghjkmn")));
        // Known-answer check of the hex encoding itself.
        assert_eq!(
            hash_recovery_code(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
