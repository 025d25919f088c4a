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
        Err(bikriagent::channels::ChannelError::Refused(message)) => Flash::error(message),
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

/// The form name of a staff pause, for its field errors.
pub const STAFF_PAUSE_FORM: &str = "staff_pause";

#[cfg(feature = "ssr")]
async fn staff_channel_action(owner_id: &str, channel_id: &str, pause: Option<&str>) -> Result<(), ServerFnError> {
    use bikriagent::channels::{self, ChannelError};

    use crate::web::{Flash, keys};
    let staff = crate::web::staff_session().await?;
    let services = crate::web::services()?;
    let session = crate::account_fns::session_for_fns().await?;
    let ids = owner_id
        .trim()
        .parse::<uuid::Uuid>()
        .ok()
        .zip(channel_id.trim().parse::<uuid::Uuid>().ok());
    let (pool, actor, meta) = (&services.accounts.pool, staff.principal.id, &staff.context.meta);
    let outcome = match (ids, pause) {
        (None, _) => Err(ChannelError::NotFound),
        (Some((owner, channel)), Some(reason)) => {
            let owner = bikriagent::tenancy::OwnerId::from_verified(owner);
            channels::staff_pause(pool, actor, owner, channel, reason, meta).await
        }
        (Some((owner, channel)), None) => {
            let owner = bikriagent::tenancy::OwnerId::from_verified(owner);
            channels::staff_resume(pool, actor, owner, channel, meta).await
        }
    };
    let flash = match outcome {
        Ok(()) if pause.is_some() => {
            Flash::notice("Channel paused. Only staff can resume it; its owner sees your reason.")
        }
        Ok(()) => Flash::notice("Channel resumed."),
        Err(ChannelError::NotFound) => Flash::error("That channel doesn't exist any more."),
        Err(ChannelError::Refused(message)) => Flash::error(message),
        Err(ChannelError::Invalid(errors)) => Flash::fields(STAFF_PAUSE_FORM, &errors)
            .keep("channel_id", channel_id.trim())
            .keep("reason", pause.unwrap_or_default()),
        Err(error) => return Err(crate::web::internal(error)),
    };
    session.insert(keys::FLASH, flash).await.map_err(crate::web::internal)?;
    leptos_axum::redirect("/staff/channels");
    Ok(())
}

/// Staff: stop automatic replies on any owner's channel at once, with a
/// reason the owner sees. Only staff resume it.
#[server(endpoint = "staff_pause_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_pause_channel(owner_id: String, channel_id: String, reason: String) -> Result<(), ServerFnError> {
    staff_channel_action(&owner_id, &channel_id, Some(&reason)).await
}

/// Staff: lift a staff pause; automatic replies are on again.
#[server(endpoint = "staff_resume_channel")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_resume_channel(owner_id: String, channel_id: String) -> Result<(), ServerFnError> {
    staff_channel_action(&owner_id, &channel_id, None).await
}
