//! Signup identifiers, parsed once at the edge ("parse, don't validate").
//!
//! An [`Email`] or a [`Phone`] can only be built by its `parse` function, so
//! any code that holds one knows it is valid and already normalised: the
//! database, the uniqueness checks and the message senders never see two
//! spellings of the same address or number.
//!
//! Both types print their full value with `Display` (that is what gets stored
//! and sent) but a masked value with `Debug`, so a stray `{:?}` in a log line
//! or a panic message never leaks who signed up. [`mask_email`] and
//! [`mask_phone`] do the same, best-effort, for raw input that did not parse.

use std::fmt;
use std::str::FromStr;

/// RFC 5321 caps a forward path at 256 octets including the angle brackets.
const EMAIL_MAX_CHARS: usize = 254;
/// RFC 5321's limit on the local part; longer ones bounce at many servers.
const EMAIL_LOCAL_MAX_CHARS: usize = 64;
/// RFC 1035's limit on one DNS label.
const DOMAIN_LABEL_MAX_CHARS: usize = 63;
/// RFC 5322 "specials" (other than `@` and `.`): real addresses typed into a
/// form never contain them, and pasted `Name <a@b.c>` forms or header
/// injection attempts always do.
const EMAIL_FORBIDDEN: &[char] = &['"', '(', ')', ',', ':', ';', '<', '>', '[', '\\', ']'];

/// E.164 allows at most 15 digits; the shortest numbers in use have 8.
const PHONE_MIN_DIGITS: usize = 8;
const PHONE_MAX_DIGITS: usize = 15;
/// Generous room for separators around 15 digits; anything longer is not a
/// phone number, and refusing it early bounds the work done on hostile input.
const PHONE_RAW_MAX_CHARS: usize = 40;
/// Bangladesh's country calling code.
const BD_CODE: &str = "880";

/// Why a signup identifier was refused. Each message is meant to be shown to
/// the person as-is, so it says what to type rather than what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("Enter your email address.")]
    EmailMissing,
    #[error("Enter an email address like name@example.com.")]
    EmailInvalid,
    #[error("This email address is too long: use one with at most 254 characters.")]
    EmailTooLong,
    #[error("The part of the email address before the @ can have at most 64 characters.")]
    EmailLocalPartTooLong,
    #[error("Enter your mobile number.")]
    PhoneMissing,
    #[error("Enter a Bangladesh mobile number like 01711-000000, or an international number starting with +.")]
    PhoneInvalid,
    #[error("Bangladesh mobile numbers look like 01711-000000 or +880 1711-000000.")]
    PhoneNotBangladeshMobile,
    #[error("International numbers have 8 to 15 digits after the +, like +44 7911 123456.")]
    PhoneInternationalLength,
}

/// A syntactically valid email address: trimmed, domain lowercased, local
/// part kept as typed (some mail servers treat it case-sensitively, so we
/// must send to exactly what was typed; uniqueness is enforced
/// case-insensitively in the database instead).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses what a person typed into an email field.
    ///
    /// Deliberately looser than RFC 5322 in the local part (any printable
    /// character but the specials, including non-ASCII) because rejecting a
    /// real address loses a customer, while a wrong-but-plausible one is
    /// caught anyway by the verification email.
    pub fn parse(raw: &str) -> Result<Email, IdentityError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(IdentityError::EmailMissing);
        }
        if trimmed.chars().count() > EMAIL_MAX_CHARS {
            return Err(IdentityError::EmailTooLong);
        }
        if trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || EMAIL_FORBIDDEN.contains(&c))
        {
            return Err(IdentityError::EmailInvalid);
        }
        let Some((local, domain)) = trimmed.split_once('@') else {
            return Err(IdentityError::EmailInvalid);
        };
        if local.is_empty() || domain.contains('@') {
            return Err(IdentityError::EmailInvalid);
        }
        if local.chars().count() > EMAIL_LOCAL_MAX_CHARS {
            return Err(IdentityError::EmailLocalPartTooLong);
        }
        let domain = domain.to_lowercase();
        if !is_valid_domain(&domain) {
            return Err(IdentityError::EmailInvalid);
        }
        let address = format!("{local}@{domain}");
        // Lowercasing some non-ASCII letters lengthens them, so re-check.
        if address.chars().count() > EMAIL_MAX_CHARS {
            return Err(IdentityError::EmailTooLong);
        }
        Ok(Email(address))
    }

    /// The normalised address, as stored and as mail is sent to.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, as typed. The password policy uses it to
    /// refuse passwords built from the address.
    pub fn local_part(&self) -> &str {
        // `parse` guarantees exactly one '@'.
        self.0.split_once('@').map_or(self.0.as_str(), |(local, _)| local)
    }

    fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }

    /// A form safe for logs and support screens, like `r***@example.com`:
    /// enough to tell accounts apart without revealing the address.
    pub fn masked(&self) -> String {
        let first = self.local_part().chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked, so that `{:?}` in a log or a panic never leaks the address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.masked()).finish()
    }
}

impl FromStr for Email {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = IdentityError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

/// Needs a dot, and every dot-separated label must be a plausible DNS label
/// (letters of any script for internationalised domains, digits, inner
/// hyphens), which also rules out leading, trailing and doubled dots.
fn is_valid_domain(domain: &str) -> bool {
    domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.chars().count() <= DOMAIN_LABEL_MAX_CHARS
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not 0.
///
/// Stored normalised so that `01711-000000` and `+880 1711 000000` are the
/// same account and SMS gateways get the one format they all accept.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses what a person typed into a phone field.
    ///
    /// Most customers are in Bangladesh and type their number the local way
    /// (`01711-000000`), so that form is accepted and assumed to be
    /// Bangladeshi; any other country must be written internationally (`+`
    /// or `00` first), because a bare national number is ambiguous. Numbers
    /// under +880 must be mobile numbers, since the account is verified and
    /// recovered by SMS.
    pub fn parse(raw: &str) -> Result<Phone, IdentityError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(IdentityError::PhoneMissing);
        }
        if raw.chars().count() > PHONE_RAW_MAX_CHARS {
            return Err(IdentityError::PhoneInvalid);
        }
        let compact: String = raw
            .chars()
            .filter(|&c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')))
            .collect();
        let (international, digits) = if let Some(rest) = compact.strip_prefix('+') {
            (true, rest)
        } else if let Some(rest) = compact.strip_prefix("00") {
            (true, rest)
        } else {
            (false, compact.as_str())
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::PhoneInvalid);
        }

        let e164_digits = if international || digits.starts_with(BD_CODE) {
            digits.to_owned()
        } else if let Some(national) = digits.strip_prefix('0') {
            // Bangladesh's trunk prefix 0 stands for +880.
            format!("{BD_CODE}{national}")
        } else {
            return Err(IdentityError::PhoneInvalid);
        };

        if let Some(subscriber) = e164_digits.strip_prefix(BD_CODE) {
            if !is_bd_mobile(subscriber) {
                return Err(IdentityError::PhoneNotBangladeshMobile);
            }
        } else {
            if e164_digits.starts_with('0') {
                return Err(IdentityError::PhoneInvalid);
            }
            if !(PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&e164_digits.len()) {
                return Err(IdentityError::PhoneInternationalLength);
            }
        }
        Ok(Phone(format!("+{e164_digits}")))
    }

    /// The E.164 form, e.g. `+8801711000000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The E.164 digits without the `+`, as most SMS gateways want them.
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
    }

    /// A form safe for logs and support screens, like `+880*******000`: the
    /// country is useful when debugging delivery, the rest stays hidden.
    pub fn masked(&self) -> String {
        mask_digits(self.digits(), true)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked, so that `{:?}` in a log or a panic never leaks the number.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

impl FromStr for Phone {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = IdentityError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

/// Bangladesh mobile subscriber numbers are `1` then an operator digit 3-9
/// then 8 more digits; landlines cannot receive the verification SMS.
fn is_bd_mobile(subscriber: &str) -> bool {
    let bytes = subscriber.as_bytes();
    bytes.len() == 10 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]) && bytes.iter().all(u8::is_ascii_digit)
}

/// Keeps the first and last three of `digits` (ASCII digits only) and stars
/// the rest; too few digits to hide anything are starred entirely.
fn mask_digits(digits: &str, plus: bool) -> String {
    let sign = if plus { "+" } else { "" };
    if digits.len() < PHONE_MIN_DIGITS {
        return format!("{sign}***");
    }
    let (head, rest) = digits.split_at(3);
    let (middle, tail) = rest.split_at(rest.len() - 3);
    format!("{sign}{head}{}{tail}", "*".repeat(middle.len()))
}

/// Masks anything that was meant to be an email address, for logging input
/// that may not have parsed. Never returns more than a first character and a
/// domain, and shows the domain only if it looks like one (the field may
/// hold something secret typed in the wrong box).
pub fn mask_email(raw: &str) -> String {
    if let Ok(email) = Email::parse(raw) {
        return email.masked();
    }
    let Some((local, domain)) = raw.trim().rsplit_once('@') else {
        return "***".to_owned();
    };
    let first = local
        .chars()
        .next()
        .filter(|c| c.is_alphanumeric())
        .map(String::from)
        .unwrap_or_default();
    let domain_looks_safe = !domain.is_empty()
        && domain.chars().count() <= EMAIL_MAX_CHARS
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    let domain = if domain_looks_safe {
        domain.to_lowercase()
    } else {
        "***".to_owned()
    };
    format!("{first}***@{domain}")
}

/// Masks anything that was meant to be a phone number, for logging input
/// that may not have parsed. Only digits ever come out, so control
/// characters or stray text in the input cannot reach the log.
pub fn mask_phone(raw: &str) -> String {
    if let Ok(phone) = Phone::parse(raw) {
        return phone.masked();
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    mask_digits(&digits, raw.trim_start().starts_with('+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_accepts_and_normalises() {
        let cases = [
            ("rahima@example.com", "rahima@example.com"),
            ("  Rahima@Example.COM \n", "Rahima@example.com"),
            ("r.khatun+shop@mail.example.com.bd", "r.khatun+shop@mail.example.com.bd"),
            ("a@b.co", "a@b.co"),
            ("o'neil@my-shop.com", "o'neil@my-shop.com"),
            ("রহিমা@উদাহরণ.বাংলা", "রহিমা@উদাহরণ.বাংলা"),
        ];
        for (raw, want) in cases {
            let email = Email::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(email.as_str(), want, "{raw:?}");
            assert_eq!(email.to_string(), want);
        }
    }

    #[test]
    fn email_local_part_is_kept_as_typed() {
        let email = Email::parse("Rahima.K@EXAMPLE.com").unwrap();
        assert_eq!(email.local_part(), "Rahima.K");
        assert_eq!(email.as_str(), "Rahima.K@example.com");
    }

    #[test]
    fn email_rejects() {
        let local_65 = "a".repeat(65);
        let local_64 = "a".repeat(64);
        let long_domain = format!("{}.com", ["abcdefghij"; 25].join("."));
        let cases: Vec<(String, IdentityError)> = vec![
            ("".into(), IdentityError::EmailMissing),
            ("   ".into(), IdentityError::EmailMissing),
            ("rahima".into(), IdentityError::EmailInvalid),
            ("rahima@".into(), IdentityError::EmailInvalid),
            ("@example.com".into(), IdentityError::EmailInvalid),
            ("rahima@example".into(), IdentityError::EmailInvalid),
            ("rahima@@example.com".into(), IdentityError::EmailInvalid),
            ("ra@hima@example.com".into(), IdentityError::EmailInvalid),
            ("rahima@.example.com".into(), IdentityError::EmailInvalid),
            ("rahima@example.com.".into(), IdentityError::EmailInvalid),
            ("rahima@example..com".into(), IdentityError::EmailInvalid),
            ("rahima@-example.com".into(), IdentityError::EmailInvalid),
            ("rahima@exa_mple.com".into(), IdentityError::EmailInvalid),
            ("rahi ma@example.com".into(), IdentityError::EmailInvalid),
            ("rahima@exam ple.com".into(), IdentityError::EmailInvalid),
            ("rahima\u{0}@example.com".into(), IdentityError::EmailInvalid),
            ("rahima@example.com\r\nBcc: x@y.z".into(), IdentityError::EmailInvalid),
            ("Rahima <rahima@example.com>".into(), IdentityError::EmailInvalid),
            ("<rahima@example.com>".into(), IdentityError::EmailInvalid),
            ("\"rahima\"@example.com".into(), IdentityError::EmailInvalid),
            (format!("{local_65}@example.com"), IdentityError::EmailLocalPartTooLong),
            (format!("{local_64}@{long_domain}"), IdentityError::EmailTooLong),
        ];
        for (raw, want) in cases {
            assert_eq!(Email::parse(&raw), Err(want), "{raw:?}");
        }
        assert!(Email::parse(&format!("{local_64}@example.com")).is_ok());
    }

    #[test]
    fn email_length_limit_is_254_chars() {
        // 64 + 1 + 189 = 254.
        let domain_189 = format!("{}.com", "d".repeat(63) + "." + &"e".repeat(63) + "." + &"f".repeat(57));
        assert_eq!(domain_189.len(), 189);
        let ok = format!("{}@{domain_189}", "a".repeat(64));
        assert_eq!(ok.chars().count(), 254);
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{}@{domain_189}", "a".repeat(65));
        assert!(Email::parse(&too_long).is_err());
        let too_long = format!("{}@x{domain_189}", "a".repeat(64));
        assert_eq!(Email::parse(&too_long), Err(IdentityError::EmailTooLong));
    }

    #[test]
    fn email_masking_and_debug() {
        let email = Email::parse("rahima.khatun@Example.com").unwrap();
        assert_eq!(email.masked(), "r***@example.com");
        let debug = format!("{email:?}");
        assert_eq!(debug, r#"Email("r***@example.com")"#);
        assert!(!debug.contains("rahima"));
        let nested = format!("{:?}", Some(vec![email.clone()]));
        assert!(!nested.contains("rahima.khatun"), "{nested}");
        assert!(!format!("{email:#?}").contains("khatun"));
    }

    #[test]
    fn mask_email_best_effort() {
        assert_eq!(mask_email("Rahima@Example.com"), "R***@example.com");
        assert_eq!(mask_email("rahima@localhost"), "r***@localhost");
        assert_eq!(mask_email("no-at-sign-secret"), "***");
        assert_eq!(mask_email(""), "***");
        assert_eq!(mask_email("@example.com"), "***@example.com");
        assert_eq!(mask_email("rahima@bad domain\nINJECTED"), "r***@***");
        assert_eq!(mask_email("\nrahima@example"), "r***@example");
        assert_eq!(mask_email("<rahima@x.com"), "***@x.com");
    }

    #[test]
    fn phone_accepts_bangladesh_forms() {
        for raw in [
            "01711-000000",
            "01711000000",
            "8801711000000",
            "+8801711000000",
            "008801711000000",
            " +880 1711-000000 ",
            "(+880) 1711.000.000",
            "+880-17-11-00-00-00",
            "0171 1000 000",
        ] {
            let phone = Phone::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(phone.as_str(), "+8801711000000", "{raw:?}");
            assert_eq!(phone.digits(), "8801711000000");
            assert_eq!(phone.to_string(), "+8801711000000");
        }
        for operator in 3..=9 {
            let raw = format!("01{operator}12345678");
            assert_eq!(Phone::parse(&raw).unwrap().as_str(), format!("+8801{operator}12345678"));
        }
    }

    #[test]
    fn phone_accepts_international_forms() {
        let cases = [
            ("+44 7911 123456", "+447911123456"),
            ("0044 7911 123456", "+447911123456"),
            ("+1 (415) 555-2671", "+14155552671"),
            ("+91 98765 43210", "+919876543210"),
            ("+12345678", "+12345678"),
            ("+123456789012345", "+123456789012345"),
        ];
        for (raw, want) in cases {
            let phone = Phone::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(phone.as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn phone_rejects() {
        use IdentityError::*;
        let cases = [
            ("", PhoneMissing),
            ("  ", PhoneMissing),
            ("phone", PhoneInvalid),
            ("+", PhoneInvalid),
            ("00", PhoneInvalid),
            ("+880 1711 00000O", PhoneInvalid),
            ("+880+1711000000", PhoneInvalid),
            ("1711000000", PhoneInvalid),
            ("447911123456", PhoneInvalid),
            ("+0447911123456", PhoneInvalid),
            ("000447911123456", PhoneInvalid),
            ("+1234567", PhoneInternationalLength),
            ("+1234567890123456", PhoneInternationalLength),
            ("0171100000", PhoneNotBangladeshMobile),
            ("017110000000", PhoneNotBangladeshMobile),
            ("01211000000", PhoneNotBangladeshMobile),
            ("01011000000", PhoneNotBangladeshMobile),
            ("02-9660000", PhoneNotBangladeshMobile),
            ("+880 2 9660000", PhoneNotBangladeshMobile),
            ("+880 01711000000", PhoneNotBangladeshMobile),
            ("+880 171100000", PhoneNotBangladeshMobile),
            ("880171100000", PhoneNotBangladeshMobile),
            ("+880 1211 000000", PhoneNotBangladeshMobile),
            ("+8801711000000 ext 5", PhoneInvalid),
        ];
        for (raw, want) in cases {
            assert_eq!(Phone::parse(raw), Err(want), "{raw:?}");
        }
        assert_eq!(Phone::parse(&"1".repeat(100)), Err(PhoneInvalid));
    }

    #[test]
    fn phone_masking_and_debug() {
        let phone = Phone::parse("01711-000123").unwrap();
        assert_eq!(phone.masked(), "+880*******123");
        let debug = format!("{phone:?}");
        assert_eq!(debug, r#"Phone("+880*******123")"#);
        assert!(!debug.contains("1711000123"));
        assert_eq!(Phone::parse("+12345678").unwrap().masked(), "+123**678");
    }

    #[test]
    fn mask_phone_best_effort() {
        assert_eq!(mask_phone("01711-000123"), "+880*******123");
        assert_eq!(mask_phone("1711000123"), "171****123");
        assert_eq!(mask_phone("+1 234"), "+***");
        assert_eq!(mask_phone("12345"), "***");
        assert_eq!(mask_phone(""), "***");
        assert_eq!(mask_phone("call me\n1711-000-123 x"), "171****123");
    }

    #[test]
    fn serde_round_trips_and_rejects_invalid() {
        let email: Email = serde_json::from_str(r#"" Rahima@Example.COM ""#).unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), r#""Rahima@example.com""#);
        assert!(serde_json::from_str::<Email>(r#""nope""#).is_err());
        let phone: Phone = serde_json::from_str(r#""01711-000000""#).unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+8801711000000""#);
        assert!(serde_json::from_str::<Phone>(r#""12""#).is_err());
    }

    /// A tiny deterministic generator, since no property-testing crate is
    /// available: the same inputs every run keep failures reproducible.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % bound as u64) as usize
        }

        fn word(&mut self, alphabet: &[u8], min: usize, max: usize) -> String {
            let len = min + self.next(max - min + 1);
            (0..len)
                .map(|_| char::from(alphabet[self.next(alphabet.len())]))
                .collect()
        }
    }

    #[test]
    fn property_generated_emails() {
        let local_alphabet = b"abcXYZ019._+-'";
        let label_alphabet = b"abcDEF019";
        let mut rng = Lcg(7);
        for _ in 0..500 {
            let local = rng.word(local_alphabet, 1, 20);
            let labels: Vec<String> = (0..2 + rng.next(3)).map(|_| rng.word(label_alphabet, 1, 10)).collect();
            let raw = format!("  {local}@{}\t", labels.join("."));
            let email = Email::parse(&raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            // Normalising is idempotent and keeps the local part as typed.
            assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
            assert_eq!(email.local_part(), local);
            assert_eq!(email.as_str(), email.as_str().trim());
            let domain = email.as_str().split_once('@').unwrap().1;
            assert_eq!(domain, domain.to_lowercase());
            // Masking never shows more than the first character of the local part.
            let masked = format!("{email:?}");
            assert!(masked.contains("***@"), "{masked}");
            if local.len() > 1 {
                assert!(!masked.contains(&format!("{local}@")), "{masked}");
            }
            assert_eq!(mask_email(&raw), email.masked());
            // Any inserted whitespace or second '@' is refused.
            let cut = 1 + rng.next(local.len());
            let (a, b) = email.as_str().split_at(cut);
            assert!(Email::parse(&format!("{a} {b}")).is_err());
            assert!(Email::parse(&format!("{a}@{b}")).is_err());
        }
    }

    #[test]
    fn property_generated_bangladesh_numbers() {
        let mut rng = Lcg(42);
        let separators = ["", " ", "-", ".", " - "];
        for _ in 0..500 {
            let operator = 3 + rng.next(7);
            let rest = rng.word(b"0123456789", 8, 8);
            let national = format!("01{operator}{rest}");
            let want = format!("+8801{operator}{rest}");
            let prefix = ["", "880", "+880", "00880", "+880 ", "(+880)"][rng.next(6)];
            let body = if prefix.is_empty() {
                national.clone()
            } else {
                national[1..].to_owned()
            };
            let sep = separators[rng.next(separators.len())];
            let split = 2 + rng.next(body.len() - 3);
            let raw = format!("{prefix}{}{sep}{}", &body[..split], &body[split..]);
            let phone = Phone::parse(&raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(phone.as_str(), want, "{raw:?}");
            assert_eq!(Phone::parse(phone.as_str()).as_ref(), Ok(&phone));
            let masked = format!("{phone:?}");
            assert!(!masked.contains(&rest[..5]), "{masked}");
            assert_eq!(mask_phone(&raw), phone.masked());
            // Dropping or adding a digit always fails.
            let shorter = &national[..national.len() - 1];
            assert_eq!(Phone::parse(shorter), Err(IdentityError::PhoneNotBangladeshMobile));
            assert_eq!(
                Phone::parse(&format!("{national}7")),
                Err(IdentityError::PhoneNotBangladeshMobile)
            );
        }
    }
}
