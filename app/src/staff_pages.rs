//! The staff console: owners to review, one owner's detail and actions, the
//! kill switch and the audit log. Staff never see message bodies here.

use crate::raw_text::{EscapedTextArea, PageTitle};
use bikriagent::catalog::money::{Money, format_money};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::forms::{CsrfField, FlashNotice};
use crate::staff_fns::{
    SetKillSwitch, StaffDeleteCustomer, StaffGrantAllowance, StaffRecordPayment, StaffSetLimits, StaffSuspend,
    StaffUnsuspend,
};
use crate::web::{Services, request_context};

fn when(at: time::OffsetDateTime) -> String {
    format!("{} UTC", crate::forms::minute_stamp(at.to_offset(time::UtcOffset::UTC)))
}

#[component]
pub fn StaffNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Staff">
            <a href="/staff">"Console"</a>
            <a href="/staff/owners">"Owners to review"</a>
            <a href="/staff/channels">"Channels"</a>
            <a href="/staff/kill-switch">"Kill switch"</a>
            <a href="/staff/audit">"Audit log"</a>
        </nav>
    }
}

#[component]
pub fn StaffOwnersPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let services = use_context::<Services>();
    let email = crate::forms::query_text("email", bikriagent::input::text::Shape::Line);
    let searched = email.clone();
    let load = move || {
        let services = services.clone();
        let email = email.clone();
        async move {
            let services = services?;
            bikriagent::owners::review_list(&services.accounts.pool, services.clock.now(), &email)
                .await
                .ok()
        }
    };
    view! {
        <PageTitle text="Owners to review · BikriAgent staff"/>
        <StaffNav/>
        <h1>"Owners to review"</h1>
        <FlashNotice flash=flash/>
        <form method="get" action="/staff/owners" class="search">
            <label>"Find an owner by email"<input type="search" name="email" value=searched/></label>
            <button type="submit">"Find"</button>
        </form>
        <p>"Owners waiting for payment verification and owners with risk signals, riskiest first."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    let Some(rows) = rows.await else {
                        return view! { <p class="notice error">"The list could not be loaded."</p> }.into_any();
                    };
                    if rows.is_empty() {
                        return view! { <p>"No owner needs a look."</p> }.into_any();
                    }
                    view! {
                        <table class="list owners">
                            <thead><tr><th>"Owner"</th><th>"State"</th><th>"Evidence"</th><th>"Signed up"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| view! {
                                    <tr data-score=row.score.to_string()>
                                        <td><a href=format!("/staff/owners/{}", row.owner)>{row.email.clone()}</a><br/><small>{row.business_name.clone()}</small></td>
                                        <td>{row.state.as_str().replace('_', " ")}</td>
                                        <td><ul>{row.signals.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul></td>
                                        <td>{when(row.created_at)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn StaffOwnerPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let services = use_context::<Services>();
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let load = move || {
        let services = services.clone();
        async move {
            let (services, id) = (services?, id?);
            let detail = bikriagent::owners::detail(&services.accounts.pool, id).await.ok()?;
            let channels = bikriagent::channels::staff_overview(&services.accounts.pool)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.owner_id == id)
                .collect::<Vec<_>>();
            let cases = bikriagent::conversations::case_summaries(
                &services.accounts.pool,
                bikriagent::tenancy::OwnerId::from_verified(id),
            )
            .await
            .unwrap_or_default();
            Some((detail, channels, cases))
        }
    };
    view! {
        <PageTitle text="Owner · BikriAgent staff"/>
        <StaffNav/>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                Suspend::new(async move {
                    let Some((detail, channels, cases)) = data.await else {
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(http::StatusCode::NOT_FOUND);
                        }
                        return view! { <h1>"No such owner"</h1> }.into_any();
                    };
                    let id = detail.owner.to_string();
                    let (id0, id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                    let id5 = id.clone();
                    let delete_customer = ServerAction::<StaffDeleteCustomer>::new();
                    let pay = ServerAction::<StaffRecordPayment>::new();
                    let allow = ServerAction::<StaffGrantAllowance>::new();
                    let limits = ServerAction::<StaffSetLimits>::new();
                    let suspend = ServerAction::<StaffSuspend>::new();
                    let unsuspend = ServerAction::<StaffUnsuspend>::new();
                    let standing = detail.standing.clone();
                    let suspended = standing.state == bikriagent::owners::OwnerState::Suspended;
                    let optional = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
                    view! {
                        <h1>{detail.email.clone()}</h1>
                        <p>{detail.name.clone()}" · "{detail.business_name.clone()}" · signed up "{when(detail.created_at)}</p>
                        <p data-state=standing.state.as_str()>"State: "<strong>{standing.state.as_str().replace('_', " ")}</strong>
                            {detail.suspended_reason.clone().map(|r| format!(" (reason: {r})"))}</p>
                        <h2>"Channels"</h2>
                        {if channels.is_empty() {
                            view! { <p>"No channel connected."</p> }.into_any()
                        } else {
                            view! { <ul>{channels.into_iter().map(|c| view! {
                                <li>{format!("{} ({}): {}", c.display_name, c.platform, c.status)}
                                    {c.pause_reason.clone().filter(|_| c.paused_by_staff).map(|r| format!(" (paused by staff: {r})"))}
                                    " "<a href="/staff/channels">"pause or resume"</a></li>
                            }).collect_view()}</ul> }.into_any()
                        }}
                        <h2>"Verify a payment"</h2>
                        <ActionForm action=pay attr:class="stack">
                            <CsrfField/><input type="hidden" name="owner_id" value=id0.clone()/>
                            <label>"Amount"<input name="amount" required=true inputmode="decimal"/></label>
                            <label>"Currency"<input name="currency" value="BDT" required=true/></label>
                            <label>"Method"<select name="method">
                                {bikriagent::owners::PAYMENT_METHODS.iter().map(|m| view! { <option value=*m>{*m}</option> }).collect_view()}
                            </select></label>
                            <label>"Reference (transaction id)"<input name="reference" required=true maxlength="200"/></label>
                            <button type="submit">"Record payment and verify"</button>
                        </ActionForm>
                        <h3>"Payments"</h3>
                        <ul>{detail.payments.iter().map(|p| view! {
                            <li>{format!("{} by {} ({}), {} by {}", format_money(Money::from_minor(p.amount_minor), &p.currency), p.method, p.reference, when(p.created_at), p.recorded_by.clone().unwrap_or_else(|| "Stripe".into()))}</li>
                        }).collect_view()}</ul>
                        <h2>"Trial allowance"</h2>
                        <ActionForm action=allow attr:class="stack">
                            <CsrfField/><input type="hidden" name="owner_id" value=id1.clone()/>
                            <label>"Live channels"<input name="channels" inputmode="numeric" value=standing.allowance.channels.to_string()/></label>
                            <label>"Automatic replies a day"<input name="daily_replies" inputmode="numeric" value=standing.allowance.daily_replies.to_string()/></label>
                            <button type="submit">"Save allowance"</button>
                        </ActionForm>
                        <h2>"Daily limits"</h2>
                        <ActionForm action=limits attr:class="stack">
                            <CsrfField/><input type="hidden" name="owner_id" value=id2.clone()/>
                            <label>"Automatic replies a day, whole account (empty: default)"<input name="owner_daily" inputmode="numeric" value=optional(standing.overrides.owner_daily)/></label>
                            <label>"Automatic replies a day, per channel (empty: default)"<input name="channel_daily" inputmode="numeric" value=optional(standing.overrides.channel_daily)/></label>
                            <button type="submit">"Save limits"</button>
                        </ActionForm>
                        <h2>"Suspension"</h2>
                        {if suspended {
                            view! {
                                <ActionForm action=unsuspend><CsrfField/><input type="hidden" name="owner_id" value=id3.clone()/>
                                    <button type="submit">"Lift the suspension"</button></ActionForm>
                            }.into_any()
                        } else {
                            view! {
                                <ActionForm action=suspend attr:class="stack"><CsrfField/><input type="hidden" name="owner_id" value=id4.clone()/>
                                    <label>"Reason (the owner is told)"<EscapedTextArea name="reason" value="" rows=2 required=true maxlength=500/></label>
                                    <button type="submit" class="button danger">"Suspend this owner"</button></ActionForm>
                            }.into_any()
                        }}
                        <h2>"Delete a customer's data (verified request)"</h2>
                        <ActionForm action=delete_customer attr:class="stack">
                            <CsrfField/><input type="hidden" name="owner_id" value=id5.clone()/>
                            <label>"The customer's WhatsApp number or Meta id"<input name="sender_id" required=true maxlength="64"/></label>
                            <label>"Request reference"<input name="request" required=true maxlength="200"/></label>
                            <button type="submit" class="button danger">"Delete their data"</button>
                        </ActionForm>
                        <h2>"Open review cases"</h2>
                        <p><small>"Reasons only. Opening a case shows the customer's message and is recorded in the audit log."</small></p>
                        <ul>{cases.into_iter().map(|c| view! {
                            <li>{format!("{} · {} ", c.reason.as_str().replace('_', " "), when(c.created_at))}
                                <a href=format!("/staff/owners/{}/cases/{}", detail.owner, c.id)>"open (logged)"</a></li>
                        }).collect_view()}</ul>
                        <h2>"Recent security events"</h2>
                        <EventTable events=detail.events.clone()/>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

/// One review case with the customer's message, for staff. Opening it is audited.
#[component]
pub fn StaffCasePage() -> impl IntoView {
    let ctx = request_context();
    let services = use_context::<Services>();
    let ids = use_params_map().with_untracked(|p| {
        p.get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
            .zip(p.get("case").and_then(|c| c.parse::<Uuid>().ok()))
    });
    let staff = ctx.staff().map(|s| s.id);
    let meta = ctx.meta.clone();
    let load = move || {
        let services = services.clone();
        let meta = meta.clone();
        async move {
            let (services, (owner, case), staff) = (services?, ids?, staff?);
            bikriagent::conversations::staff_open_case(
                &services.accounts.pool,
                &services.accounts.keys,
                bikriagent::tenancy::OwnerId::from_verified(owner),
                case,
                staff,
                &meta,
            )
            .await
            .ok()
            .map(|row| (owner, row))
        }
    };
    view! {
        <PageTitle text="Review case · BikriAgent staff"/>
        <StaffNav/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                Suspend::new(async move {
                    let Some((owner, row)) = data.await else {
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(http::StatusCode::NOT_FOUND);
                        }
                        return view! { <h1>"No such open case"</h1> }.into_any();
                    };
                    view! {
                        <h1>{format!("Review case: {}", row.reason.as_str().replace('_', " "))}</h1>
                        <p class="notice">"Your opening of this case is recorded in the audit log."</p>
                        <p>{row.detail.clone()}</p>
                        {row.message.clone().map(|m| view! { <blockquote>{m}</blockquote> })}
                        {row.draft.clone().map(|d| view! { <p>"Draft held back:"</p><blockquote class="draft">{d}</blockquote> })}
                        <p><a href=format!("/staff/owners/{owner}")>"Back to the owner"</a></p>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}

#[component]
fn EventTable(events: Vec<bikriagent::owners::EventRow>) -> impl IntoView {
    view! {
        <table class="list events">
            <thead><tr><th>"When"</th><th>"What"</th><th>"Account"</th><th>"By"</th><th>"From"</th><th>"Detail"</th></tr></thead>
            <tbody>
                {events.into_iter().map(|e| view! {
                    <tr>
                        <td>{when(e.created_at)}</td>
                        <td>{e.kind.as_str().replace('_', " ")}</td>
                        <td>{e.account.unwrap_or_default()}</td>
                        <td>{e.actor.unwrap_or_default()}</td>
                        <td>{e.ip.unwrap_or_default()}</td>
                        <td><small>{e.detail.to_string()}</small></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn StaffAuditPage() -> impl IntoView {
    let services = use_context::<Services>();
    let kind = crate::forms::query_text("kind", bikriagent::input::text::Shape::Line);
    let email = crate::forms::query_text("email", bikriagent::input::text::Shape::Line);
    let page = crate::forms::page_param();
    let (kind_v, email_v) = (kind.clone(), email.clone());
    let load = move || {
        let services = services.clone();
        let (kind, email) = (kind.clone(), email.clone());
        async move {
            let services = services?;
            bikriagent::owners::audit_log(&services.accounts.pool, &kind, &email, page)
                .await
                .ok()
        }
    };
    view! {
        <PageTitle text="Audit log · BikriAgent staff"/>
        <StaffNav/>
        <h1>"Audit log"</h1>
        <p>"Security events and staff actions. Nobody can change or delete them: the database refuses."</p>
        <form method="get" action="/staff/audit" class="search">
            <label>"Event kind"<input name="kind" value=kind_v placeholder="e.g. account_suspended"/></label>
            <label>"Email (account or staff)"<input type="search" name="email" value=email_v/></label>
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    match rows.await {
                        Some(rows) => view! { <EventTable events=rows/> }.into_any(),
                        None => view! { <p class="notice error">"The log could not be loaded."</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn KillSwitchPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let admin = ctx
        .principal
        .as_ref()
        .is_some_and(|p| p.role == bikriagent::auth::accounts::Role::Admin);
    let services = use_context::<Services>();
    let load = move || {
        let services = services.clone();
        async move { bikriagent::owners::kill_switch(&services?.accounts.pool).await.ok() }
    };
    view! {
        <PageTitle text="Kill switch · BikriAgent staff"/>
        <StaffNav/>
        <h1>"Global kill switch"</h1>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let state = load();
                Suspend::new(async move {
                    let Some(state) = state.await else {
                        return view! { <p class="notice error">"Could not read the switch."</p> }.into_any();
                    };
                    let toggle = ServerAction::<SetKillSwitch>::new();
                    let (value, label, class) = if state.engaged {
                        ("off", "Allow automatic replies again", "button")
                    } else {
                        ("on", "Stop every automatic reply now", "button danger")
                    };
                    view! {
                        <p data-engaged=state.engaged.to_string()>{if state.engaged {
                            "ENGAGED: no automatic reply goes out anywhere."
                        } else {
                            "Released: automatic replies follow each owner's rules."
                        }}</p>
                        <p><small>{format!("Last changed {} by {}: {}", when(state.changed_at), state.changed_by.clone().unwrap_or_else(|| "nobody yet".into()), state.reason)}</small></p>
                        {if admin {
                            view! {
                                <ActionForm action=toggle attr:class="stack">
                                    <CsrfField/>
                                    <input type="hidden" name="engage" value=value/>
                                    <label>"Why (recorded and mailed to every admin)"<EscapedTextArea name="reason" value="" rows=2 required=true maxlength=500/></label>
                                    <button type="submit" class=class>{label}</button>
                                </ActionForm>
                            }.into_any()
                        } else {
                            view! { <p>"Only an admin can change the kill switch."</p> }.into_any()
                        }}
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
