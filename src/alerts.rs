//! Security alert emails: the account's owner hears by mail when something
//! that matters to the account's safety happens — a sign-in from a new
//! device, a password change or reset, a channel connected or disconnected,
//! a suspension or its end, a staff second factor locked by wrong codes — so
//! a takeover does not go unnoticed.
//!
//! Alerts are throttled per account, so that someone who can trigger them
//! (by signing in from address after address, say) cannot flood the inbox:
//! at most one alert of a kind per [`PER_KIND_WINDOW`] and at most
//! [`HOURLY_CAP`] alerts per hour. The throttle counts the account's rows in
//! `mail_outbox` (database time), inside the caller's transaction and with
//! the account row locked, so two alerts racing each other count each other.
//!
//! An alert says what happened, when, and from where (the IP address and the
//! user agent cut to [`DEVICE_CHARS`] characters). It never holds a password,
//! a token or a link that grants anything: its links lead to pages that ask
//! the person to sign in or to request a reset themselves.

use std::net::IpAddr;

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::audit::RequestMeta;
use crate::crypto::DataKeys;
use crate::mail;

/// A successful login from a device or address the account never used before.
pub const NEW_LOGIN: &str = "new_login";
/// Too many wrong passwords locked the account (the mail carries a reset link;
/// it is sent by the login code, throttled here with the alerts).
pub const ACCOUNT_LOCKED: &str = "account_locked";
pub const PASSWORD_CHANGED: &str = "password_changed";
pub const PASSWORD_RESET: &str = "password_reset_completed";
pub const CHANNEL_CONNECTED: &str = "channel_connected";
pub const CHANNEL_DISCONNECTED: &str = "channel_disconnected";
pub const ACCOUNT_SUSPENDED: &str = "account_suspended";
pub const ACCOUNT_UNSUSPENDED: &str = "account_unsuspended";
/// Too many wrong second-factor codes locked a staff member's second factor.
pub const SECOND_FACTOR_LOCKED: &str = "second_factor_locked";

/// Every alert kind: together they share the hourly cap.
pub const KINDS: &[&str] = &[
    NEW_LOGIN,
    ACCOUNT_LOCKED,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    CHANNEL_CONNECTED,
    CHANNEL_DISCONNECTED,
    ACCOUNT_SUSPENDED,
    ACCOUNT_UNSUSPENDED,
    SECOND_FACTOR_LOCKED,
];

/// At most one alert of the same kind per account in this window.
pub const PER_KIND_WINDOW: Duration = Duration::minutes(10);
/// At most this many alerts per account in [`CAP_WINDOW`].
pub const HOURLY_CAP: i64 = 10;
pub const CAP_WINDOW: Duration = Duration::hours(1);
/// How much of the user agent an alert shows.
pub const DEVICE_CHARS: usize = 80;

/// The throttle's decision, from the account's recent alert counts.
pub fn allowed(same_kind_in_window: i64, alerts_in_last_hour: i64) -> bool {
    same_kind_in_window == 0 && alerts_in_last_hour < HOURLY_CAP
}

/// Locks the account's row and applies the throttle for one `kind` of alert.
/// Returns the address to mail when a mail may go out, `None` when it is
/// throttled or the account is gone. Call it inside the transaction that
/// enqueues the mail, so the lock holds until the mail is counted.
pub async fn permit(conn: &mut PgConnection, account: Uuid, kind: &str) -> Result<Option<String>, sqlx::Error> {
    let email: Option<String> = sqlx::query_scalar("select email from accounts where id = $1 for no key update")
        .bind(account)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(email) = email else {
        return Ok(None);
    };
    let mut kinds: Vec<&str> = KINDS.to_vec();
    if !kinds.contains(&kind) {
        kinds.push(kind);
    }
    let (same_kind, last_hour): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where kind = $2 and created_at > now() - $4), count(*) \
           from mail_outbox \
          where account_id = $1 and kind = any($3) and created_at > now() - $5",
    )
    .bind(account)
    .bind(kind)
    .bind(&kinds)
    .bind(PER_KIND_WINDOW)
    .bind(CAP_WINDOW)
    .fetch_one(&mut *conn)
    .await?;
    if allowed(same_kind, last_hour) {
        Ok(Some(email))
    } else {
        tracing::info!(account = %account, kind, "security alert throttled");
        Ok(None)
    }
}

/// Mails `account` an alert of `kind` unless the throttle holds it back;
/// returns whether a mail was queued. Runs in the caller's transaction (pass
/// one: the throttle's row lock lasts until it ends).
pub async fn alert(
    conn: &mut PgConnection,
    keys: &DataKeys,
    account: Uuid,
    kind: &str,
    subject: &str,
    body: &str,
) -> Result<bool, sqlx::Error> {
    let Some(email) = permit(conn, account, kind).await? else {
        return Ok(false);
    };
    mail::enqueue(conn, keys, Some(account), kind, &email, subject, body).await?;
    Ok(true)
}

/// Whether a successful login of `account` comes from a new device: the
/// account logged in before, but never with this IP address and user agent.
/// The very first login is not new. Call it before recording the login.
pub async fn is_new_device(conn: &mut PgConnection, account: Uuid, meta: &RequestMeta) -> Result<bool, sqlx::Error> {
    // `audit::record` stores the user agent cut to 300 characters; compare the same.
    let (logged_in_before, seen): (bool, bool) = sqlx::query_as(
        "select exists(select 1 from security_events where account_id = $1 and kind = 'login_succeeded'), \
                exists(select 1 from security_events where account_id = $1 and kind = 'login_succeeded' \
                          and ip is not distinct from $2 and user_agent is not distinct from left($3, 300))",
    )
    .bind(account)
    .bind(&meta.ip)
    .bind(&meta.user_agent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(logged_in_before && !seen)
}

/// One alert mail, built from plain facts by the functions below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

impl Message {
    /// Sends it through [`alert`], throttle included.
    pub async fn send(&self, conn: &mut PgConnection, keys: &DataKeys, account: Uuid) -> Result<bool, sqlx::Error> {
        alert(conn, keys, account, self.kind, &self.subject, &self.body).await
    }
}

/// Text from outside (a user agent, a Page name, a reason) made safe to put
/// in a mail: control characters and runs of spaces become one space, and it
/// is cut to `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() > max {
        let cut: String = joined.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        joined
    }
}

/// A coarse description of the device: its user agent, cut to [`DEVICE_CHARS`].
pub fn device(user_agent: Option<&str>) -> String {
    match user_agent.map(|ua| clean(ua, DEVICE_CHARS)) {
        Some(ua) if !ua.is_empty() => ua,
        _ => "unknown device".to_owned(),
    }
}

/// The IP address, only when it is one (anything else is not shown).
pub fn address(ip: Option<&str>) -> String {
    ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The time in Bangladesh, where our owners are, with UTC for everyone else.
pub fn when(at: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(crate::pipeline::gates::SHOP_DAY_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC);
    let local = at.to_offset(offset);
    let utc = at.to_offset(UtcOffset::UTC);
    format!(
        "{} {:02}:{:02} Bangladesh time ({:02}:{:02} UTC)",
        local.date(),
        local.hour(),
        local.minute(),
        utc.hour(),
        utc.minute()
    )
}

/// "When / Device / IP address" lines for an action someone did through a request.
pub fn request_lines(at: OffsetDateTime, meta: &RequestMeta) -> String {
    format!(
        "When: {}\nDevice: {}\nIP address: {}\n",
        when(at),
        device(meta.user_agent.as_deref()),
        address(meta.ip.as_deref())
    )
}

const NOT_YOU: &str = "If this wasn't you, someone may know your password.";

/// A login from a new device or address.
pub fn new_login(at: OffsetDateTime, meta: &RequestMeta, public_url: &str) -> Message {
    Message {
        kind: NEW_LOGIN,
        subject: "New sign-in to your BikriAgent account".to_owned(),
        body: format!(
            "Your BikriAgent account was signed in to from a device or network it had not used before.\n\n{}\n\
             If this was you, there is nothing to do.\n\n{NOT_YOU} Change it now at {public_url}/account/security \
             and end the sessions you don't recognise there, or reset it at {public_url}/forgot-password.\n",
            request_lines(at, meta)
        ),
    }
}

/// The password was changed by someone signed in.
pub fn password_changed(at: OffsetDateTime, meta: &RequestMeta, public_url: &str) -> Message {
    Message {
        kind: PASSWORD_CHANGED,
        subject: "Your BikriAgent password was changed".to_owned(),
        body: format!(
            "The password of your BikriAgent account was changed, and your other sessions were ended.\n\n{}\n\
             If this was you, there is nothing to do.\n\nIf it wasn't, someone else is signed in to your account: \
             reset your password at {public_url}/forgot-password and contact BikriAgent support.\n",
            request_lines(at, meta)
        ),
    }
}

/// A password reset was completed with a link from the mailbox.
pub fn password_reset(at: OffsetDateTime, meta: &RequestMeta, public_url: &str) -> Message {
    Message {
        kind: PASSWORD_RESET,
        subject: "Your BikriAgent password was reset".to_owned(),
        body: format!(
            "The password of your BikriAgent account was reset with a link we mailed to you, and every session \
             was ended.\n\n{}\nIf this was you, there is nothing to do.\n\nIf it wasn't, someone can read your \
             mail: secure your email account first, then reset your password again at \
             {public_url}/forgot-password and contact BikriAgent support.\n",
            request_lines(at, meta)
        ),
    }
}

/// Channels were connected to the account.
pub fn channels_connected(at: OffsetDateTime, names: &[String], meta: &RequestMeta) -> Message {
    let list: String = names.iter().map(|name| format!("- {}\n", clean(name, 100))).collect();
    Message {
        kind: CHANNEL_CONNECTED,
        subject: "A channel was connected to your BikriAgent account".to_owned(),
        body: format!(
            "These channels were connected to your BikriAgent account, so BikriAgent can now read and answer \
             their messages:\n{list}\n{}\n\
             If this wasn't you, someone is signed in to your account: disconnect them on the Channels page, \
             change your password and contact BikriAgent support.\n",
            request_lines(at, meta)
        ),
    }
}

/// Who disconnected a channel.
#[derive(Debug, Clone, Copy)]
pub enum DisconnectedBy<'a> {
    /// The owner (or someone signed in as the owner), through this request.
    Owner(&'a RequestMeta),
    /// BikriAgent staff.
    Staff,
    /// Meta told us the Facebook user who connected it removed our app or
    /// asked for their data to be deleted.
    Meta,
}

/// A channel was disconnected and its access deleted.
pub fn channel_disconnected(at: OffsetDateTime, name: &str, by: DisconnectedBy<'_>) -> Message {
    let how = match by {
        DisconnectedBy::Owner(meta) => format!(
            "{}\nIf this wasn't you, someone is signed in to your account: change your password and contact \
             BikriAgent support.\n",
            request_lines(at, meta)
        ),
        DisconnectedBy::Staff => format!("When: {}\nBikriAgent staff disconnected it.\n", when(at)),
        DisconnectedBy::Meta => format!(
            "When: {}\nMeta told us the Facebook account that connected it removed BikriAgent's access or asked \
             for its data to be deleted.\n",
            when(at)
        ),
    };
    Message {
        kind: CHANNEL_DISCONNECTED,
        subject: "A channel was disconnected from your BikriAgent account".to_owned(),
        body: format!(
            "This channel was disconnected from your BikriAgent account, and the access Meta gave us for it was \
             deleted; BikriAgent no longer reads or answers its messages:\n- {}\n\n{how}",
            clean(name, 100)
        ),
    }
}

/// Staff suspended the account.
pub fn suspended(at: OffsetDateTime, reason: &str) -> Message {
    Message {
        kind: ACCOUNT_SUSPENDED,
        subject: "Your BikriAgent account was suspended".to_owned(),
        body: format!(
            "Your BikriAgent account was suspended on {}. Automatic replies are stopped, every session was ended \
             and you cannot sign in until the suspension is lifted.\n\nReason: {}\n\n\
             If you think this is a mistake, reply to BikriAgent support with this reason.\n",
            when(at),
            clean(reason, 500)
        ),
    }
}

/// Staff lifted the suspension.
pub fn unsuspended(at: OffsetDateTime, public_url: &str) -> Message {
    Message {
        kind: ACCOUNT_UNSUSPENDED,
        subject: "Your BikriAgent account is no longer suspended".to_owned(),
        body: format!(
            "The suspension of your BikriAgent account was lifted on {}. You can sign in again at \
             {public_url}/login.\n",
            when(at)
        ),
    }
}

/// Wrong second-factor codes locked a staff member's two-step verification:
/// whoever typed them knew the password.
pub fn second_factor_locked(
    at: OffsetDateTime,
    until: OffsetDateTime,
    meta: &RequestMeta,
    public_url: &str,
) -> Message {
    Message {
        kind: SECOND_FACTOR_LOCKED,
        subject: "Wrong two-step codes: your BikriAgent staff sign-in is locked".to_owned(),
        body: format!(
            "Someone signed in to your BikriAgent staff account with your password, then entered \
             {} wrong two-step verification codes, so two-step verification is locked until {}.\n\n{}\n\
             If this was you, wait and try again with the newest code from your app.\n\n\
             If it wasn't, someone knows your password: change it now at {public_url}/account/security, \
             end the sessions you don't recognise there, and tell an admin.\n",
            crate::auth::second_factor::MAX_WRONG_CODES,
            when(until),
            request_lines(at, meta)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> OffsetDateTime {
        // 2026-11-23 10:05 UTC
        OffsetDateTime::from_unix_timestamp(1_795_428_300).unwrap()
    }

    fn meta(ip: &str, ua: &str) -> RequestMeta {
        RequestMeta {
            ip: Some(ip.to_owned()),
            user_agent: Some(ua.to_owned()),
        }
    }

    #[test]
    fn the_throttle_allows_one_per_kind_and_ten_an_hour() {
        assert!(allowed(0, 0));
        assert!(allowed(0, HOURLY_CAP - 1));
        assert!(!allowed(1, 1), "one of a kind per window");
        assert!(!allowed(0, HOURLY_CAP), "the hourly cap");
    }

    #[test]
    fn every_kind_is_distinct_and_none_is_a_link_mail() {
        let mut kinds = KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len());
        for link_mail in ["verify_email", "reset_password", "signup_existing"] {
            assert!(!KINDS.contains(&link_mail), "{link_mail} is not throttled as an alert");
        }
    }

    #[test]
    fn the_device_is_the_user_agent_cut_to_80_characters_on_one_line() {
        let long = format!("Mozilla/5.0 (X11; Linux)\r\nSubject: phish {}", "x".repeat(200));
        let shown = device(Some(&long));
        assert_eq!(shown.chars().count(), DEVICE_CHARS);
        assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
        assert!(shown.starts_with("Mozilla/5.0 (X11; Linux) Subject: phish x"));
        assert!(shown.ends_with('…'));
        assert_eq!(device(Some("curl/8.0")), "curl/8.0");
        assert_eq!(device(None), "unknown device");
        assert_eq!(device(Some(" \t")), "unknown device");
    }

    #[test]
    fn only_an_ip_address_is_shown_as_one() {
        assert_eq!(address(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(address(Some("2001:db8::1")), "2001:db8::1");
        assert_eq!(address(Some("evil.example\nSubject: x")), "unknown");
        assert_eq!(address(None), "unknown");
    }

    #[test]
    fn times_are_in_bangladesh_and_utc() {
        assert_eq!(when(at()), "2026-11-23 16:05 Bangladesh time (10:05 UTC)");
    }

    #[test]
    fn a_new_login_alert_says_when_what_and_where_and_nothing_secret() {
        let message = new_login(at(), &meta("203.0.113.7", "Firefox/140"), "https://bikri.example");
        assert_eq!(message.kind, NEW_LOGIN);
        for part in [
            "When: 2026-11-23 16:05",
            "Device: Firefox/140",
            "IP address: 203.0.113.7",
            "https://bikri.example/account/security",
        ] {
            assert!(message.body.contains(part), "{part} in {}", message.body);
        }
        assert!(!message.body.contains("token="), "no link grants anything");
    }

    #[test]
    fn alerts_about_channels_and_suspension_name_what_changed() {
        let connected = channels_connected(
            at(),
            &[
                "Rahima Fashion House (Facebook Page)".to_owned(),
                "@rahima (Instagram)".to_owned(),
            ],
            &meta("203.0.113.7", "Firefox/140"),
        );
        assert!(
            connected
                .body
                .contains("- Rahima Fashion House (Facebook Page)\n- @rahima (Instagram)\n")
        );
        let by_owner = channel_disconnected(
            at(),
            "Shop\nPage",
            DisconnectedBy::Owner(&meta("203.0.113.7", "Safari")),
        );
        assert!(by_owner.body.contains("- Shop Page\n"), "{}", by_owner.body);
        assert!(by_owner.body.contains("IP address: 203.0.113.7"));
        let by_staff = channel_disconnected(at(), "Shop", DisconnectedBy::Staff);
        assert!(by_staff.body.contains("BikriAgent staff"));
        assert!(!by_staff.body.contains("IP address"), "staff addresses are not shown");
        let suspension = suspended(at(), "Selling counterfeit goods");
        assert!(suspension.body.contains("Reason: Selling counterfeit goods"));
        assert!(!suspension.body.contains("IP address"));
        assert!(
            unsuspended(at(), "https://b.example")
                .body
                .contains("https://b.example/login")
        );
    }

    #[test]
    fn a_second_factor_lock_alert_says_until_when_and_from_where() {
        let until = at() + Duration::minutes(15);
        let message = second_factor_locked(at(), until, &meta("203.0.113.9", "curl/8.0"), "https://b.example");
        assert_eq!(message.kind, SECOND_FACTOR_LOCKED);
        for part in [
            "5 wrong two-step verification codes",
            "locked until 2026-11-23 16:20 Bangladesh time (10:20 UTC)",
            "IP address: 203.0.113.9",
            "Device: curl/8.0",
            "https://b.example/account/security",
        ] {
            assert!(message.body.contains(part), "{part} in {}", message.body);
        }
    }

    #[test]
    fn clean_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clean("  a \u{7} b  ", 10), "a b");
        assert_eq!(clean("abcdef", 4), "abc…");
        assert_eq!(clean("", 4), "");
    }
}
