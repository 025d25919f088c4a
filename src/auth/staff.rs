//! Staff accounts and their second factor (TOTP with recovery codes).
//!
//! Staff are created from the command line, never through signup. Before any
//! staff page opens they must enrol a TOTP authenticator; each later login
//! needs a code (or a one-time recovery code) after the password. Wrong
//! codes are counted and lock the second factor for a while
//! ([`super::second_factor`]); every code works once.

use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::accounts::{Accounts, AuthError, FieldErrors, Role};
use super::identity::Email;
use super::password_policy::{self, PersonalInfo};
use super::second_factor::{self, Attempts, CodeCheck, Verdict};
use super::totp::{self, TotpSecret};
use crate::audit::{self, AuditKind, RequestMeta};

/// What a typed second-factor code turned out to be.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// A TOTP code of a step after the last one used.
    Step(i64),
    /// A TOTP code of a step already used.
    UsedStep,
    /// One of the account's unused recovery codes.
    Recovery,
    /// One of the account's recovery codes, already spent.
    UsedRecovery,
    Nothing,
}

fn totp_context(account: Uuid) -> String {
    format!("totp:{account}")
}

fn invalid(field: &'static str, message: &str) -> AuthError {
    let mut errors = FieldErrors::new();
    errors.insert(field, message.to_owned());
    AuthError::Invalid(errors)
}

impl Accounts {
    /// Creates an active staff or admin account (the `create-staff` command).
    pub async fn create_staff(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password: &SecretString,
    ) -> Result<Uuid, AuthError> {
        if role == Role::Owner {
            return Err(invalid("role", "Staff accounts are `staff` or `admin`."));
        }
        let email = Email::parse(email).map_err(|e| invalid("email", &e.to_string()))?;
        let personal = PersonalInfo {
            name,
            email: email.as_str(),
            business_name: "",
            phone: "",
        };
        let problems = password_policy::check(secrecy::ExposeSecret::expose_secret(password), &personal);
        if !problems.is_empty() {
            let message = problems.iter().map(|p| p.message()).collect::<Vec<_>>().join(" ");
            return Err(invalid("password", &message));
        }
        let hash = self.hasher.hash(password).await?;
        let mut tx = crate::db::begin(&self.pool).await?;
        let id: Option<Uuid> = sqlx::query_scalar(
            "insert into accounts (role, email, name, password_hash, status, email_verified_at) \
             values ($1, $2, $3, $4, 'active', now()) on conflict ((lower(email))) do nothing returning id",
        )
        .bind(role.as_str())
        .bind(email.as_str())
        .bind(name)
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or_else(|| invalid("email", "An account with this email already exists."))?;
        audit::record(
            &mut *tx,
            AuditKind::StaffCreated,
            Some(id),
            None,
            &RequestMeta::default(),
            json!({ "role": role.as_str() }),
        )
        .await?;
        crate::db::commit(tx).await?;
        Ok(id)
    }

    /// Starts (or restarts) TOTP enrolment: a new secret, stored encrypted,
    /// not active until confirmed with a code. Refused once enrolled.
    pub async fn begin_totp_enrolment(&self, account: Uuid) -> Result<TotpSecret, AuthError> {
        let secret = TotpSecret::generate();
        let sealed = self.keys.seal(secret.as_bytes(), &totp_context(account));
        let updated = sqlx::query(
            "update accounts set totp_secret_enc = $2 where id = $1 and totp_enabled_at is null and role <> 'owner'",
        )
        .bind(account)
        .bind(sealed)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(invalid(
                "code",
                "Two-step verification is already set up for this account.",
            ));
        }
        Ok(secret)
    }

    /// The secret of an enrolment that was started but not confirmed yet.
    pub async fn pending_totp_secret(&self, account: Uuid) -> Result<Option<TotpSecret>, AuthError> {
        let enabled: Option<Option<time::OffsetDateTime>> =
            sqlx::query_scalar("select totp_enabled_at from accounts where id = $1")
                .bind(account)
                .fetch_optional(&self.pool)
                .await?;
        match enabled {
            Some(None) => self.totp_secret(account).await,
            _ => Ok(None),
        }
    }

    async fn totp_secret(&self, account: Uuid) -> Result<Option<TotpSecret>, AuthError> {
        let sealed: Option<Vec<u8>> = sqlx::query_scalar("select totp_secret_enc from accounts where id = $1")
            .bind(account)
            .fetch_one(&self.pool)
            .await?;
        let Some(sealed) = sealed else { return Ok(None) };
        let bytes = self
            .keys
            .open(&sealed, &totp_context(account))
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let bytes: [u8; 20] = bytes
            .try_into()
            .map_err(|_| AuthError::Internal("bad TOTP secret length".into()))?;
        Ok(Some(TotpSecret::from_bytes(bytes)))
    }

    /// Consumes a TOTP step once (replay protection across instances).
    async fn use_step(&self, account: Uuid, step: i64) -> Result<bool, AuthError> {
        Ok(sqlx::query(
            "update accounts set totp_last_step = $2 where id = $1 and (totp_last_step is null or totp_last_step < $2)",
        )
        .bind(account)
        .bind(step)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Confirms enrolment with a first code; returns the recovery codes to show once.
    pub async fn confirm_totp(&self, account: Uuid, code: &str, meta: &RequestMeta) -> Result<Vec<String>, AuthError> {
        let secret = self
            .totp_secret(account)
            .await?
            .ok_or_else(|| invalid("code", "Start the set-up again."))?;
        let now = self.clock.now().unix_timestamp().max(0) as u64;
        let step = totp::verify(&secret, code, now, None).ok_or_else(|| {
            invalid(
                "code",
                "That code is not right. Check the time on your phone and try the newest code.",
            )
        })?;
        if !self.use_step(account, step).await? {
            return Err(invalid("code", "That code was already used. Wait for the next one."));
        }
        let codes = totp::generate_recovery_codes(10);
        let mut tx = crate::db::begin(&self.pool).await?;
        sqlx::query("update accounts set totp_enabled_at = now() where id = $1 and totp_enabled_at is null")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from recovery_codes where account_id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        for code in &codes {
            sqlx::query("insert into recovery_codes (account_id, code_hash) values ($1, $2)")
                .bind(account)
                .bind(totp::hash_recovery_code(code))
                .execute(&mut *tx)
                .await?;
        }
        audit::record(
            &mut *tx,
            AuditKind::TotpEnrolled,
            Some(account),
            Some(account),
            meta,
            json!({}),
        )
        .await?;
        crate::db::commit(tx).await?;
        Ok(codes)
    }

    /// Checks the second factor at login: a TOTP code for a later time step
    /// than the last one used, or an unused recovery code. Wrong codes are
    /// counted per account and lock the second factor (see
    /// [`second_factor`]); the fifth sends the staff member a security alert.
    /// The account row is locked for the whole check, so parallel guesses
    /// are counted one after another.
    pub async fn verify_second_factor(&self, account: Uuid, code: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let secret = self
            .totp_secret(account)
            .await?
            .ok_or_else(|| invalid("code", "That code is not right."))?;
        let now = self.clock.now();
        let unix = now.unix_timestamp().max(0) as u64;
        let mut tx = crate::db::begin(&self.pool).await?;
        let (wrong, locked_until, last_step): (i32, Option<time::OffsetDateTime>, Option<i64>) = sqlx::query_as(
            "select totp_failures, totp_locked_until, totp_last_step from accounts where id = $1 for update",
        )
        .bind(account)
        .fetch_one(&mut *tx)
        .await?;
        let attempts = Attempts { wrong, locked_until };

        // What the code is: a new TOTP step, a TOTP step already used, or a
        // recovery code (unused or spent). Nothing is used up yet.
        let recovery_hash = totp::hash_recovery_code(code);
        let found = match totp::verify(&secret, code, unix, last_step) {
            Some(step) => Found::Step(step),
            None if totp::verify(&secret, code, unix, None).is_some() => Found::UsedStep,
            None => {
                let spent: Option<bool> = sqlx::query_scalar(
                    "select used_at is not null from recovery_codes where account_id = $1 and code_hash = $2",
                )
                .bind(account)
                .bind(&recovery_hash)
                .fetch_optional(&mut *tx)
                .await?;
                match spent {
                    Some(false) => Found::Recovery,
                    Some(true) => Found::UsedRecovery,
                    None => Found::Nothing,
                }
            }
        };
        let check = match found {
            Found::Step(_) | Found::Recovery => CodeCheck::Valid,
            Found::UsedStep | Found::UsedRecovery => CodeCheck::AlreadyUsed,
            Found::Nothing => CodeCheck::Wrong,
        };
        let (next, verdict) = second_factor::decide(attempts, now, check);

        if verdict == Verdict::Accept {
            match found {
                Found::Step(step) => {
                    sqlx::query("update accounts set totp_last_step = $2 where id = $1")
                        .bind(account)
                        .bind(step)
                        .execute(&mut *tx)
                        .await?;
                }
                // The only other valid code: an unused recovery code.
                _ => {
                    sqlx::query(
                        "update recovery_codes set used_at = $3 where account_id = $1 and code_hash = $2 and used_at is null",
                    )
                    .bind(account)
                    .bind(&recovery_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if next != attempts {
            sqlx::query("update accounts set totp_failures = $2, totp_locked_until = $3 where id = $1")
                .bind(account)
                .bind(next.wrong)
                .bind(next.locked_until)
                .execute(&mut *tx)
                .await?;
        }
        let (kind, detail) = match (verdict, check) {
            (Verdict::Accept, _) => (
                AuditKind::SecondFactorPassed,
                json!({ "recovery_code": matches!(found, Found::Recovery) }),
            ),
            (Verdict::Locked { .. }, _) => (AuditKind::SecondFactorFailed, json!({ "reason": "locked" })),
            (_, CodeCheck::AlreadyUsed) => (AuditKind::SecondFactorFailed, json!({ "reason": "already_used" })),
            _ => (AuditKind::SecondFactorFailed, json!({ "reason": "wrong" })),
        };
        audit::record(&mut *tx, kind, Some(account), Some(account), meta, detail).await?;
        if let Verdict::LockedNow { until } = verdict {
            audit::record(
                &mut *tx,
                AuditKind::SecondFactorLocked,
                Some(account),
                Some(account),
                meta,
                json!({ "until": until.unix_timestamp() }),
            )
            .await?;
            crate::alerts::second_factor_locked(now, until, meta, &self.public_url)
                .send(&mut tx, &self.keys, account)
                .await?;
        }
        crate::db::commit(tx).await?;
        match verdict.message(now, crate::alerts::when) {
            None => Ok(()),
            Some(message) => Err(invalid("code", &message)),
        }
    }
}
