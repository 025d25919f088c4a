//! Account operations: signup, email verification, login with throttling,
//! password reset and change. Each takes plain input and returns a plain
//! outcome; the web layer only maps them to pages.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::hashing::{PasswordHasher, Verification};
use super::identity::{Email, Phone};
use super::password_policy::{self, PersonalInfo};
use super::session_store;
use super::tokens::{random_token, token_hash};
use crate::alerts;
use crate::audit::{self, AuditKind, RequestMeta};
use crate::clock::SharedClock;
use crate::jobs::{Job, JobError};
use crate::mail;
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Field name → message for people, shown next to the field.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// Platform role of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Staff,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "owner" => Some(Role::Owner),
            "staff" => Some(Role::Staff),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }

    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

/// Account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    PendingVerification,
    Active,
    Suspended,
}

impl Status {
    fn parse(raw: &str) -> Status {
        match raw {
            "active" => Status::Active,
            "suspended" => Status::Suspended,
            _ => Status::PendingVerification,
        }
    }
}

/// The signed-in account as the web layer sees it, loaded fresh per request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: Uuid,
    pub role: Role,
    pub status: Status,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub totp_enabled: bool,
}

impl Principal {
    /// The tenant scope of an owner; `None` for staff.
    pub fn owner_id(&self) -> Option<OwnerId> {
        (self.role == Role::Owner).then(|| OwnerId::from_verified(self.id))
    }
}

/// Errors of account operations. Client-safe variants carry what people see.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("some fields need attention")]
    Invalid(FieldErrors),
    /// Unknown email or wrong password: one answer for both.
    #[error("That email and password don't match an account.")]
    InvalidCredentials,
    /// Too many attempts for this email: the same answer whether it exists or not.
    #[error("Too many attempts. Please wait {retry_after_secs} seconds, or reset your password.")]
    Throttled { retry_after_secs: i64 },
    #[error("This account is suspended.")]
    Suspended,
    #[error("This link has expired or was already used. Ask for a new one.")]
    TokenInvalid,
    /// A staff action the actor may not take, or on an account that does
    /// not exist (see [`super::authority`]), with the message for them.
    #[error("{0}")]
    Refused(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        AuthError::Internal(error.to_string())
    }
}

impl From<super::authority::AuthorityError> for AuthError {
    fn from(error: super::authority::AuthorityError) -> Self {
        use super::authority::AuthorityError;
        match error {
            AuthorityError::NotFound => AuthError::Refused("That account doesn't exist.".to_owned()),
            AuthorityError::Refused(refusal) => AuthError::Refused(refusal.to_string()),
            AuthorityError::Database(error) => error.into(),
        }
    }
}

impl From<super::hashing::HashError> for AuthError {
    fn from(error: super::hashing::HashError) -> Self {
        AuthError::Internal(error.to_string())
    }
}

/// What the signup form sends.
#[derive(Debug)]
pub struct SignupInput {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub business_name: String,
    pub password: SecretString,
    pub password_confirm: SecretString,
}

pub const VERIFY_EMAIL_TTL: Duration = Duration::hours(24);
pub const RESET_TTL: Duration = Duration::minutes(30);
/// Failures in [`LOCK_WINDOW`] that lock an email for [`LOCK_DURATION`].
pub const LOCK_THRESHOLD: i64 = 10;
pub const LOCK_WINDOW: Duration = Duration::minutes(15);
pub const LOCK_DURATION: Duration = Duration::minutes(15);
/// Consecutive failures after which each attempt must wait longer.
pub const DELAY_AFTER: i64 = 5;
pub const HOURLY_CAP: i64 = 100;

/// An account mail to write, queued by signup and the reset form so that
/// their answers do the same work whether or not the address has an
/// account: token creation, hashing and the sealed outbox insert all happen
/// in [`Accounts::send_account_mail`], in a job (this value is the job).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum AccountMail {
    /// A reset link, if the address has an account that is not suspended.
    PasswordReset { email: String, meta: JobMeta },
    /// The verification link of a new account.
    VerifyEmail { account: Uuid, meta: JobMeta },
    /// A notice to the owner of an address someone tried to sign up with.
    SignupExisting { email: String, meta: JobMeta },
}

/// [`RequestMeta`] carried in a job's payload, for the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<&RequestMeta> for JobMeta {
    fn from(meta: &RequestMeta) -> Self {
        Self {
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
        }
    }
}

impl From<JobMeta> for RequestMeta {
    fn from(meta: JobMeta) -> Self {
        Self {
            ip: meta.ip,
            user_agent: meta.user_agent,
        }
    }
}

impl Job for AccountMail {
    const JOB_NAME: &'static str = "account_mail";
    type Context = Accounts;

    fn owner(&self) -> Option<Uuid> {
        match self {
            AccountMail::VerifyEmail { account, .. } => Some(*account),
            AccountMail::PasswordReset { .. } | AccountMail::SignupExisting { .. } => None,
        }
    }

    async fn run(&self, accounts: &Accounts) -> Result<(), JobError> {
        accounts
            .send_account_mail(self.clone())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}

async fn queue_account_mail(conn: &mut sqlx::PgConnection, mail: &AccountMail) -> Result<(), AuthError> {
    mail.enqueue(&mut *conn).await?;
    Ok(())
}

/// The account service.
#[derive(Clone, Debug)]
pub struct Accounts {
    pub pool: PgPool,
    pub hasher: PasswordHasher,
    pub clock: SharedClock,
    /// Keys for secrets at rest (TOTP secrets).
    pub keys: crate::crypto::DataKeys,
    /// Base of links in mail, e.g. `https://bikri.example.com`.
    pub public_url: String,
}

fn check_password(
    errors: &mut FieldErrors,
    field: &'static str,
    password: &SecretString,
    confirm: &SecretString,
    personal: &PersonalInfo<'_>,
) {
    let problems = password_policy::check(password.expose_secret(), personal);
    if !problems.is_empty() {
        errors.insert(
            field,
            problems.iter().map(|p| p.message()).collect::<Vec<_>>().join(" "),
        );
    } else if password.expose_secret() != confirm.expose_secret() {
        errors.insert("password_confirm", "The two passwords don't match.".to_owned());
    }
}

fn text_field(errors: &mut FieldErrors, field: &'static str, value: &str, label: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.insert(field, format!("Enter your {label}."));
    } else if value.chars().count() > max {
        errors.insert(field, format!("Keep the {label} under {max} characters."));
    } else if value.chars().any(char::is_control) {
        errors.insert(field, format!("The {label} contains characters we can't accept."));
    }
    value.to_owned()
}

/// Normalised key for throttling logins by email.
pub fn email_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Delay required after `consecutive` failures: 1 s after the 5th, doubling, at most 60 s.
pub fn login_delay(consecutive: i64) -> Duration {
    if consecutive < DELAY_AFTER {
        return Duration::ZERO;
    }
    let exponent = (consecutive - DELAY_AFTER).min(6) as u32;
    Duration::seconds(2i64.pow(exponent).min(60))
}

impl Accounts {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }

    /// Creates an owner account and its business, and mails a verification
    /// link. An email that already has an account gets a notice by mail
    /// instead, and the caller sees the same success: no enumeration.
    pub async fn signup(&self, input: SignupInput, meta: &RequestMeta) -> Result<(), AuthError> {
        let mut errors = FieldErrors::new();
        let name = text_field(&mut errors, "name", &input.name, "name", 100);
        let business_name = text_field(&mut errors, "business_name", &input.business_name, "business name", 200);
        let email = match Email::parse(&input.email) {
            Ok(email) => Some(email),
            Err(error) => {
                errors.insert("email", error.to_string());
                None
            }
        };
        let phone = match Phone::parse(&input.phone) {
            Ok(phone) => Some(phone),
            Err(error) => {
                errors.insert("phone", error.to_string());
                None
            }
        };
        let personal = PersonalInfo {
            name: &name,
            email: email.as_ref().map(Email::as_str).unwrap_or(input.email.trim()),
            business_name: &business_name,
            phone: phone.as_ref().map(Phone::as_str).unwrap_or(""),
        };
        check_password(
            &mut errors,
            "password",
            &input.password,
            &input.password_confirm,
            &personal,
        );
        let (Some(email), Some(phone)) = (email, phone) else {
            return Err(AuthError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AuthError::Invalid(errors));
        }

        let password_hash = self.hasher.hash(&input.password).await?;
        let mut tx = crate::db::begin(&self.pool).await?;
        let created: Option<Uuid> = sqlx::query_scalar(
            "insert into accounts (role, email, name, phone, password_hash) values ('owner', $1, $2, $3, $4) \
             on conflict ((lower(email))) do nothing returning id",
        )
        .bind(email.as_str())
        .bind(&name)
        .bind(phone.as_str())
        .bind(&password_hash)
        .fetch_optional(&mut *tx)
        .await?;
        // The mail (a verification link, or a notice to the owner of the
        // address) is written by a job after the answer, so both answers
        // cost the same here.
        let mail = match created {
            Some(account) => {
                sqlx::query("select set_config('app.owner_id', $1, true)")
                    .bind(account.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("insert into business_profiles (owner_id, name) values ($1, $2)")
                    .bind(account)
                    .bind(&business_name)
                    .execute(&mut *tx)
                    .await?;
                AccountMail::VerifyEmail {
                    account,
                    meta: meta.into(),
                }
            }
            None => AccountMail::SignupExisting {
                email: email.as_str().to_owned(),
                meta: meta.into(),
            },
        };
        queue_account_mail(&mut tx, &mail).await?;
        crate::db::commit(tx).await?;
        crate::jobs::wake_workers();
        Ok(())
    }

    async fn issue_token(
        &self,
        conn: &mut sqlx::PgConnection,
        account: Uuid,
        purpose: &str,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        // A new link replaces older unused ones of the same purpose.
        sqlx::query("delete from auth_tokens where account_id = $1 and purpose = $2 and used_at is null")
            .bind(account)
            .bind(purpose)
            .execute(&mut *conn)
            .await?;
        let token = random_token();
        sqlx::query("insert into auth_tokens (token_hash, account_id, purpose, expires_at) values ($1, $2, $3, $4)")
            .bind(token_hash(&token))
            .bind(account)
            .bind(purpose)
            .bind(self.now() + ttl)
            .execute(&mut *conn)
            .await?;
        Ok(token)
    }

    async fn send_verification(
        &self,
        conn: &mut sqlx::PgConnection,
        account: Uuid,
        email: &str,
    ) -> Result<(), AuthError> {
        let token = self
            .issue_token(conn, account, "verify_email", VERIFY_EMAIL_TTL)
            .await?;
        mail::enqueue(
            conn,
            &self.keys,
            Some(account),
            "verify_email",
            email,
            "Confirm your email for BikriAgent",
            &format!(
                "Welcome to BikriAgent!\n\nConfirm your email address by opening this link within 24 hours:\n{}\n\n\
                 If you did not sign up, ignore this message.",
                self.link(&format!("/verify-email?token={token}"))
            ),
        )
        .await?;
        Ok(())
    }

    /// Mails a fresh verification link to a signed-in, unverified owner.
    pub async fn resend_verification(&self, account: Uuid) -> Result<(), AuthError> {
        let row: Option<(String, Option<OffsetDateTime>)> =
            sqlx::query_as("select email, email_verified_at from accounts where id = $1")
                .bind(account)
                .fetch_optional(&self.pool)
                .await?;
        let Some((email, None)) = row else {
            return Ok(());
        };
        let mut tx = crate::db::begin(&self.pool).await?;
        self.send_verification(&mut tx, account, &email).await?;
        crate::db::commit(tx).await?;
        Ok(())
    }

    /// Consumes a single-use token; returns its account.
    async fn take_token(&self, conn: &mut sqlx::PgConnection, token: &str, purpose: &str) -> Result<Uuid, AuthError> {
        let account: Option<Uuid> = sqlx::query_scalar(
            "update auth_tokens set used_at = $3 \
              where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3 \
              returning account_id",
        )
        .bind(token_hash(token.trim()))
        .bind(purpose)
        .bind(self.now())
        .fetch_optional(&mut *conn)
        .await?;
        account.ok_or(AuthError::TokenInvalid)
    }

    /// Marks the email verified (and the account active unless suspended).
    pub async fn verify_email(&self, token: &str, meta: &RequestMeta) -> Result<Uuid, AuthError> {
        let mut tx = crate::db::begin(&self.pool).await?;
        let account = self.take_token(&mut tx, token, "verify_email").await?;
        sqlx::query(
            "update accounts set email_verified_at = coalesce(email_verified_at, $2), \
                    status = case when status = 'pending_verification' then 'active' else status end, \
                    updated_at = $2 where id = $1",
        )
        .bind(account)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            AuditKind::EmailVerified,
            Some(account),
            Some(account),
            meta,
            json!({}),
        )
        .await?;
        crate::db::commit(tx).await?;
        Ok(account)
    }

    /// `Err(Throttled)` when this email may not try now; same for unknown emails.
    async fn check_throttle(&self, key: &str) -> Result<(), AuthError> {
        let now = self.now();
        let (hourly, consecutive, last_failure): (i64, i64, Option<OffsetDateTime>) = sqlx::query_as(
            "select (select count(*) from login_attempts \
                      where email_key = $1 and not succeeded and at > $2 - interval '1 hour'), \
                    count(*), max(at) \
               from login_attempts \
              where email_key = $1 and not succeeded and at > $2 - interval '1 day' \
                and at > coalesce((select max(at) from login_attempts where email_key = $1 and succeeded), \
                                  '-infinity'::timestamptz)",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        if hourly >= HOURLY_CAP {
            return Err(AuthError::Throttled { retry_after_secs: 3600 });
        }
        if let Some(until) = self.locked_until(key).await?
            && until > now
        {
            return Err(AuthError::Throttled {
                retry_after_secs: (until - now).whole_seconds().max(1),
            });
        }
        if let Some(last) = last_failure {
            let wait_until = last + login_delay(consecutive);
            if wait_until > now {
                return Err(AuthError::Throttled {
                    retry_after_secs: (wait_until - now).whole_seconds().max(1),
                });
            }
        }
        Ok(())
    }

    /// When the lock of this email ends, if [`LOCK_THRESHOLD`] failures fell within [`LOCK_WINDOW`].
    async fn locked_until(&self, key: &str) -> Result<Option<OffsetDateTime>, AuthError> {
        let until: Option<OffsetDateTime> = sqlx::query_scalar(
            "select max(at) + $4 from ( \
                select at, count(*) over (order by at range between $3 preceding and current row) as n \
                  from login_attempts \
                 where email_key = $1 and not succeeded and at > $2 - ($3 + $4) \
             ) w where n >= $5",
        )
        .bind(key)
        .bind(self.now())
        .bind(LOCK_WINDOW)
        .bind(LOCK_DURATION)
        .bind(LOCK_THRESHOLD)
        .fetch_one(&self.pool)
        .await?;
        Ok(until)
    }

    async fn record_attempt(&self, key: &str, succeeded: bool, meta: &RequestMeta) -> Result<(), AuthError> {
        sqlx::query("insert into login_attempts (email_key, succeeded, ip, at) values ($1, $2, $3, $4)")
            .bind(key)
            .bind(succeeded)
            .bind(&meta.ip)
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Checks credentials. Unknown emails cost one dummy hash and get the
    /// same answer as a wrong password.
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
        meta: &RequestMeta,
    ) -> Result<Principal, AuthError> {
        let key = email_key(email);
        if let Err(error) = self.check_throttle(&key).await {
            crate::metrics::METRICS.login_failed(crate::metrics::LoginFailure::Throttled);
            audit::record(&self.pool, AuditKind::LoginThrottled, None, None, meta, json!({})).await?;
            return Err(error);
        }
        let account: Option<(Uuid, String)> =
            sqlx::query_as("select id, password_hash from accounts where lower(email) = $1")
                .bind(&key)
                .fetch_optional(&self.pool)
                .await?;
        let verification = self
            .hasher
            .verify(password, account.as_ref().map(|(_, h)| h.as_str()))
            .await?;
        let account_id = account.as_ref().map(|(id, _)| *id);
        let Verification::Valid { needs_rehash } = verification else {
            crate::metrics::METRICS.login_failed(crate::metrics::LoginFailure::InvalidCredentials);
            self.record_attempt(&key, false, meta).await?;
            audit::record(&self.pool, AuditKind::LoginFailed, account_id, None, meta, json!({})).await?;
            if let Some(id) = account_id
                && let Some(until) = self.locked_until(&key).await?
                && until > self.now()
            {
                self.on_locked(id, meta).await?;
            }
            return Err(AuthError::InvalidCredentials);
        };
        let id = account_id.ok_or_else(|| AuthError::Internal("verified without an account".into()))?;
        let principal = self.principal(id).await?.ok_or(AuthError::InvalidCredentials)?;
        if principal.status == Status::Suspended {
            crate::metrics::METRICS.login_failed(crate::metrics::LoginFailure::Suspended);
            audit::record(
                &self.pool,
                AuditKind::LoginRefusedSuspended,
                Some(id),
                None,
                meta,
                json!({}),
            )
            .await?;
            return Err(AuthError::Suspended);
        }
        self.record_attempt(&key, true, meta).await?;
        if needs_rehash {
            let rehashed = self.hasher.hash(password).await?;
            sqlx::query("update accounts set password_hash = $2 where id = $1")
                .bind(id)
                .bind(rehashed)
                .execute(&self.pool)
                .await?;
        }
        let mut tx = crate::db::begin(&self.pool).await?;
        let new_device = alerts::is_new_device(&mut tx, id, meta).await?;
        audit::record(&mut *tx, AuditKind::LoginSucceeded, Some(id), Some(id), meta, json!({})).await?;
        if new_device {
            alerts::new_login(self.now(), meta, &self.public_url)
                .send(&mut tx, &self.keys, id)
                .await?;
        }
        crate::db::commit(tx).await?;
        Ok(principal)
    }

    /// The failure that reached the threshold: audit once and mail the owner a
    /// reset link, throttled with the security alerts.
    async fn on_locked(&self, account: Uuid, meta: &RequestMeta) -> Result<(), AuthError> {
        let already: bool = sqlx::query_scalar(
            "select exists(select 1 from security_events where account_id = $1 and kind = 'account_locked' \
                            and created_at > now() - $2)",
        )
        .bind(account)
        .bind(LOCK_DURATION)
        .fetch_one(&self.pool)
        .await?;
        if already {
            return Ok(());
        }
        let mut tx = crate::db::begin(&self.pool).await?;
        audit::record(&mut *tx, AuditKind::AccountLocked, Some(account), None, meta, json!({})).await?;
        let Some(address) = alerts::permit(&mut tx, account, alerts::ACCOUNT_LOCKED).await? else {
            crate::db::commit(tx).await?;
            return Ok(());
        };
        let token = self.issue_token(&mut tx, account, "reset_password", RESET_TTL).await?;
        mail::enqueue(
            &mut tx,
            &self.keys,
            Some(account),
            alerts::ACCOUNT_LOCKED,
            &address,
            "Your BikriAgent account was locked for 15 minutes",
            &format!(
                "We saw {LOCK_THRESHOLD} wrong passwords for your account in 15 minutes, so we locked it for \
                 15 minutes.\n\nIf this wasn't you, someone may be guessing your password. You can set a new one \
                 now (link valid 30 minutes):\n{}\n",
                self.link(&format!("/reset-password?token={token}"))
            ),
        )
        .await?;
        crate::db::commit(tx).await?;
        Ok(())
    }

    /// Loads the account behind a session.
    pub async fn principal(&self, id: Uuid) -> Result<Option<Principal>, AuthError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            role: String,
            status: String,
            name: String,
            email: String,
            email_verified_at: Option<OffsetDateTime>,
            totp_enabled_at: Option<OffsetDateTime>,
        }
        let row: Option<Row> = sqlx::query_as(
            "select id, role, status, name, email, email_verified_at, totp_enabled_at from accounts where id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| Principal {
            id: row.id,
            role: Role::parse(&row.role).unwrap_or(Role::Owner),
            status: Status::parse(&row.status),
            name: row.name,
            email: row.email,
            email_verified: row.email_verified_at.is_some(),
            totp_enabled: row.totp_enabled_at.is_some(),
        }))
    }

    /// Mails a reset link if the email has an account. Always succeeds the
    /// same way, so the form reveals nothing: here it only queues the work
    /// ([`Accounts::send_account_mail`] looks the address up after the answer).
    pub async fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let mail = AccountMail::PasswordReset {
            email: email_key(email),
            meta: meta.into(),
        };
        let mut conn = self.pool.acquire().await?;
        queue_account_mail(&mut conn, &mail).await?;
        crate::jobs::wake_workers();
        Ok(())
    }

    /// The work of an [`AccountMail`] job: a token and its mail, or nothing
    /// when the address has no account. Runs after the request was answered.
    pub async fn send_account_mail(&self, mail: AccountMail) -> Result<(), AuthError> {
        match mail {
            AccountMail::PasswordReset { email, meta } => {
                let account: Option<(Uuid, String)> =
                    sqlx::query_as("select id, email from accounts where lower(email) = $1 and status <> 'suspended'")
                        .bind(email_key(&email))
                        .fetch_optional(&self.pool)
                        .await?;
                let Some((account, address)) = account else {
                    return Ok(());
                };
                let mut tx = crate::db::begin(&self.pool).await?;
                let token = self.issue_token(&mut tx, account, "reset_password", RESET_TTL).await?;
                mail::enqueue(
                    &mut tx,
                    &self.keys,
                    Some(account),
                    "reset_password",
                    &address,
                    "Reset your BikriAgent password",
                    &format!(
                        "Someone asked to reset the password of your BikriAgent account.\n\n\
                         Set a new password within 30 minutes:\n{}\n\nIf this wasn't you, ignore this message: your \
                         password stays the same.",
                        self.link(&format!("/reset-password?token={token}"))
                    ),
                )
                .await?;
                audit::record(
                    &mut *tx,
                    AuditKind::PasswordResetRequested,
                    Some(account),
                    None,
                    &meta.into(),
                    json!({}),
                )
                .await?;
                crate::db::commit(tx).await?;
            }
            AccountMail::VerifyEmail { account, meta } => {
                let email: Option<String> =
                    sqlx::query_scalar("select email from accounts where id = $1 and email_verified_at is null")
                        .bind(account)
                        .fetch_optional(&self.pool)
                        .await?;
                let Some(email) = email else {
                    return Ok(()); // verified meanwhile, or gone
                };
                let mut tx = crate::db::begin(&self.pool).await?;
                self.send_verification(&mut tx, account, &email).await?;
                audit::record(
                    &mut *tx,
                    AuditKind::Signup,
                    Some(account),
                    Some(account),
                    &meta.into(),
                    json!({}),
                )
                .await?;
                crate::db::commit(tx).await?;
            }
            AccountMail::SignupExisting { email, meta } => {
                let existing: Option<Uuid> = sqlx::query_scalar("select id from accounts where lower(email) = $1")
                    .bind(email_key(&email))
                    .fetch_optional(&self.pool)
                    .await?;
                let mut tx = crate::db::begin(&self.pool).await?;
                mail::enqueue(
                    &mut tx,
                    &self.keys,
                    existing,
                    "signup_existing",
                    &email,
                    "Someone tried to sign up with your email",
                    &format!(
                        "Someone (maybe you) tried to create a BikriAgent account with this email address, \
                         which already has one.\n\nIf it was you, log in at {}\nForgot your password? Reset it at {}\n\n\
                         If it wasn't you, you can ignore this message.",
                        self.link("/login"),
                        self.link("/forgot-password")
                    ),
                )
                .await?;
                audit::record(
                    &mut *tx,
                    AuditKind::SignupExistingEmail,
                    existing,
                    None,
                    &meta.into(),
                    json!({}),
                )
                .await?;
                crate::db::commit(tx).await?;
            }
        }
        Ok(())
    }

    async fn personal_info(&self, account: Uuid) -> Result<(String, String, String, String), AuthError> {
        let row: (String, String, Option<String>, Option<String>) = sqlx::query_as(
            "select a.name, a.email, a.phone, \
                    (select name from business_profiles b where b.owner_id = a.id) \
               from accounts a where a.id = $1",
        )
        .bind(account)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.0, row.1, row.2.unwrap_or_default(), row.3.unwrap_or_default()))
    }

    /// Checks a new password against the policy and hashes it (no transaction
    /// is held open while hashing); [`Accounts::store_password`] saves it.
    async fn new_password_hash(
        &self,
        account: Uuid,
        password: &SecretString,
        confirm: &SecretString,
    ) -> Result<String, AuthError> {
        let (name, email, phone, business) = self.personal_info(account).await?;
        let mut errors = FieldErrors::new();
        let personal = PersonalInfo {
            name: &name,
            email: &email,
            business_name: &business,
            phone: &phone,
        };
        check_password(&mut errors, "password", password, confirm, &personal);
        if !errors.is_empty() {
            return Err(AuthError::Invalid(errors));
        }
        Ok(self.hasher.hash(password).await?)
    }

    async fn store_password(&self, conn: &mut sqlx::PgConnection, account: Uuid, hash: &str) -> Result<(), AuthError> {
        sqlx::query("update accounts set password_hash = $2, password_changed_at = $3, updated_at = $3 where id = $1")
            .bind(account)
            .bind(hash)
            .bind(self.now())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Sets a new password with a reset token and ends every session of the account.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &SecretString,
        confirm: &SecretString,
        meta: &RequestMeta,
    ) -> Result<Uuid, AuthError> {
        // Check the token without using it up, so a policy error lets the person retry.
        let account: Option<Uuid> = sqlx::query_scalar(
            "select account_id from auth_tokens where token_hash = $1 and purpose = 'reset_password' \
               and used_at is null and expires_at > $2",
        )
        .bind(token_hash(token.trim()))
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?;
        let account = account.ok_or(AuthError::TokenInvalid)?;
        let hash = self.new_password_hash(account, password, confirm).await?;
        let mut tx = crate::db::begin(&self.pool).await?;
        self.take_token(&mut tx, token, "reset_password").await?;
        self.store_password(&mut tx, account, &hash).await?;
        // A password reset proves the mailbox: it also verifies the email.
        sqlx::query(
            "update accounts set email_verified_at = coalesce(email_verified_at, $2), \
                    status = case when status = 'pending_verification' then 'active' else status end \
              where id = $1",
        )
        .bind(account)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            AuditKind::PasswordReset,
            Some(account),
            Some(account),
            meta,
            json!({}),
        )
        .await?;
        alerts::password_reset(self.now(), meta, &self.public_url)
            .send(&mut tx, &self.keys, account)
            .await?;
        session_store::end_account_sessions(&mut tx, account).await?;
        crate::db::commit(tx).await?;
        Ok(account)
    }

    /// Changes the password after checking the current one. The caller ends
    /// the account's other sessions and rotates the current one.
    pub async fn change_password(
        &self,
        account: Uuid,
        current: &SecretString,
        password: &SecretString,
        confirm: &SecretString,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let stored: String = sqlx::query_scalar("select password_hash from accounts where id = $1")
            .bind(account)
            .fetch_one(&self.pool)
            .await?;
        if self.hasher.verify(current, Some(&stored)).await? == Verification::Invalid {
            let mut errors = FieldErrors::new();
            errors.insert("current_password", "That is not your current password.".to_owned());
            return Err(AuthError::Invalid(errors));
        }
        let hash = self.new_password_hash(account, password, confirm).await?;
        let mut tx = crate::db::begin(&self.pool).await?;
        self.store_password(&mut tx, account, &hash).await?;
        audit::record(
            &mut *tx,
            AuditKind::PasswordChanged,
            Some(account),
            Some(account),
            meta,
            json!({}),
        )
        .await?;
        alerts::password_changed(self.now(), meta, &self.public_url)
            .send(&mut tx, &self.keys, account)
            .await?;
        crate::db::commit(tx).await?;
        Ok(())
    }
}

/// The demo owner that `bikriagent seed-demo` creates for local runs.
pub const DEMO_EMAIL: &str = "demo@bikriagent.local";
pub const DEMO_PASSWORD: &str = "lantern-harbor-violet-2048";

impl Accounts {
    /// Creates the verified demo owner and its business, once (development
    /// only). Returns the new owner, or `None` when it already existed.
    pub async fn seed_demo_owner(&self) -> Result<Option<OwnerId>, AuthError> {
        let exists: bool = sqlx::query_scalar("select exists(select 1 from accounts where lower(email) = $1)")
            .bind(DEMO_EMAIL)
            .fetch_one(&self.pool)
            .await?;
        if exists {
            return Ok(None);
        }
        let hash = self.hasher.hash(&SecretString::from(DEMO_PASSWORD.to_owned())).await?;
        let id: Uuid = sqlx::query_scalar(
            "insert into accounts (role, email, name, phone, password_hash, status, email_verified_at, payment_verified_at) \
             values ('owner', $1, 'Nusrat Jahan', '+8801711000000', $2, 'active', now(), now()) returning id",
        )
        .bind(DEMO_EMAIL)
        .bind(hash)
        .fetch_one(&self.pool)
        .await?;
        let mut tenant = begin_tenant_tx(&self.pool, OwnerId::from_verified(id)).await?;
        sqlx::query("insert into business_profiles (owner_id, name, description) values ($1, $2, $3)")
            .bind(id)
            .bind("Nusrat's Saree Corner")
            .bind("Handloom sarees and three-pieces from Tangail, delivered across Bangladesh.")
            .execute(&mut *tenant)
            .await?;
        crate::db::commit(tenant).await?;
        Ok(Some(OwnerId::from_verified(id)))
    }
}

impl Accounts {
    /// Suspends an account: status, reason, every session ended at once, audited.
    /// (Staff pages call this; automatic replies stop because every send checks the status.)
    /// `actor` must be allowed to act on the account ([`super::authority`]):
    /// staff suspend owners, admins suspend owners and staff.
    pub async fn suspend(&self, account: Uuid, reason: &str, actor: Uuid, meta: &RequestMeta) -> Result<(), AuthError> {
        let reason = reason.trim();
        if reason.is_empty() {
            let mut errors = FieldErrors::new();
            errors.insert(
                "reason",
                "Give a reason: the owner is told it when they appeal.".to_owned(),
            );
            return Err(AuthError::Invalid(errors));
        }
        let mut tx = crate::db::begin(&self.pool).await?;
        super::authority::authorize(&mut tx, actor, account).await?;
        sqlx::query("update accounts set status = 'suspended', suspended_reason = $2, updated_at = $3 where id = $1")
            .bind(account)
            .bind(reason)
            .bind(self.now())
            .execute(&mut *tx)
            .await?;
        let ended = session_store::end_account_sessions(&mut tx, account).await?;
        audit::record(
            &mut *tx,
            AuditKind::AccountSuspended,
            Some(account),
            Some(actor),
            meta,
            json!({ "reason": reason, "sessions_ended": ended }),
        )
        .await?;
        alerts::suspended(self.now(), reason)
            .send(&mut tx, &self.keys, account)
            .await?;
        crate::db::commit(tx).await?;
        Ok(())
    }

    /// Lifts a suspension (back to active, or pending if the email was never
    /// verified). The same rule as [`Accounts::suspend`] says who may.
    pub async fn unsuspend(&self, account: Uuid, actor: Uuid, meta: &RequestMeta) -> Result<(), AuthError> {
        let mut tx = crate::db::begin(&self.pool).await?;
        super::authority::authorize(&mut tx, actor, account).await?;
        let lifted = sqlx::query(
            "update accounts set status = case when email_verified_at is null then 'pending_verification' else 'active' end, \
                    suspended_reason = null, updated_at = $2 where id = $1 and status = 'suspended'",
        )
        .bind(account)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            AuditKind::AccountUnsuspended,
            Some(account),
            Some(actor),
            meta,
            json!({}),
        )
        .await?;
        if lifted.rows_affected() > 0 {
            alerts::unsuspended(self.now(), &self.public_url)
                .send(&mut tx, &self.keys, account)
                .await?;
        }
        crate::db::commit(tx).await?;
        Ok(())
    }
}
