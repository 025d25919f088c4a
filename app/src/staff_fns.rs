//! Server functions of the staff console. Each needs staff with their
//! second factor (the kill switch: an admin), checked by the API guard and
//! again by the `StaffSession` extractor. The library function each calls
//! checks who may act on whom (`bikriagent::auth::authority`: staff on
//! owners, admins on staff too, nobody on themselves) and audits the action.

use leptos::prelude::*;
use leptos::server;

#[cfg(feature = "ssr")]
mod imp {
    use leptos::prelude::ServerFnError;
    use uuid::Uuid;

    use crate::web::{Flash, StaffSession};

    pub async fn staff() -> Result<(StaffSession, crate::web::Services), ServerFnError> {
        Ok((crate::web::staff_session().await?, crate::web::services()?))
    }

    pub fn owner_id(raw: &str) -> Option<Uuid> {
        raw.trim().parse().ok()
    }

    /// Flashes `outcome` and redirects to `page`.
    pub async fn finish(outcome: Result<String, String>, page: &str) -> Result<(), ServerFnError> {
        let session = crate::account_fns::session_for_fns().await?;
        let flash = match outcome {
            Ok(notice) => Flash::notice(notice),
            Err(error) => Flash::error(error),
        };
        session
            .insert(crate::web::keys::FLASH, flash)
            .await
            .map_err(crate::web::internal)?;
        leptos_axum::redirect(page);
        Ok(())
    }

    /// Maps a lifecycle error to the staff member's message.
    pub fn message(error: bikriagent::owners::OwnerError) -> Result<String, ServerFnError> {
        match error {
            bikriagent::owners::OwnerError::Invalid(message) | bikriagent::owners::OwnerError::Refused(message) => {
                Ok(message)
            }
            bikriagent::owners::OwnerError::NotFound => Ok("That owner doesn't exist.".to_owned()),
            error => Err(crate::web::internal(error)),
        }
    }

    pub fn optional_number(raw: &str) -> Result<Option<i32>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| format!("{raw} is not a whole number."))
    }
}

fn page_of(owner_id: &str) -> String {
    format!("/staff/owners/{}", owner_id.trim())
}

/// Records a verified payment by hand (bKash, Nagad, bank…) and verifies the owner.
#[server(endpoint = "staff_record_payment")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_record_payment(
    owner_id: String,
    amount: String,
    currency: String,
    method: String,
    reference: String,
) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let outcome = match bikriagent::catalog::money::parse_money(&amount) {
        Err(error) => Err(format!("Amount: {error}")),
        Ok(money) => {
            let payment = bikriagent::owners::Payment {
                amount_minor: money.minor(),
                currency: &currency,
                method: method.trim(),
                reference: &reference,
                stripe_event_id: None,
            };
            match bikriagent::owners::record_payment(
                &services.accounts.pool,
                &services.accounts.keys,
                owner,
                &payment,
                Some(staff.principal.id),
                &staff.context.meta,
            )
            .await
            {
                Ok(_) => Ok("Payment recorded; the owner is verified.".to_owned()),
                Err(error) => Err(imp::message(error)?),
            }
        }
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}

/// Grants a trial owner live channels and automatic replies a day.
#[server(endpoint = "staff_grant_allowance")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_grant_allowance(
    owner_id: String,
    channels: String,
    daily_replies: String,
) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let parsed = imp::optional_number(&channels).and_then(|c| Ok((c, imp::optional_number(&daily_replies)?)));
    let outcome = match parsed {
        Err(message) => Err(message),
        Ok((channels, daily)) => {
            let allowance = bikriagent::owners::Allowance {
                channels: channels.unwrap_or(0),
                daily_replies: daily.unwrap_or(0),
            };
            match bikriagent::owners::grant_allowance(
                &services.accounts.pool,
                owner,
                allowance,
                staff.principal.id,
                &staff.context.meta,
            )
            .await
            {
                Ok(()) => Ok("Trial allowance saved.".to_owned()),
                Err(error) => Err(imp::message(error)?),
            }
        }
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}

/// Sets or clears the owner's daily limits.
#[server(endpoint = "staff_set_limits")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_set_limits(
    owner_id: String,
    owner_daily: String,
    channel_daily: String,
) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let parsed = imp::optional_number(&owner_daily).and_then(|o| Ok((o, imp::optional_number(&channel_daily)?)));
    let outcome = match parsed {
        Err(message) => Err(message),
        Ok((owner_daily, channel_daily)) => {
            let overrides = bikriagent::owners::LimitOverrides {
                owner_daily,
                channel_daily,
            };
            match bikriagent::owners::set_limits(
                &services.accounts.pool,
                owner,
                overrides,
                staff.principal.id,
                &staff.context.meta,
            )
            .await
            {
                Ok(()) => Ok("Limits saved.".to_owned()),
                Err(error) => Err(imp::message(error)?),
            }
        }
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}

/// Suspends an owner: every session ends at once and every send stops; data is kept.
#[server(endpoint = "staff_suspend")]
#[middleware(crate::forms::PlainText::form("").multiline(&["reason"]))]
pub async fn staff_suspend(owner_id: String, reason: String) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let outcome = match services
        .accounts
        .suspend(owner, &reason, staff.principal.id, &staff.context.meta)
        .await
    {
        Ok(()) => Ok("Suspended. Their sessions ended and automatic replies stopped.".to_owned()),
        Err(bikriagent::auth::accounts::AuthError::Invalid(errors)) => Err(errors
            .into_values()
            .next()
            .unwrap_or_else(|| "Give a reason.".to_owned())),
        Err(bikriagent::auth::accounts::AuthError::Refused(message)) => Err(message),
        Err(error) => return Err(crate::web::internal(error)),
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}

#[server(endpoint = "staff_unsuspend")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_unsuspend(owner_id: String) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let outcome = match services
        .accounts
        .unsuspend(owner, staff.principal.id, &staff.context.meta)
        .await
    {
        Ok(()) => Ok("The suspension is lifted.".to_owned()),
        Err(bikriagent::auth::accounts::AuthError::Refused(message)) => Err(message),
        Err(error) => return Err(crate::web::internal(error)),
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}

/// Admins: stop (or restart) every automatic send on the platform at once.
#[server(endpoint = "set_kill_switch")]
#[middleware(crate::forms::PlainText::form("").multiline(&["reason"]))]
pub async fn set_kill_switch(engage: String, reason: String) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    if staff.principal.role != bikriagent::auth::accounts::Role::Admin {
        return imp::finish(
            Err("Only an admin can use the kill switch.".into()),
            "/staff/kill-switch",
        )
        .await;
    }
    let engaged = engage == "on";
    let outcome = match bikriagent::owners::set_kill_switch(
        &services.accounts.pool,
        &services.accounts.keys,
        engaged,
        &reason,
        staff.principal.id,
        &staff.context.meta,
    )
    .await
    {
        Ok(()) if engaged => Ok("Every automatic reply is stopped.".to_owned()),
        Ok(()) => Ok("Automatic replies are allowed again.".to_owned()),
        Err(error) => Err(imp::message(error)?),
    };
    imp::finish(outcome, "/staff/kill-switch").await
}

/// Staff, on a verified request: delete a customer's data by the id the
/// person proved (their WhatsApp number or the id Meta gave the shop).
#[server(endpoint = "staff_delete_customer")]
#[middleware(crate::forms::PlainText::form(""))]
pub async fn staff_delete_customer(owner_id: String, sender_id: String, request: String) -> Result<(), ServerFnError> {
    let (staff, services) = imp::staff().await?;
    let Some(owner) = imp::owner_id(&owner_id) else {
        return imp::finish(Err("That owner doesn't exist.".into()), "/staff/owners").await;
    };
    let outcome = match bikriagent::deletion::staff_delete_customer(
        &services.accounts.pool,
        &services.pipeline.keys,
        staff.principal.id,
        owner,
        &sender_id,
        &request,
        &staff.context.meta,
    )
    .await
    {
        Ok(report) => Ok(format!("Deleted the customer's data ({} messages).", report.messages)),
        Err(
            bikriagent::conversations::PipelineError::Invalid(message)
            | bikriagent::conversations::PipelineError::Refused(message),
        ) => Err(message),
        Err(bikriagent::conversations::PipelineError::NotFound) => Err("That owner doesn't exist.".to_owned()),
        Err(error) => return Err(crate::web::internal(error)),
    };
    imp::finish(outcome, &page_of(&owner_id)).await
}
