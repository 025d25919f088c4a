//! Fixed-window rate limits kept in PostgreSQL, so every app instance shares them.

use sqlx::PgPool;
use time::OffsetDateTime;

/// One limit: at most `max` hits per `window_secs` for a key.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window_secs: i64,
}

pub const LOGIN_PER_IP: Limit = Limit {
    name: "login-ip",
    max: 30,
    window_secs: 600,
};
pub const SIGNUP_PER_IP: Limit = Limit {
    name: "signup-ip",
    max: 10,
    window_secs: 3600,
};
pub const RESET_PER_IP: Limit = Limit {
    name: "reset-ip",
    max: 20,
    window_secs: 3600,
};
pub const RESET_PER_EMAIL: Limit = Limit {
    name: "reset-email",
    max: 5,
    window_secs: 3600,
};
pub const IMPORT_PER_OWNER: Limit = Limit {
    name: "import-owner",
    max: 10,
    window_secs: 3600,
};
pub const SECURITY_MAIL_PER_ACCOUNT: Limit = Limit {
    name: "security-mail",
    max: 10,
    window_secs: 3600,
};

/// Verification mails one account may ask for again (mail bombing).
pub const RESEND_VERIFICATION_PER_ACCOUNT: Limit = Limit {
    name: "resend-verification-account",
    max: 5,
    window_secs: 3600,
};
pub const RESEND_VERIFICATION_PER_IP: Limit = Limit {
    name: "resend-verification-ip",
    max: 20,
    window_secs: 3600,
};
/// Starts of Meta's login: each one makes a Graph round trip later.
pub const OAUTH_START_PER_ACCOUNT: Limit = Limit {
    name: "oauth-start-account",
    max: 20,
    window_secs: 3600,
};
/// Playground questions an owner may ask a day (each runs the reply
/// engine, and the LLM when one is configured).
pub const PLAYGROUND_PER_OWNER: Limit = Limit {
    name: "playground-owner",
    max: 200,
    window_secs: 86_400,
};
/// Sandbox messages an owner may send a day.
pub const SANDBOX_PER_OWNER: Limit = Limit {
    name: "sandbox-owner",
    max: 300,
    window_secs: 86_400,
};
pub const PASSWORD_CHANGE_PER_ACCOUNT: Limit = Limit {
    name: "password-change-account",
    max: 10,
    window_secs: 3600,
};
pub const PASSWORD_CHANGE_PER_IP: Limit = Limit {
    name: "password-change-ip",
    max: 30,
    window_secs: 3600,
};
/// Second-factor attempts from one network (each account also locks its
/// second factor after a few wrong codes).
pub const SECOND_FACTOR_PER_IP: Limit = Limit {
    name: "second-factor-ip",
    max: 30,
    window_secs: 600,
};

/// Every limit above, for metrics (each gets a series from the start) and
/// for [`prune`], which drops each limit's windows once they end.
pub const ALL: [Limit; 14] = [
    LOGIN_PER_IP,
    SIGNUP_PER_IP,
    RESET_PER_IP,
    RESET_PER_EMAIL,
    IMPORT_PER_OWNER,
    SECURITY_MAIL_PER_ACCOUNT,
    RESEND_VERIFICATION_PER_ACCOUNT,
    RESEND_VERIFICATION_PER_IP,
    OAUTH_START_PER_ACCOUNT,
    PLAYGROUND_PER_OWNER,
    SANDBOX_PER_OWNER,
    PASSWORD_CHANGE_PER_ACCOUNT,
    PASSWORD_CHANGE_PER_IP,
    SECOND_FACTOR_PER_IP,
];

/// Counts a hit; `Err(retry_after_secs)` when the limit is already reached.
/// A window opens at the first hit after the previous window ended.
pub async fn hit(pool: &PgPool, limit: Limit, key: &str, now: OffsetDateTime) -> Result<(), i64> {
    let full_key = format!("{}:{}", limit.name, key);
    let window = time::Duration::seconds(limit.window_secs);
    let counted: Result<(i32, OffsetDateTime), sqlx::Error> = sqlx::query_as(
        "insert into rate_limits (key, window_start, hits) values ($1, $2, 1) \
         on conflict (key) do update set \
             hits = case when rate_limits.window_start <= $2 - $3 then 1 else rate_limits.hits + 1 end, \
             window_start = case when rate_limits.window_start <= $2 - $3 then $2 else rate_limits.window_start end \
         returning hits, window_start",
    )
    .bind(&full_key)
    .bind(now)
    .bind(window)
    .fetch_one(pool)
    .await;
    match counted {
        Ok((hits, start)) if hits > limit.max => {
            crate::metrics::METRICS.rate_limited(&limit);
            Err((start + window - now).whole_seconds().max(1))
        }
        Ok(_) => Ok(()),
        Err(error) => {
            // Fail open on a database hiccup: the limit protects capacity, and
            // every protected action hits the same database right after anyway.
            tracing::warn!(%error, limit = limit.name, "rate limit check failed");
            Ok(())
        }
    }
}

/// Drops windows that ended by `now` (run by the periodic cleanup): a row
/// past the longest window is past its own, and the next hit on its key
/// starts a new window anyway.
pub async fn prune(pool: &PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    // Each limit's windows go once they end; a key of no known limit (one
    // renamed or removed since) after the longest window of all.
    let longest = ALL.iter().map(|limit| limit.window_secs).max().unwrap_or(0);
    Ok(sqlx::query(
        "delete from rate_limits r \
          where r.window_start <= $1 - make_interval(secs => coalesce( \
                  (select l.secs from unnest($2::text[], $3::float8[]) as l(name, secs) \
                    where r.key like l.name || ':%' order by length(l.name) desc limit 1), $4))",
    )
    .bind(now)
    .bind(ALL.iter().map(|limit| limit.name).collect::<Vec<_>>())
    .bind(ALL.iter().map(|limit| limit.window_secs as f64).collect::<Vec<_>>())
    .bind(longest as f64)
    .execute(pool)
    .await?
    .rows_affected())
}
