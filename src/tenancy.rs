//! Tenant scoping: every owner's rows are guarded by Row Level Security.
//!
//! Tenant tables carry an `owner_id` column and a policy comparing it with
//! `app_current_owner()`, which reads the transaction-local setting
//! `app.owner_id`. [`begin_tenant_tx`] is the one way the app sets it, with
//! `set_config(…, true)` so the setting dies with the transaction and can
//! never leak to the next user of a pooled connection. When the setting is
//! missing the function returns NULL and every policy hides every row: the
//! policies fail closed.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The id of an owner account, the tenant key of every tenant table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OwnerId(Uuid);

impl OwnerId {
    /// Wraps an id that was read from a verified session or from the database.
    pub fn from_verified(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for OwnerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A transaction in which Row Level Security shows only `owner`'s rows.
pub async fn begin_tenant_tx(pool: &PgPool, owner: OwnerId) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = crate::db::begin(pool).await?;
    sqlx::query("select set_config('app.owner_id', $1, true)")
        .bind(owner.0.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
