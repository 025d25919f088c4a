//! The decision for one customer message, as a pure function: risk triage,
//! the reply engine, the bot disclosure, the safety filter and the holding
//! reply.
//!
//! The live pipeline ([`crate::processing::Pipeline::decide`]), the owner's
//! playground and `bikriagent converse` all call [`decide`], so what the
//! command line shows is what customers get. The one step that is not pure,
//! asking the LLM when the engine has no answer, is left to the caller:
//! [`decide`] returns [`Step::NoAnswer`] and the caller finishes with
//! [`Pending::answered`] or [`Pending::unanswered`]. Placing an order needs
//! the store too: the caller places it and words the outcome with
//! [`order_placed`] or [`order_refused`].
//!
//! The language model is used for understanding only: its reading of a
//! message the engine did not understand
//! ([`crate::pipeline::understanding::Understanding`]) becomes a query the
//! engine answers from its templates ([`Pending::understood_as`]), so no
//! word the model writes reaches the customer.
//!
//! A conversation keeps its language until the customer clearly switches
//! ([`crate::pipeline::classifier::conversation_language`]): a name, a
//! phone number or an address sent in a Bangla conversation is answered in
//! Bangla.
//!
//! The customer is never left in silence: whenever a message waits for the
//! owner, the decision carries a short holding reply in the customer's
//! language ([`holding_reply`]), the owner's own holding message when they
//! wrote one.

use serde::Serialize;

use crate::conversations::{ConversationMode, ReviewReason};
use crate::orders::OrderRefusal;
use crate::pipeline::classifier::{Classification, Language, Risk};
use crate::pipeline::engine::{self, EngineReply};
use crate::pipeline::grounding::{ConversationState, CustomerFacts, Grounding, OrderRequest};
use crate::pipeline::understanding::Understanding;
use crate::pipeline::{classifier, llm, safety};

/// What the pipeline decided for one customer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// A reply, checked by the safety filter, to send through the gates.
    Reply { text: String },
    /// For the owner: why, and any draft for them to approve.
    Review {
        reason: ReviewReason,
        detail: String,
        draft: Option<String>,
        /// What the customer gets meanwhile (see [`holding_reply`]); `None`
        /// only for reviews that are not about a customer's message.
        holding: Option<String>,
    },
    /// The owner took over the conversation: the agent stays quiet.
    Quiet { note: String },
    /// Decided earlier (a retried job).
    AlreadyDecided,
}

/// Where the conversation stands when a message arrives.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub grounding: &'a Grounding,
    /// The state stored before this message.
    pub state: &'a ConversationState,
    /// What the customer told us before (numbers, phone, address), which a
    /// reply may repeat.
    pub customer: &'a CustomerFacts,
    /// The owner's setting: the first automatic message says it is a bot.
    pub disclosure_on: bool,
    pub mode: ConversationMode,
}

/// The customer's message (or burst of messages) to decide.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// `text`, `image`, `audio`…
    pub kind: &'a str,
    /// `None` when any part of it cannot be read (an image, a voice note).
    pub text: Option<&'a str>,
    pub classification: Option<&'a Classification>,
    /// The language to answer in when the message has none of its own (an
    /// image): the conversation's.
    pub fallback_language: Language,
    /// How many customer messages this decision answers (1 without a burst).
    pub burst: usize,
}

/// A decision before it is stored: the order to place, if any, and the new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub decision: Decision,
    pub state: ConversationState,
    /// The customer confirmed an order: the store places it (reserving
    /// stock) and words the outcome with [`order_placed`] or [`order_refused`].
    pub order: Option<OrderRequest>,
    pub language: Language,
    /// The main intent the engine read, if it ran and read one.
    pub intent: Option<&'static str>,
    /// Short English lines for the owner: what was read and why.
    pub why: Vec<String>,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Decided(Draft),
    /// The engine could not answer from the owner's data: ask the LLM if one
    /// is configured, then finish with [`Pending::answered`] or
    /// [`Pending::unanswered`].
    NoAnswer(Pending),
}

/// A decision waiting for the LLM's draft (or for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    draft: Draft,
    /// Why the engine had no answer, for the owner.
    reason: String,
    /// The engine did not understand the message (rather than understood it
    /// and found no answer in the data).
    lost: bool,
    /// The customer's text, for a model to read.
    text: String,
}

impl Pending {
    /// The language the reply must be written in.
    pub fn language(&self) -> Language {
        self.draft.language
    }

    /// Whether a language model's reading may help: the engine did not
    /// understand the message. A message it understood and handed over on
    /// purpose (a review topic, a discount, a request for a person) stays
    /// with the owner.
    pub fn llm_may_help(&self) -> bool {
        self.lost
    }

    /// The customer's text the engine did not understand.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Finishes with what the LLM answered: its reading, or the owner (and
    /// a holding reply) when it could not be asked or read.
    pub fn finish<E: std::fmt::Display>(self, situation: &Situation<'_>, reading: Result<Understanding, E>) -> Draft {
        match reading {
            Ok(understanding) => self.understood_as(situation, &understanding),
            Err(error) => {
                tracing::warn!(%error, "the LLM could not read the message; it goes to review");
                self.unanswered(situation, Some("the LLM could not be reached"))
            }
        }
    }

    /// Answers from the model's validated reading: a risk it noticed sends
    /// the message to the owner; otherwise its reading, restated as a query,
    /// is answered by the engine from the owner's data, in the customer's
    /// language. Nothing the model wrote is sent.
    pub fn understood_as(self, situation: &Situation<'_>, understanding: &Understanding) -> Draft {
        let risks = understanding.risks();
        if let Some(risk) = Risk::PRIORITY.into_iter().find(|risk| risks.contains(risk)) {
            let mut draft = self.draft;
            let person = risk == Risk::HumanRequest;
            let holding = held(situation, &mut draft.state, draft.language, person);
            draft.why.push(format!("the LLM read a risk: {}", risk.as_str()));
            draft.decision = Decision::Review {
                reason: risk.into(),
                detail: format!(
                    "The language model read this message as {}; the agent does not answer it automatically.",
                    risk.as_str().replace('_', " ")
                ),
                draft: None,
                holding: Some(holding),
            };
            return draft;
        }
        let Some(query) = understanding.as_query(situation.grounding) else {
            return self.unanswered(situation, Some("the LLM's reading gave nothing your data answers"));
        };
        let language = self.draft.language;
        let turn = engine::respond(situation.grounding, situation.state, &query, language);
        let mut draft = self.draft;
        draft.why.push(format!(
            "the engine did not understand; the LLM read it as \"{}\"",
            understanding.intent
        ));
        draft.why.extend(turn.why);
        match turn.reply {
            EngineReply::Text(reply) => {
                draft.state = with_language(turn.state, language);
                draft.intent = turn.intent;
                draft.decision = reply_or_hold(situation, &mut draft.state, language, reply, None);
                draft
            }
            EngineReply::PlaceOrder(request) => {
                draft.state = with_language(turn.state, language);
                draft.order = Some(request);
                draft
            }
            EngineReply::NeedsOwner { reason } => Pending {
                draft,
                reason,
                lost: false,
                text: self.text,
            }
            .unanswered(situation, None),
        }
    }

    /// Nobody could answer: the owner will, and the customer is told so.
    /// `note` says why the LLM did not answer, when one was asked.
    pub fn unanswered(self, situation: &Situation<'_>, note: Option<&str>) -> Draft {
        let mut draft = self.draft;
        draft.why.extend(note.map(str::to_owned));
        let holding = held(situation, &mut draft.state, draft.language, false);
        draft.decision = Decision::Review {
            reason: ReviewReason::Engine,
            detail: self.reason,
            draft: None,
            holding: Some(holding),
        };
        draft
    }
}

/// Decides one customer message. Pure: no I/O, and the same input always
/// gives the same output.
pub fn decide(situation: &Situation<'_>, message: &Message<'_>) -> Step {
    let language = match message.text {
        Some(text) => classifier::conversation_language(situation.state.language, text),
        None => message.fallback_language,
    };
    match decide_in(situation, message, language) {
        Step::Decided(draft) => Step::Decided(Draft {
            state: with_language(draft.state.clone(), language),
            ..draft
        }),
        Step::NoAnswer(mut pending) => {
            pending.draft.state = with_language(pending.draft.state.clone(), language);
            Step::NoAnswer(pending)
        }
    }
}

fn with_language(state: ConversationState, language: Language) -> ConversationState {
    ConversationState {
        language: Some(language),
        ..state
    }
}

fn decide_in(situation: &Situation<'_>, message: &Message<'_>, language: Language) -> Step {
    let mut draft = Draft {
        decision: Decision::AlreadyDecided,
        state: situation.state.clone(),
        order: None,
        language,
        intent: None,
        why: Vec::new(),
    };
    if situation.mode == ConversationMode::Human {
        draft.decision = Decision::Quiet {
            note: "This conversation is with you (you took it over, or the customer asked for a person), so the \
                   agent stays quiet until you hand it back."
                .into(),
        };
        draft.why.push("the owner is answering this conversation".into());
        return Step::Decided(draft);
    }
    let Some(text) = message.text else {
        let holding = held(situation, &mut draft.state, language, false);
        draft.decision = Decision::Review {
            reason: ReviewReason::NoText,
            detail: format!(
                "The customer sent {} without text; the agent does not answer what it cannot read.",
                message.kind
            ),
            draft: None,
            holding: Some(holding),
        };
        draft.why.push(format!("message kind: {}", message.kind));
        return Step::Decided(draft);
    };
    if message.burst > 1 {
        draft
            .why
            .push(format!("answering a burst of {} messages at once", message.burst));
    }
    // A risky message has a headline risk: the review reason.
    if let Some((classification, risk)) = message.classification.and_then(|c| c.risk().map(|risk| (c, risk)))
        && !overruled_by_the_order(situation, classification, text, language, &mut draft.why)
    {
        let detail = risk_detail(classification);
        draft.why.push(detail.clone());
        let person = risk == Risk::HumanRequest;
        let holding = held(situation, &mut draft.state, language, person);
        draft.decision = Decision::Review {
            reason: risk.into(),
            detail,
            draft: None,
            holding: Some(holding),
        };
        return Step::Decided(draft);
    }
    let turn = engine::respond(situation.grounding, situation.state, text, language);
    draft.why.extend(turn.why);
    draft.intent = turn.intent;
    draft.state = turn.state;
    match turn.reply {
        EngineReply::Text(reply) => {
            draft.decision = reply_or_hold(situation, &mut draft.state, language, reply, None);
            Step::Decided(draft)
        }
        EngineReply::PlaceOrder(request) => {
            draft.order = Some(request);
            Step::Decided(draft)
        }
        EngineReply::NeedsOwner { reason } => Step::NoAnswer(Pending {
            draft,
            reason,
            lost: !turn.understood,
            text: text.to_owned(),
        }),
    }
}

/// Whether a flag of the learned model alone gives way to the order being
/// taken: mid-order, customers answer with counts, options and contact
/// details ("2 boxes", "maroon tangail 1ta ar half silk orna 2ta"), which
/// the model has seen too few of. It gives way only when no rule flagged the
/// message, the model is under [`OVERRULE_BELOW`], no flag is a prompt
/// injection or a health question, and the order engine takes something
/// from the message into the order.
fn overruled_by_the_order(
    situation: &Situation<'_>,
    classification: &Classification,
    text: &str,
    language: Language,
    why: &mut Vec<String>,
) -> bool {
    let never = [Risk::PromptInjection, Risk::Allergy];
    if !classification.model_only
        || situation.state.order.is_none()
        || classification.confidence >= OVERRULE_BELOW
        || classification.categories.iter().any(|risk| never.contains(risk))
    {
        return false;
    }
    let turn = engine::respond(situation.grounding, situation.state, text, language);
    // The message filled or changed something of the order (a count, an
    // option, a name, an address), or confirmed it.
    let part_of_the_order = turn.understood
        && match turn.reply {
            EngineReply::PlaceOrder(_) => true,
            EngineReply::Text(_) => {
                // What the order holds, not which question was asked again.
                let content = |order: &Option<crate::pipeline::grounding::OrderDraft>| {
                    order.clone().map(|order| crate::pipeline::grounding::OrderDraft {
                        asked: None,
                        asked_times: 0,
                        ..order
                    })
                };
                turn.state.order.is_some() && content(&turn.state.order) != content(&situation.state.order)
            }
            EngineReply::NeedsOwner { .. } => false,
        };
    if part_of_the_order {
        why.push(format!(
            "{}; the message reads as part of the order being taken, so the agent goes on with it",
            risk_detail(classification)
        ));
    }
    part_of_the_order
}

/// A model's flag at or above this confidence (percent) stands mid-order.
const OVERRULE_BELOW: u8 = 95;

/// The message once the store placed order `number`: its number, total and
/// how to pay, checked by the safety filter like any reply. `state` is the
/// draft's new state.
pub fn order_placed(
    situation: &Situation<'_>,
    state: &mut ConversationState,
    number: i64,
    request: &OrderRequest,
    language: Language,
) -> Decision {
    let text = engine::order_placed_text(situation.grounding, number, request, language);
    let mut computed = engine::computed_numbers(situation.grounding, situation.state);
    computed.extend(engine::placed_order_numbers(number, request));
    reply_or_hold(situation, state, language, text, Some(&computed))
}

/// The message when the store could not place a confirmed order.
pub fn order_refused(
    situation: &Situation<'_>,
    state: &mut ConversationState,
    refusal: &OrderRefusal,
    language: Language,
) -> Decision {
    match refusal {
        OrderRefusal::OutOfStock { product } => Decision::Reply {
            text: engine::out_of_stock_text(situation.grounding, product, language),
        },
        OrderRefusal::ProductGone | OrderRefusal::PriceChanged { .. } => Decision::Review {
            reason: ReviewReason::Engine,
            detail: "The customer confirmed an order, but the product or its price changed meanwhile.".into(),
            draft: None,
            holding: Some(held(situation, state, language, false)),
        },
    }
}

/// The short reply a customer gets while their message waits for the owner:
/// the owner's holding message when they wrote one, else ours in the
/// customer's language. `person`: the customer asked for a person, so the
/// reply acknowledges that. No digits and no promise of a time, so it can
/// never state a wrong fact.
pub fn holding_reply(grounding: &Grounding, language: Language, person: bool) -> String {
    let own = grounding.rules.holding_message.trim();
    if !own.is_empty() {
        return own.to_owned();
    }
    let name = grounding.profile.name.trim();
    match (language, person) {
        (Language::En, false) => format!(
            "Thanks for your message. Someone from {} will answer you here soon.",
            or(name, "the shop")
        ),
        (Language::En, true) => format!(
            "Of course. Someone from {} will answer you here soon.",
            or(name, "the shop")
        ),
        (Language::Bn, false) => format!(
            "আপনার মেসেজের জন্য ধন্যবাদ। {} থেকে একজন শিগগিরই এখানে আপনাকে উত্তর দেবেন।",
            or(name, "দোকান")
        ),
        (Language::Bn, true) => format!("অবশ্যই। {} থেকে একজন শিগগিরই এখানে আপনার সাথে কথা বলবেন।", or(name, "দোকান")),
        (Language::Banglish, false) => format!(
            "Apnar message er jonno dhonnobad. {} theke ekjon shiggiri ekhane apnake uttor diben.",
            or(name, "Dokan")
        ),
        (Language::Banglish, true) => format!(
            "Obosshoi. {} theke ekjon shiggiri ekhane apnar sathe kotha bolben.",
            or(name, "Dokan")
        ),
    }
}

fn or<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    if value.is_empty() { fallback } else { value }
}

fn risk_detail(classification: &Classification) -> String {
    let names: Vec<&str> = classification.categories.iter().map(|r| r.as_str()).collect();
    format!(
        "The classifier flagged this message ({}); the agent does not answer it automatically.",
        names.join(", ").replace('_', " ")
    )
}

/// The holding reply, with the bot disclosure when it is the conversation's
/// first automatic message. A customer who asked for a person is not told
/// to type HUMAN: the disclosure waits for the agent's next reply.
fn held(situation: &Situation<'_>, state: &mut ConversationState, language: Language, person: bool) -> String {
    let holding = holding_reply(situation.grounding, language, person);
    if person {
        holding
    } else {
        disclosed(situation, state, language, holding)
    }
}

/// Adds the bot disclosure to the first automatic message of a conversation.
fn disclosed(situation: &Situation<'_>, state: &mut ConversationState, language: Language, text: String) -> String {
    if situation.disclosure_on && !state.disclosed {
        state.disclosed = true;
        format!("{}\n\n{text}", engine::disclosure(situation.grounding, language))
    } else {
        text
    }
}

/// A reply through the safety filter: sent (with the disclosure on a first
/// message), or held for the owner with its reasons while the customer gets
/// the holding reply. `computed`: the numbers the reply may state beyond the
/// owner's data; by default those of the order in `state`.
fn reply_or_hold(
    situation: &Situation<'_>,
    state: &mut ConversationState,
    language: Language,
    reply: String,
    computed: Option<&[String]>,
) -> Decision {
    let was_disclosed = state.disclosed;
    let text = disclosed(situation, state, language, reply.clone());
    let (customer, computed) = match computed {
        Some(computed) => (situation.customer.clone(), computed.to_vec()),
        None => (
            customer_facts(situation.customer, state),
            engine::computed_numbers(situation.grounding, state),
        ),
    };
    match safety::check(
        &text,
        situation.grounding,
        &customer,
        &computed,
        llm::system_instructions(),
    ) {
        Ok(()) => Decision::Reply { text },
        Err(refusals) => {
            // The disclosure goes with the holding reply instead.
            state.disclosed = was_disclosed;
            Decision::Review {
                reason: ReviewReason::Safety,
                detail: format!(
                    "The safety filter held this draft back: {}.",
                    refusals.iter().map(|r| r.describe()).collect::<Vec<_>>().join("; ")
                ),
                draft: Some(reply),
                holding: Some(held(situation, state, language, false)),
            }
        }
    }
}

/// The customer's facts including what this very message told the engine
/// (a reply may read back the phone or address just given).
fn customer_facts(known: &CustomerFacts, state: &ConversationState) -> CustomerFacts {
    let order = state.order.clone().unwrap_or_default();
    CustomerFacts {
        numbers: known.numbers.clone(),
        phone: order.phone.or_else(|| known.phone.clone()),
        address: order.address.or_else(|| known.address.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::store::{PaymentMethod, Profile, Rules};
    use crate::pipeline::classifier;

    fn shop() -> Grounding {
        Grounding {
            profile: Profile {
                name: "Rangdhanu".into(),
                currency: "BDT".into(),
                ..Profile::default()
            },
            payment_methods: vec![PaymentMethod {
                id: uuid::Uuid::nil(),
                kind: "bkash".into(),
                label: "bKash".into(),
                instructions: "Send Money to 01711000000 and write your order number.".into(),
            }],
            owner_phones: vec!["01711000000".into()],
            rules: Rules {
                tone: "friendly".into(),
                ..Rules::default()
            },
            ..Grounding::default()
        }
    }

    fn run(grounding: &Grounding, state: &ConversationState, text: &str, disclosure_on: bool) -> Draft {
        run_classified(grounding, state, text, disclosure_on, &classifier::classify(text))
    }

    /// [`run`] with a classification of the test's own choosing.
    fn run_classified(
        grounding: &Grounding,
        state: &ConversationState,
        text: &str,
        disclosure_on: bool,
        classification: &Classification,
    ) -> Draft {
        let customer = CustomerFacts::default();
        let situation = Situation {
            grounding,
            state,
            customer: &customer,
            disclosure_on,
            mode: ConversationMode::Agent,
        };
        let message = Message {
            kind: "text",
            text: Some(text),
            classification: Some(classification),
            fallback_language: Language::En,
            burst: 1,
        };
        match decide(&situation, &message) {
            Step::Decided(draft) => draft,
            Step::NoAnswer(pending) => pending.unanswered(&situation, None),
        }
    }

    fn holding(draft: &Draft) -> &str {
        match &draft.decision {
            Decision::Review {
                holding: Some(holding), ..
            } => holding,
            other => panic!("expected a review with a holding reply, got {other:?}"),
        }
    }

    #[test]
    fn default_holding_replies_have_no_digits_and_name_the_shop() {
        let g = shop();
        for language in [Language::En, Language::Bn, Language::Banglish] {
            for person in [false, true] {
                let text = holding_reply(&g, language, person);
                assert!(text.contains("Rangdhanu"), "{text}");
                assert!(!text.chars().any(|c| c.is_numeric()), "{text}");
            }
        }
        let nameless = Grounding::default();
        assert!(holding_reply(&nameless, Language::En, false).contains("Someone from the shop"));
    }

    #[test]
    fn the_owners_holding_message_replaces_the_default() {
        let mut g = shop();
        g.rules.holding_message = "  Nusrat will answer you herself.  ".into();
        assert_eq!(
            holding_reply(&g, Language::Bn, false),
            "Nusrat will answer you herself."
        );
        assert_eq!(holding_reply(&g, Language::En, true), "Nusrat will answer you herself.");
    }

    #[test]
    fn a_held_message_gets_a_holding_reply_in_the_customers_language() {
        let g = shop();
        let state = ConversationState::default();
        let bn = run(&g, &state, "আমার বাচ্চার এলার্জি আছে, এটা কি নিরাপদ?", false);
        assert!(holding(&bn).contains("শিগগিরই"), "{:?}", bn.decision);
        let en = run(&g, &state, "Do you have a branch in Chittagong with parking?", false);
        assert!(
            holding(&en).starts_with("Thanks for your message."),
            "{:?}",
            en.decision
        );
    }

    #[test]
    fn a_request_for_a_person_is_acknowledged_in_the_customers_language() {
        let g = shop();
        let state = ConversationState::default();
        for (text, expected) in [
            ("I want to talk to a human", "Of course. Someone from Rangdhanu"),
            ("আমি মানুষের সাথে কথা বলতে চাই", "অবশ্যই।"),
            ("manush er sathe kotha bolte chai", "Obosshoi."),
        ] {
            let draft = run(&g, &state, text, true);
            assert!(
                matches!(
                    draft.decision,
                    Decision::Review {
                        reason: ReviewReason::HumanRequest,
                        ..
                    }
                ),
                "{text}: {:?}",
                draft.decision
            );
            // No "type HUMAN" to someone who just asked for one.
            assert!(holding(&draft).starts_with(expected), "{text}: {}", holding(&draft));
            assert!(!draft.state.disclosed);
        }
    }

    #[test]
    fn a_payment_problem_is_never_answered_with_payment_instructions() {
        let g = shop();
        let state = ConversationState::default();
        let mut answered = Vec::new();
        for text in [
            "I sent money to the wrong bKash number",
            "I paid with bkash but the order is not confirmed",
            "bkash e taka pathiyechi kintu order confirm hoy nai",
            "ভুল বিকাশ নাম্বারে টাকা পাঠিয়ে ফেলেছি",
            "I was charged twice for my order",
            "vul kore onno bkash number e taka pathiye felsi",
            "my bkash payment failed but money was deducted",
        ] {
            let draft = run(&g, &state, text, true);
            match &draft.decision {
                Decision::Review { holding, .. } => {
                    let holding = holding.as_deref().unwrap_or_default();
                    assert!(
                        !holding.contains("Send Money") && !holding.contains("01711000000"),
                        "{text}: {holding}"
                    );
                }
                other => answered.push(format!("{text}: {other:?}")),
            }
        }
        assert!(answered.is_empty(), "answered automatically: {answered:#?}");
    }

    #[test]
    fn the_first_automatic_message_carries_the_disclosure_even_when_held() {
        let g = shop();
        let state = ConversationState::default();
        let draft = run(&g, &state, "Do you have a branch in Chittagong with parking?", true);
        assert!(holding(&draft).contains("automatic assistant"), "{:?}", draft.decision);
        assert!(draft.state.disclosed);
        let next = run(
            &g,
            &draft.state,
            "Do you have a branch in Chittagong with parking?",
            true,
        );
        assert!(!holding(&next).contains("automatic assistant"));
    }

    #[test]
    fn an_owner_conversation_stays_quiet_and_an_image_is_held_in_the_conversations_language() {
        let g = shop();
        let state = ConversationState::default();
        let customer = CustomerFacts::default();
        let mut situation = Situation {
            grounding: &g,
            state: &state,
            customer: &customer,
            disclosure_on: false,
            mode: ConversationMode::Human,
        };
        let image = Message {
            kind: "image",
            text: None,
            classification: None,
            fallback_language: Language::Banglish,
            burst: 1,
        };
        assert!(matches!(
            decide(&situation, &image),
            Step::Decided(Draft {
                decision: Decision::Quiet { .. },
                ..
            })
        ));
        situation.mode = ConversationMode::Agent;
        let Step::Decided(draft) = decide(&situation, &image) else {
            panic!("an image is decided at once")
        };
        assert!(
            holding(&draft).starts_with("Apnar message er jonno"),
            "{:?}",
            draft.decision
        );
    }

    #[test]
    fn a_model_only_flag_gives_way_to_the_order_being_taken_and_nothing_else_does() {
        let mut g = shop();
        g.products.push(crate::pipeline::grounding::GroundedProduct {
            id: uuid::Uuid::from_u128(7),
            sku: "PITHA-1".into(),
            name: "Patishapta Pitha Box".into(),
            name_bn: None,
            description: String::new(),
            price_minor: 45_000,
            sale_price_minor: None,
            stock: Some(9),
            tags: Vec::new(),
            variants: Vec::new(),
        });
        g.catalog_size = 1;
        let opened = crate::pipeline::engine::respond(
            &g,
            &ConversationState::default(),
            "I want to order the Patishapta Pitha Box",
            Language::En,
        );
        let ordering = opened.state;
        assert!(ordering.order.is_some());
        let decide_with =
            |state: &ConversationState, text: &str, categories: Vec<Risk>, confidence: u8, model_only: bool| {
                let classification = Classification {
                    categories,
                    language: Language::En,
                    confidence,
                    model_only,
                };
                let draft = run_classified(&g, state, text, false, &classification);
                matches!(draft.decision, Decision::Reply { .. })
            };
        let complaint = || vec![Risk::AngryComplaint];
        // "2 boxes" mid-order: the count, answered.
        assert!(decide_with(&ordering, "2 boxes", complaint(), 90, true));
        // A rule's flag, a sure model, an injection, or no order open: held.
        assert!(!decide_with(&ordering, "2 boxes", complaint(), 90, false));
        assert!(!decide_with(&ordering, "2 boxes", complaint(), 97, true));
        assert!(!decide_with(
            &ordering,
            "2 boxes",
            vec![Risk::PromptInjection],
            60,
            true
        ));
        assert!(!decide_with(
            &ConversationState::default(),
            "2 boxes",
            complaint(),
            90,
            true
        ));
        // Nothing the order takes from it: held.
        assert!(!decide_with(&ordering, "this is the worst shop", complaint(), 90, true));
    }
}
