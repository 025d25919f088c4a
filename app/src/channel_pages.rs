//! The channels page, the picker after Meta's screen, and the public status
//! page of a Meta data deletion request.

use crate::raw_text::PageTitle;
use bikriagent::channels::ChannelStatus;
use leptos::prelude::*;

use crate::channel_fns::{DisconnectChannel, PauseChannel, ResumeChannel};
use crate::forms::{CsrfField, FlashNotice};
use crate::web::{Services, request_context};

fn status_text(status: ChannelStatus) -> &'static str {
    match status {
        ChannelStatus::Connected => "Connected: automatic replies on",
        ChannelStatus::Paused => "Paused: no automatic replies",
        ChannelStatus::TokenInvalid => "Needs reconnecting: Meta no longer accepts our access",
        ChannelStatus::Disconnected => "Disconnected",
    }
}

#[component]
pub fn ChannelsPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let Some(owner) = ctx.owner().cloned() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let services = use_context::<Services>();
    let owner_id = owner.owner_id();
    let load = move || {
        let services = services.clone();
        async move {
            let Some(services) = services else { return Vec::new() };
            let Some(owner) = owner_id else { return Vec::new() };
            bikriagent::channels::list(&services.accounts.pool, owner)
                .await
                .unwrap_or_default()
        }
    };
    let verified = owner.email_verified;
    view! {
        <PageTitle text="Channels · BikriAgent"/>
        <crate::catalog_pages::CatalogNav/>
        <h1>"Your channels"</h1>
        <FlashNotice flash=flash/>
        <p>"Connect your Facebook Page, Instagram account or WhatsApp number on Meta's own screen. "
           "We never ask for your Facebook password."</p>
        {if verified {
            view! { <p><a class="button" href="/oauth/meta/start">"Connect with Facebook"</a></p> }.into_any()
        } else {
            view! { <p class="notice">"Confirm your email address to connect a channel."</p> }.into_any()
        }}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    let rows = rows.await;
                    if rows.is_empty() {
                        return view! { <p>"No channel is connected yet."</p> }.into_any();
                    }
                    view! {
                        <table class="list channels">
                            <thead><tr><th>"Channel"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| {
                                    let pause = ServerAction::<PauseChannel>::new();
                                    let resume = ServerAction::<ResumeChannel>::new();
                                    let disconnect = ServerAction::<DisconnectChannel>::new();
                                    let id = row.id.to_string();
                                    let (id1, id2) = (id.clone(), id.clone());
                                    let status = row.status;
                                    let staff_pause = row
                                        .paused_by_staff
                                        .then(|| bikriagent::channels::staff_pause_notice(row.pause_reason.as_deref()));
                                    let locked = staff_pause.is_some();
                                    view! {
                                        <tr>
                                            <td>{row.display_name}</td>
                                            <td data-status=status.as_str() data-paused-by-staff=locked.to_string()>
                                                {if locked && status == ChannelStatus::Paused { "Paused by BikriAgent staff" } else { status_text(status) }}
                                                {staff_pause.map(|notice| view! { <p class="notice staff-pause">{notice}</p> })}
                                            </td>
                                            <td class="actions">
                                                {match status {
                                                    ChannelStatus::Paused if locked => ().into_any(),
                                                    ChannelStatus::Connected => view! {
                                                        <ActionForm action=pause><CsrfField/><input type="hidden" name="id" value=id.clone()/>
                                                            <button type="submit" class="button danger">"Pause auto-send"</button></ActionForm>
                                                    }.into_any(),
                                                    ChannelStatus::Paused => view! {
                                                        <ActionForm action=resume><CsrfField/><input type="hidden" name="id" value=id.clone()/>
                                                            <button type="submit">"Resume"</button></ActionForm>
                                                    }.into_any(),
                                                    ChannelStatus::TokenInvalid | ChannelStatus::Disconnected => view! { <a class="button" href="/oauth/meta/start">"Reconnect"</a> }.into_any(),
                                                }}
                                                <ActionForm action=disconnect><CsrfField/><input type="hidden" name="id" value=id1.clone()/>
                                                    <button type="submit" class="button secondary">"Disconnect"</button></ActionForm>
                                                <span hidden=true>{id2}</span>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// After Meta's screen: choose which of the granted assets to connect.
#[component]
pub fn ConnectPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let csrf = ctx.csrf.clone().unwrap_or_default();
    let pending = crate::forms::query_text("pending", bikriagent::input::text::Shape::Line);
    let owner = ctx.owner().and_then(|p| p.owner_id());
    let services = use_context::<Services>();
    let load = move || {
        let services = services.clone();
        let pending = pending.clone();
        async move {
            let (Some(services), Some(owner), Ok(id)) = (services, owner, pending.parse::<uuid::Uuid>()) else {
                return None;
            };
            let found = bikriagent::channels::load_pending(&services.accounts.pool, &services.accounts.keys, owner, id)
                .await
                .ok()?;
            Some((
                id,
                found
                    .candidates
                    .iter()
                    .map(|c| (c.key(), c.display_name.clone()))
                    .collect::<Vec<_>>(),
            ))
        }
    };
    view! {
        <PageTitle text="Choose what to connect · BikriAgent"/>
        <h1>"Choose what to connect"</h1>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let csrf = csrf.clone();
                Suspend::new(async move {
                    match data.await {
                        Some((id, candidates)) => view! {
                            <form method="post" action="/api/connect_channels" class="stack">
                                <input type="hidden" name="csrf_token" value=csrf/>
                                <input type="hidden" name="pending" value=id.to_string()/>
                                {candidates.into_iter().map(|(key, name)| view! {
                                    <label class="inline"><input type="checkbox" name="choice" value=key checked=true/>" "{name}</label>
                                }).collect_view()}
                                <button type="submit">"Connect"</button>
                            </form>
                        }
                        .into_any(),
                        None => view! {
                            <p class="notice error">"This choice has expired (it lasts 15 minutes). "
                                <a href="/channels">"Start again"</a></p>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Public: the progress of a Meta data deletion request, by confirmation code only.
#[component]
pub fn DeletionStatusPage() -> impl IntoView {
    let code = crate::forms::query_text("code", bikriagent::input::text::Shape::Line);
    let services = use_context::<Services>();
    let load = move || {
        let services = services.clone();
        let code = code.clone();
        async move {
            let services = services?;
            if code.is_empty() || code.len() > 64 {
                return None;
            }
            bikriagent::channels::deletion_status(&services.accounts.pool, &code)
                .await
                .ok()
                .flatten()
        }
    };
    view! {
        <PageTitle text="Data deletion request · BikriAgent"/>
        <h1>"Your data deletion request"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                Suspend::new(async move {
                    match data.await {
                        Some((status, _received)) => {
                            let text = match status.as_str() {
                                "completed" => "Completed: the connection and the access you gave us are deleted.",
                                "in_progress" => "In progress.",
                                _ => "Received: we will complete it shortly.",
                            };
                            view! { <p class="notice" data-status=status>{text}</p> }.into_any()
                        }
                        None => view! { <p class="notice error">"We do not know this confirmation code."</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Staff: every connected channel, with a pause (with a reason) or, for a
/// channel staff paused, a resume button for each.
#[component]
pub fn StaffChannelsPage() -> impl IntoView {
    use crate::channel_fns::{STAFF_PAUSE_FORM, StaffPauseChannel, StaffResumeChannel};
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    // A refused pause comes back with its reason's error, for the channel it was for.
    let pause_errors = (flash.form.as_deref() == Some(STAFF_PAUSE_FORM)).then(|| {
        (
            flash.value("channel_id"),
            flash.field_error("reason").unwrap_or_default(),
            flash.value("reason"),
        )
    });
    let services = use_context::<Services>();
    let load = move || {
        let services = services.clone();
        async move {
            let Some(services) = services else { return Vec::new() };
            bikriagent::channels::staff_overview(&services.accounts.pool)
                .await
                .unwrap_or_default()
        }
    };
    view! {
        <PageTitle text="Channels · Staff console · BikriAgent"/>
        <p><a href="/staff">"← Staff console"</a></p>
        <h1>"All channels"</h1>
        <FlashNotice flash=flash/>
        <p>"A staff pause is a lock: the owner sees your reason and cannot resume the channel; only staff can."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                let pause_errors = pause_errors.clone();
                Suspend::new(async move {
                    view! {
                        <table class="list">
                            <thead><tr><th>"Owner"</th><th>"Channel"</th><th>"Status"</th><th></th></tr></thead>
                            <tbody>
                                {rows.await.into_iter().map(|row| {
                                    let pause = ServerAction::<StaffPauseChannel>::new();
                                    let resume = ServerAction::<StaffResumeChannel>::new();
                                    let (owner, channel) = (row.owner_id.to_string(), row.channel_id.to_string());
                                    let (error, kept) = match &pause_errors {
                                        Some((id, error, kept)) if *id == channel => (Some(error.clone()), kept.clone()),
                                        _ => (None, String::new()),
                                    };
                                    let error_id = format!("reason-error-{channel}");
                                    let described = error.as_ref().map(|_| error_id.clone());
                                    let row_id = channel.clone();
                                    view! {
                                        <tr data-channel=row_id>
                                            <td>{format!("{} ({})", row.owner_email, row.owner_status)}</td>
                                            <td>{row.display_name}</td>
                                            <td data-paused-by-staff=row.paused_by_staff.to_string()>
                                                {if row.paused_by_staff && row.status == ChannelStatus::Paused {
                                                    "Paused by staff".to_owned()
                                                } else {
                                                    status_text(row.status).to_owned()
                                                }}
                                                {row.pause_reason.map(|r| view! { <br/><small>{format!("Reason: {r}")}</small> })}
                                            </td>
                                            <td>{if row.paused_by_staff {
                                                view! { <ActionForm action=resume><CsrfField/>
                                                    <input type="hidden" name="owner_id" value=owner.clone()/>
                                                    <input type="hidden" name="channel_id" value=channel.clone()/>
                                                    <button type="submit">"Resume"</button></ActionForm> }.into_any()
                                            } else {
                                                view! { <ActionForm action=pause attr:class="stack"><CsrfField/>
                                                    <input type="hidden" name="owner_id" value=owner.clone()/>
                                                    <input type="hidden" name="channel_id" value=channel.clone()/>
                                                    <label>"Reason (the owner sees it)"
                                                        <input name="reason" value=kept required=true maxlength="500"
                                                            aria-invalid=error.as_ref().map(|_| "true") aria-describedby=described/>
                                                    </label>
                                                    {error.map(|e| view! { <span class="field-error" id=error_id>{e}</span> })}
                                                    <button type="submit" class="button danger">"Pause auto-send"</button></ActionForm> }.into_any()
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                })
            }}
        </Suspense>
    }
}
