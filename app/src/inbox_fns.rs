//! Server functions of the inbox, the review queue, orders and the sandbox.
//! Each extracts the signed-in owner, calls one library function in that
//! owner's scope, and answers with a flash and a redirect.

use leptos::prelude::*;
use leptos::server;

#[cfg(feature = "ssr")]
mod imp {
    use bikriagent::conversations::PipelineError;
    use bikriagent::processing::Pipeline;
    use bikriagent::tenancy::OwnerId;
    use leptos::prelude::ServerFnError;
    use uuid::Uuid;

    use crate::web::{Flash, RequestContext};

    /// The owner, their request context and the pipeline.
    pub async fn owner() -> Result<(OwnerId, Uuid, RequestContext, Pipeline), ServerFnError> {
        let session = crate::web::owner_session().await?;
        let actor = session.principal.id;
        Ok((
            session.owner,
            actor,
            (*session.context).clone(),
            crate::web::services()?.pipeline,
        ))
    }

    pub fn id(raw: &str) -> Result<Uuid, PipelineError> {
        raw.trim().parse().map_err(|_| PipelineError::NotFound)
    }

    /// Flashes the outcome and redirects to `page` (to its list when the
    /// object is not found).
    pub async fn finish<T>(
        outcome: Result<T, PipelineError>,
        mut page: &str,
        success: impl FnOnce(T) -> String,
        kept: &[(&str, &str)],
    ) -> Result<(), ServerFnError> {
        let session = crate::account_fns::session_for_fns().await?;
        let flash = match outcome {
            Ok(value) => Flash::notice(success(value)),
            Err(PipelineError::Invalid(message)) => {
                let mut flash = Flash::form_error("reply", message);
                for (field, value) in kept {
                    flash = flash.keep(field, value);
                }
                flash
            }
            Err(PipelineError::NotFound) => {
                // The object's own page would be a 404 that never shows the message.
                page = crate::forms::list_of(page);
                Flash::error("That doesn't exist any more.")
            }
            Err(error) => return Err(crate::web::internal(error)),
        };
        session
            .insert(crate::web::keys::FLASH, flash)
            .await
            .map_err(crate::web::internal)?;
        leptos_axum::redirect(page);
        Ok(())
    }
}

/// The owner's own reply, through the same send path as the agent's. The
/// form's idempotency key makes a double submit send once.
#[server(endpoint = "owner_reply")]
#[middleware(crate::forms::PlainText::form("reply").multiline(&["text"]))]
pub async fn owner_reply(conversation: String, text: String, idempotency_key: String) -> Result<(), ServerFnError> {
    let (owner, actor, ctx, pipeline) = imp::owner().await?;
    let page = format!("/inbox/{}", conversation.trim());
    let outcome = match imp::id(&conversation) {
        Ok(id) => {
            pipeline
                .owner_reply(owner, id, &text, &idempotency_key, actor, &ctx.meta)
                .await
        }
        Err(error) => Err(error),
    };
    imp::finish(
        outcome,
        &page,
        |queued| {
            if queued {
                "Sending your reply. The agent stays quiet in this conversation until you hand it back.".to_owned()
            } else {
                "That reply was already sent.".to_owned()
            }
        },
        &[("text", &text)],
    )
    .await
}

#[cfg(feature = "ssr")]
async fn set_mode(
    conversation: &str,
    mode: bikriagent::conversations::ConversationMode,
    success: &str,
) -> Result<(), ServerFnError> {
    let (owner, actor, ctx, pipeline) = imp::owner().await?;
    let outcome = match imp::id(conversation) {
        Ok(id) => bikriagent::conversations::set_mode(&pipeline.pool, owner, id, mode, actor, &ctx.meta).await,
        Err(error) => Err(error),
    };
    imp::finish(
        outcome,
        &format!("/inbox/{}", conversation.trim()),
        |()| success.to_owned(),
        &[],
    )
    .await
}

/// The owner takes the conversation: no automatic replies until handed back.
#[server(endpoint = "take_over")]
#[middleware(crate::forms::PlainText::form("reply"))]
pub async fn take_over(conversation: String) -> Result<(), ServerFnError> {
    set_mode(
        &conversation,
        bikriagent::conversations::ConversationMode::Human,
        "You have this conversation now; the agent stays quiet.",
    )
    .await
}

/// Hands the conversation back to the agent.
#[server(endpoint = "hand_back")]
#[middleware(crate::forms::PlainText::form("reply"))]
pub async fn hand_back(conversation: String) -> Result<(), ServerFnError> {
    set_mode(
        &conversation,
        bikriagent::conversations::ConversationMode::Agent,
        "The agent answers this conversation again.",
    )
    .await
}

/// Sends a review case's draft (possibly edited) as the owner.
#[server(endpoint = "approve_review")]
#[middleware(crate::forms::PlainText::form("reply").multiline(&["text"]))]
pub async fn approve_review(id: String, text: String) -> Result<(), ServerFnError> {
    let (owner, actor, ctx, pipeline) = imp::owner().await?;
    let outcome = match imp::id(&id) {
        Ok(id) => pipeline.approve_review(owner, id, &text, actor, &ctx.meta).await,
        Err(error) => Err(error),
    };
    imp::finish(outcome, "/review", |()| "Sending your reply.".to_owned(), &[]).await
}

/// Closes a review case without sending anything.
#[server(endpoint = "dismiss_review")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn dismiss_review(id: String) -> Result<(), ServerFnError> {
    let (owner, actor, _, pipeline) = imp::owner().await?;
    let outcome = match imp::id(&id) {
        Ok(id) => {
            bikriagent::conversations::dismiss_review(&pipeline.pool, owner, id, actor, pipeline.clock.now()).await
        }
        Err(error) => Err(error),
    };
    imp::finish(outcome, "/review", |()| "Dismissed.".to_owned(), &[]).await
}

/// Confirms, ships, delivers or cancels an order.
#[server(endpoint = "set_order_status")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn set_order_status(id: String, status: String) -> Result<(), ServerFnError> {
    let (owner, actor, ctx, pipeline) = imp::owner().await?;
    let page = format!("/orders/{}", id.trim());
    let outcome = match imp::id(&id) {
        Ok(id) => bikriagent::orders::set_status(&pipeline.pool, owner, id, status.trim(), actor, &ctx.meta).await,
        Err(error) => Err(error),
    };
    imp::finish(
        outcome,
        &page,
        |()| format!("The order is now {}.", status.trim().replace('_', " ")),
        &[],
    )
    .await
}

/// The owner writes as a customer on the sandbox channel.
#[server(endpoint = "sandbox_say")]
#[middleware(crate::forms::PlainText::form("reply").multiline(&["text"]))]
pub async fn sandbox_say(text: String) -> Result<(), ServerFnError> {
    let (owner, _, _, pipeline) = imp::owner().await?;
    let outcome = pipeline.sandbox_say(owner, &text).await;
    imp::finish(
        outcome,
        "/sandbox",
        |_| "Sent. The agent is answering…".to_owned(),
        &[("text", &text)],
    )
    .await
}

/// Deletes the customer of a conversation: profile, messages, review cases,
/// and the personal fields of their orders. Needs the word DELETE typed.
#[server(endpoint = "delete_customer_data")]
#[middleware(crate::forms::PlainText::form("reply"))]
pub async fn delete_customer_data(conversation: String, confirm: String) -> Result<(), ServerFnError> {
    let (owner, actor, ctx, pipeline) = imp::owner().await?;
    if confirm.trim() != "DELETE" {
        let page = format!("/inbox/{}/delete", conversation.trim());
        let outcome: Result<(), _> = Err(bikriagent::conversations::PipelineError::Invalid(
            "Type DELETE to confirm.".to_owned(),
        ));
        return imp::finish(outcome, &page, |()| String::new(), &[]).await;
    }
    let outcome = match imp::id(&conversation) {
        Ok(id) => match bikriagent::deletion::customer_of_conversation(&pipeline.pool, owner, id).await {
            Ok(customer) => {
                bikriagent::deletion::delete_customer(
                    &pipeline.pool,
                    &pipeline.keys,
                    owner,
                    customer,
                    Some(actor),
                    "owner request",
                    &ctx.meta,
                )
                .await
            }
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    imp::finish(
        outcome,
        "/inbox",
        |report| {
            format!(
                "Deleted: {} messages; {} orders kept without name, phone and address.",
                report.messages, report.orders_anonymised
            )
        },
        &[],
    )
    .await
}
