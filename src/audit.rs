//! The append-only security event log.
//!
//! Events name who, what, when and from where; never a password, token,
//! cookie or message body. The `detail` object holds only non-secret facts.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::names::named_enum;

/// What an audit event records (`security_events.kind`). Every kind that
/// any version recorded stays here: the log keeps its rows for a year at
/// least, and each must still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "audit_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    // Accounts
    Signup,
    /// Someone signed up with an address that already has an account.
    SignupExistingEmail,
    EmailVerified,
    // Signing in
    LoginSucceeded,
    LoginFailed,
    /// Too many attempts: refused before the password was checked.
    LoginThrottled,
    LoginRefusedSuspended,
    /// Too many wrong passwords: the account is locked for a while.
    AccountLocked,
    Logout,
    // Passwords
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    // Sessions
    SessionRevoked,
    SessionsRevokedAll,
    // Suspension
    AccountSuspended,
    AccountUnsuspended,
    // Staff and their second factor
    StaffCreated,
    TotpEnrolled,
    SecondFactorPassed,
    SecondFactorFailed,
    /// The fifth wrong code in a row locked the second factor.
    SecondFactorLocked,
    // Refused requests
    TurnstileFailed,
    OauthStateMismatch,
    WebhookSignatureRefused,
    // Channels
    ChannelConnected,
    /// A Meta id another owner holds was asked for.
    ChannelClaimConflict,
    /// By the owner, or by staff (`by_staff` in the detail).
    ChannelPaused,
    ChannelResumed,
    ChannelDisconnected,
    ChannelTokenInvalid,
    /// A message arrived for no connected channel of an active owner.
    UnmatchedChannel,
    // Conversations
    ConversationTakenOver,
    ConversationHandedBack,
    OwnerReplyQueued,
    /// Staff read a review case (its message and draft).
    StaffOpenedReviewCase,
    // Orders and customers' data
    OrderStatusChanged,
    CustomerDataDeleted,
    // Staff operations on owners
    PaymentVerified,
    TrialAllowanceGranted,
    LimitsChanged,
    /// Every automatic send stopped, platform-wide.
    KillSwitchEngaged,
    KillSwitchReleased,
    // Stripe
    StripeSignatureInvalid,
    /// A Stripe payment named no account we know.
    StripePaymentUnmatched,
}

named_enum!(AuditKind {
    Signup => "signup",
    SignupExistingEmail => "signup_existing_email",
    EmailVerified => "email_verified",
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    LoginThrottled => "login_throttled",
    LoginRefusedSuspended => "login_refused_suspended",
    AccountLocked => "account_locked",
    Logout => "logout",
    PasswordResetRequested => "password_reset_requested",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    SessionRevoked => "session_revoked",
    SessionsRevokedAll => "sessions_revoked_all",
    AccountSuspended => "account_suspended",
    AccountUnsuspended => "account_unsuspended",
    StaffCreated => "staff_created",
    TotpEnrolled => "totp_enrolled",
    SecondFactorPassed => "second_factor_passed",
    SecondFactorFailed => "second_factor_failed",
    SecondFactorLocked => "second_factor_locked",
    TurnstileFailed => "turnstile_failed",
    OauthStateMismatch => "oauth_state_mismatch",
    WebhookSignatureRefused => "webhook_signature_refused",
    ChannelConnected => "channel_connected",
    ChannelClaimConflict => "channel_claim_conflict",
    ChannelPaused => "channel_paused",
    ChannelResumed => "channel_resumed",
    ChannelDisconnected => "channel_disconnected",
    ChannelTokenInvalid => "channel_token_invalid",
    UnmatchedChannel => "unmatched_channel",
    ConversationTakenOver => "conversation_taken_over",
    ConversationHandedBack => "conversation_handed_back",
    OwnerReplyQueued => "owner_reply_queued",
    StaffOpenedReviewCase => "staff_opened_review_case",
    OrderStatusChanged => "order_status_changed",
    CustomerDataDeleted => "customer_data_deleted",
    PaymentVerified => "payment_verified",
    TrialAllowanceGranted => "trial_allowance_granted",
    LimitsChanged => "limits_changed",
    KillSwitchEngaged => "kill_switch_engaged",
    KillSwitchReleased => "kill_switch_released",
    StripeSignatureInvalid => "stripe_signature_invalid",
    StripePaymentUnmatched => "stripe_payment_unmatched",
});

/// Where a request came from, for audit rows and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Records one event. Errors are returned: callers on a security path must
/// not carry on as if an event was recorded.
pub async fn record<'e, E>(
    executor: E,
    kind: AuditKind,
    account: Option<Uuid>,
    actor: Option<Uuid>,
    meta: &RequestMeta,
    detail: Value,
) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let user_agent: Option<String> = meta.user_agent.as_ref().map(|ua| ua.chars().take(300).collect());
    sqlx::query(
        "insert into security_events (kind, account_id, actor_id, ip, user_agent, detail) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(account)
    .bind(actor)
    .bind(&meta.ip)
    .bind(user_agent)
    .bind(detail)
    .execute(executor)
    .await?;
    tracing::info!(security_event = kind.as_str(), account = ?account, "security event");
    Ok(())
}
