//! Limits on the staff second factor, decided from plain values.
//!
//! Wrong codes are counted per account (in PostgreSQL, see
//! `Accounts::verify_second_factor`). The [`MAX_WRONG_CODES`]th wrong code in
//! a row locks the second factor for [`LOCK_DURATION`]: while it is locked
//! every code is refused, the right one too, without being looked at. A code
//! that was already used (the same TOTP time step, or a spent recovery code)
//! is refused and counts as a wrong one: only an attacker or a double click
//! sends it twice. A right code resets the count.

use time::{Duration, OffsetDateTime};

/// Wrong codes in a row that lock the second factor.
pub const MAX_WRONG_CODES: i32 = 5;
/// How long the lock lasts.
pub const LOCK_DURATION: Duration = Duration::minutes(15);

/// What is stored about an account's recent attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Wrong codes since the last right one (or the last lock).
    pub wrong: i32,
    /// The end of the current (or of the last) lock.
    pub locked_until: Option<OffsetDateTime>,
}

/// What checking the typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// A TOTP code for a step after the last one used, or an unused recovery code.
    Valid,
    /// The right code, but used before.
    AlreadyUsed,
    /// Neither a current TOTP code nor one of the account's recovery codes.
    Wrong,
}

/// The decision, with what to tell the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let them in: use the code up.
    Accept,
    /// Locked before this attempt: refused without looking at the code.
    Locked { until: OffsetDateTime },
    /// Refused; `left` more wrong codes lock the second factor.
    Refused { already_used: bool, left: i32 },
    /// This wrong code was the last one allowed: locked from now (send the alert).
    LockedNow { until: OffsetDateTime },
}

/// Decides one attempt at `now`; returns what to store and the verdict.
pub fn decide(attempts: Attempts, now: OffsetDateTime, check: CodeCheck) -> (Attempts, Verdict) {
    if let Some(until) = attempts.locked_until
        && until > now
    {
        return (attempts, Verdict::Locked { until });
    }
    let already_used = match check {
        CodeCheck::Valid => return (Attempts::default(), Verdict::Accept),
        CodeCheck::AlreadyUsed => true,
        CodeCheck::Wrong => false,
    };
    let wrong = attempts.wrong.saturating_add(1);
    if wrong >= MAX_WRONG_CODES {
        let until = now + LOCK_DURATION;
        let locked = Attempts {
            wrong: 0,
            locked_until: Some(until),
        };
        return (locked, Verdict::LockedNow { until });
    }
    let counted = Attempts {
        wrong,
        locked_until: attempts.locked_until,
    };
    (
        counted,
        Verdict::Refused {
            already_used,
            left: MAX_WRONG_CODES - wrong,
        },
    )
}

impl Verdict {
    /// What the person reads next to the code field; `None` when accepted.
    /// `at` renders the end of a lock (e.g. `crate::alerts::when`).
    pub fn message(self, now: OffsetDateTime, at: impl Fn(OffsetDateTime) -> String) -> Option<String> {
        let locked = |until: OffsetDateTime| {
            let minutes = ((until - now).whole_seconds().max(1) + 59) / 60;
            format!(
                "Too many wrong codes: two-step verification is locked. Try again in {minutes} minute{} \
                 (after {}).",
                if minutes == 1 { "" } else { "s" },
                at(until)
            )
        };
        match self {
            Verdict::Accept => None,
            Verdict::Locked { until } | Verdict::LockedNow { until } => Some(locked(until)),
            Verdict::Refused { already_used, left } => {
                let first = if already_used {
                    "That code was already used: each code works once. Wait for the next code in your app."
                } else {
                    "That code is not right."
                };
                Some(if left <= 2 {
                    format!(
                        "{first} {left} more wrong code{} will lock two-step verification for {} minutes.",
                        if left == 1 { "" } else { "s" },
                        LOCK_DURATION.whole_minutes()
                    )
                } else {
                    first.to_owned()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        // 2026-12-07 10:00:00 UTC
        OffsetDateTime::from_unix_timestamp(1_796_637_600).unwrap()
    }

    fn stamp(at: OffsetDateTime) -> String {
        format!("{:02}:{:02} UTC", at.hour(), at.minute())
    }

    #[test]
    fn a_right_code_is_accepted_and_clears_the_count() {
        let before = Attempts {
            wrong: 4,
            locked_until: Some(now() - Duration::hours(1)),
        };
        assert_eq!(
            decide(before, now(), CodeCheck::Valid),
            (Attempts::default(), Verdict::Accept)
        );
    }

    #[test]
    fn wrong_codes_count_and_the_fifth_locks_for_fifteen_minutes() {
        let mut attempts = Attempts::default();
        for n in 1..MAX_WRONG_CODES {
            let (next, verdict) = decide(attempts, now(), CodeCheck::Wrong);
            assert_eq!(next.wrong, n);
            assert_eq!(
                verdict,
                Verdict::Refused {
                    already_used: false,
                    left: MAX_WRONG_CODES - n
                }
            );
            attempts = next;
        }
        let (locked, verdict) = decide(attempts, now(), CodeCheck::Wrong);
        let until = now() + Duration::minutes(15);
        assert_eq!(verdict, Verdict::LockedNow { until });
        assert_eq!(
            locked,
            Attempts {
                wrong: 0,
                locked_until: Some(until)
            }
        );
    }

    #[test]
    fn while_locked_even_the_right_code_is_refused_and_nothing_changes() {
        let until = now() + Duration::minutes(3);
        let locked = Attempts {
            wrong: 0,
            locked_until: Some(until),
        };
        for check in [CodeCheck::Valid, CodeCheck::Wrong, CodeCheck::AlreadyUsed] {
            assert_eq!(
                decide(locked, now(), check),
                (locked, Verdict::Locked { until }),
                "{check:?}"
            );
        }
    }

    #[test]
    fn after_the_lock_the_right_code_works_and_wrong_ones_count_afresh() {
        let locked = Attempts {
            wrong: 0,
            locked_until: Some(now()),
        };
        // The lock ends at `until` exactly.
        assert_eq!(decide(locked, now(), CodeCheck::Valid).1, Verdict::Accept);
        let (next, verdict) = decide(locked, now(), CodeCheck::Wrong);
        assert_eq!(next.wrong, 1);
        assert!(matches!(verdict, Verdict::Refused { left: 4, .. }), "{verdict:?}");
    }

    #[test]
    fn an_already_used_code_is_refused_and_counted() {
        let (next, verdict) = decide(Attempts::default(), now(), CodeCheck::AlreadyUsed);
        assert_eq!(next.wrong, 1);
        assert_eq!(
            verdict,
            Verdict::Refused {
                already_used: true,
                left: 4
            }
        );
        let four = Attempts {
            wrong: 4,
            locked_until: None,
        };
        assert!(matches!(
            decide(four, now(), CodeCheck::AlreadyUsed).1,
            Verdict::LockedNow { .. }
        ));
    }

    #[test]
    fn messages_say_what_happened_and_when_to_try_again() {
        assert_eq!(Verdict::Accept.message(now(), stamp), None);
        let until = now() + Duration::minutes(15);
        assert_eq!(
            Verdict::LockedNow { until }.message(now(), stamp).unwrap(),
            "Too many wrong codes: two-step verification is locked. Try again in 15 minutes (after 10:15 UTC)."
        );
        let soon = now() + Duration::seconds(20);
        assert!(
            Verdict::Locked { until: soon }
                .message(now(), stamp)
                .unwrap()
                .contains("Try again in 1 minute (after 10:00 UTC)")
        );
        let wrong = |already_used, left| Verdict::Refused { already_used, left }.message(now(), stamp).unwrap();
        assert_eq!(wrong(false, 4), "That code is not right.");
        assert_eq!(
            wrong(false, 1),
            "That code is not right. 1 more wrong code will lock two-step verification for 15 minutes."
        );
        assert!(wrong(true, 3).starts_with("That code was already used"));
        assert!(wrong(true, 2).ends_with("2 more wrong codes will lock two-step verification for 15 minutes."));
    }
}
