//! Page numbers of paged lists (products, inbox, audit log).
//!
//! A page number comes from the query string, so it can be anything: empty,
//! zero, negative, `9223372036854775807` or `abc`. [`Page`] holds only
//! 1..=[`MAX_PAGE`], and its offset is computed without overflow, so no
//! value reaches SQL as a negative or wrapped offset.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The last page any list shows: far beyond any real list, small enough
/// that `page × per_page` stays a modest number.
pub const MAX_PAGE: u32 = 10_000;

/// A page number, 1-based, between 1 and [`MAX_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "i64", from = "i64")]
pub struct Page(u32);

impl Page {
    pub const FIRST: Page = Page(1);
    pub const LAST: Page = Page(MAX_PAGE);

    /// `n` clamped to 1..=[`MAX_PAGE`].
    pub fn new(n: i64) -> Page {
        Page(n.clamp(1, i64::from(MAX_PAGE)) as u32)
    }

    /// The `page` query parameter: missing, empty or not a number is the
    /// first page; a number is clamped, however many digits it has.
    pub fn parse(raw: Option<&str>) -> Page {
        let raw = raw.unwrap_or_default().trim();
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, raw.strip_prefix('+').unwrap_or(raw)),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Page::FIRST;
        }
        match (negative, digits.parse::<i64>()) {
            (true, _) => Page::FIRST,
            (false, Ok(n)) => Page::new(n),
            // More digits than an i64 holds.
            (false, Err(_)) => Page::LAST,
        }
    }

    pub fn number(self) -> u32 {
        self.0
    }

    /// How many rows come before this page, at `per_page` rows a page.
    pub fn offset(self, per_page: i64) -> i64 {
        (i64::from(self.0) - 1).saturating_mul(per_page.max(0))
    }

    /// The page after this one, unless this is the last.
    pub fn next(self) -> Option<Page> {
        (self.0 < MAX_PAGE).then(|| Page(self.0 + 1))
    }

    /// The page before this one, unless this is the first.
    pub fn previous(self) -> Option<Page> {
        (self.0 > 1).then(|| Page(self.0 - 1))
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::FIRST
    }
}

impl From<i64> for Page {
    fn from(n: i64) -> Self {
        Page::new(n)
    }
}

impl From<Page> for i64 {
    fn from(page: Page) -> Self {
        i64::from(page.0)
    }
}

impl fmt::Display for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_query_value_becomes_a_page_between_the_first_and_the_last() {
        let cases = [
            (None, 1),
            (Some(""), 1),
            (Some("abc"), 1),
            (Some("1.5"), 1),
            (Some("0x10"), 1),
            (Some("0"), 1),
            (Some("-1"), 1),
            (Some("-9223372036854775808"), 1),
            (Some("-99999999999999999999999"), 1),
            (Some("1"), 1),
            (Some(" 7 "), 7),
            (Some("+3"), 3),
            (Some("10000"), 10_000),
            (Some("10001"), 10_000),
            (Some("9223372036854775807"), 10_000),
            (Some("99999999999999999999999999999"), 10_000),
            (Some("1e3"), 1),
            (Some("--1"), 1),
            (Some("٣"), 1),
        ];
        for (raw, expected) in cases {
            assert_eq!(Page::parse(raw).number(), expected, "{raw:?}");
        }
    }

    #[test]
    fn offsets_never_go_negative_or_wrap() {
        assert_eq!(Page::FIRST.offset(50), 0);
        assert_eq!(Page::new(3).offset(50), 100);
        assert_eq!(Page::LAST.offset(100), 999_900);
        assert_eq!(Page::LAST.offset(i64::MAX), i64::MAX);
        assert_eq!(Page::new(2).offset(-5), 0);
        for n in [i64::MIN, -1, 0, 1, 2, i64::MAX] {
            let page = Page::new(n);
            assert!((1..=MAX_PAGE).contains(&page.number()), "{n}");
            assert!(page.offset(100) >= 0, "{n}");
        }
    }

    #[test]
    fn next_and_previous_stay_in_range() {
        assert_eq!(Page::FIRST.previous(), None);
        assert_eq!(Page::FIRST.next(), Some(Page::new(2)));
        assert_eq!(Page::new(2).previous(), Some(Page::FIRST));
        assert_eq!(Page::LAST.next(), None);
        assert_eq!(Page::LAST.to_string(), "10000");
    }
}
