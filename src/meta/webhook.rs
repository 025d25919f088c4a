//! Meta webhook deliveries: the raw body of a Messenger, Instagram or WhatsApp
//! delivery (whose `X-Hub-Signature-256` was already verified on these exact
//! bytes) turned into typed events.
//!
//! The parser is total. Meta's payloads change shape over time, fields we do
//! not subscribe to still arrive, and a parser that panics or errors on one
//! odd item would make the caller drop the whole batch (or make Meta retry it
//! forever). So every item becomes exactly one [`Event`], and anything we do
//! not understand becomes [`Event::Unknown`] with a short reason, while the
//! caller keeps the raw body for inspection. Work and output are bounded
//! ([`MAX_EVENTS`], [`MAX_TEXT_CHARS`]) whatever the input.

use std::fmt;

use serde_json::{Map, Value};

use crate::meta::graph::Platform;

/// The most events one delivery yields. Meta batches far fewer than this; a
/// body with more is treated as hostile or broken, and the work spent on it
/// stays bounded. The last slot then holds one [`Event::Unknown`] saying so.
pub const MAX_EVENTS: usize = 1000;

/// The most characters of customer text kept. Messenger caps messages at 2000
/// characters and WhatsApp at 4096, so nothing legitimate is cut, and the
/// store and the model's prompt never see unbounded text.
pub const MAX_TEXT_CHARS: usize = 4096;

/// Ids longer than this are not Meta ids (the longest, WhatsApp `wamid`s, are
/// well under 200 characters); refusing them keeps idempotency keys sane.
const MAX_ID_CHARS: usize = 512;

/// Short labels (the `object`, a receipt status) are only ever compared with
/// known values or shown in logs, so a long one is cut.
const MAX_LABEL_CHARS: usize = 64;

/// A WhatsApp profile name is at most a few dozen characters in practice.
const MAX_NAME_CHARS: usize = 256;

/// Bounds the list of message ids in one receipt and the WhatsApp contacts
/// searched per message, so a crafted body cannot make the work quadratic.
const MAX_LIST_ITEMS: usize = 1000;

/// What one delivery contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery's `object` (`page`, `instagram`, `whatsapp_business_account`,
    /// or something we do not handle), cut to 64 characters without control
    /// characters; empty when the body had none.
    pub object: String,
    /// One event per item, in delivery order; at most [`MAX_EVENTS`].
    pub events: Vec<Event>,
}

/// One item of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A customer message (text, attachment, postback, referral, sticker, voice…).
    Message(InboundMessage),
    /// Our own or the owner's outgoing message echoed back (Messenger/Instagram `is_echo`).
    /// Kept apart from [`Event::Message`] so the assistant never answers itself;
    /// `app_id` tells our own sends from the owner answering in Meta's apps.
    Echo {
        platform: Platform,
        /// The Page or Instagram account that sent it (`sender.id`).
        channel_id: String,
        /// The customer it was sent to (`recipient.id`).
        recipient_id: String,
        /// The app that sent it, digits as a string; `None` when Meta gave none.
        app_id: Option<String>,
        mid: String,
        text: Option<String>,
        timestamp_ms: i64,
    },
    /// Delivery/read receipts and WhatsApp statuses for our outbound messages.
    Receipt {
        platform: Platform,
        channel_id: String,
        /// The outbound messages concerned; empty for a Messenger read receipt,
        /// which only carries a watermark (everything before it was read).
        message_ids: Vec<String>,
        /// `delivered` or `read` for Messenger/Instagram; WhatsApp's own status
        /// (`sent`, `delivered`, `read`, `failed`, …).
        status: String,
    },
    /// Reactions to a message.
    Reaction {
        platform: Platform,
        channel_id: String,
        sender_id: String,
        mid: String,
    },
    /// Anything else, kept for inspection (never a crash).
    Unknown {
        /// Where in the body and why, short and bounded (safe to log).
        reason: String,
    },
}

/// A message from a customer, ready to be stored and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub platform: Platform,
    /// The Meta id the channel is found by: Page id (Messenger), Instagram account id (`recipient.id` / `entry.id`), WhatsApp `metadata.phone_number_id`.
    pub channel_id: String,
    /// Platform-scoped customer id: `sender.id`, or WhatsApp `from`.
    pub sender_id: String,
    /// Meta's message id (`message.mid`, WhatsApp `messages[].id`; for postbacks use `postback.mid` or a stable id derived from sender+timestamp+payload). Unique per platform: the idempotency key.
    pub provider_message_id: String,
    pub timestamp_ms: i64,
    pub kind: MessageKind,
    /// The text, if any (message text, postback title/payload, WhatsApp text body / button text / interactive reply title).
    /// At most [`MAX_TEXT_CHARS`] characters, without NUL characters (Postgres
    /// `text` refuses them); never empty.
    pub text: Option<String>,
    /// WhatsApp contact profile name, if given.
    pub sender_name: Option<String>,
}

/// What a customer message is, so the assistant knows whether it can read it
/// (it must not pretend to understand an image or a voice note).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Image,
    Audio,
    Video,
    File,
    Sticker,
    Location,
    /// A button press: Messenger postback, WhatsApp quick-reply button or interactive reply.
    Postback,
    /// A Messenger/Instagram referral (m.me link, ad) with no message.
    Referral,
    Reaction,
    Other,
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a webhook delivery object")]
    NotAnObject,
}

/// Parses a delivery. Malformed JSON → Err(NotJson) (the caller answers 400 and stores the body for inspection). Valid JSON of an unexpected shape → Ok with Unknown events (caller answers 200 and stores it). Never panics, whatever the input; limits: at most 1000 events per delivery (extra → one Unknown), text capped at 4096 chars.
///
/// JSON nested deeper than serde_json's recursion limit (128) counts as
/// malformed, which is what keeps hostile nesting from exhausting the stack.
pub fn parse(body: &[u8]) -> Result<Delivery, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ParseError::NotJson)?;
    let Value::Object(root) = value else {
        return Err(ParseError::NotAnObject);
    };
    let mut events = Events::default();
    let object = match root.get("object") {
        Some(Value::String(object)) => object.as_str(),
        Some(_) => {
            events.unknown("the delivery's \"object\" is not a string");
            return Ok(events.into_delivery(String::new()));
        }
        None => {
            events.unknown("the delivery has no \"object\"");
            return Ok(events.into_delivery(String::new()));
        }
    };
    match object {
        "page" => messaging_entries(&root, Platform::Messenger, &mut events),
        "instagram" => messaging_entries(&root, Platform::Instagram, &mut events),
        "whatsapp_business_account" => whatsapp_entries(&root, &mut events),
        other => events.unknown(format!("object {:?} is not one we handle", label(other))),
    }
    Ok(events.into_delivery(label(object)))
}

type Object = Map<String, Value>;

/// The events collected so far, enforcing [`MAX_EVENTS`]: once full, the last
/// slot is replaced by one Unknown and traversal stops.
#[derive(Default)]
struct Events {
    list: Vec<Event>,
    full: bool,
}

impl Events {
    fn is_full(&self) -> bool {
        self.full
    }

    fn push(&mut self, event: Event) {
        if self.full {
            return;
        }
        if self.list.len() < MAX_EVENTS {
            self.list.push(event);
            return;
        }
        self.full = true;
        self.list.pop();
        self.list.push(Event::Unknown {
            reason: format!("more than {MAX_EVENTS} events in one delivery: the rest were not read"),
        });
    }

    fn unknown(&mut self, reason: impl Into<String>) {
        self.push(Event::Unknown { reason: reason.into() });
    }

    fn into_delivery(self, object: String) -> Delivery {
        Delivery {
            object,
            events: self.list,
        }
    }
}

/// Where an item sits in the body, for Unknown reasons (formatted only when needed).
#[derive(Clone, Copy)]
struct At {
    entry: usize,
    change: Option<usize>,
    list: &'static str,
    item: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry[{}]", self.entry)?;
        if let Some(change) = self.change {
            write!(f, ".changes[{change}].value")?;
        }
        write!(f, ".{}[{}]", self.list, self.item)
    }
}

fn unknown(at: At, why: impl fmt::Display) -> Event {
    Event::Unknown {
        reason: format!("{at}: {why}"),
    }
}

/// Messenger (`page`) and Instagram deliveries: `entry[].messaging[]`.
fn messaging_entries(root: &Object, platform: Platform, events: &mut Events) {
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        events.unknown("the delivery has no \"entry\" array");
        return;
    };
    for (e, entry) in entries.iter().enumerate() {
        if events.is_full() {
            return;
        }
        let Some(entry) = entry.as_object() else {
            events.unknown(format!("entry[{e}] is not an object"));
            continue;
        };
        match entry.get("messaging") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if events.is_full() {
                        return;
                    }
                    let at = At {
                        entry: e,
                        change: None,
                        list: "messaging",
                        item: i,
                    };
                    events.push(messaging_item(platform, item, at));
                }
            }
            Some(_) => events.unknown(format!("entry[{e}].messaging is not an array")),
            // Handover protocol: another app owns the thread and we only watch.
            None if entry.contains_key("standby") => {
                events.unknown(format!("entry[{e}] is standby (another app controls the thread)"));
            }
            None if entry.contains_key("changes") => {
                events.unknown(format!(
                    "entry[{e}] has changes, not messaging (a field we do not handle)"
                ));
            }
            None => events.unknown(format!("entry[{e}] has no messaging")),
        }
    }
}

/// One `messaging[]` item: exactly one event.
fn messaging_item(platform: Platform, item: &Value, at: At) -> Event {
    let Some(item) = item.as_object() else {
        return unknown(at, "not an object");
    };
    let Some(sender) = nested_id(item, "sender") else {
        return unknown(at, "no valid sender.id");
    };
    let Some(recipient) = nested_id(item, "recipient") else {
        return unknown(at, "no valid recipient.id");
    };
    if let Some(message) = item.get("message") {
        return message_event(platform, item, message, sender, recipient, at);
    }
    if let Some(postback) = item.get("postback") {
        return postback_event(platform, item, postback, sender, recipient, at);
    }
    if let Some(reaction) = item.get("reaction") {
        let Some(mid) = id_of(reaction.get("mid")) else {
            return unknown(at, "reaction has no valid mid");
        };
        return Event::Reaction {
            platform,
            channel_id: recipient,
            sender_id: sender,
            mid,
        };
    }
    if let Some(delivery) = item.get("delivery") {
        let message_ids = delivery
            .get("mids")
            .and_then(Value::as_array)
            .map(|mids| {
                mids.iter()
                    .take(MAX_LIST_ITEMS)
                    .filter_map(|mid| id_of(Some(mid)))
                    .collect()
            })
            .unwrap_or_default();
        return Event::Receipt {
            platform,
            channel_id: recipient,
            message_ids,
            status: "delivered".to_owned(),
        };
    }
    if let Some(read) = item.get("read") {
        // Messenger gives only a watermark; Instagram names the message read.
        let message_ids = id_of(read.get("mid")).into_iter().collect();
        return Event::Receipt {
            platform,
            channel_id: recipient,
            message_ids,
            status: "read".to_owned(),
        };
    }
    if let Some(referral) = item.get("referral") {
        return referral_event(platform, item, referral, sender, recipient, at);
    }
    unknown(at, "none of message, postback, reaction, delivery, read or referral")
}

fn message_event(
    platform: Platform,
    item: &Object,
    message: &Value,
    sender: String,
    recipient: String,
    at: At,
) -> Event {
    let Some(message) = message.as_object() else {
        return unknown(at, "message is not an object");
    };
    let Some(mid) = id_of(message.get("mid")) else {
        return unknown(at, "message has no valid mid");
    };
    let Some(timestamp_ms) = integer_of(item.get("timestamp")) else {
        return unknown(at, "no valid timestamp");
    };
    let text = text_of(message.get("text"));
    match message.get("is_echo") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Event::Echo {
                platform,
                channel_id: sender,
                recipient_id: recipient,
                app_id: id_of(message.get("app_id")),
                mid,
                text,
                timestamp_ms,
            };
        }
        // Guessing here could make the assistant answer its own message.
        Some(_) => return unknown(at, "message.is_echo is not a boolean"),
    }
    if message.get("is_deleted") == Some(&Value::Bool(true)) {
        return unknown(at, "the customer deleted (unsent) a message");
    }
    let kind = message_kind(message, text.is_some());
    Event::Message(InboundMessage {
        platform,
        channel_id: recipient,
        sender_id: sender,
        provider_message_id: mid,
        timestamp_ms,
        kind,
        text,
        sender_name: None,
    })
}

/// A sticker also comes with an image attachment, so `sticker_id` wins; a
/// shared link comes as text plus a `fallback` attachment, so text wins over
/// attachments we cannot classify.
fn message_kind(message: &Object, has_text: bool) -> MessageKind {
    if message.get("sticker_id").is_some_and(|id| !id.is_null()) {
        return MessageKind::Sticker;
    }
    let first_type = message
        .get("attachments")
        .and_then(Value::as_array)
        .and_then(|attachments| attachments.first())
        .and_then(|attachment| attachment.get("type"))
        .and_then(Value::as_str);
    match first_type.map(attachment_kind) {
        Some(MessageKind::Other) | None if has_text => MessageKind::Text,
        Some(kind) => kind,
        None => MessageKind::Other,
    }
}

fn attachment_kind(kind: &str) -> MessageKind {
    match kind {
        "image" => MessageKind::Image,
        "audio" => MessageKind::Audio,
        "video" => MessageKind::Video,
        "file" => MessageKind::File,
        "location" => MessageKind::Location,
        "sticker" => MessageKind::Sticker,
        // fallback (link share), template, share, story_mention, ig_reel, …
        _ => MessageKind::Other,
    }
}

fn postback_event(
    platform: Platform,
    item: &Object,
    postback: &Value,
    sender: String,
    recipient: String,
    at: At,
) -> Event {
    if !postback.is_object() {
        return unknown(at, "postback is not an object");
    }
    let Some(timestamp_ms) = integer_of(item.get("timestamp")) else {
        return unknown(at, "no valid timestamp");
    };
    let payload = postback.get("payload").and_then(Value::as_str).unwrap_or("");
    let text = text_of(postback.get("title")).or_else(|| clean_text(payload, MAX_TEXT_CHARS));
    // Older postbacks carry no mid; Meta redelivers the same sender, timestamp
    // and payload, so an id derived from them still deduplicates retries.
    let provider_message_id = id_of(postback.get("mid"))
        .unwrap_or_else(|| format!("pb.{sender}.{timestamp_ms}.{:016x}", fnv1a(&[payload.as_bytes()])));
    Event::Message(InboundMessage {
        platform,
        channel_id: recipient,
        sender_id: sender,
        provider_message_id,
        timestamp_ms,
        kind: MessageKind::Postback,
        text,
        sender_name: None,
    })
}

/// A referral without a message (the customer opened an m.me link or an ad's
/// chat button): it has no mid, so its id is derived like a postback's.
fn referral_event(
    platform: Platform,
    item: &Object,
    referral: &Value,
    sender: String,
    recipient: String,
    at: At,
) -> Event {
    if !referral.is_object() {
        return unknown(at, "referral is not an object");
    }
    let Some(timestamp_ms) = integer_of(item.get("timestamp")) else {
        return unknown(at, "no valid timestamp");
    };
    let part = |key: &str| referral.get(key).and_then(Value::as_str).unwrap_or("");
    let ad_id = id_of(referral.get("ad_id")).unwrap_or_default();
    let digest = fnv1a(&[
        part("ref").as_bytes(),
        part("source").as_bytes(),
        part("type").as_bytes(),
        ad_id.as_bytes(),
    ]);
    let provider_message_id = format!("ref.{sender}.{timestamp_ms}.{digest:016x}");
    Event::Message(InboundMessage {
        platform,
        channel_id: recipient,
        sender_id: sender,
        provider_message_id,
        timestamp_ms,
        kind: MessageKind::Referral,
        text: None,
        sender_name: None,
    })
}

/// WhatsApp Cloud API deliveries: `entry[].changes[].value`.
fn whatsapp_entries(root: &Object, events: &mut Events) {
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        events.unknown("the delivery has no \"entry\" array");
        return;
    };
    for (e, entry) in entries.iter().enumerate() {
        if events.is_full() {
            return;
        }
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            events.unknown(format!("entry[{e}] has no changes array"));
            continue;
        };
        for (c, change) in changes.iter().enumerate() {
            if events.is_full() {
                return;
            }
            whatsapp_change(e, c, change, events);
        }
    }
}

fn whatsapp_change(e: usize, c: usize, change: &Value, events: &mut Events) {
    if let Some(field) = change.get("field")
        && field.as_str() != Some("messages")
    {
        let field = field.as_str().map(label).unwrap_or_default();
        events.unknown(format!("entry[{e}].changes[{c}]: field {field:?} is not one we handle"));
        return;
    }
    let Some(value) = change.get("value").and_then(Value::as_object) else {
        events.unknown(format!("entry[{e}].changes[{c}] has no value object"));
        return;
    };
    let messages = value.get("messages").and_then(Value::as_array);
    let statuses = value.get("statuses").and_then(Value::as_array);
    if messages.is_none() && statuses.is_none() {
        events.unknown(format!(
            "entry[{e}].changes[{c}].value has neither messages nor statuses"
        ));
        return;
    }
    let channel = id_of(
        value
            .get("metadata")
            .and_then(|metadata| metadata.get("phone_number_id")),
    );
    let contacts = value
        .get("contacts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (m, message) in messages.into_iter().flatten().enumerate() {
        if events.is_full() {
            return;
        }
        let at = At {
            entry: e,
            change: Some(c),
            list: "messages",
            item: m,
        };
        events.push(whatsapp_message(channel.as_deref(), contacts, message, at));
    }
    for (s, status) in statuses.into_iter().flatten().enumerate() {
        if events.is_full() {
            return;
        }
        let at = At {
            entry: e,
            change: Some(c),
            list: "statuses",
            item: s,
        };
        events.push(whatsapp_status(channel.as_deref(), status, at));
    }
}

fn whatsapp_message(channel: Option<&str>, contacts: &[Value], message: &Value, at: At) -> Event {
    let Some(message) = message.as_object() else {
        return unknown(at, "not an object");
    };
    let Some(channel) = channel else {
        return unknown(at, "no valid metadata.phone_number_id");
    };
    let Some(from) = id_of(message.get("from")) else {
        return unknown(at, "no valid from");
    };
    let Some(id) = id_of(message.get("id")) else {
        return unknown(at, "no valid id");
    };
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "reaction" => {
            let Some(mid) = id_of(message.get("reaction").and_then(|reaction| reaction.get("message_id"))) else {
                return unknown(at, "reaction has no valid message_id");
            };
            return Event::Reaction {
                platform: Platform::Whatsapp,
                channel_id: channel.to_owned(),
                sender_id: from,
                mid,
            };
        }
        // A notice from WhatsApp itself (e.g. the customer changed number), not customer input.
        "system" => return unknown(at, "a WhatsApp system message"),
        _ => {}
    }
    // WhatsApp timestamps are seconds as a string.
    let Some(timestamp_ms) = integer_of(message.get("timestamp")).and_then(|seconds| seconds.checked_mul(1000)) else {
        return unknown(at, "no valid timestamp");
    };
    let inner = |outer: &str, key: &str| text_of(message.get(outer).and_then(|value| value.get(key)));
    let (kind, text) = match kind {
        "text" => (MessageKind::Text, inner("text", "body")),
        "image" => (MessageKind::Image, inner("image", "caption")),
        "audio" | "voice" => (MessageKind::Audio, None),
        "video" => (MessageKind::Video, inner("video", "caption")),
        "document" => (MessageKind::File, inner("document", "caption")),
        "sticker" => (MessageKind::Sticker, None),
        "location" => (MessageKind::Location, None),
        "button" => (
            MessageKind::Postback,
            inner("button", "text").or_else(|| inner("button", "payload")),
        ),
        "interactive" => {
            let reply = |key: &str| {
                text_of(
                    message
                        .get("interactive")
                        .and_then(|interactive| interactive.get(key))
                        .and_then(|reply| reply.get("title")),
                )
            };
            (
                MessageKind::Postback,
                reply("button_reply").or_else(|| reply("list_reply")),
            )
        }
        // contacts, order, unsupported, request_welcome, …
        _ => (MessageKind::Other, None),
    };
    let sender_name = contact_name(contacts, &from);
    Event::Message(InboundMessage {
        platform: Platform::Whatsapp,
        channel_id: channel.to_owned(),
        sender_id: from,
        provider_message_id: id,
        timestamp_ms,
        kind,
        text,
        sender_name,
    })
}

/// The profile name of the contact whose `wa_id` is the sender; when there is
/// exactly one contact, its name (`wa_id` and `from` can differ in format for
/// some countries' numbers).
fn contact_name(contacts: &[Value], from: &str) -> Option<String> {
    let name = |contact: &Value| {
        contact
            .get("profile")
            .and_then(|profile| profile.get("name"))
            .and_then(Value::as_str)
            .and_then(|name| clean_text(name, MAX_NAME_CHARS))
    };
    contacts
        .iter()
        .take(MAX_LIST_ITEMS)
        .find(|contact| id_of(contact.get("wa_id")).as_deref() == Some(from))
        .and_then(name)
        .or_else(|| match contacts {
            [only] => name(only),
            _ => None,
        })
}

fn whatsapp_status(channel: Option<&str>, status: &Value, at: At) -> Event {
    if !status.is_object() {
        return unknown(at, "not an object");
    }
    let Some(channel) = channel else {
        return unknown(at, "no valid metadata.phone_number_id");
    };
    let Some(id) = id_of(status.get("id")) else {
        return unknown(at, "no valid id");
    };
    let Some(state) = status
        .get("status")
        .and_then(Value::as_str)
        .map(label)
        .filter(|state| !state.is_empty())
    else {
        return unknown(at, "no valid status");
    };
    Event::Receipt {
        platform: Platform::Whatsapp,
        channel_id: channel.to_owned(),
        message_ids: vec![id],
        status: state,
    }
}

/// A Meta id, given as a string or a JSON number (ids are digits, and Meta
/// sends some, like `app_id`, as numbers): kept as a string. Empty, overlong
/// or control-character strings and non-integer numbers are refused.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id)
            if !id.is_empty() && id.chars().count() <= MAX_ID_CHARS && !id.chars().any(char::is_control) =>
        {
            Some(id.clone())
        }
        Value::Number(number) => number.as_u64().map(|id| id.to_string()),
        _ => None,
    }
}

fn nested_id(item: &Object, key: &str) -> Option<String> {
    id_of(item.get(key)?.get("id"))
}

/// A non-negative integer given as a JSON number or a string of digits
/// (WhatsApp sends its timestamps as strings).
fn integer_of(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64().filter(|n| *n >= 0),
        Value::String(digits)
            if !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            digits.parse().ok()
        }
        _ => None,
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    clean_text(value?.as_str()?, MAX_TEXT_CHARS)
}

/// At most `max` characters, without NUL (Postgres `text` refuses it); `None` when nothing is left.
fn clean_text(text: &str, max: usize) -> Option<String> {
    let text: String = text.chars().filter(|c| *c != '\0').take(max).collect();
    (!text.is_empty()).then_some(text)
}

/// A short label for comparison and logs: no control characters, at most 64 characters.
fn label(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(MAX_LABEL_CHARS).collect()
}

/// 64-bit FNV-1a over the parts, each followed by 0xFF (never in UTF-8, so the
/// parts cannot run into each other). Written out rather than taken from a
/// crate because derived ids are stored: the function must never change.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.iter().copied().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    use super::*;

    const SAMPLES: [&str; 12] = [
        "messenger_text",
        "messenger_batch_two_messages",
        "messenger_echo",
        "messenger_echo_other_app",
        "messenger_delivery_read",
        "messenger_attachment",
        "messenger_reaction",
        "messenger_postback",
        "instagram_text",
        "whatsapp_text",
        "whatsapp_status",
        "unknown_object",
    ];

    const PAGE: &str = "104000000000001";
    const CUSTOMER: &str = "6100000000000001";

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/meta-samples/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("sample")
    }

    fn parsed(name: &str) -> Delivery {
        let delivery = parse(&sample(name)).unwrap();
        check(&delivery);
        delivery
    }

    fn message(platform: Platform, channel: &str, sender: &str, mid: &str, timestamp_ms: i64) -> InboundMessage {
        InboundMessage {
            platform,
            channel_id: channel.to_owned(),
            sender_id: sender.to_owned(),
            provider_message_id: mid.to_owned(),
            timestamp_ms,
            kind: MessageKind::Text,
            text: None,
            sender_name: None,
        }
    }

    fn text_message(channel: &str, sender: &str, mid: &str, timestamp_ms: i64, text: &str) -> Event {
        Event::Message(InboundMessage {
            text: Some(text.to_owned()),
            ..message(Platform::Messenger, channel, sender, mid, timestamp_ms)
        })
    }

    fn only_event(body: &[u8]) -> Event {
        let delivery = parse(body).unwrap();
        check(&delivery);
        assert_eq!(delivery.events.len(), 1, "{delivery:?}");
        delivery.events.into_iter().next().unwrap()
    }

    fn only_message(body: &[u8]) -> InboundMessage {
        match only_event(body) {
            Event::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn unknown_reason(body: &[u8]) -> String {
        match only_event(body) {
            Event::Unknown { reason } => reason,
            other => panic!("expected an unknown event, got {other:?}"),
        }
    }

    /// A Messenger delivery with these messaging items.
    fn page(items: Value) -> Vec<u8> {
        json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": items}]})
            .to_string()
            .into_bytes()
    }

    /// One Messenger messaging item from the customer to the Page with these extra fields.
    fn item(extra: Value) -> Value {
        let mut item = json!({"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "timestamp": 1763880000000_i64});
        if let (Some(item), Value::Object(extra)) = (item.as_object_mut(), extra) {
            item.extend(extra);
        }
        item
    }

    /// A WhatsApp delivery with one message.
    fn whatsapp(message: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "106000000000001"},
            "contacts": [{"profile": {"name": "Rahim"}, "wa_id": "8801711000000"}],
            "messages": [message],
        }}]}]})
        .to_string()
        .into_bytes()
    }

    fn wa_message(kind: &str, extra: Value) -> Value {
        let mut message = json!({"from": "8801711000000", "id": "wamid.1", "timestamp": "1763880008", "type": kind});
        if let (Some(message), Value::Object(extra)) = (message.as_object_mut(), extra) {
            message.extend(extra);
        }
        message
    }

    /// The bounds every successful parse must respect.
    fn check(delivery: &Delivery) {
        assert!(delivery.events.len() <= MAX_EVENTS);
        assert!(delivery.object.chars().count() <= MAX_LABEL_CHARS);
        let id_ok = |id: &str| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS + 64;
        let text_ok = |text: &Option<String>| {
            text.as_deref()
                .is_none_or(|t| !t.is_empty() && t.chars().count() <= MAX_TEXT_CHARS && !t.contains('\0'))
        };
        for event in &delivery.events {
            match event {
                Event::Message(m) => {
                    assert!(
                        id_ok(&m.channel_id) && id_ok(&m.sender_id) && id_ok(&m.provider_message_id),
                        "{m:?}"
                    );
                    assert!(m.timestamp_ms >= 0);
                    assert!(text_ok(&m.text));
                    assert!(
                        m.sender_name
                            .as_deref()
                            .is_none_or(|n| n.chars().count() <= MAX_NAME_CHARS)
                    );
                }
                Event::Echo {
                    channel_id,
                    recipient_id,
                    mid,
                    text,
                    timestamp_ms,
                    ..
                } => {
                    assert!(id_ok(channel_id) && id_ok(recipient_id) && id_ok(mid));
                    assert!(*timestamp_ms >= 0);
                    assert!(text_ok(text));
                }
                Event::Receipt {
                    channel_id,
                    message_ids,
                    status,
                    ..
                } => {
                    assert!(id_ok(channel_id));
                    assert!(message_ids.len() <= MAX_LIST_ITEMS);
                    assert!(!status.is_empty() && status.chars().count() <= MAX_LABEL_CHARS);
                }
                Event::Reaction {
                    channel_id,
                    sender_id,
                    mid,
                    ..
                } => {
                    assert!(id_ok(channel_id) && id_ok(sender_id) && id_ok(mid));
                }
                Event::Unknown { reason } => assert!(!reason.is_empty() && reason.chars().count() <= 1024, "{reason}"),
            }
        }
    }

    fn check_bytes(body: &[u8]) {
        if let Ok(delivery) = parse(body) {
            check(&delivery);
        }
    }

    // ---- the shared samples ----

    #[test]
    fn messenger_text() {
        let delivery = parsed("messenger_text");
        assert_eq!(
            delivery,
            Delivery {
                object: "page".into(),
                events: vec![text_message(
                    PAGE,
                    CUSTOMER,
                    "m_AbCdEf0123456789",
                    1763880000000,
                    "lal sharee ta dam koto?"
                )],
            }
        );
    }

    #[test]
    fn messenger_batch_resolves_each_message_to_its_own_page() {
        let delivery = parsed("messenger_batch_two_messages");
        assert_eq!(
            delivery.events,
            vec![
                text_message(PAGE, CUSTOMER, "m_batch_1", 1763880001000, "Is size M available?"),
                text_message(PAGE, "6100000000000002", "m_batch_2", 1763880001200, "দাম কত?"),
                text_message(
                    "104000000000002",
                    "6100000000000003",
                    "m_batch_3",
                    1763880001500,
                    "delivery charge koto?"
                ),
            ]
        );
    }

    #[test]
    fn messenger_echo_of_our_app() {
        assert_eq!(
            parsed("messenger_echo").events,
            vec![Event::Echo {
                platform: Platform::Messenger,
                channel_id: PAGE.into(),
                recipient_id: CUSTOMER.into(),
                app_id: Some("1234567890".into()),
                mid: "m_echo_1".into(),
                text: Some("The red saree is 2,450 BDT.".into()),
                timestamp_ms: 1763880002000,
            }]
        );
    }

    #[test]
    fn messenger_echo_of_another_app() {
        assert_eq!(
            parsed("messenger_echo_other_app").events,
            vec![Event::Echo {
                platform: Platform::Messenger,
                channel_id: PAGE.into(),
                recipient_id: CUSTOMER.into(),
                app_id: Some("263902037430900".into()),
                mid: "m_echo_owner_1".into(),
                text: Some("Apu, ami nijei dekhchi. 10 min e call dicchi.".into()),
                timestamp_ms: 1763880011000,
            }]
        );
    }

    #[test]
    fn messenger_delivery_and_read_are_receipts_only() {
        assert_eq!(
            parsed("messenger_delivery_read").events,
            vec![
                Event::Receipt {
                    platform: Platform::Messenger,
                    channel_id: PAGE.into(),
                    message_ids: vec!["m_echo_1".into()],
                    status: "delivered".into(),
                },
                Event::Receipt {
                    platform: Platform::Messenger,
                    channel_id: PAGE.into(),
                    message_ids: vec![],
                    status: "read".into(),
                },
            ]
        );
    }

    #[test]
    fn messenger_attachment_is_an_image_without_text() {
        assert_eq!(
            parsed("messenger_attachment").events,
            vec![Event::Message(InboundMessage {
                kind: MessageKind::Image,
                ..message(Platform::Messenger, PAGE, CUSTOMER, "m_att_1", 1763880004000)
            })]
        );
    }

    #[test]
    fn messenger_reaction() {
        assert_eq!(
            parsed("messenger_reaction").events,
            vec![Event::Reaction {
                platform: Platform::Messenger,
                channel_id: PAGE.into(),
                sender_id: CUSTOMER.into(),
                mid: "m_echo_1".into(),
            }]
        );
    }

    #[test]
    fn messenger_postback_is_customer_input() {
        assert_eq!(
            parsed("messenger_postback").events,
            vec![Event::Message(InboundMessage {
                kind: MessageKind::Postback,
                text: Some("Order now".into()),
                ..message(Platform::Messenger, PAGE, CUSTOMER, "m_pb_1", 1763880006000)
            })]
        );
    }

    #[test]
    fn instagram_text() {
        let delivery = parsed("instagram_text");
        assert_eq!(delivery.object, "instagram");
        assert_eq!(
            delivery.events,
            vec![Event::Message(InboundMessage {
                text: Some("ei bag ta ki stock e ache?".into()),
                ..message(
                    Platform::Instagram,
                    "17841400000000001",
                    "1100000000000001",
                    "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw",
                    1763880007000
                )
            })]
        );
    }

    #[test]
    fn whatsapp_text() {
        let delivery = parsed("whatsapp_text");
        assert_eq!(delivery.object, "whatsapp_business_account");
        assert_eq!(
            delivery.events,
            vec![Event::Message(InboundMessage {
                text: Some("আমি ২ টা নিতে চাই".into()),
                sender_name: Some("Rahim".into()),
                ..message(
                    Platform::Whatsapp,
                    "106000000000001",
                    "8801711000000",
                    "wamid.HBgNODgwMTcxMTAwMDAwMBUCABIYFjNFQjBBQkNERUYwMTIzNDU2Nzg5AA==",
                    1763880008000
                )
            })]
        );
    }

    #[test]
    fn whatsapp_status_is_a_receipt() {
        assert_eq!(
            parsed("whatsapp_status").events,
            vec![Event::Receipt {
                platform: Platform::Whatsapp,
                channel_id: "106000000000001".into(),
                message_ids: vec!["wamid.OUTBOUND0001".into()],
                status: "delivered".into(),
            }]
        );
    }

    #[test]
    fn unknown_object_is_accepted_as_unknown() {
        let delivery = parsed("unknown_object");
        assert_eq!(delivery.object, "permissions");
        assert!(matches!(delivery.events.as_slice(), [Event::Unknown { reason }] if reason.contains("permissions")));
    }

    // ---- errors and odd shapes ----

    #[test]
    fn malformed_json_is_not_json() {
        for body in [
            &b""[..],
            b"{",
            b"not json",
            b"\xff\xfe",
            b"{\"object\":\"page\"} trailing",
            b"{\"a\":1e999}",
        ] {
            assert_eq!(parse(body), Err(ParseError::NotJson), "{body:?}");
        }
    }

    #[test]
    fn hostile_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse(deep.as_bytes()), Err(ParseError::NotJson));
        let deep = format!(
            "{{\"object\":\"page\",\"entry\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(parse(deep.as_bytes()), Err(ParseError::NotJson));
        // Within the limit, it is just an odd shape.
        let nested = format!(
            "{{\"object\":\"page\",\"entry\":[{}{}]}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        let delivery = parse(nested.as_bytes()).unwrap();
        assert!(matches!(delivery.events.as_slice(), [Event::Unknown { .. }]));
    }

    #[test]
    fn json_that_is_not_an_object_is_refused() {
        for body in [
            "[]",
            "[{\"object\":\"page\"}]",
            "42",
            "-1.5e3",
            "\"page\"",
            "null",
            "true",
        ] {
            assert_eq!(parse(body.as_bytes()), Err(ParseError::NotAnObject), "{body}");
        }
    }

    #[test]
    fn objects_of_unexpected_shape_are_unknown() {
        for body in [
            json!({}),
            json!({"object": 7}),
            json!({"object": "page"}),
            json!({"object": "page", "entry": {}}),
            json!({"object": "page", "entry": [1]}),
            json!({"object": "page", "entry": [{"id": PAGE}]}),
            json!({"object": "page", "entry": [{"id": PAGE, "messaging": {}}]}),
            json!({"object": "page", "entry": [{"id": PAGE, "standby": []}]}),
            json!({"object": "instagram", "entry": [{"id": "1", "changes": [{"field": "comments"}]}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1"}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "account_update", "value": {}}]}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}),
            json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"errors": []}}]}]}),
        ] {
            let reason = unknown_reason(body.to_string().as_bytes());
            assert!(!reason.is_empty());
        }
        let delivery = parse(br#"{"object":"page","entry":[]}"#).unwrap();
        assert_eq!(
            delivery,
            Delivery {
                object: "page".into(),
                events: vec![]
            }
        );
    }

    #[test]
    fn the_object_label_is_bounded() {
        let body = json!({"object": format!("\u{0}{}", "y".repeat(1000))}).to_string();
        let delivery = parse(body.as_bytes()).unwrap();
        assert_eq!(delivery.object, "y".repeat(MAX_LABEL_CHARS));
    }

    // ---- Messenger and Instagram details ----

    #[test]
    fn numeric_ids_are_kept_as_digit_strings() {
        let body = page(json!([{
            "sender": {"id": 6100000000000001_u64}, "recipient": {"id": 104000000000001_u64},
            "timestamp": 5, "message": {"mid": "m", "text": "hi"}
        }]));
        let m = only_message(&body);
        assert_eq!((m.sender_id.as_str(), m.channel_id.as_str()), (CUSTOMER, PAGE));
        let app_id_string = page(json!([item(
            json!({"message": {"mid": "m", "is_echo": true, "app_id": "1234567890"}})
        )]));
        assert!(matches!(only_event(&app_id_string), Event::Echo { app_id: Some(id), .. } if id == "1234567890"));
    }

    #[test]
    fn items_missing_sender_recipient_or_mid_are_unknown() {
        let cases = [
            (
                json!({"recipient": {"id": PAGE}, "timestamp": 1, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": CUSTOMER}, "timestamp": 1, "message": {"mid": "m"}}),
                "recipient",
            ),
            (
                json!({"sender": {"user_ref": "x"}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": 1.5}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": -4}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": ""}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": "a\nb"}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (
                json!({"sender": {"id": "x".repeat(600)}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "sender",
            ),
            (item(json!({"message": {"text": "no mid"}})), "mid"),
            (item(json!({"message": {"mid": null, "text": "x"}})), "mid"),
            (item(json!({"message": "text"})), "message"),
            (item(json!({"reaction": {"action": "react"}})), "mid"),
            (item(json!({"optin": {"ref": "x"}})), "none of"),
            (
                json!({"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "message": {"mid": "m"}}),
                "timestamp",
            ),
            (item(json!({"timestamp": -1, "message": {"mid": "m"}})), "timestamp"),
            (item(json!({"timestamp": 1.5, "message": {"mid": "m"}})), "timestamp"),
        ];
        for (item, expected) in cases {
            let reason = unknown_reason(&page(json!([item])));
            assert!(
                reason.starts_with("entry[0].messaging[0]: ") && reason.contains(expected),
                "{reason}"
            );
        }
    }

    #[test]
    fn an_echo_flag_that_is_not_a_boolean_is_never_a_customer_message() {
        for flag in [json!("true"), json!(1), json!({})] {
            let body = page(json!([item(
                json!({"message": {"mid": "m", "text": "hi", "is_echo": flag}})
            )]));
            assert!(unknown_reason(&body).contains("is_echo"));
        }
        let body = page(json!([item(
            json!({"message": {"mid": "m", "text": "hi", "is_echo": false}})
        )]));
        assert_eq!(only_message(&body).text.as_deref(), Some("hi"));
    }

    #[test]
    fn text_is_capped_and_stripped_of_nul() {
        let long = "দ".repeat(MAX_TEXT_CHARS + 500);
        let body = page(json!([item(json!({"message": {"mid": "m", "text": long}}))]));
        assert_eq!(only_message(&body).text.unwrap().chars().count(), MAX_TEXT_CHARS);
        let body = page(json!([item(json!({"message": {"mid": "m", "text": "a\u{0}b"}}))]));
        assert_eq!(only_message(&body).text.as_deref(), Some("ab"));
        let body = page(json!([item(json!({"message": {"mid": "m", "text": ""}}))]));
        let m = only_message(&body);
        assert_eq!((m.kind, m.text), (MessageKind::Other, None));
    }

    #[test]
    fn message_kinds() {
        let kind_of = |message: Value| only_message(&page(json!([item(json!({ "message": message }))]))).kind;
        let attachment = |kind: &str| json!([{"type": kind, "payload": {"url": "https://example.invalid/x"}}]);
        assert_eq!(
            kind_of(json!({"mid": "m", "sticker_id": 369239263222822_u64, "attachments": attachment("image")})),
            MessageKind::Sticker
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": attachment("audio")})),
            MessageKind::Audio
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": attachment("video")})),
            MessageKind::Video
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": attachment("file")})),
            MessageKind::File
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": attachment("location")})),
            MessageKind::Location
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": attachment("fallback")})),
            MessageKind::Other
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "text": "https://x", "attachments": attachment("fallback")})),
            MessageKind::Text
        );
        assert_eq!(
            kind_of(json!({"mid": "m", "attachments": "nonsense"})),
            MessageKind::Other
        );
        assert_eq!(kind_of(json!({"mid": "m", "is_unsupported": true})), MessageKind::Other);
    }

    #[test]
    fn postbacks_without_mid_get_a_stable_derived_id() {
        let postback = |payload: &str| page(json!([item(json!({"postback": {"payload": payload}}))]));
        let first = only_message(&postback("ORDER_42"));
        assert_eq!(first, only_message(&postback("ORDER_42")));
        assert_ne!(
            first.provider_message_id,
            only_message(&postback("ORDER_43")).provider_message_id
        );
        assert!(
            first
                .provider_message_id
                .starts_with(&format!("pb.{CUSTOMER}.1763880000000."))
        );
        assert_eq!(
            (first.kind, first.text.as_deref()),
            (MessageKind::Postback, Some("ORDER_42"))
        );
    }

    #[test]
    fn referrals_are_messages_of_their_own_kind() {
        let body = page(json!([item(
            json!({"referral": {"ref": "summer", "source": "SHORTLINK", "type": "OPEN_THREAD"}})
        )]));
        let m = only_message(&body);
        assert_eq!((m.kind, m.text), (MessageKind::Referral, None));
        assert!(m.provider_message_id.starts_with("ref."));
    }

    #[test]
    fn instagram_details() {
        let ig = |item: Value| {
            json!({"object": "instagram", "entry": [{"id": "17841400000000001", "messaging": [item]}]})
                .to_string()
                .into_bytes()
        };
        let echo = ig(
            json!({"sender": {"id": "17841400000000001"}, "recipient": {"id": "1100000000000001"},
            "timestamp": 1, "message": {"mid": "m", "is_echo": true, "text": "ok"}}),
        );
        assert!(matches!(only_event(&echo),
            Event::Echo { platform: Platform::Instagram, channel_id, app_id: None, .. } if channel_id == "17841400000000001"));
        let deleted = ig(
            json!({"sender": {"id": "1100000000000001"}, "recipient": {"id": "17841400000000001"},
            "timestamp": 1, "message": {"mid": "m", "is_deleted": true}}),
        );
        assert!(unknown_reason(&deleted).contains("deleted"));
        let read = ig(
            json!({"sender": {"id": "1100000000000001"}, "recipient": {"id": "17841400000000001"},
            "timestamp": 1, "read": {"mid": "m_out"}}),
        );
        assert!(
            matches!(only_event(&read), Event::Receipt { message_ids, status, .. } if message_ids == ["m_out"] && status == "read")
        );
    }

    // ---- WhatsApp details ----

    #[test]
    fn whatsapp_message_types() {
        let parsed = |kind: &str, extra: Value| {
            let m = only_message(&whatsapp(wa_message(kind, extra)));
            (m.kind, m.text)
        };
        let text = |t: &str| Some(t.to_owned());
        assert_eq!(
            parsed("image", json!({"image": {"caption": "this one"}})),
            (MessageKind::Image, text("this one"))
        );
        assert_eq!(
            parsed("audio", json!({"audio": {"voice": true}})),
            (MessageKind::Audio, None)
        );
        assert_eq!(parsed("video", json!({})), (MessageKind::Video, None));
        assert_eq!(
            parsed("document", json!({"document": {"caption": "invoice"}})),
            (MessageKind::File, text("invoice"))
        );
        assert_eq!(parsed("sticker", json!({})), (MessageKind::Sticker, None));
        assert_eq!(
            parsed("location", json!({"location": {"latitude": 23.8}})),
            (MessageKind::Location, None)
        );
        assert_eq!(
            parsed("button", json!({"button": {"text": "Yes", "payload": "Y"}})),
            (MessageKind::Postback, text("Yes"))
        );
        assert_eq!(
            parsed(
                "interactive",
                json!({"interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": "Buy"}}})
            ),
            (MessageKind::Postback, text("Buy"))
        );
        assert_eq!(
            parsed(
                "interactive",
                json!({"interactive": {"type": "list_reply", "list_reply": {"id": "l", "title": "Red"}}})
            ),
            (MessageKind::Postback, text("Red"))
        );
        assert_eq!(parsed("unsupported", json!({})), (MessageKind::Other, None));
        assert_eq!(parsed("no such type", json!({})), (MessageKind::Other, None));
    }

    #[test]
    fn whatsapp_timestamps_and_ids() {
        let m = only_message(&whatsapp(wa_message(
            "text",
            json!({"timestamp": 1763880008, "from": 8801711000000_u64}),
        )));
        assert_eq!((m.timestamp_ms, m.sender_id.as_str()), (1763880008000, "8801711000000"));
        assert_eq!(m.sender_name.as_deref(), Some("Rahim"));
        for timestamp in [
            json!("99999999999999999"),
            json!("-5"),
            json!("1.5"),
            json!(""),
            json!(null),
        ] {
            let body = whatsapp(wa_message("text", json!({ "timestamp": timestamp })));
            assert!(unknown_reason(&body).contains("timestamp"));
        }
        assert!(unknown_reason(&whatsapp(wa_message("text", json!({"id": null})))).contains("id"));
        assert!(unknown_reason(&whatsapp(wa_message("system", json!({})))).contains("system"));
    }

    #[test]
    fn whatsapp_reactions_and_missing_channel() {
        let body = whatsapp(wa_message(
            "reaction",
            json!({"reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}),
        ));
        assert_eq!(
            only_event(&body),
            Event::Reaction {
                platform: Platform::Whatsapp,
                channel_id: "106000000000001".into(),
                sender_id: "8801711000000".into(),
                mid: "wamid.OUT".into(),
            }
        );
        let body = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
            "messages": [wa_message("text", json!({}))]
        }}]}]});
        assert!(unknown_reason(body.to_string().as_bytes()).contains("phone_number_id"));
    }

    // ---- bounds ----

    #[test]
    fn a_huge_delivery_yields_at_most_the_bound() {
        let items = |n: usize| {
            (0..n)
                .map(|i| item(json!({"message": {"mid": format!("m_{i}"), "text": "hi"}})))
                .collect::<Vec<_>>()
        };
        let delivery = parse(&page(Value::Array(items(5000)))).unwrap();
        check(&delivery);
        let messages = delivery
            .events
            .iter()
            .filter(|e| matches!(e, Event::Message(_)))
            .count();
        assert_eq!(messages, MAX_EVENTS - 1);
        assert!(matches!(delivery.events.last(), Some(Event::Unknown { reason }) if reason.contains("more than")));
        let unknowns = delivery
            .events
            .iter()
            .filter(|e| matches!(e, Event::Unknown { .. }))
            .count();
        assert_eq!(unknowns, 1);

        // Exactly the bound is kept whole.
        let delivery = parse(&page(Value::Array(items(MAX_EVENTS)))).unwrap();
        assert_eq!(delivery.events.len(), MAX_EVENTS);
        assert!(delivery.events.iter().all(|e| matches!(e, Event::Message(_))));

        // Spread over many entries, the bound still holds.
        let entries: Vec<Value> = items(3000)
            .into_iter()
            .map(|item| json!({"id": PAGE, "messaging": [item]}))
            .collect();
        let body = json!({"object": "page", "entry": entries}).to_string();
        assert_eq!(parse(body.as_bytes()).unwrap().events.len(), MAX_EVENTS);
    }

    // ---- randomized robustness (seeded, deterministic) ----

    /// Keys the generator draws from: the ones the parser looks at, and a few more.
    const KEYS: &str = "object entry messaging changes value messages sender recipient id mid text message timestamp is_echo \
         app_id attachments type from metadata phone_number_id statuses status contacts profile name wa_id \
         postback payload title reaction delivery read mids referral sticker_id body button interactive \
         button_reply list_reply field is_deleted standby caption ref message_id time";

    const STRINGS: &[&str] = &[
        "",
        " ",
        "page",
        "instagram",
        "whatsapp_business_account",
        "messages",
        "text",
        "image",
        "audio",
        "video",
        "file",
        "document",
        "location",
        "fallback",
        "sticker",
        "button",
        "interactive",
        "reaction",
        "system",
        "unsupported",
        "delivered",
        "read",
        "1234567890",
        "18446744073709551616",
        "-1",
        "0",
        "1e3",
        "\u{0}",
        "দাম কত?",
        "❤",
        "\u{202e}evil",
        "m_1",
        "wamid.X==",
        "true",
        "\n",
        "🇧🇩",
    ];

    fn random_string(rng: &mut StdRng) -> String {
        match rng.random_range(0..5) {
            0 | 1 => STRINGS[rng.random_range(0..STRINGS.len())].to_owned(),
            2 => (0..rng.random_range(0..12))
                .map(|_| char::from_u32(rng.random_range(0..0x11000)).unwrap_or('?'))
                .collect(),
            3 => (0..rng.random_range(1..25))
                .map(|_| char::from(b'0' + rng.random_range(0..10)))
                .collect(),
            _ => ["x", "দ", "\u{0}", "é"][rng.random_range(0..4)].repeat(rng.random_range(0..6000)),
        }
    }

    fn random_scalar(rng: &mut StdRng) -> Value {
        match rng.random_range(0..10) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => json!(rng.random::<i64>()),
            3 => json!(rng.random::<u64>()),
            4 => [json!(u64::MAX), json!(i64::MIN), json!(i64::MAX), json!(0)][rng.random_range(0..4)].clone(),
            5 => json!([0.5, -0.0, 1e308, -1e-308, f64::MAX, 1.7638800e12][rng.random_range(0..6)]),
            6 => json!(rng.random_range(-3_i64..1_800_000_000_000)),
            _ => Value::String(random_string(rng)),
        }
    }

    fn random_value(rng: &mut StdRng, depth: u32) -> Value {
        if depth == 0 || rng.random_bool(0.3) {
            return random_scalar(rng);
        }
        if rng.random_bool(0.6) {
            let mut object = Map::new();
            for _ in 0..rng.random_range(0..6) {
                let keys: Vec<&str> = KEYS.split_whitespace().collect();
                object.insert(
                    keys[rng.random_range(0..keys.len())].to_owned(),
                    random_value(rng, depth - 1),
                );
            }
            Value::Object(object)
        } else {
            Value::Array(
                (0..rng.random_range(0..5))
                    .map(|_| random_value(rng, depth - 1))
                    .collect(),
            )
        }
    }

    /// A random object that at least starts like a delivery, so the deeper paths get exercised.
    fn random_delivery(rng: &mut StdRng) -> Value {
        let object = ["page", "instagram", "whatsapp_business_account"][rng.random_range(0..3)];
        let entries: Vec<Value> = (0..rng.random_range(0..4))
            .map(|_| {
                let list = ["messaging", "changes"][rng.random_range(0..2)];
                let items: Vec<Value> = (0..rng.random_range(0..4)).map(|_| random_value(rng, 5)).collect();
                json!({ "id": random_scalar(rng), list: items })
            })
            .collect();
        json!({ "object": object, "entry": entries })
    }

    #[test]
    fn random_json_values_never_panic_and_stay_bounded() {
        let mut rng = StdRng::seed_from_u64(0x5eed_0001);
        for i in 0..5000 {
            let value = if i % 2 == 0 {
                random_value(&mut rng, 6)
            } else {
                random_delivery(&mut rng)
            };
            let body = serde_json::to_vec(&value).unwrap();
            match parse(&body) {
                Ok(delivery) => {
                    assert!(value.is_object());
                    check(&delivery);
                }
                Err(error) => {
                    assert_eq!(error, ParseError::NotAnObject);
                    assert!(!value.is_object());
                }
            }
        }
    }

    #[test]
    fn random_bytes_and_sample_mutations_never_panic() {
        const ALPHABET: &[u8] = b"{}[]\":,0123456789.-+eE \\/untrfalsx\xc3\xa9\xff\x00";
        let mut rng = StdRng::seed_from_u64(0x5eed_0002);
        for i in 0..5000 {
            let len = rng.random_range(0..256);
            let body: Vec<u8> = if i % 2 == 0 {
                (0..len).map(|_| rng.random()).collect()
            } else {
                (0..len)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                    .collect()
            };
            check_bytes(&body);
        }
        let samples: Vec<Vec<u8>> = SAMPLES.iter().map(|name| sample(name)).collect();
        for _ in 0..5000 {
            let mut body = samples[rng.random_range(0..samples.len())].clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..body.len().max(1));
                match rng.random_range(0..5) {
                    0 if !body.is_empty() => body[at] ^= 1_u8 << rng.random_range(0..8_u32),
                    1 => body.truncate(at),
                    2 => body.insert(at.min(body.len()), ALPHABET[rng.random_range(0..ALPHABET.len())]),
                    3 if at < body.len() => {
                        let end = rng.random_range(at..body.len());
                        body.drain(at..end);
                    }
                    _ if at < body.len() => {
                        let end = rng.random_range(at..body.len());
                        let copy = body[at..end].to_vec();
                        body.splice(at..at, copy);
                    }
                    _ => {}
                }
            }
            check_bytes(&body);
        }
    }

    /// Every JSON pointer in a value (the root excluded).
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        let children: Vec<(String, &Value)> = match value {
            Value::Object(object) => object.iter().map(|(k, v)| (format!("{at}/{k}"), v)).collect(),
            Value::Array(array) => array
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{at}/{i}"), v))
                .collect(),
            _ => vec![],
        };
        for (pointer, child) in children {
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }
    }

    fn parse_value(value: &Value) -> Delivery {
        let delivery = parse(&serde_json::to_vec(value).unwrap()).unwrap();
        check(&delivery);
        delivery
    }

    #[test]
    fn the_shape_fuzz_random_values_at_every_node_of_every_sample() {
        let mut rng = StdRng::seed_from_u64(0x5eed_0003);
        let mut seen = std::collections::HashSet::new();
        let specials = [
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(1e308),
            json!(""),
            json!("\u{0}"),
            json!("দাম"),
            json!("x".repeat(MAX_TEXT_CHARS * 2)),
            json!([]),
            json!({}),
            json!([{}]),
        ];
        for name in SAMPLES {
            let original: Value = serde_json::from_slice(&sample(name)).unwrap();
            let mut all = Vec::new();
            pointers(&original, String::new(), &mut all);
            // Each node replaced by each special value, and each node removed.
            for pointer in &all {
                for special in &specials {
                    let mut value = original.clone();
                    *value.pointer_mut(pointer).unwrap() = special.clone();
                    parse_value(&value);
                }
                let mut value = original.clone();
                let (parent, key) = pointer.rsplit_once('/').unwrap();
                match value.pointer_mut(parent).unwrap() {
                    Value::Object(object) => {
                        object.remove(key);
                    }
                    Value::Array(array) => {
                        array.remove(key.parse::<usize>().unwrap());
                    }
                    _ => unreachable!(),
                }
                parse_value(&value);
            }
            // Several nodes at once replaced by random values.
            for _ in 0..300 {
                let mut value = original.clone();
                for _ in 0..rng.random_range(1..4) {
                    let pointer = &all[rng.random_range(0..all.len())];
                    if let Some(node) = value.pointer_mut(pointer) {
                        *node = random_value(&mut rng, 3);
                    }
                }
                seen.extend(parse_value(&value).events.iter().map(std::mem::discriminant));
            }
        }
        // The mutations keep enough of each sample for every kind of event to be reached.
        assert_eq!(seen.len(), 5, "event kinds reached: {seen:?}");
    }
}
