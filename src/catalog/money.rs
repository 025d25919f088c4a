//! Exact money for the catalog: integer minor units (poisha, 1/100 taka).
//!
//! Prices are what the reply engine quotes to customers, so they must never
//! drift the way binary floats do: 1250.10 has to stay 125010 poisha. Parsing is
//! forgiving about how shop owners type amounts (Bangla digits, `৳`, `Tk`,
//! `টাকা`, thousands commas) and strict about anything that is not a number.

use serde::{Deserialize, Serialize};

/// An amount in minor units (poisha for BDT), so arithmetic is exact.
///
/// It is signed because a variant's price difference may be negative; prices
/// themselves are never negative (see [`parse_money`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Money(i64);

impl Money {
    /// Nothing: the default delivery charge and variant price difference.
    pub const ZERO: Money = Money(0);

    /// The largest amount an owner may enter, ৳100,000,000.00, so a stray
    /// extra digit is caught instead of being quoted to a customer.
    pub const MAX_AMOUNT: Money = Money(10_000_000_000);

    /// Wraps minor units read from the database or computed elsewhere.
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// The amount in minor units, as stored in `*_minor` columns.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Adds two amounts; `None` instead of wrapping on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Subtracts `other`; `None` instead of wrapping on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Multiplies by a quantity (line totals); `None` instead of wrapping on overflow.
    pub fn checked_mul(self, qty: i64) -> Option<Money> {
        self.0.checked_mul(qty).map(Money)
    }
}

/// Why an amount an owner typed was refused; the message is shown to them as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing but spaces or a currency marker was entered.
    #[error("Enter a price like 1250 or 1,250.50.")]
    Empty,
    /// A price below zero; only variant price differences may be negative.
    #[error("A price can't be negative. Enter a price like 1250 or 1,250.50.")]
    Negative,
    /// More than two digits after the decimal point (poisha are the smallest unit).
    #[error("Use at most 2 digits after the decimal point, like 1,250.50.")]
    TooManyDecimals,
    /// Letters, spaces inside the number, several dots and the like.
    #[error("Enter a price like 1250 or 1,250.50, using only digits, commas and one decimal point.")]
    Invalid,
    /// Above [`Money::MAX_AMOUNT`].
    #[error("That amount is too large. The most allowed is ৳100,000,000.")]
    TooLarge,
}

/// Currency words and signs owners put before or after the amount. Compared
/// ignoring ASCII case; longer spellings come first so `Tk.` wins over `Tk`.
const CURRENCY_MARKERS: [&str; 6] = ["৳", "bdt", "taka", "tk.", "tk", "টাকা"];

/// Parses a price as a shop owner types it, e.g. `1,250.50`, `৳1,250`,
/// `Tk 1250`, `1250 taka`, `১,২৫০.৫০` or `১২৫০ টাকা`.
///
/// Commas are stripped loosely (Bangladeshi lakh grouping `1,25,000` is as
/// common as `125,000`), and the customary `/-` suffix (`Tk 1250/-`) is
/// accepted. Anything else that is not a digit or one decimal point is refused,
/// as are negative amounts, more than 2 decimals and amounts above
/// [`Money::MAX_AMOUNT`].
pub fn parse_money(input: &str) -> Result<Money, MoneyError> {
    let body = strip_currency(input);
    if body.starts_with(['-', '\u{2212}']) {
        return Err(MoneyError::Negative);
    }
    parse_unsigned(body)
}

/// Parses an amount that may be negative, such as a variant's price
/// difference (`-50`, `+100`, `-৳50`, `৳-50`), with the same rules as
/// [`parse_money`] otherwise.
pub fn parse_signed_money(input: &str) -> Result<Money, MoneyError> {
    let (outer_negative, rest) = split_sign(input.trim());
    let (inner_negative, body) = split_sign(strip_currency(rest));
    if (outer_negative.is_some() && inner_negative.is_some()) || body.starts_with(['-', '+', '\u{2212}']) {
        return Err(MoneyError::Invalid);
    }
    let amount = parse_unsigned(body)?;
    if outer_negative.or(inner_negative).unwrap_or(false) {
        Ok(Money(-amount.0))
    } else {
        Ok(amount)
    }
}

/// Formats for people: for BDT `৳1,250` when whole and `৳1,250.50` otherwise;
/// for any other currency code `1,250.50 USD` (the code after the amount, as
/// there is no symbol we can rely on). Negative amounts get a leading `-`.
pub fn format_money(m: Money, currency: &str) -> String {
    let sign = if m.0 < 0 { "-" } else { "" };
    let number = grouped(m.0.unsigned_abs());
    let currency = currency.trim();
    if currency.eq_ignore_ascii_case("BDT") {
        format!("{sign}৳{number}")
    } else if currency.is_empty() {
        format!("{sign}{number}")
    } else {
        format!("{sign}{number} {}", currency.to_ascii_uppercase())
    }
}

/// Formats without grouping or symbol, `1250` or `1250.50`: the exact form the
/// reply engine quotes and the safety filter recognises as a catalog price.
pub fn format_plain(m: Money) -> String {
    let sign = if m.0 < 0 { "-" } else { "" };
    let abs = m.0.unsigned_abs();
    let (whole, fraction) = (abs / 100, abs % 100);
    if fraction == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction:02}")
    }
}

/// `125050` → `1,250.50`, `125000` → `1,250`: whole units grouped by
/// thousands, fraction only when there is one.
fn grouped(abs_minor: u64) -> String {
    let (whole, fraction) = (abs_minor / 100, abs_minor % 100);
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if fraction != 0 {
        out.push_str(&format!(".{fraction:02}"));
    }
    out
}

/// The value of an ASCII or Bangla (U+09E6..U+09EF) decimal digit.
pub(crate) fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{09E6}'..='\u{09EF}' => Some(c as u32 - 0x09E6),
        _ => None,
    }
}

/// Splits off one leading `+`/`-` (or the Unicode minus people paste from
/// documents); `Some(true)` means negative.
fn split_sign(s: &str) -> (Option<bool>, &str) {
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
        (Some(true), rest.trim_start())
    } else if let Some(rest) = s.strip_prefix('+') {
        (Some(false), rest.trim_start())
    } else {
        (None, s)
    }
}

/// Removes surrounding spaces, at most one currency marker in front, and at
/// most one marker and one `/-` behind, leaving what should be the number.
fn strip_currency(input: &str) -> &str {
    let mut s = input.trim();
    if let Some(rest) = CURRENCY_MARKERS.iter().find_map(|m| strip_prefix_ascii_ci(s, m)) {
        s = rest.trim_start();
    }
    let (mut marker_done, mut dash_done) = (false, false);
    loop {
        s = s.trim_end();
        if !dash_done && let Some(rest) = s.strip_suffix("/-") {
            s = rest;
            dash_done = true;
        } else if !marker_done && let Some(rest) = CURRENCY_MARKERS.iter().find_map(|m| strip_suffix_ascii_ci(s, m)) {
            s = rest;
            marker_done = true;
        } else {
            return s;
        }
    }
}

fn strip_prefix_ascii_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn strip_suffix_ascii_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

/// Digits (ASCII or Bangla) with loose commas in the whole part and an
/// optional `.` followed by one or two digits.
fn parse_unsigned(body: &str) -> Result<Money, MoneyError> {
    if body.is_empty() {
        return Err(MoneyError::Empty);
    }
    let (whole_part, fraction_part) = match body.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    let mut whole: i64 = 0;
    let mut saw_digit = false;
    for c in whole_part.chars() {
        if c == ',' {
            continue;
        }
        let digit = digit_value(c).ok_or(MoneyError::Invalid)?;
        saw_digit = true;
        whole = whole
            .checked_mul(10)
            .and_then(|w| w.checked_add(i64::from(digit)))
            .ok_or(MoneyError::TooLarge)?;
    }
    if !saw_digit {
        return Err(MoneyError::Invalid);
    }
    let fraction = match fraction_part {
        None => 0,
        Some(fraction_part) => {
            let digits: Vec<u32> = fraction_part
                .chars()
                .map(digit_value)
                .collect::<Option<_>>()
                .ok_or(MoneyError::Invalid)?;
            match digits.as_slice() {
                // "1250." is more likely a lost digit than a whole amount.
                [] => return Err(MoneyError::Invalid),
                [tens] => i64::from(*tens) * 10,
                [tens, ones] => i64::from(*tens) * 10 + i64::from(*ones),
                _ => return Err(MoneyError::TooManyDecimals),
            }
        }
    };
    let minor = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or(MoneyError::TooLarge)?;
    if minor > Money::MAX_AMOUNT.0 {
        return Err(MoneyError::TooLarge);
    }
    Ok(Money(minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_what_owners_type() {
        let cases: &[(&str, i64)] = &[
            ("1250", 125_000),
            ("1,250", 125_000),
            ("1250.5", 125_050),
            ("1250.50", 125_050),
            ("1250.05", 125_005),
            (" ৳1,250 ", 125_000),
            ("৳ 1,250.50", 125_050),
            ("Tk 1250", 125_000),
            ("tk1250", 125_000),
            ("Tk. 1,250", 125_000),
            ("TK 1250/-", 125_000),
            ("1250/-", 125_000),
            ("BDT 1,250.00", 125_000),
            ("bdt1250", 125_000),
            ("1250 BDT", 125_000),
            ("1250 taka", 125_000),
            ("1250 Taka", 125_000),
            ("1250tk", 125_000),
            ("1250৳", 125_000),
            ("১২৫০", 125_000),
            ("১,২৫০.৫০", 125_050),
            ("১২৫০ টাকা", 125_000),
            ("টাকা ১২৫০", 125_000),
            ("৳১,২৫০", 125_000),
            ("1,25,000", 12_500_000),
            ("0", 0),
            ("0.01", 1),
            ("007", 700),
            ("100,000,000", 10_000_000_000),
            ("100000000.00", 10_000_000_000),
        ];
        for (input, minor) in cases {
            assert_eq!(parse_money(input), Ok(Money::from_minor(*minor)), "input {input:?}");
        }
    }

    #[test]
    fn parse_rejects_with_reasons() {
        let cases: &[(&str, MoneyError)] = &[
            ("", MoneyError::Empty),
            ("   ", MoneyError::Empty),
            ("৳", MoneyError::Empty),
            ("Tk ", MoneyError::Empty),
            ("-50", MoneyError::Negative),
            ("-৳50", MoneyError::Negative),
            ("৳-50", MoneyError::Negative),
            ("\u{2212}50", MoneyError::Negative),
            ("1250.505", MoneyError::TooManyDecimals),
            ("1250.500", MoneyError::TooManyDecimals),
            ("12.50.5", MoneyError::Invalid),
            ("1.2.3", MoneyError::Invalid),
            ("1250.", MoneyError::Invalid),
            (".50", MoneyError::Invalid),
            (",", MoneyError::Invalid),
            ("abc", MoneyError::Invalid),
            ("12a0", MoneyError::Invalid),
            ("1250 dollars", MoneyError::Invalid),
            ("$1250", MoneyError::Invalid),
            ("1 250", MoneyError::Invalid),
            ("1250.5a", MoneyError::Invalid),
            ("1250.5,0", MoneyError::Invalid),
            ("+50", MoneyError::Invalid),
            ("1e3", MoneyError::Invalid),
            ("NaN", MoneyError::Invalid),
            ("Tk Tk 50", MoneyError::Invalid),
            ("50 tk tk", MoneyError::Invalid),
            ("100000000.01", MoneyError::TooLarge),
            ("100,000,001", MoneyError::TooLarge),
            ("99999999999999999999999", MoneyError::TooLarge),
        ];
        for (input, error) in cases {
            assert_eq!(parse_money(input), Err(*error), "input {input:?}");
        }
    }

    #[test]
    fn errors_read_as_advice() {
        assert_eq!(MoneyError::Empty.to_string(), "Enter a price like 1250 or 1,250.50.");
        assert!(
            MoneyError::Invalid
                .to_string()
                .starts_with("Enter a price like 1250 or 1,250.50")
        );
    }

    #[test]
    fn signed_amounts_for_price_differences() {
        let cases: &[(&str, i64)] = &[
            ("-50", -5_000),
            ("- 50", -5_000),
            ("+100", 10_000),
            ("100", 10_000),
            ("-৳50.50", -5_050),
            ("৳-50", -5_000),
            ("\u{2212}20", -2_000),
            ("-১০০", -10_000),
            ("0", 0),
        ];
        for (input, minor) in cases {
            assert_eq!(
                parse_signed_money(input),
                Ok(Money::from_minor(*minor)),
                "input {input:?}"
            );
        }
        assert_eq!(parse_signed_money("--50"), Err(MoneyError::Invalid));
        assert_eq!(parse_signed_money("-৳-50"), Err(MoneyError::Invalid));
        assert_eq!(parse_signed_money("-"), Err(MoneyError::Empty));
        assert_eq!(parse_signed_money("-100000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(parse_signed_money("-1.234"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn formatting() {
        let m = Money::from_minor;
        assert_eq!(format_money(m(125_000), "BDT"), "৳1,250");
        assert_eq!(format_money(m(125_050), "BDT"), "৳1,250.50");
        assert_eq!(format_money(m(125_005), "bdt"), "৳1,250.05");
        assert_eq!(format_money(m(0), "BDT"), "৳0");
        assert_eq!(format_money(m(5), "BDT"), "৳0.05");
        assert_eq!(format_money(m(99_900), "BDT"), "৳999");
        assert_eq!(format_money(m(100_000), "BDT"), "৳1,000");
        assert_eq!(format_money(m(10_000_000_000), "BDT"), "৳100,000,000");
        assert_eq!(format_money(m(123_456_789), "BDT"), "৳1,234,567.89");
        assert_eq!(format_money(m(-5_000), "BDT"), "-৳50");
        assert_eq!(format_money(m(125_050), "USD"), "1,250.50 USD");
        assert_eq!(format_money(m(125_000), "usd"), "1,250 USD");
        assert_eq!(format_money(m(-125_050), "USD"), "-1,250.50 USD");
        assert_eq!(format_money(m(125_050), ""), "1,250.50");

        assert_eq!(format_plain(m(125_000)), "1250");
        assert_eq!(format_plain(m(125_050)), "1250.50");
        assert_eq!(format_plain(m(125_005)), "1250.05");
        assert_eq!(format_plain(m(0)), "0");
        assert_eq!(format_plain(m(7)), "0.07");
        assert_eq!(format_plain(m(-5_050)), "-50.50");
        assert_eq!(format_plain(m(i64::MIN)), "-92233720368547758.08");
    }

    #[test]
    fn arithmetic_never_overflows() {
        let max = Money::from_minor(i64::MAX);
        let min = Money::from_minor(i64::MIN);
        let one = Money::from_minor(1);
        assert_eq!(max.checked_add(one), None);
        assert_eq!(min.checked_sub(one), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(min.checked_mul(-1), None);
        assert_eq!(
            Money::from_minor(125_050).checked_add(Money::from_minor(50)),
            Some(Money::from_minor(125_100))
        );
        assert_eq!(
            Money::from_minor(100).checked_sub(Money::from_minor(150)),
            Some(Money::from_minor(-50))
        );
        assert_eq!(
            Money::from_minor(125_050).checked_mul(3),
            Some(Money::from_minor(375_150))
        );
        assert_eq!(Money::ZERO.minor(), 0);
        assert!(Money::from_minor(1) > Money::ZERO);
    }

    #[test]
    fn serializes_as_plain_minor_units() {
        let json = serde_json::to_string(&Money::from_minor(125_050)).unwrap();
        assert_eq!(json, "125050");
        assert_eq!(serde_json::from_str::<Money>("-50").unwrap(), Money::from_minor(-50));
    }

    #[test]
    fn formatted_amounts_parse_back_exactly() {
        // Deterministic pseudo-random values (an LCG) plus edges, so the
        // property holds across digit counts and fractions without a crate.
        let mut values: Vec<i64> = (0..=2_000).collect();
        values.extend([
            99,
            100,
            101,
            99_999,
            100_000,
            100_001,
            Money::MAX_AMOUNT.minor() - 1,
            Money::MAX_AMOUNT.minor(),
        ]);
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bound = u64::try_from(Money::MAX_AMOUNT.minor()).unwrap() + 1;
            // Vary the magnitude so small prices are as common as huge ones.
            let digits = u32::try_from((state >> 59) % 11).unwrap();
            let cap = 10u64.pow(digits).min(bound);
            values.push(i64::try_from((state >> 7) % cap).unwrap());
        }
        for v in values {
            let m = Money::from_minor(v);
            assert_eq!(parse_money(&format_plain(m)), Ok(m), "plain {v}");
            assert_eq!(parse_money(&format_money(m, "BDT")), Ok(m), "BDT {v}");
            assert_eq!(
                parse_signed_money(&format_plain(Money::from_minor(-v))),
                Ok(Money::from_minor(-v)),
                "signed {v}"
            );
        }
    }
}
