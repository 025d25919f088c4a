//! Whether a message may be sent now, decided in one place right before
//! every send, with the reason recorded when a gate blocks.
//!
//! Automatic replies pass every gate; an owner's own reply from the inbox
//! only the ones Meta and the channel impose (a usable channel, the 24-hour
//! window), because the owner is the person the other gates protect.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::channels::ChannelStatus;
use crate::conversations::ConversationMode;
use crate::owners::OwnerState;

/// Daily and per-minute caps on automatic sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendLimits {
    /// Automatic replies per owner per shop day.
    pub owner_daily: i64,
    /// Automatic replies per channel per shop day.
    pub channel_daily: i64,
    /// Automatic replies per conversation in any 60 seconds.
    pub conversation_per_minute: i64,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            owner_daily: 500,
            channel_daily: 300,
            conversation_per_minute: 6,
        }
    }
}

/// Meta's standard messaging window: a business may message a person
/// automatically only within 24 hours of that person's last message.
pub const MESSAGING_WINDOW: Duration = Duration::hours(24);

/// Shops we serve count their day in Bangladesh time (UTC+6, no DST).
pub const SHOP_DAY_OFFSET_HOURS: i8 = 6;

/// When the current shop day began, as a UTC instant: daily limits count from here.
pub fn shop_day_start(now: OffsetDateTime) -> OffsetDateTime {
    let offset = UtcOffset::from_hms(SHOP_DAY_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC);
    let local = now.to_offset(offset);
    local.replace_time(time::Time::MIDNIGHT).to_offset(UtcOffset::UTC)
}

/// Everything the gates look at, loaded in one transaction right before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateInputs {
    /// The global kill switch (false: staff stopped every automatic send).
    pub auto_send_enabled: bool,
    pub owner_state: OwnerState,
    /// Whether the owner's state (and staff's trial allowance) lets automatic
    /// replies go out on live channels (see `owners::permissions`).
    pub auto_send_allowed: bool,
    /// The owner's own test channel: payment state and daily limits do not apply.
    pub sandbox: bool,
    /// `channels.status`.
    pub channel_status: ChannelStatus,
    /// `conversations.mode`.
    pub conversation_mode: ConversationMode,
    /// The send acknowledges the customer's request for a person: it was
    /// decided together with the handover, so the takeover that request
    /// caused does not hold it back (the customer is never left in silence).
    pub handover_ack: bool,
    /// When the customer last wrote.
    pub last_customer_at: Option<OffsetDateTime>,
    pub now: OffsetDateTime,
    /// Automatic sends already made (or under way) today.
    pub owner_sent_today: i64,
    pub channel_sent_today: i64,
    /// Automatic sends in this conversation in the last 60 seconds.
    pub conversation_sent_last_minute: i64,
    pub limits: SendLimits,
}

/// The gate that blocked a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    KillSwitch,
    OwnerNotActive,
    NotLiveYet,
    ChannelPaused,
    ChannelUnavailable,
    HumanTakeover,
    OutsideWindow,
    OwnerDailyLimit,
    ChannelDailyLimit,
    ConversationRate,
}

impl Gate {
    /// The stable name stored in `outbound_sends.blocked_by`.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::KillSwitch => "kill_switch",
            Gate::OwnerNotActive => "owner_not_active",
            Gate::NotLiveYet => "not_verified",
            Gate::ChannelPaused => "channel_paused",
            Gate::ChannelUnavailable => "channel_unavailable",
            Gate::HumanTakeover => "human_takeover",
            Gate::OutsideWindow => "outside_24h_window",
            Gate::OwnerDailyLimit => "owner_daily_limit",
            Gate::ChannelDailyLimit => "channel_daily_limit",
            Gate::ConversationRate => "conversation_rate",
        }
    }

    /// What the owner reads in the review queue and the inbox.
    pub fn describe(self) -> &'static str {
        match self {
            Gate::KillSwitch => "BikriAgent staff have paused all automatic replies for now.",
            Gate::OwnerNotActive => "Your account is not active for automatic replies.",
            Gate::NotLiveYet => {
                "Automatic replies on live channels start once your payment is verified (during the trial, \
                 try the agent in the playground and the sandbox chat)."
            }
            Gate::ChannelPaused => "Automatic replies are paused on this channel.",
            Gate::ChannelUnavailable => "The channel is disconnected or needs reconnecting.",
            Gate::HumanTakeover => "You took over this conversation, so the agent stays quiet.",
            Gate::OutsideWindow => "The customer last wrote more than 24 hours ago; Meta allows no message now.",
            Gate::OwnerDailyLimit => "Your daily limit of automatic replies is reached.",
            Gate::ChannelDailyLimit => "This channel's daily limit of automatic replies is reached.",
            Gate::ConversationRate => "Too many automatic replies in this conversation in the last minute.",
        }
    }
}

fn channel_gate(status: ChannelStatus) -> Result<(), Gate> {
    match status {
        ChannelStatus::Connected => Ok(()),
        ChannelStatus::Paused => Err(Gate::ChannelPaused),
        ChannelStatus::TokenInvalid | ChannelStatus::Disconnected => Err(Gate::ChannelUnavailable),
    }
}

fn window_gate(inputs: &GateInputs) -> Result<(), Gate> {
    match inputs.last_customer_at {
        Some(at) if inputs.now - at <= MESSAGING_WINDOW => Ok(()),
        _ => Err(Gate::OutsideWindow),
    }
}

/// Whether an automatic reply may be sent now; the first gate that blocks.
///
/// # Errors
///
/// The [`Gate`] that blocked.
pub fn check_automatic(inputs: &GateInputs) -> Result<(), Gate> {
    if !inputs.auto_send_enabled {
        return Err(Gate::KillSwitch);
    }
    if matches!(
        inputs.owner_state,
        OwnerState::Suspended | OwnerState::PendingVerification
    ) {
        return Err(Gate::OwnerNotActive);
    }
    if !inputs.sandbox && !inputs.auto_send_allowed {
        return Err(Gate::NotLiveYet);
    }
    channel_gate(inputs.channel_status)?;
    if inputs.conversation_mode != ConversationMode::Agent && !inputs.handover_ack {
        return Err(Gate::HumanTakeover);
    }
    window_gate(inputs)?;
    if !inputs.sandbox && inputs.owner_sent_today >= inputs.limits.owner_daily {
        return Err(Gate::OwnerDailyLimit);
    }
    if !inputs.sandbox && inputs.channel_sent_today >= inputs.limits.channel_daily {
        return Err(Gate::ChannelDailyLimit);
    }
    if inputs.conversation_sent_last_minute >= inputs.limits.conversation_per_minute {
        return Err(Gate::ConversationRate);
    }
    Ok(())
}

/// Whether the owner's own reply may be sent now: a usable channel (a paused
/// channel only stops the agent) and Meta's 24-hour window.
///
/// # Errors
///
/// The [`Gate`] that blocked.
pub fn check_manual(inputs: &GateInputs) -> Result<(), Gate> {
    if inputs.owner_state == OwnerState::Suspended {
        return Err(Gate::OwnerNotActive);
    }
    match inputs.channel_status {
        ChannelStatus::Connected | ChannelStatus::Paused => {}
        ChannelStatus::TokenInvalid | ChannelStatus::Disconnected => return Err(Gate::ChannelUnavailable),
    }
    window_gate(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> OffsetDateTime {
        OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn open() -> GateInputs {
        let now = at("2026-11-23T10:00:00Z");
        GateInputs {
            auto_send_enabled: true,
            owner_state: OwnerState::Verified,
            auto_send_allowed: true,
            sandbox: false,
            channel_status: ChannelStatus::Connected,
            conversation_mode: ConversationMode::Agent,
            handover_ack: false,
            last_customer_at: Some(now - Duration::minutes(1)),
            now,
            owner_sent_today: 0,
            channel_sent_today: 0,
            conversation_sent_last_minute: 0,
            limits: SendLimits::default(),
        }
    }

    #[test]
    fn only_the_acknowledgement_of_a_handover_passes_the_takeover() {
        let mut inputs = open();
        inputs.conversation_mode = ConversationMode::Human;
        assert_eq!(check_automatic(&inputs), Err(Gate::HumanTakeover));
        inputs.handover_ack = true;
        assert_eq!(check_automatic(&inputs), Ok(()));
        // Every other gate still holds it.
        inputs.last_customer_at = None;
        assert_eq!(check_automatic(&inputs), Err(Gate::OutsideWindow));
    }

    #[test]
    fn an_ordinary_reply_passes_every_gate() {
        assert_eq!(check_automatic(&open()), Ok(()));
        assert_eq!(check_manual(&open()), Ok(()));
    }

    #[test]
    fn each_gate_blocks_with_its_reason() {
        type Change = Box<dyn Fn(&mut GateInputs)>;
        let cases: Vec<(Gate, Change)> = vec![
            (Gate::KillSwitch, Box::new(|i| i.auto_send_enabled = false)),
            (
                Gate::OwnerNotActive,
                Box::new(|i| i.owner_state = OwnerState::Suspended),
            ),
            (
                Gate::OwnerNotActive,
                Box::new(|i| i.owner_state = OwnerState::PendingVerification),
            ),
            (
                Gate::NotLiveYet,
                Box::new(|i| {
                    i.owner_state = OwnerState::Trial;
                    i.auto_send_allowed = false;
                }),
            ),
            (
                Gate::ChannelPaused,
                Box::new(|i| i.channel_status = ChannelStatus::Paused),
            ),
            (
                Gate::ChannelUnavailable,
                Box::new(|i| i.channel_status = ChannelStatus::TokenInvalid),
            ),
            (
                Gate::ChannelUnavailable,
                Box::new(|i| i.channel_status = ChannelStatus::Disconnected),
            ),
            (
                Gate::HumanTakeover,
                Box::new(|i| i.conversation_mode = ConversationMode::Human),
            ),
            (
                Gate::OutsideWindow,
                Box::new(|i| i.last_customer_at = Some(i.now - Duration::hours(25))),
            ),
            (Gate::OutsideWindow, Box::new(|i| i.last_customer_at = None)),
            (Gate::OwnerDailyLimit, Box::new(|i| i.owner_sent_today = 500)),
            (Gate::ChannelDailyLimit, Box::new(|i| i.channel_sent_today = 300)),
            (
                Gate::ConversationRate,
                Box::new(|i| i.conversation_sent_last_minute = 6),
            ),
        ];
        for (gate, change) in cases {
            let mut inputs = open();
            change(&mut inputs);
            assert_eq!(check_automatic(&inputs), Err(gate), "{gate:?}");
            assert!(!gate.describe().is_empty());
        }
    }

    #[test]
    fn the_kill_switch_wins_over_everything_else() {
        let mut inputs = open();
        inputs.auto_send_enabled = false;
        inputs.channel_status = ChannelStatus::Paused;
        inputs.last_customer_at = None;
        assert_eq!(check_automatic(&inputs), Err(Gate::KillSwitch));
    }

    #[test]
    fn the_sandbox_needs_no_payment_and_has_no_daily_limit_but_stops_for_suspension_and_the_kill_switch() {
        let mut inputs = open();
        inputs.sandbox = true;
        inputs.owner_state = OwnerState::Trial;
        inputs.auto_send_allowed = false;
        inputs.owner_sent_today = 10_000;
        inputs.channel_sent_today = 10_000;
        assert_eq!(check_automatic(&inputs), Ok(()));
        inputs.auto_send_enabled = false;
        assert_eq!(check_automatic(&inputs), Err(Gate::KillSwitch));
        inputs.auto_send_enabled = true;
        inputs.owner_state = OwnerState::Suspended;
        assert_eq!(check_automatic(&inputs), Err(Gate::OwnerNotActive));
    }

    #[test]
    fn the_window_edge_is_inclusive_at_24_hours() {
        let mut inputs = open();
        inputs.last_customer_at = Some(inputs.now - MESSAGING_WINDOW);
        assert_eq!(check_automatic(&inputs), Ok(()));
        inputs.last_customer_at = Some(inputs.now - MESSAGING_WINDOW - Duration::seconds(1));
        assert_eq!(check_automatic(&inputs), Err(Gate::OutsideWindow));
    }

    #[test]
    fn owners_may_reply_on_a_paused_channel_or_a_taken_over_conversation_but_not_outside_the_window() {
        let mut inputs = open();
        inputs.channel_status = ChannelStatus::Paused;
        inputs.conversation_mode = ConversationMode::Human;
        inputs.auto_send_enabled = false;
        inputs.owner_sent_today = 10_000;
        assert_eq!(check_manual(&inputs), Ok(()));
        inputs.last_customer_at = Some(inputs.now - Duration::hours(30));
        assert_eq!(check_manual(&inputs), Err(Gate::OutsideWindow));
        let mut inputs = open();
        inputs.channel_status = ChannelStatus::TokenInvalid;
        assert_eq!(check_manual(&inputs), Err(Gate::ChannelUnavailable));
    }

    #[test]
    fn the_shop_day_starts_at_midnight_in_dhaka() {
        // 17:59 UTC is 23:59 in Dhaka: the day began at 18:00 UTC the day before.
        assert_eq!(shop_day_start(at("2026-11-23T17:59:00Z")), at("2026-11-22T18:00:00Z"));
        assert_eq!(shop_day_start(at("2026-11-23T18:00:00Z")), at("2026-11-23T18:00:00Z"));
    }
}
