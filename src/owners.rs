//! The owner lifecycle and what staff do with it: states, what each state
//! may do, payment verification (by hand or by Stripe), trial allowances,
//! per-owner limits, the owner review list with its risk signals, and the
//! global kill switch.
//!
//! An owner's state is derived from the account (see the migration):
//! `pending_verification` → `trial` (email verified) → `verified` (payment
//! verified) → `suspended` (by staff, reversible, with a reason).

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{self, AuditKind, RequestMeta};
use crate::auth::authority::{AuthorityError, authorize};
use crate::crypto::DataKeys;
use crate::input::page::Page;
use crate::input::text::{Shape, strip_controls};
use crate::mail;
use crate::pipeline::gates::SendLimits;

/// Why a lifecycle action failed.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error("not found")]
    NotFound,
    /// Bad input from staff, with a message meant for them.
    #[error("{0}")]
    Invalid(String),
    /// The staff member may not act on this account (see
    /// [`crate::auth::authority`]), with the message for them.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AuthorityError> for OwnerError {
    fn from(error: AuthorityError) -> Self {
        match error {
            AuthorityError::NotFound => OwnerError::NotFound,
            AuthorityError::Refused(refusal) => OwnerError::Refused(refusal.to_string()),
            AuthorityError::Database(error) => OwnerError::Database(error),
        }
    }
}

/// Where an owner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerState {
    PendingVerification,
    Trial,
    Verified,
    Suspended,
}

impl OwnerState {
    /// Derives the state from the account's columns.
    pub fn of(status: &str, email_verified: bool, payment_verified: bool) -> OwnerState {
        if status == "suspended" {
            OwnerState::Suspended
        } else if !email_verified {
            OwnerState::PendingVerification
        } else if payment_verified {
            OwnerState::Verified
        } else {
            OwnerState::Trial
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OwnerState::PendingVerification => "pending_verification",
            OwnerState::Trial => "trial",
            OwnerState::Verified => "verified",
            OwnerState::Suspended => "suspended",
        }
    }

    /// What the owner reads about where they stand and what unlocks the next step.
    pub fn explain(self) -> &'static str {
        match self {
            OwnerState::PendingVerification => {
                "Confirm your email address to start your trial: the link is in the mail we sent you."
            }
            OwnerState::Trial => {
                "Trial: your catalog, reply rules, playground and sandbox chat work fully. Connecting a real \
                 channel and automatic replies there start once your payment is verified (pay by card, or by \
                 bKash/Nagad and our staff confirm it)."
            }
            OwnerState::Verified => "Verified: your channels and automatic replies are live, within your daily limits.",
            OwnerState::Suspended => {
                "Suspended: automatic replies are stopped and you cannot log in. Contact BikriAgent support."
            }
        }
    }
}

/// What staff granted a trial owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub channels: i32,
    pub daily_replies: i32,
}

/// Staff overrides of the daily limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverrides {
    pub owner_daily: Option<i32>,
    pub channel_daily: Option<i32>,
}

/// What an owner in a state may do on live (Meta) channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// How many live channels may be connected.
    pub live_channels: i64,
    /// Whether automatic replies may go out on live channels at all.
    pub auto_send: bool,
    pub limits: SendLimits,
}

/// The most live channels a verified owner may connect.
pub const VERIFIED_CHANNELS: i64 = 20;

/// What `state` may do, with staff's allowance and overrides on top of the
/// platform's default limits. Pure, so every state's rights are tested.
pub fn permissions(
    state: OwnerState,
    allowance: Allowance,
    overrides: LimitOverrides,
    defaults: SendLimits,
) -> Permissions {
    let none = Permissions {
        live_channels: 0,
        auto_send: false,
        limits: SendLimits {
            owner_daily: 0,
            channel_daily: 0,
            ..defaults
        },
    };
    let owner_daily = |default: i64| overrides.owner_daily.map_or(default, i64::from);
    let channel_daily = |default: i64| overrides.channel_daily.map_or(default, i64::from);
    match state {
        OwnerState::PendingVerification | OwnerState::Suspended => none,
        OwnerState::Trial if allowance.channels == 0 && allowance.daily_replies == 0 => none,
        OwnerState::Trial => {
            let daily = i64::from(allowance.daily_replies);
            Permissions {
                live_channels: i64::from(allowance.channels),
                auto_send: daily > 0,
                limits: SendLimits {
                    owner_daily: owner_daily(daily).min(daily),
                    channel_daily: channel_daily(daily).min(daily),
                    ..defaults
                },
            }
        }
        OwnerState::Verified => Permissions {
            live_channels: VERIFIED_CHANNELS,
            auto_send: true,
            limits: SendLimits {
                owner_daily: owner_daily(defaults.owner_daily),
                channel_daily: channel_daily(defaults.channel_daily),
                ..defaults
            },
        },
    }
}

/// An owner's standing, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub state: OwnerState,
    pub allowance: Allowance,
    pub overrides: LimitOverrides,
}

#[derive(sqlx::FromRow)]
struct StandingRow {
    status: String,
    email_verified: bool,
    payment_verified: bool,
    trial_channels: i32,
    trial_daily_replies: i32,
    owner_daily_limit: Option<i32>,
    channel_daily_limit: Option<i32>,
}

/// Reads an owner's standing (accounts is global: any connection will do).
pub async fn standing(conn: &mut PgConnection, owner: Uuid) -> Result<Standing, OwnerError> {
    let row: StandingRow = sqlx::query_as(
        "select status, email_verified_at is not null as email_verified, payment_verified_at is not null as payment_verified, \
                trial_channels, trial_daily_replies, owner_daily_limit, channel_daily_limit \
           from accounts where id = $1 and role = 'owner'",
    )
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(OwnerError::NotFound)?;
    Ok(Standing {
        state: OwnerState::of(&row.status, row.email_verified, row.payment_verified),
        allowance: Allowance {
            channels: row.trial_channels,
            daily_replies: row.trial_daily_replies,
        },
        overrides: LimitOverrides {
            owner_daily: row.owner_daily_limit,
            channel_daily: row.channel_daily_limit,
        },
    })
}

/// Whether connecting `chosen` (`platform:meta_id` keys; reconnecting a
/// channel the owner already has counts once) stays within what the owner's
/// state allows. `Err` carries the message for the owner.
pub async fn may_connect(pool: &PgPool, owner: Uuid, chosen: &[String]) -> Result<Result<(), String>, OwnerError> {
    let mut tx = crate::tenancy::begin_tenant_tx(pool, crate::tenancy::OwnerId::from_verified(owner)).await?;
    let standing = standing(&mut tx, owner).await?;
    let live: Vec<String> = sqlx::query_scalar(
        "select platform::text || ':' || meta_id from channels \
          where owner_id = $1 and status <> 'disconnected' and platform <> 'sandbox'",
    )
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let allowed = permissions(
        standing.state,
        standing.allowance,
        standing.overrides,
        SendLimits::default(),
    )
    .live_channels;
    let kept = live.iter().filter(|key| !chosen.contains(key)).count() as i64;
    let wanted = kept + chosen.len() as i64;
    Ok(if allowed == 0 {
        Err(match standing.state {
            OwnerState::Trial => {
                "Connecting a real channel needs a verified payment. Until then, try your agent in the \
                                  playground and the sandbox chat."
                    .to_owned()
            }
            _ => "Your account cannot connect channels now.".to_owned(),
        })
    } else if wanted > allowed {
        Err(format!(
            "Your account may have {allowed} live channel(s); you have {} already.",
            live.len()
        ))
    } else {
        Ok(())
    })
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct Payment<'a> {
    pub amount_minor: i64,
    pub currency: &'a str,
    /// `stripe`, `bkash`, `nagad`, `rocket`, `bank`, `cash` or `other`.
    pub method: &'a str,
    pub reference: &'a str,
    /// The Stripe event, for idempotency; `None` for a manual record.
    pub stripe_event_id: Option<&'a str>,
}

pub const PAYMENT_METHODS: &[&str] = &["bkash", "nagad", "rocket", "bank", "cash", "other"];

/// Records a verified payment and verifies the owner (once), audited, with a
/// mail to the owner. `actor` is the staff member, who must be allowed to act
/// on the owner ([`crate::auth::authority`]); `None` is Stripe, and then the
/// payment must carry its Stripe event. Returns false when this Stripe event
/// was recorded before.
pub async fn record_payment(
    pool: &PgPool,
    keys: &DataKeys,
    owner: Uuid,
    payment: &Payment<'_>,
    actor: Option<Uuid>,
    meta: &RequestMeta,
) -> Result<bool, OwnerError> {
    let reference = payment.reference.trim();
    if payment.amount_minor <= 0 {
        return Err(OwnerError::Invalid("Enter the amount paid.".into()));
    }
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(OwnerError::Invalid(
            "Enter the payment's reference (transaction id), up to 200 characters.".into(),
        ));
    }
    if payment.method != "stripe" && !PAYMENT_METHODS.contains(&payment.method) {
        return Err(OwnerError::Invalid("Choose how the owner paid.".into()));
    }
    let currency = payment.currency.trim().to_uppercase();
    if !(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase())) {
        return Err(OwnerError::Invalid(
            "Use a three-letter currency code such as BDT.".into(),
        ));
    }
    let mut tx = crate::db::begin(pool).await?;
    match actor {
        Some(actor) => {
            authorize(&mut tx, actor, owner).await?;
        }
        None if payment.stripe_event_id.is_none() => {
            return Err(OwnerError::Invalid(
                "A payment is recorded by a staff member or by a Stripe event.".into(),
            ));
        }
        None => {}
    }
    let email: Option<String> =
        sqlx::query_scalar("select email from accounts where id = $1 and role = 'owner' for update")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
    let email = email.ok_or(OwnerError::NotFound)?;
    let inserted = sqlx::query(
        "insert into payments (id, account_id, amount_minor, currency, method, reference, recorded_by, stripe_event_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (stripe_event_id) do nothing",
    )
    .bind(Uuid::new_v4())
    .bind(owner)
    .bind(payment.amount_minor)
    .bind(&currency)
    .bind(payment.method)
    .bind(reference)
    .bind(actor)
    .bind(payment.stripe_event_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let newly: bool = sqlx::query_scalar(
        "update accounts set payment_verified_at = coalesce(payment_verified_at, now()), updated_at = now() \
          where id = $1 returning payment_verified_at = now()",
    )
    .bind(owner)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        AuditKind::PaymentVerified,
        Some(owner),
        actor,
        meta,
        json!({ "amount_minor": payment.amount_minor, "currency": currency, "method": payment.method,
                "reference": reference, "first": newly }),
    )
    .await?;
    if newly {
        mail::enqueue(
            &mut tx,
            keys,
            Some(owner),
            "payment_verified",
            &email,
            "Your BikriAgent payment is verified",
            "Thank you: your payment is verified. You can now connect your Facebook Page, Instagram account or \
             WhatsApp number, and BikriAgent can answer your customers automatically within your daily limits.",
        )
        .await?;
    }
    crate::db::commit(tx).await?;
    Ok(true)
}

/// Grants (or removes, with zeros) a trial allowance. `actor` must be
/// allowed to act on the owner ([`crate::auth::authority`]).
pub async fn grant_allowance(
    pool: &PgPool,
    owner: Uuid,
    allowance: Allowance,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), OwnerError> {
    if !(0..=10).contains(&allowance.channels) || !(0..=1000).contains(&allowance.daily_replies) {
        return Err(OwnerError::Invalid(
            "A trial allowance is 0 to 10 channels and 0 to 1000 automatic replies a day.".into(),
        ));
    }
    let mut tx = crate::db::begin(pool).await?;
    authorize(&mut tx, actor, owner).await?;
    let changed = sqlx::query(
        "update accounts set trial_channels = $2, trial_daily_replies = $3, updated_at = now() \
          where id = $1 and role = 'owner'",
    )
    .bind(owner)
    .bind(allowance.channels)
    .bind(allowance.daily_replies)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(OwnerError::NotFound);
    }
    audit::record(
        &mut *tx,
        AuditKind::TrialAllowanceGranted,
        Some(owner),
        Some(actor),
        meta,
        json!({ "channels": allowance.channels, "daily_replies": allowance.daily_replies }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Sets or clears (`None`) the owner's daily limit overrides. `actor` must
/// be allowed to act on the owner ([`crate::auth::authority`]).
pub async fn set_limits(
    pool: &PgPool,
    owner: Uuid,
    overrides: LimitOverrides,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), OwnerError> {
    let valid = |v: Option<i32>| v.is_none_or(|v| (0..=1_000_000).contains(&v));
    if !valid(overrides.owner_daily) || !valid(overrides.channel_daily) {
        return Err(OwnerError::Invalid(
            "A daily limit is a whole number from 0 to 1,000,000, or empty for the default.".into(),
        ));
    }
    let mut tx = crate::db::begin(pool).await?;
    authorize(&mut tx, actor, owner).await?;
    let changed = sqlx::query(
        "update accounts set owner_daily_limit = $2, channel_daily_limit = $3, updated_at = now() \
          where id = $1 and role = 'owner'",
    )
    .bind(owner)
    .bind(overrides.owner_daily)
    .bind(overrides.channel_daily)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(OwnerError::NotFound);
    }
    audit::record(
        &mut *tx,
        AuditKind::LimitsChanged,
        Some(owner),
        Some(actor),
        meta,
        json!({ "owner_daily": overrides.owner_daily, "channel_daily": overrides.channel_daily }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Tells the owner once per shop day that a daily limit stopped automatic replies.
pub async fn notice_limit_reached(
    conn: &mut PgConnection,
    keys: &DataKeys,
    owner: Uuid,
    day: time::Date,
    which: &str,
) -> Result<(), sqlx::Error> {
    let email: Option<String> = sqlx::query_scalar(
        "update accounts set limit_notice_day = $2 where id = $1 and limit_notice_day is distinct from $2 returning email",
    )
    .bind(owner)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(email) = email {
        mail::enqueue(
            conn,
            keys,
            Some(owner),
            "daily_limit_reached",
            &email,
            "BikriAgent reached today's limit of automatic replies",
            &format!(
                "{which} is reached for today, so BikriAgent stopped answering automatically until midnight (Dhaka \
                 time). New messages wait for you in the review queue."
            ),
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- kill switch

/// The global kill switch's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillSwitch {
    /// True while every automatic send is stopped.
    pub engaged: bool,
    pub changed_by: Option<String>,
    pub reason: String,
    pub changed_at: OffsetDateTime,
}

pub async fn kill_switch(pool: &PgPool) -> Result<KillSwitch, OwnerError> {
    let row: (bool, Option<String>, String, OffsetDateTime) = sqlx::query_as(
        "select not p.auto_send_enabled, a.email, p.reason, p.changed_at from platform_settings p \
           left join accounts a on a.id = p.changed_by",
    )
    .fetch_one(pool)
    .await?;
    Ok(KillSwitch {
        engaged: row.0,
        changed_by: row.1,
        reason: row.2,
        changed_at: row.3,
    })
}

/// Engages or releases the kill switch (admins only, checked by the caller),
/// with a reason, audited, and mailed to every admin.
pub async fn set_kill_switch(
    pool: &PgPool,
    keys: &DataKeys,
    engaged: bool,
    reason: &str,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), OwnerError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(OwnerError::Invalid("Say why, in up to 500 characters.".into()));
    }
    let mut tx = crate::db::begin(pool).await?;
    sqlx::query(
        "update platform_settings set auto_send_enabled = $1, changed_by = $2, reason = $3, changed_at = now()",
    )
    .bind(!engaged)
    .bind(actor)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    let kind = if engaged {
        AuditKind::KillSwitchEngaged
    } else {
        AuditKind::KillSwitchReleased
    };
    audit::record(&mut *tx, kind, None, Some(actor), meta, json!({ "reason": reason })).await?;
    let admins: Vec<(Uuid, String)> =
        sqlx::query_as("select id, email from accounts where role = 'admin' and status = 'active'")
            .fetch_all(&mut *tx)
            .await?;
    let (subject, state) = if engaged {
        (
            "BikriAgent: automatic replies stopped everywhere",
            "stopped every automatic reply on the platform",
        )
    } else {
        (
            "BikriAgent: automatic replies are back on",
            "turned automatic replies back on",
        )
    };
    for (admin, email) in admins {
        mail::enqueue(
            &mut tx,
            keys,
            Some(admin),
            kind.as_str(),
            &email,
            subject,
            &format!("A staff member {state}. Reason given: {reason}"),
        )
        .await?;
    }
    crate::db::commit(tx).await?;
    Ok(())
}

// ------------------------------------------------------------ review list

/// One owner in the staff review list, with the evidence behind its score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerSignals {
    pub owner: Uuid,
    pub email: String,
    pub business_name: String,
    pub state: OwnerState,
    pub created_at: OffsetDateTime,
    /// Human-readable evidence, e.g. "12 failed logins in 7 days".
    pub signals: Vec<String>,
    /// Higher first.
    pub score: i64,
}

#[derive(sqlx::FromRow)]
struct SignalRow {
    id: Uuid,
    email: String,
    status: String,
    email_verified: bool,
    payment_verified: bool,
    created_at: OffsetDateTime,
    business_name: Option<String>,
    risky_conversations: Option<i64>,
    angry_conversations: Option<i64>,
    automatic_sends: Option<i64>,
    failed_logins: i64,
    same_ip_signups: i64,
    claimed_pages: i64,
    turnstile_failures: i64,
}

/// Thresholds that make a signal count.
const MANY_FAILED_LOGINS: i64 = 10;
const MANY_SIGNUPS_FROM_ONE_IP: i64 = 3;
const HIGH_DAILY_SENDS: i64 = 300;
const MANY_ANGRY: i64 = 5;

/// Owners waiting for verification and owners with risk signals, riskiest
/// first. Counts only: no message body or customer detail reaches staff here.
///
/// With `email` given, every owner whose email contains it is listed,
/// signals or not (to find an owner).
pub async fn review_list(pool: &PgPool, now: OffsetDateTime, email: &str) -> Result<Vec<OwnerSignals>, OwnerError> {
    // No stored text holds a control character; PostgreSQL refuses a NUL.
    let email = strip_controls(email.trim(), Shape::Line)
        .to_lowercase()
        .replace(['%', '_'], "");
    let day_start = crate::pipeline::gates::shop_day_start(now);
    let week = now - time::Duration::days(7);
    let rows: Vec<SignalRow> = sqlx::query_as(
        "with signup_ips as ( \
             select account_id, ip from security_events where kind = 'signup' and ip is not null) \
         select a.id, a.email, a.status, a.email_verified_at is not null as email_verified, \
                a.payment_verified_at is not null as payment_verified, a.created_at, \
                act.business_name, act.risky_conversations, act.angry_conversations, act.automatic_sends, \
                (select count(*) from security_events e where e.account_id = a.id and e.kind = 'login_failed' \
                   and e.created_at >= $2) as failed_logins, \
                (select count(*) from signup_ips s where s.ip = (select ip from signup_ips where account_id = a.id limit 1)) \
                   as same_ip_signups, \
                (select count(*) from security_events e where e.account_id = a.id and e.kind = 'channel_claim_conflict') \
                   as claimed_pages, \
                (select count(*) from security_events e where e.account_id = a.id and e.kind = 'turnstile_failed') \
                   as turnstile_failures \
           from accounts a left join staff_owner_activity($1) act on act.owner_id = a.id \
          where a.role = 'owner' and ($3 = '' or lower(a.email) like '%' || $3 || '%') \
          order by a.created_at desc limit 500",
    )
    .bind(day_start)
    .bind(week)
    .bind(&email)
    .fetch_all(pool)
    .await?;
    let mut list: Vec<OwnerSignals> = rows
        .into_iter()
        .map(|row| {
            let state = OwnerState::of(&row.status, row.email_verified, row.payment_verified);
            let mut signals = Vec::new();
            let mut score = 0;
            let mut signal = |weight: i64, text: String| {
                score += weight;
                signals.push(text);
            };
            if row.failed_logins >= MANY_FAILED_LOGINS {
                signal(3, format!("{} failed logins in 7 days", row.failed_logins));
            }
            if row.same_ip_signups >= MANY_SIGNUPS_FROM_ONE_IP {
                signal(3, format!("{} signups from the same IP address", row.same_ip_signups));
            }
            if row.claimed_pages > 0 {
                signal(
                    4,
                    format!("tried to connect {} Page(s) another owner holds", row.claimed_pages),
                );
            }
            if row.turnstile_failures > 0 {
                signal(2, format!("{} failed bot checks", row.turnstile_failures));
            }
            let sends = row.automatic_sends.unwrap_or(0);
            if sends >= HIGH_DAILY_SENDS {
                signal(2, format!("{sends} automatic replies today"));
            }
            let angry = row.angry_conversations.unwrap_or(0);
            if angry >= MANY_ANGRY {
                signal(2, format!("{angry} conversations with angry customers"));
            }
            let risky = row.risky_conversations.unwrap_or(0);
            if risky >= MANY_ANGRY * 4 {
                signal(1, format!("{risky} conversations flagged risky"));
            }
            if state == OwnerState::Trial {
                signal(1, "waiting for payment verification".to_owned());
            }
            OwnerSignals {
                owner: row.id,
                email: row.email,
                business_name: row.business_name.unwrap_or_default(),
                state,
                created_at: row.created_at,
                signals,
                score,
            }
        })
        .filter(|owner| owner.score > 0 || !email.is_empty())
        .collect();
    list.sort_by(|a, b| b.score.cmp(&a.score).then(b.created_at.cmp(&a.created_at)));
    Ok(list)
}

/// Everything staff see about one owner (never a message body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerDetail {
    pub owner: Uuid,
    pub email: String,
    pub name: String,
    pub business_name: String,
    pub standing: Standing,
    pub suspended_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub payments: Vec<PaymentRow>,
    pub events: Vec<EventRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PaymentRow {
    pub amount_minor: i64,
    pub currency: String,
    pub method: String,
    pub reference: String,
    pub recorded_by: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub kind: AuditKind,
    pub account: Option<String>,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
    pub created_at: OffsetDateTime,
}

const EVENT_COLUMNS: &str = "e.id, e.kind, acc.email as account, act.email as actor, e.ip, e.detail, e.created_at \
     from security_events e left join accounts acc on acc.id = e.account_id \
     left join accounts act on act.id = e.actor_id";

pub async fn detail(pool: &PgPool, owner: Uuid) -> Result<OwnerDetail, OwnerError> {
    let mut conn = pool.acquire().await?;
    let standing = standing(&mut conn, owner).await?;
    let (email, name, suspended_reason, created_at): (String, String, Option<String>, OffsetDateTime) =
        sqlx::query_as("select email, name, suspended_reason, created_at from accounts where id = $1")
            .bind(owner)
            .fetch_one(&mut *conn)
            .await?;
    let business_name: Option<String> =
        sqlx::query_scalar("select business_name from staff_owner_activity(now()) where owner_id = $1")
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(
        "select p.amount_minor, p.currency, p.method, p.reference, a.email as recorded_by, p.created_at \
           from payments p left join accounts a on a.id = p.recorded_by where p.account_id = $1 \
          order by p.created_at desc",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    let events: Vec<EventRow> = sqlx::query_as(&format!(
        "select {EVENT_COLUMNS} where e.account_id = $1 order by e.id desc limit 50"
    ))
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    Ok(OwnerDetail {
        owner,
        email,
        name,
        business_name: business_name.unwrap_or_default(),
        standing,
        suspended_reason,
        created_at,
        payments,
        events,
    })
}

/// Rows a page of the audit log shows.
pub const AUDIT_PAGE: i64 = 100;

/// The audit log, newest first, filtered by kind (empty: every kind; a name
/// that is no kind finds nothing) and by an email (account or actor),
/// [`AUDIT_PAGE`] a page.
pub async fn audit_log(pool: &PgPool, kind: &str, email: &str, page: Page) -> Result<Vec<EventRow>, OwnerError> {
    // No stored text holds a control character; PostgreSQL refuses a NUL.
    let kind = strip_controls(kind.trim(), Shape::Line);
    let kind = match AuditKind::parse(&kind) {
        Some(kind) => Some(kind),
        None if kind.is_empty() => None,
        None => return Ok(Vec::new()),
    };
    let email = strip_controls(email.trim(), Shape::Line).to_lowercase();
    let rows = sqlx::query_as(&format!(
        "select {EVENT_COLUMNS} \
          where ($1::audit_kind is null or e.kind = $1) \
            and ($2 = '' or lower(acc.email) like '%' || $2 || '%' or lower(act.email) like '%' || $2 || '%') \
          order by e.id desc limit $4 offset $3"
    ))
    .bind(kind)
    .bind(email.replace(['%', '_'], ""))
    .bind(page.offset(AUDIT_PAGE))
    .bind(AUDIT_PAGE)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// The owner account with this email (any case), for the command line.
pub async fn owner_by_email(pool: &PgPool, email: &str) -> Result<Option<crate::tenancy::OwnerId>, sqlx::Error> {
    let id: Option<Uuid> =
        sqlx::query_scalar("select id from accounts where lower(email) = lower($1) and role = 'owner'")
            .bind(email.trim())
            .fetch_optional(pool)
            .await?;
    Ok(id.map(crate::tenancy::OwnerId::from_verified))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: SendLimits = SendLimits {
        owner_daily: 500,
        channel_daily: 300,
        conversation_per_minute: 6,
    };

    #[test]
    fn states_follow_the_account() {
        assert_eq!(
            OwnerState::of("pending_verification", false, false),
            OwnerState::PendingVerification
        );
        assert_eq!(OwnerState::of("active", true, false), OwnerState::Trial);
        assert_eq!(OwnerState::of("active", true, true), OwnerState::Verified);
        assert_eq!(OwnerState::of("suspended", true, true), OwnerState::Suspended);
        assert_eq!(OwnerState::of("suspended", false, false), OwnerState::Suspended);
        for state in [
            OwnerState::PendingVerification,
            OwnerState::Trial,
            OwnerState::Verified,
            OwnerState::Suspended,
        ] {
            assert!(!state.explain().is_empty());
        }
    }

    #[test]
    fn what_each_state_may_do() {
        let none = Allowance::default();
        let free = LimitOverrides::default();
        for state in [
            OwnerState::PendingVerification,
            OwnerState::Suspended,
            OwnerState::Trial,
        ] {
            let p = permissions(state, none, free, DEFAULTS);
            assert_eq!((p.live_channels, p.auto_send), (0, false), "{state:?}");
        }
        // Even a generous allowance does nothing for a suspended owner.
        let generous = Allowance {
            channels: 3,
            daily_replies: 100,
        };
        assert!(!permissions(OwnerState::Suspended, generous, free, DEFAULTS).auto_send);
        let trial = permissions(
            OwnerState::Trial,
            Allowance {
                channels: 1,
                daily_replies: 20,
            },
            free,
            DEFAULTS,
        );
        assert_eq!(
            (trial.live_channels, trial.auto_send, trial.limits.owner_daily),
            (1, true, 20)
        );
        // Staff can lower a trial's limit but not raise it past the allowance.
        let lowered = LimitOverrides {
            owner_daily: Some(5),
            channel_daily: None,
        };
        assert_eq!(
            permissions(
                OwnerState::Trial,
                Allowance {
                    channels: 1,
                    daily_replies: 20
                },
                lowered,
                DEFAULTS
            )
            .limits
            .owner_daily,
            5
        );
        let raised = LimitOverrides {
            owner_daily: Some(900),
            channel_daily: None,
        };
        assert_eq!(
            permissions(
                OwnerState::Trial,
                Allowance {
                    channels: 1,
                    daily_replies: 20
                },
                raised,
                DEFAULTS
            )
            .limits
            .owner_daily,
            20
        );
        let verified = permissions(OwnerState::Verified, none, free, DEFAULTS);
        assert_eq!(
            (verified.live_channels, verified.auto_send, verified.limits),
            (VERIFIED_CHANNELS, true, DEFAULTS)
        );
        let custom = permissions(
            OwnerState::Verified,
            none,
            LimitOverrides {
                owner_daily: Some(50),
                channel_daily: Some(10),
            },
            DEFAULTS,
        );
        assert_eq!((custom.limits.owner_daily, custom.limits.channel_daily), (50, 10));
    }
}
