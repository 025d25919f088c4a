//! Channels: the Pages, Instagram accounts and WhatsApp numbers an owner
//! connected through Meta's OAuth, with their tokens encrypted at rest.
//!
//! A token is sealed with AES-256-GCM bound to `channel:<owner>:<channel>`,
//! so a ciphertext copied to another row does not open. It is decrypted only
//! to call Meta, held in a `SecretString`, never logged and never rendered.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::alerts::{self, DisconnectedBy};
use crate::audit::{self, AuditKind, RequestMeta};
use crate::auth::accounts::{FieldErrors, Role};
use crate::auth::authority::{AuthorityError, authorize};
use crate::auth::tokens::random_token;
use crate::crypto::DataKeys;
use crate::jobs::{Job, JobError};
use crate::mail;
use crate::meta::graph::{GraphClient, GraphError, Platform};
use crate::names::named_enum;
use crate::tenancy::{OwnerId, begin_tenant_tx};

/// Where a channel's messages come from (`channels.platform`): one of Meta's
/// platforms, or the owner's sandbox (chatted on from the dashboard, no Meta
/// token). [`Platform`] is the same database type without the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "channel_platform", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ChannelPlatform {
    Messenger,
    Instagram,
    Whatsapp,
    Sandbox,
}

named_enum!(ChannelPlatform {
    Messenger => "messenger",
    Instagram => "instagram",
    Whatsapp => "whatsapp",
    Sandbox => "sandbox",
});

impl ChannelPlatform {
    /// The Meta platform a send goes through; `None` for the sandbox.
    pub fn meta(self) -> Option<Platform> {
        match self {
            ChannelPlatform::Messenger => Some(Platform::Messenger),
            ChannelPlatform::Instagram => Some(Platform::Instagram),
            ChannelPlatform::Whatsapp => Some(Platform::Whatsapp),
            ChannelPlatform::Sandbox => None,
        }
    }
}

impl From<Platform> for ChannelPlatform {
    fn from(platform: Platform) -> Self {
        match platform {
            Platform::Messenger => ChannelPlatform::Messenger,
            Platform::Instagram => ChannelPlatform::Instagram,
            Platform::Whatsapp => ChannelPlatform::Whatsapp,
        }
    }
}

/// Whether a channel may send (`channels.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "channel_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    Connected,
    /// Automatic replies paused, by the owner or (a lock) by staff.
    Paused,
    /// Meta said the token no longer works: the owner must reconnect.
    TokenInvalid,
    /// The token is deleted; the row stays for the conversations.
    Disconnected,
}

named_enum!(ChannelStatus {
    Connected => "connected",
    Paused => "paused",
    TokenInvalid => "token_invalid",
    Disconnected => "disconnected",
});

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(String),
    /// Bad input, by field, with messages for the person.
    #[error("some fields need attention")]
    Invalid(FieldErrors),
    #[error("stored data does not decrypt: {0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("bad stored data: {0}")]
    Data(String),
}

impl From<AuthorityError> for ChannelError {
    fn from(error: AuthorityError) -> Self {
        match error {
            AuthorityError::NotFound => ChannelError::NotFound,
            AuthorityError::Refused(refusal) => ChannelError::Refused(refusal.to_string()),
            AuthorityError::Database(error) => ChannelError::Database(error),
        }
    }
}

/// A connected channel as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: Uuid,
    pub platform: ChannelPlatform,
    pub meta_id: String,
    pub display_name: String,
    pub status: ChannelStatus,
    pub connected_at: OffsetDateTime,
    /// Staff paused it: only staff resume it (see [`staff_pause`]).
    pub paused_by_staff: bool,
    /// Why staff paused it, shown to the owner.
    pub pause_reason: Option<String>,
}

/// Something the owner granted that can be connected.
#[derive(Clone, Serialize, Deserialize)]
pub struct Candidate {
    pub platform: Platform,
    pub meta_id: String,
    pub parent_id: Option<String>,
    pub display_name: String,
    /// Page token (Messenger, Instagram) or the user token (WhatsApp).
    pub token: String,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("platform", &self.platform)
            .field("meta_id", &self.meta_id)
            .field("display_name", &self.display_name)
            .finish_non_exhaustive()
    }
}

impl Candidate {
    /// The value of its checkbox: `<platform>:<meta id>`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform.as_str(), self.meta_id)
    }
}

/// What the OAuth callback found, kept sealed until the owner picks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub meta_user_id: String,
    pub candidates: Vec<Candidate>,
}

pub const PENDING_TTL: Duration = Duration::minutes(15);

fn token_context(owner: OwnerId, channel: Uuid) -> String {
    format!("channel:{owner}:{channel}")
}

fn pending_context(owner: OwnerId, id: Uuid) -> String {
    format!("pending:{owner}:{id}")
}

/// Keeps the callback's findings (tokens included) sealed for [`PENDING_TTL`].
pub async fn save_pending(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    pending: &Pending,
) -> Result<Uuid, ChannelError> {
    let id = Uuid::new_v4();
    let plain = serde_json::to_vec(pending).map_err(|e| ChannelError::Data(e.to_string()))?;
    let sealed = keys.seal(&plain, &pending_context(owner, id));
    let mut tx = begin_tenant_tx(pool, owner).await?;
    sqlx::query("delete from pending_connections where owner_id = $1 and expires_at < now()")
        .bind(owner.as_uuid())
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into pending_connections (id, owner_id, data_enc, expires_at) values ($1, $2, $3, now() + $4)")
        .bind(id)
        .bind(owner.as_uuid())
        .bind(sealed)
        .bind(PENDING_TTL)
        .execute(&mut *tx)
        .await?;
    crate::db::commit(tx).await?;
    Ok(id)
}

pub async fn load_pending(pool: &PgPool, keys: &DataKeys, owner: OwnerId, id: Uuid) -> Result<Pending, ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "select data_enc from pending_connections where id = $1 and owner_id = $2 and expires_at > now()",
    )
    .bind(id)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let plain = keys.open(&sealed.ok_or(ChannelError::NotFound)?, &pending_context(owner, id))?;
    serde_json::from_slice(&plain).map_err(|e| ChannelError::Data(e.to_string()))
}

/// What connecting did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConnectOutcome {
    pub connected: Vec<String>,
    /// Names refused because another BikriAgent account holds them.
    pub refused: Vec<String>,
}

/// Connects the chosen candidates of a pending connection: stores each with
/// its sealed token and subscribes our app to its webhooks. A Meta id held by
/// another owner is refused and recorded as a security event for staff. The
/// owner gets one security alert naming every channel that was connected,
/// even when a later one failed.
pub async fn connect(
    pool: &PgPool,
    keys: &DataKeys,
    graph: &GraphClient,
    owner: OwnerId,
    pending_id: Uuid,
    chosen: &[String],
    meta: &RequestMeta,
) -> Result<ConnectOutcome, ChannelError> {
    let pending = load_pending(pool, keys, owner, pending_id).await?;
    let mut outcome = ConnectOutcome::default();
    let connected = connect_chosen(pool, keys, graph, owner, &pending, chosen, meta, &mut outcome).await;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    if !outcome.connected.is_empty() {
        alerts::channels_connected(OffsetDateTime::now_utc(), &outcome.connected, meta)
            .send(&mut tx, keys, owner.as_uuid())
            .await?;
    }
    if connected.is_ok() {
        sqlx::query("delete from pending_connections where id = $1 and owner_id = $2")
            .bind(pending_id)
            .bind(owner.as_uuid())
            .execute(&mut *tx)
            .await?;
    }
    crate::db::commit(tx).await?;
    connected?;
    Ok(outcome)
}

/// The loop of [`connect`]: what it connected or refused goes into `outcome`
/// as it goes, so an error part-way still leaves a true account of it.
#[expect(clippy::too_many_arguments, reason = "connect's inputs plus the outcome it fills")]
async fn connect_chosen(
    pool: &PgPool,
    keys: &DataKeys,
    graph: &GraphClient,
    owner: OwnerId,
    pending: &Pending,
    chosen: &[String],
    meta: &RequestMeta,
    outcome: &mut ConnectOutcome,
) -> Result<(), ChannelError> {
    for candidate in pending.candidates.iter().filter(|c| chosen.contains(&c.key())) {
        let holder: Option<(Uuid, Uuid)> = sqlx::query_as("select channel_id, owner_id from channel_holder($1, $2)")
            .bind(candidate.platform)
            .bind(&candidate.meta_id)
            .fetch_optional(pool)
            .await?;
        if let Some((_, holder_owner)) = holder
            && holder_owner != owner.as_uuid()
        {
            audit::record(
                pool,
                AuditKind::ChannelClaimConflict,
                Some(owner.as_uuid()),
                Some(owner.as_uuid()),
                meta,
                json!({ "platform": candidate.platform.as_str(), "meta_id": candidate.meta_id, "held_by": holder_owner }),
            )
            .await?;
            outcome.refused.push(candidate.display_name.clone());
            continue;
        }
        let token = SecretString::from(candidate.token.clone());
        match candidate.platform {
            Platform::Messenger => graph.subscribe_page(&candidate.meta_id, &token).await?,
            Platform::Instagram => {
                // Instagram messages reach apps subscribed on the linked Page.
                if let Some(page) = &candidate.parent_id {
                    graph.subscribe_page(page, &token).await?;
                }
            }
            Platform::Whatsapp => {
                if let Some(waba) = &candidate.parent_id {
                    graph.subscribe_waba(waba, &token).await?;
                }
            }
        }
        let mut tx = begin_tenant_tx(pool, owner).await?;
        // Reconnecting a channel this owner had before brings back the same
        // row, so its customers keep their conversations (and the agent does
        // not introduce itself to them again).
        let channel_id = match holder {
            Some((id, _)) => id,
            None => sqlx::query_scalar(
                "select id from channels \
                  where owner_id = $1 and platform = $2 and meta_id = $3 and status = 'disconnected' \
                  order by disconnected_at desc nulls last limit 1 for update",
            )
            .bind(owner.as_uuid())
            .bind(candidate.platform)
            .bind(&candidate.meta_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_else(Uuid::new_v4),
        };
        let sealed = keys.seal(token.expose_secret().as_bytes(), &token_context(owner, channel_id));
        // A staff pause outlives a disconnect: reconnecting the same channel
        // moves it from the old row to this one, so it comes back paused.
        let carried: Option<(Option<String>, Option<OffsetDateTime>)> = sqlx::query_as(
            "with old as ( \
                 select id, pause_reason, staff_paused_at from channels \
                  where owner_id = $1 and platform = $2 and meta_id = $3 and status = 'disconnected' \
                    and paused_by_staff and id <> $4 for update), \
             cleared as ( \
                 update channels c set paused_by_staff = false, pause_reason = null, staff_paused_at = null \
                   from old where c.id = old.id) \
             select pause_reason, staff_paused_at from old order by staff_paused_at desc limit 1",
        )
        .bind(owner.as_uuid())
        .bind(candidate.platform)
        .bind(&candidate.meta_id)
        .bind(channel_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (carried_reason, carried_at) = carried.unwrap_or_default();
        let saved = sqlx::query(
            "insert into channels (id, owner_id, platform, meta_id, parent_id, display_name, token_enc, status, \
                                   meta_user_id, paused_by_staff, pause_reason, staff_paused_at) \
             values ($1, $2, $3, $4, $5, $6, $7, \
                     case when $9::text is null then 'connected'::channel_status else 'paused' end, \
                     $8, $9::text is not null, $9, $10) \
             on conflict (id) do update set token_enc = excluded.token_enc, display_name = excluded.display_name, \
                 paused_by_staff = channels.paused_by_staff or excluded.paused_by_staff, \
                 pause_reason = case when channels.paused_by_staff then channels.pause_reason \
                                     else excluded.pause_reason end, \
                 staff_paused_at = case when channels.paused_by_staff then channels.staff_paused_at \
                                        else excluded.staff_paused_at end, \
                 status = case when channels.paused_by_staff or excluded.paused_by_staff \
                               then 'paused'::channel_status else 'connected' end, \
                 parent_id = excluded.parent_id, \
                 connected_at = case when channels.status = 'disconnected' then now() else channels.connected_at end, \
                 meta_user_id = excluded.meta_user_id, updated_at = now(), disconnected_at = null",
        )
        .bind(channel_id)
        .bind(owner.as_uuid())
        .bind(candidate.platform)
        .bind(&candidate.meta_id)
        .bind(&candidate.parent_id)
        .bind(&candidate.display_name)
        .bind(sealed)
        .bind(&pending.meta_user_id)
        .bind(carried_reason)
        .bind(carried_at)
        .execute(&mut *tx)
        .await;
        match saved {
            Ok(_) => {
                audit::record(
                    &mut *tx,
                    AuditKind::ChannelConnected,
                    Some(owner.as_uuid()),
                    Some(owner.as_uuid()),
                    meta,
                    json!({ "platform": candidate.platform.as_str(), "meta_id": candidate.meta_id }),
                )
                .await?;
                crate::db::commit(tx).await?;
                outcome.connected.push(candidate.display_name.clone());
            }
            // Another owner connected it a moment ago: the unique index decides.
            Err(sqlx::Error::Database(db)) if db.constraint() == Some("channels_one_owner") => {
                drop(tx);
                audit::record(
                    pool,
                    AuditKind::ChannelClaimConflict,
                    Some(owner.as_uuid()),
                    Some(owner.as_uuid()),
                    meta,
                    json!({ "platform": candidate.platform.as_str(), "meta_id": candidate.meta_id }),
                )
                .await?;
                outcome.refused.push(candidate.display_name.clone());
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

pub async fn list(pool: &PgPool, owner: OwnerId) -> Result<Vec<ChannelRow>, ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let rows = sqlx::query_as(
        "select id, platform, meta_id, display_name, status, connected_at, paused_by_staff, pause_reason \
           from channels where owner_id = $1 and status <> 'disconnected' order by connected_at",
    )
    .bind(owner.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    Ok(rows)
}

/// The current status, read from the database each time (no cache that could lag a pause).
pub async fn status(pool: &PgPool, owner: OwnerId, channel: Uuid) -> Result<ChannelStatus, ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let status: Option<ChannelStatus> =
        sqlx::query_scalar("select status from channels where id = $1 and owner_id = $2")
            .bind(channel)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    crate::db::commit(tx).await?;
    status.ok_or(ChannelError::NotFound)
}

/// The owner pauses or resumes automatic replies on their channel, at once.
/// A channel staff paused stays paused: the owner's resume is refused with
/// staff's reason, and only [`staff_resume`] lifts it.
pub async fn set_paused(
    pool: &PgPool,
    owner: OwnerId,
    channel: Uuid,
    paused: bool,
    actor: Uuid,
    meta: &RequestMeta,
) -> Result<(), ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let (from, to) = if paused {
        (ChannelStatus::Connected, ChannelStatus::Paused)
    } else {
        (ChannelStatus::Paused, ChannelStatus::Connected)
    };
    let changed = sqlx::query(
        "update channels set status = $4, updated_at = now() \
          where id = $1 and owner_id = $2 and status = $3 and not paused_by_staff",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .bind(from)
    .bind(to)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let found: Option<(bool, Option<String>)> = sqlx::query_as(
            "select paused_by_staff, pause_reason from channels \
              where id = $1 and owner_id = $2 and status <> 'disconnected'",
        )
        .bind(channel)
        .bind(owner.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        return match found {
            None => Err(ChannelError::NotFound),
            Some((true, reason)) if !paused => Err(ChannelError::Refused(staff_pause_notice(reason.as_deref()))),
            Some(_) => Ok(()),
        };
    }
    let kind = if paused {
        AuditKind::ChannelPaused
    } else {
        AuditKind::ChannelResumed
    };
    audit::record(
        &mut *tx,
        kind,
        Some(owner.as_uuid()),
        Some(actor),
        meta,
        json!({ "channel": channel }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// What the owner reads about a channel staff paused.
pub fn staff_pause_notice(reason: Option<&str>) -> String {
    format!(
        "BikriAgent staff paused automatic replies on this channel. Reason: {}. Only BikriAgent staff can \
         resume it: contact BikriAgent support.",
        reason.unwrap_or("not given").trim_end_matches('.')
    )
}

/// The longest reason staff may give for a pause.
pub const PAUSE_REASON_MAX: usize = 500;

/// Checks a staff pause reason: required, one line of text, at most
/// [`PAUSE_REASON_MAX`] characters.
pub fn pause_reason(raw: &str) -> Result<String, FieldErrors> {
    let reason = raw.trim();
    let problem = if reason.is_empty() {
        Some("Say why: the owner sees this reason on their Channels page.".to_owned())
    } else if reason.chars().count() > PAUSE_REASON_MAX {
        Some(format!("Keep the reason under {PAUSE_REASON_MAX} characters."))
    } else if reason.chars().any(char::is_control) {
        Some("Write the reason on one line.".to_owned())
    } else {
        None
    };
    match problem {
        None => Ok(reason.to_owned()),
        Some(message) => {
            let mut errors = FieldErrors::new();
            errors.insert("reason", message);
            Err(errors)
        }
    }
}

/// Staff pause a channel of `owner` with a reason the owner sees. It is a
/// lock: the owner cannot resume it, and it survives a token problem and a
/// disconnect and reconnect. A channel the owner had paused becomes
/// staff-paused. `actor` must be allowed to act on the owner
/// ([`crate::auth::authority`]).
pub async fn staff_pause(
    pool: &PgPool,
    actor: Uuid,
    owner: OwnerId,
    channel: Uuid,
    reason: &str,
    meta: &RequestMeta,
) -> Result<(), ChannelError> {
    let reason = pause_reason(reason).map_err(ChannelError::Invalid)?;
    let mut tx = begin_tenant_tx(pool, owner).await?;
    if authorize(&mut tx, actor, owner.as_uuid()).await? != Role::Owner {
        return Err(ChannelError::NotFound);
    }
    let changed = sqlx::query(
        "update channels set status = case when status = 'connected' then 'paused' else status end, \
                paused_by_staff = true, pause_reason = $3, staff_paused_at = now(), updated_at = now() \
          where id = $1 and owner_id = $2 and status <> 'disconnected'",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .bind(&reason)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(ChannelError::NotFound);
    }
    audit::record(
        &mut *tx,
        AuditKind::ChannelPaused,
        Some(owner.as_uuid()),
        Some(actor),
        meta,
        json!({ "channel": channel, "by_staff": true, "reason": reason }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Staff lift their pause: automatic replies are on again (a channel whose
/// token stopped working stays as it is, without the lock). A channel its
/// owner paused is theirs to resume. `actor` must be allowed to act on the
/// owner ([`crate::auth::authority`]).
pub async fn staff_resume(
    pool: &PgPool,
    actor: Uuid,
    owner: OwnerId,
    channel: Uuid,
    meta: &RequestMeta,
) -> Result<(), ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    if authorize(&mut tx, actor, owner.as_uuid()).await? != Role::Owner {
        return Err(ChannelError::NotFound);
    }
    let changed = sqlx::query(
        "update channels set status = case when status = 'paused' then 'connected' else status end, \
                paused_by_staff = false, pause_reason = null, staff_paused_at = null, updated_at = now() \
          where id = $1 and owner_id = $2 and status <> 'disconnected' and paused_by_staff",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let exists: bool = sqlx::query_scalar(
            "select exists(select 1 from channels where id = $1 and owner_id = $2 and status <> 'disconnected')",
        )
        .bind(channel)
        .bind(owner.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        return Err(if exists {
            ChannelError::Refused(
                "Staff did not pause this channel; if its owner paused it, only they resume it.".into(),
            )
        } else {
            ChannelError::NotFound
        });
    }
    audit::record(
        &mut *tx,
        AuditKind::ChannelResumed,
        Some(owner.as_uuid()),
        Some(actor),
        meta,
        json!({ "channel": channel, "by_staff": true }),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// The decrypted token of a channel that may send.
pub async fn token(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    channel: Uuid,
) -> Result<SecretString, ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let sealed: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("select token_enc from channels where id = $1 and owner_id = $2")
            .bind(channel)
            .bind(owner.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
    crate::db::commit(tx).await?;
    open_token(keys, owner, channel, sealed.flatten())
}

/// Opens a channel's sealed token (`channels.token_enc`) read by the caller.
pub fn open_token(
    keys: &DataKeys,
    owner: OwnerId,
    channel: Uuid,
    sealed: Option<Vec<u8>>,
) -> Result<SecretString, ChannelError> {
    let sealed = sealed.ok_or(ChannelError::NotFound)?;
    let plain = keys.open(&sealed, &token_context(owner, channel))?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|e| ChannelError::Data(e.to_string()))
}

/// Disconnects: unsubscribes our app (best effort), deletes the token.
pub async fn disconnect(
    pool: &PgPool,
    keys: &DataKeys,
    graph: Option<&GraphClient>,
    owner: OwnerId,
    channel: Uuid,
    actor: Option<Uuid>,
    meta: &RequestMeta,
) -> Result<(), ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let row: Option<(ChannelPlatform, String, Option<String>, String)> = sqlx::query_as(
        "select platform, meta_id, parent_id, display_name from channels \
          where id = $1 and owner_id = $2 and status <> 'disconnected'",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let (platform, meta_id, parent, display_name) = row.ok_or(ChannelError::NotFound)?;
    if let Some(graph) = graph
        && let Ok(token) = token(pool, keys, owner, channel).await
    {
        let page = match platform {
            ChannelPlatform::Messenger => Some(meta_id.clone()),
            ChannelPlatform::Instagram => parent,
            ChannelPlatform::Whatsapp | ChannelPlatform::Sandbox => None,
        };
        if let Some(page) = page
            && let Err(error) = graph.unsubscribe_page(&page, &token).await
        {
            tracing::warn!(%error, channel = %channel, "could not unsubscribe from the Page; deleting the token anyway");
        }
    }
    let mut tx = begin_tenant_tx(pool, owner).await?;
    sqlx::query(
        "update channels set status = 'disconnected', token_enc = null, disconnected_at = now(), updated_at = now() \
          where id = $1 and owner_id = $2",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        AuditKind::ChannelDisconnected,
        Some(owner.as_uuid()),
        actor,
        meta,
        json!({ "channel": channel, "meta_id": meta_id }),
    )
    .await?;
    let by = match actor {
        Some(actor) if actor == owner.as_uuid() => DisconnectedBy::Owner(meta),
        Some(_) => DisconnectedBy::Staff,
        None => DisconnectedBy::Meta,
    };
    alerts::channel_disconnected(OffsetDateTime::now_utc(), &display_name, by)
        .send(&mut tx, keys, owner.as_uuid())
        .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Meta said the token no longer works: mark the channel and tell the owner once.
pub async fn mark_token_invalid(
    pool: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    channel: Uuid,
    public_url: &str,
) -> Result<(), ChannelError> {
    let mut tx = begin_tenant_tx(pool, owner).await?;
    let name: Option<String> = sqlx::query_scalar(
        "update channels set status = 'token_invalid', updated_at = now() \
          where id = $1 and owner_id = $2 and status in ('connected', 'paused') returning display_name",
    )
    .bind(channel)
    .bind(owner.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::commit(tx).await?;
    let Some(name) = name else { return Ok(()) };
    let email: String = sqlx::query_scalar("select email from accounts where id = $1")
        .bind(owner.as_uuid())
        .fetch_one(pool)
        .await?;
    let mut tx = crate::db::begin(pool).await?;
    audit::record(
        &mut *tx,
        AuditKind::ChannelTokenInvalid,
        Some(owner.as_uuid()),
        None,
        &RequestMeta::default(),
        json!({ "channel": channel }),
    )
    .await?;
    mail::enqueue(
        &mut tx,
        keys,
        Some(owner.as_uuid()),
        "channel_token_invalid",
        &email,
        &format!("Reconnect {name} to BikriAgent"),
        &format!(
            "Meta told us the connection to {name} no longer works (the access was removed or expired), so \
             BikriAgent cannot answer there.\n\nReconnect it on {public_url}/channels"
        ),
    )
    .await?;
    crate::db::commit(tx).await?;
    Ok(())
}

/// Meta's Deauthorize callback: disconnect everything this Meta user granted.
pub async fn deauthorize(pool: &PgPool, keys: &DataKeys, meta_user_id: &str) -> Result<usize, ChannelError> {
    let channels: Vec<(Uuid, Uuid)> = sqlx::query_as("select channel_id, owner_id from channels_of_meta_user($1)")
        .bind(meta_user_id)
        .fetch_all(pool)
        .await?;
    for (channel, owner) in &channels {
        disconnect(
            pool,
            keys,
            None,
            OwnerId::from_verified(*owner),
            *channel,
            None,
            &RequestMeta::default(),
        )
        .await?;
    }
    Ok(channels.len())
}

/// Records Meta's Data Deletion Request and queues its work; returns the confirmation code.
pub async fn request_deletion(pool: &PgPool, meta_user_id: &str) -> Result<String, ChannelError> {
    let code = random_token()[..20].to_owned();
    let mut tx = crate::db::begin(pool).await?;
    sqlx::query("insert into meta_deletion_requests (confirmation_code, meta_user_id) values ($1, $2)")
        .bind(&code)
        .bind(meta_user_id)
        .execute(&mut *tx)
        .await?;
    MetaDeletionJob { code: code.clone() }.enqueue(&mut *tx).await?;
    crate::db::commit(tx).await?;
    Ok(code)
}

/// The work of a Meta Data Deletion Request: [`run_deletion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaDeletionJob {
    /// The request's confirmation code.
    pub code: String,
}

impl Job for MetaDeletionJob {
    const JOB_NAME: &'static str = "meta_data_deletion";
    /// The pool and the data keys.
    type Context = (PgPool, DataKeys);

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("meta-deletion:{}", self.code))
    }

    async fn run(&self, (pool, keys): &(PgPool, DataKeys)) -> Result<(), JobError> {
        run_deletion(pool, keys, &self.code)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}

/// The deletion job: disconnect the user's channels (tokens deleted) and
/// forget which Meta user granted them.
pub async fn run_deletion(pool: &PgPool, keys: &DataKeys, code: &str) -> Result<(), ChannelError> {
    let user: Option<String> = sqlx::query_scalar(
        "update meta_deletion_requests set status = 'in_progress' where confirmation_code = $1 and status <> 'completed' \
         returning meta_user_id",
    )
    .bind(code)
    .fetch_optional(pool)
    .await?;
    let Some(user) = user else { return Ok(()) };
    let channels: Vec<(Uuid, Uuid)> = sqlx::query_as("select channel_id, owner_id from channels_of_meta_user($1)")
        .bind(&user)
        .fetch_all(pool)
        .await?;
    for (channel, owner) in &channels {
        let owner = OwnerId::from_verified(*owner);
        disconnect(pool, keys, None, owner, *channel, None, &RequestMeta::default()).await?;
        crate::deletion::delete_channel_customers(pool, keys, owner, *channel, "Meta data deletion request")
            .await
            .map_err(|e| ChannelError::Data(e.to_string()))?;
        let mut tx = begin_tenant_tx(pool, owner).await?;
        sqlx::query("update channels set meta_user_id = null where id = $1 and owner_id = $2")
            .bind(channel)
            .bind(owner.as_uuid())
            .execute(&mut *tx)
            .await?;
        crate::db::commit(tx).await?;
    }
    sqlx::query(
        "update meta_deletion_requests set status = 'completed', completed_at = now() where confirmation_code = $1",
    )
    .bind(code)
    .execute(pool)
    .await?;
    Ok(())
}

/// The public status of a deletion request, by confirmation code only.
pub async fn deletion_status(pool: &PgPool, code: &str) -> Result<Option<(String, OffsetDateTime)>, ChannelError> {
    Ok(
        sqlx::query_as("select status, received_at from meta_deletion_requests where confirmation_code = $1")
            .bind(code)
            .fetch_optional(pool)
            .await?,
    )
}

/// Re-encrypts every channel token and TOTP secret under the current key.
/// Runs owner by owner in tenant transactions, so it needs no RLS bypass.
/// Returns (re-encrypted, could not be opened); a value that does not open is
/// left as it is and reported, so one bad row never stops a rotation.
pub async fn rotate_keys(pool: &PgPool, keys: &DataKeys) -> Result<(usize, usize), ChannelError> {
    let owners: Vec<Uuid> = sqlx::query_scalar("select id from accounts").fetch_all(pool).await?;
    let mut rotated = 0;
    let mut failed = 0;
    for owner_uuid in owners {
        let owner = OwnerId::from_verified(owner_uuid);
        let mut tx = begin_tenant_tx(pool, owner).await?;
        let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
            "select id, token_enc from channels where owner_id = $1 and token_enc is not null for update",
        )
        .bind(owner_uuid)
        .fetch_all(&mut *tx)
        .await?;
        for (channel, sealed) in rows {
            if !keys.is_stale(&sealed) {
                continue;
            }
            let context = token_context(owner, channel);
            let Ok(plain) = keys.open(&sealed, &context) else {
                tracing::warn!(channel = %channel, "a channel token does not open with the configured keys");
                failed += 1;
                continue;
            };
            let resealed = keys.seal(&plain, &context);
            sqlx::query("update channels set token_enc = $2 where id = $1")
                .bind(channel)
                .bind(resealed)
                .execute(&mut *tx)
                .await?;
            rotated += 1;
        }
        crate::db::commit(tx).await?;
    }
    let totp: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("select id, totp_secret_enc from accounts where totp_secret_enc is not null")
            .fetch_all(pool)
            .await?;
    for (account, sealed) in totp {
        if !keys.is_stale(&sealed) {
            continue;
        }
        let context = format!("totp:{account}");
        let Ok(plain) = keys.open(&sealed, &context) else {
            tracing::warn!(account = %account, "a TOTP secret does not open with the configured keys");
            failed += 1;
            continue;
        };
        let resealed = keys.seal(&plain, &context);
        sqlx::query("update accounts set totp_secret_enc = $2 where id = $1")
            .bind(account)
            .bind(resealed)
            .execute(pool)
            .await?;
        rotated += 1;
    }
    Ok((rotated, failed))
}

/// A channel as staff see it: whose it is and its state, never its token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffChannelRow {
    pub channel_id: Uuid,
    pub owner_id: Uuid,
    pub owner_email: String,
    pub owner_status: String,
    pub platform: ChannelPlatform,
    pub display_name: String,
    pub status: ChannelStatus,
    pub connected_at: OffsetDateTime,
    pub paused_by_staff: bool,
    pub pause_reason: Option<String>,
}

/// Every connected channel, for the staff console (callers check the staff role).
pub async fn staff_overview(pool: &PgPool) -> Result<Vec<StaffChannelRow>, ChannelError> {
    Ok(sqlx::query_as("select * from staff_channel_overview()")
        .fetch_all(pool)
        .await?)
}
