//! Server functions for channels: pause, resume, disconnect.

use leptos::prelude::*;
use leptos::server;

#[cfg(feature = "ssr")]
async fn owner_channel(
    id: &str,
) -> Result<(bikriagent::tenancy::OwnerId, uuid::Uuid, crate::web::RequestContext), ServerFnError> {
    let session = crate::web::owner_session().await?;
    let channel = id.trim().parse().map_err(|_| ServerFnError::new("No such channel."))?;
    Ok((session.owner, channel, (*session.context).clone()))
}

#[cfg(feature = "ssr")]
async fn done(outcome: Result<(), bikriagent::channels::ChannelError>, success: &str) -> Result<(), ServerFnError> {
    use crate::web::{Flash, keys};
    let session = crate::account_fns::session_for_fns().await?;
    let flash = match outcome {
        Ok(()) => Flash::notice(success),
        Err(bikriagent::channels::ChannelError::NotFound) => Flash::error("That channel doesn't exist any more."),
        Err(error) => return Err(crate::web::internal(error)),
    };
    session.insert(keys::FLASH, flash).await.map_err(crate::web::internal)?;
    leptos_axum::redirect("/channels");
    Ok(())
}

/// Stops automatic replies on a channel from the very next message.
#[server(endpoint = "pause_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn pause_channel(id: String) -> Result<(), ServerFnError> {
    let (owner, channel, ctx) = owner_channel(&id).await?;
    let services = crate::web::services()?;
    let actor = ctx.principal.as_ref().map(|p| p.id).unwrap_or(owner.as_uuid());
    let outcome =
        bikriagent::channels::set_paused(&services.accounts.pool, owner, channel, true, actor, &ctx.meta).await;
    done(
        outcome,
        "Automatic replies are paused on this channel. Messages still arrive in your inbox.",
    )
    .await
}

#[server(endpoint = "resume_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn resume_channel(id: String) -> Result<(), ServerFnError> {
    let (owner, channel, ctx) = owner_channel(&id).await?;
    let services = crate::web::services()?;
    let actor = ctx.principal.as_ref().map(|p| p.id).unwrap_or(owner.as_uuid());
    let outcome =
        bikriagent::channels::set_paused(&services.accounts.pool, owner, channel, false, actor, &ctx.meta).await;
    done(outcome, "Automatic replies are on again for this channel.").await
}

/// Unsubscribes our app and deletes the channel's token.
#[server(endpoint = "disconnect_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn disconnect_channel(id: String) -> Result<(), ServerFnError> {
    let (owner, channel, ctx) = owner_channel(&id).await?;
    let services = crate::web::services()?;
    let outcome = bikriagent::channels::disconnect(
        &services.accounts.pool,
        &services.accounts.keys,
        Some(&services.graph),
        owner,
        channel,
        ctx.principal.as_ref().map(|p| p.id),
        &ctx.meta,
    )
    .await;
    done(outcome, "Disconnected. We deleted the access Meta gave us for it.").await
}

#[cfg(feature = "ssr")]
async fn staff_pause(owner_id: &str, channel_id: &str, paused: bool) -> Result<(), ServerFnError> {
    use crate::web::{Flash, keys};
    let staff_session = crate::web::staff_session().await?;
    let (staff, ctx) = (staff_session.principal, staff_session.context);
    let services = crate::web::services()?;
    let session = crate::account_fns::session_for_fns().await?;
    let ids = owner_id
        .trim()
        .parse::<uuid::Uuid>()
        .ok()
        .zip(channel_id.trim().parse::<uuid::Uuid>().ok());
    let outcome = match ids {
        Some((owner, channel)) => {
            bikriagent::channels::set_paused(
                &services.accounts.pool,
                bikriagent::tenancy::OwnerId::from_verified(owner),
                channel,
                paused,
                staff.id,
                &ctx.meta,
            )
            .await
        }
        None => Err(bikriagent::channels::ChannelError::NotFound),
    };
    let flash = match outcome {
        Ok(()) => Flash::notice(if paused { "Channel paused." } else { "Channel resumed." }),
        Err(bikriagent::channels::ChannelError::NotFound) => Flash::error("That channel doesn't exist any more."),
        Err(error) => return Err(crate::web::internal(error)),
    };
    session.insert(keys::FLASH, flash).await.map_err(crate::web::internal)?;
    leptos_axum::redirect("/staff/channels");
    Ok(())
}

/// Staff: stop automatic replies on any owner's channel at once.
#[server(endpoint = "staff_pause_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_pause_channel(owner_id: String, channel_id: String) -> Result<(), ServerFnError> {
    staff_pause(&owner_id, &channel_id, true).await
}

/// Staff: turn automatic replies back on for a channel they paused.
#[server(endpoint = "staff_resume_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_resume_channel(owner_id: String, channel_id: String) -> Result<(), ServerFnError> {
    staff_pause(&owner_id, &channel_id, false).await
}
