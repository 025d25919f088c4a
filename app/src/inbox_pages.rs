//! The owner's inbox, a conversation, the review queue, orders, the
//! playground and the sandbox chat. Plain HTML: forms post and redirect; a
//! page waiting for the agent refreshes itself with a meta refresh, so no
//! script is needed anywhere.

use bikriagent::catalog::money::{Money, format_money};
use bikriagent::channels::ChannelStatus;
use bikriagent::conversations::{ConversationMode, MessageAuthor};
use bikriagent::processing::Decision;
use bikriagent::tenancy::OwnerId;
use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::use_params_map;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::forms::{CsrfField, FlashNotice};
use crate::inbox_fns::{
    ApproveReview, DeleteCustomerData, DismissReview, HandBack, OwnerReply, SandboxSay, SetOrderStatus, TakeOver,
};
use crate::raw_text::{EscapedTextArea, PageTitle};
use crate::web::{Services, request_context};

fn scope() -> Option<(OwnerId, Services)> {
    let owner = request_context().owner().and_then(|p| p.owner_id())?;
    Some((owner, use_context::<Services>()?))
}

fn please_log_in() -> AnyView {
    view! { <p>"Please log in."</p> }.into_any()
}

fn not_found() -> AnyView {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! { <h1>"Not found"</h1><p>"It doesn't exist, or it isn't yours."</p> }.into_any()
}

/// Dhaka time, which is what owners and their customers live by.
fn when(at: OffsetDateTime) -> String {
    let hours = bikriagent::pipeline::gates::SHOP_DAY_OFFSET_HOURS;
    let dhaka = time::UtcOffset::from_hms(hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
    crate::forms::minute_stamp(at.to_offset(dhaka))
}

fn risk_badge(risk: Option<String>) -> impl IntoView {
    risk.map(|risk| {
        let label = risk.replace('_', " ");
        view! { <span class="badge risk" data-risk=risk>{label}</span> }
    })
}

/// The shop's pages about customers.
#[component]
pub fn InboxNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Customers">
            <a href="/inbox">"Inbox"</a>
            <a href="/review">"Review queue"</a>
            <a href="/orders">"Orders"</a>
            <a href="/playground">"Playground"</a>
            <a href="/sandbox">"Sandbox chat"</a>
        </nav>
    }
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let page = crate::forms::page_param();
    let load = move || {
        let services = services.clone();
        async move {
            let now = services.clock.now();
            bikriagent::conversations::inbox(&services.pipeline.pool, &services.pipeline.keys, owner, now, page).await
        }
    };
    view! {
        <PageTitle text="Inbox · BikriAgent"/>
        <crate::catalog_pages::CatalogNav/>
        <InboxNav/>
        <h1>"Inbox"</h1>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    let rows = match rows.await {
                        Ok(rows) => rows,
                        Err(error) => {
                            tracing::error!(%error, "inbox failed");
                            return view! { <p class="notice error">"The inbox could not be loaded."</p> }.into_any();
                        }
                    };
                    if rows.is_empty() && page.previous().is_some() {
                        return view! { <p>"No older conversations. "<a href="/inbox">"Back to the newest"</a></p> }.into_any();
                    }
                    if rows.is_empty() {
                        return view! {
                            <p>"No conversations yet. Connect a channel, or try the "<a href="/sandbox">"sandbox chat"</a>"."</p>
                        }.into_any();
                    }
                    let more = rows.len() as i64 == bikriagent::conversations::INBOX_PAGE;
                    view! {
                        <table class="list inbox">
                            <thead><tr><th>"Customer"</th><th>"Last message"</th><th>"Channel"</th><th>"Status"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| {
                                    let href = format!("/inbox/{}", row.conversation);
                                    let window = if row.window_open { "24-hour window open" } else { "24-hour window closed" };
                                    let mode = if row.mode == ConversationMode::Human { "You are answering" } else { "Agent answering" };
                                    view! {
                                        <tr>
                                            <td><a href=href>{row.customer}</a>
                                                {(row.open_reviews > 0).then(|| view! { <span class="badge review">{format!("{} to review", row.open_reviews)}</span> })}</td>
                                            <td>{row.preview}<br/><small>{when(row.last_message_at)}</small></td>
                                            <td>{row.channel}<br/><small>{row.platform.as_str()}</small>
                                                {matches!(row.channel_status, ChannelStatus::TokenInvalid | ChannelStatus::Disconnected).then(|| view! {
                                                    <br/><a class="badge risk" href="/channels">"channel needs reconnecting"</a>
                                                })}</td>
                                            <td>{risk_badge(row.last_risk)}<small>{mode}" · "{window}</small>
                                                {(!row.note.is_empty()).then(|| view! { <br/><small class="note">{row.note.clone()}</small> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {page.previous().map(|p| view! { <a href=format!("/inbox?page={p}")>"Newer"</a>" " })}
                        {page.next().filter(|_| more).map(|p| view! { <a href=format!("/inbox?page={p}")>"Older"</a> })}
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The messages of a conversation, oldest first.
#[component]
fn MessageList(messages: Vec<bikriagent::conversations::MessageView>) -> impl IntoView {
    view! {
        <ol class="messages">
            {messages.into_iter().map(|m| {
                let who = match m.author {
                    MessageAuthor::Customer => "Customer",
                    MessageAuthor::Agent => "Agent",
                    MessageAuthor::Owner => "You",
                };
                let class = format!("message {}", m.direction);
                let text = m.text.unwrap_or_else(|| format!("[{} without text]", m.kind));
                view! {
                    <li class=class>
                        <small>{who}" · "{when(m.at)}</small>
                        {risk_badge(m.risk)}
                        <p>{text}</p>
                        {(!m.decision.is_empty()).then(|| view! { <small class="decision">{m.decision.clone()}</small> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let Some(id) = id else { return not_found() };
    let load = move || {
        let services = services.clone();
        async move {
            let now = services.clock.now();
            bikriagent::conversations::conversation(&services.pipeline.pool, &services.pipeline.keys, owner, id, now)
                .await
        }
    };
    view! {
        <PageTitle text="Conversation · BikriAgent"/>
        <InboxNav/>
        <FlashNotice flash=flash.clone()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let kept = flash.value("text");
                Suspend::new(async move {
                    let view_data = match data.await {
                        Ok(view_data) => view_data,
                        Err(bikriagent::conversations::PipelineError::NotFound) => return not_found(),
                        Err(error) => {
                            tracing::error!(%error, "conversation failed");
                            return view! { <p class="notice error">"The conversation could not be loaded."</p> }.into_any();
                        }
                    };
                    let waiting = view_data.messages.last().is_some_and(|m| m.author == MessageAuthor::Customer && m.decision.is_empty());
                    let reply = ServerAction::<OwnerReply>::new();
                    let take = ServerAction::<TakeOver>::new();
                    let back = ServerAction::<HandBack>::new();
                    let conversation = view_data.id.to_string();
                    let (c_mode, c_reply) = (conversation.clone(), conversation.clone());
                    let window = match view_data.window_closes_at {
                        Some(at) if view_data.window_open => format!("Meta's 24-hour window is open until {}.", when(at)),
                        _ => "Meta's 24-hour window is closed: you can answer when the customer writes again.".to_owned(),
                    };
                    view! {
                        {waiting.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
                        <h1>{view_data.customer.clone()}</h1>
                        <p><small>{view_data.channel.clone()}" ("{view_data.platform.as_str()}") · "{window}</small></p>
                        {(!view_data.note.is_empty()).then(|| view! { <p class="notice">{view_data.note.clone()}</p> })}
                        {view_data.problems.iter().map(|p| view! { <p class="notice error">{p.clone()}</p> }).collect_view()}
                        <MessageList messages=view_data.messages.clone()/>
                        {waiting.then(|| view! { <p><small>"The agent is looking at the last message…"</small></p> })}
                        {if view_data.mode == ConversationMode::Human {
                            view! {
                                <ActionForm action=back><CsrfField/><input type="hidden" name="conversation" value=c_mode.clone()/>
                                    <button type="submit" class="button secondary">"Hand back to the agent"</button></ActionForm>
                            }.into_any()
                        } else {
                            view! {
                                <ActionForm action=take><CsrfField/><input type="hidden" name="conversation" value=c_mode.clone()/>
                                    <button type="submit" class="button secondary">"Take over (the agent stays quiet)"</button></ActionForm>
                            }.into_any()
                        }}
                        <p><a class="button secondary" href=format!("/inbox/{}/delete", c_reply.clone())>"Delete this customer's data…"</a></p>
                        <ActionForm action=reply attr:class="stack">
                            <CsrfField/>
                            <input type="hidden" name="conversation" value=c_reply.clone()/>
                            <input type="hidden" name="idempotency_key" value=Uuid::new_v4().to_string()/>
                            <label>"Your reply"<EscapedTextArea name="text" value=kept.clone() required=true maxlength=2000/></label>
                            <button type="submit" disabled=!view_data.window_open>"Send"</button>
                        </ActionForm>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let load = move || {
        let services = services.clone();
        async move { bikriagent::conversations::review_queue(&services.pipeline.pool, &services.pipeline.keys, owner).await }
    };
    view! {
        <PageTitle text="Review queue · BikriAgent"/>
        <InboxNav/>
        <h1>"Review queue"</h1>
        <FlashNotice flash=flash/>
        <p>"Messages the agent did not answer on its own: risky ones (health, refunds, payments, anger, tricks, a wish to talk to you), "
           "answers it could not ground in your data, and replies held back by the safety filter or a send rule."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    let (rows, open) = match rows.await {
                        Ok(queue) => queue,
                        Err(error) => {
                            tracing::error!(%error, "review queue failed");
                            return view! { <p class="notice error">"The review queue could not be loaded."</p> }.into_any();
                        }
                    };
                    if rows.is_empty() {
                        return view! { <p>"Nothing waits for you."</p> }.into_any();
                    }
                    let shown = rows.len() as i64;
                    let more = (open > shown).then(|| view! {
                        <p class="notice">{format!(
                            "Showing the oldest {shown} of {open} open cases; the next ones appear here as you answer or dismiss these."
                        )}</p>
                    });
                    view! {
                        {more}
                        <ul class="cases">
                            {rows.into_iter().map(|row| {
                                let approve = ServerAction::<ApproveReview>::new();
                                let dismiss = ServerAction::<DismissReview>::new();
                                let (id, id2) = (row.id.to_string(), row.id.to_string());
                                let reason = row.reason.as_str().replace('_', " ");
                                view! {
                                    <li class="case" data-reason=row.reason.as_str()>
                                        <h2><a href=format!("/inbox/{}", row.conversation)>{row.customer.clone()}</a>" "<span class="badge risk">{reason}</span></h2>
                                        <small>{when(row.at)}</small>
                                        <p>{row.detail.clone()}</p>
                                        {row.message.clone().map(|m| view! { <blockquote>{m}</blockquote> })}
                                        <ActionForm action=approve attr:class="stack">
                                            <CsrfField/>
                                            <input type="hidden" name="id" value=id.clone()/>
                                            <label>"Your answer"<EscapedTextArea name="text" value=row.draft.clone().unwrap_or_default() required=true maxlength=2000/></label>
                                            <button type="submit">"Send"</button>
                                        </ActionForm>
                                        <ActionForm action=dismiss><CsrfField/><input type="hidden" name="id" value=id2.clone()/>
                                            <button type="submit" class="button secondary">"Dismiss"</button></ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

fn status_label(status: &str) -> String {
    match status {
        "pending_owner_confirmation" => "waiting for you to confirm".to_owned(),
        other => other.replace('_', " "),
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let load = move || {
        let services = services.clone();
        async move { bikriagent::orders::list(&services.pipeline.pool, &services.pipeline.keys, owner, None).await }
    };
    view! {
        <PageTitle text="Orders · BikriAgent"/>
        <InboxNav/>
        <h1>"Orders"</h1>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let rows = load();
                Suspend::new(async move {
                    let rows = rows.await.unwrap_or_default();
                    if rows.is_empty() {
                        return view! { <p>"No orders yet."</p> }.into_any();
                    }
                    view! {
                        <table class="list orders">
                            <thead><tr><th>"Order"</th><th>"Customer"</th><th>"Total"</th><th>"Status"</th><th>"Placed"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| view! {
                                    <tr>
                                        <td><a href=format!("/orders/{}", row.id)>{format!("#{}", row.number)}</a></td>
                                        <td>{row.customer_name.clone()}</td>
                                        <td>{format_money(Money::from_minor(row.total_minor), &row.currency)}</td>
                                        <td data-status=row.status.clone()>{status_label(&row.status)}</td>
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
    .into_any()
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let Some(id) = id else { return not_found() };
    let load = move || {
        let services = services.clone();
        async move { bikriagent::orders::get(&services.pipeline.pool, &services.pipeline.keys, owner, id).await }
    };
    view! {
        <PageTitle text="Order · BikriAgent"/>
        <InboxNav/>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let order = load();
                Suspend::new(async move {
                    let order = match order.await {
                        Ok(order) => order,
                        Err(_) => return not_found(),
                    };
                    let currency = order.row.currency.clone();
                    let money = move |minor: i64| format_money(Money::from_minor(minor), &currency);
                    let next = bikriagent::orders::next_statuses(&order.row.status);
                    let id = order.row.id.to_string();
                    view! {
                        <h1>{format!("Order #{}", order.row.number)}</h1>
                        <p data-status=order.row.status.clone()>"Status: "{status_label(&order.row.status)}</p>
                        <table class="list">
                            <thead><tr><th>"Item"</th><th>"Quantity"</th><th>"Unit price"</th></tr></thead>
                            <tbody>
                                {order.items.iter().map(|item| view! {
                                    <tr><td>{item.name.clone()}{(!item.variant_label.is_empty()).then(|| format!(" ({})", item.variant_label))}</td>
                                        <td>{item.quantity}</td><td>{money(item.unit_price_minor)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p>"Items: "{money(order.items_total_minor)}" · Delivery"
                           {(!order.delivery_area.is_empty()).then(|| format!(" ({})", order.delivery_area))}": "{money(order.delivery_charge_minor)}
                           " · Total: "<strong>{money(order.row.total_minor)}</strong></p>
                        <h2>"Deliver to"</h2>
                        <p>{order.row.customer_name.clone()}<br/>{order.phone.clone()}<br/>{order.address.clone()}</p>
                        {order.conversation.map(|c| view! { <p><a href=format!("/inbox/{c}")>"Open the conversation"</a></p> })}
                        <div class="actions">
                            {next.iter().map(|status| {
                                let id = id.clone();
                                let action = ServerAction::<SetOrderStatus>::new();
                                let label = match *status {
                                    "confirmed" => "Confirm the order",
                                    "shipped" => "Mark shipped",
                                    "delivered" => "Mark delivered",
                                    _ => "Cancel the order (stock goes back)",
                                };
                                let class = if *status == "cancelled" { "button danger" } else { "button" };
                                view! {
                                    <ActionForm action=action><CsrfField/><input type="hidden" name="id" value=id.clone()/>
                                        <input type="hidden" name="status" value=*status/>
                                        <button type="submit" class=class>{label}</button></ActionForm>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

fn decision_view(decision: Decision) -> AnyView {
    match decision {
        Decision::Reply { text } => view! {
            <p>"The agent would answer:"</p><blockquote class="draft">{text}</blockquote>
        }
        .into_any(),
        Decision::Review { reason, detail, draft, holding } => view! {
            <p>"The message would go to your review queue ("<strong>{reason.as_str().replace('_', " ")}</strong>")."</p>
            <p>{detail}</p>
            {draft.map(|d| view! { <p>"Draft held back:"</p><blockquote class="draft">{d}</blockquote> })}
            {holding.map(|h| view! { <p>"Your holding message would be sent:"</p><blockquote class="draft">{h}</blockquote> })}
        }
        .into_any(),
        Decision::Quiet { note } => view! { <p>{note}</p> }.into_any(),
        Decision::AlreadyDecided => view! { <p>"Already decided."</p> }.into_any(),
    }
}

/// Type as a customer and see what the agent would answer, and why. A GET
/// form: nothing is stored or sent.
#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let message = crate::forms::query_text("message", bikriagent::input::text::Shape::Lines);
    let asked = message.clone();
    let load = move || {
        let services = services.clone();
        let message = message.clone();
        async move {
            if message.trim().is_empty() {
                return None;
            }
            Some(services.pipeline.playground(owner, &message).await)
        }
    };
    view! {
        <PageTitle text="Playground · BikriAgent"/>
        <InboxNav/>
        <h1>"Playground"</h1>
        <p>"Write as a customer would, in English, Bangla or Banglish. Nothing is stored or sent; "
           "on a live channel the send rules (pause, limits, Meta's 24-hour window) are checked too."</p>
        <form method="get" action="/playground" class="stack">
            <label>"Customer message"<EscapedTextArea name="message" value=asked required=true maxlength=2000/></label>
            <button type="submit">"What would the agent say?"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Thinking…"</p> }>
            {move || {
                let report = load();
                Suspend::new(async move {
                    match report.await {
                        None => view! { <span></span> }.into_any(),
                        Some(Err(bikriagent::conversations::PipelineError::Invalid(message))) => {
                            view! { <p class="notice error">{message}</p> }.into_any()
                        }
                        Some(Err(error)) => {
                            tracing::error!(%error, "playground failed");
                            view! { <p class="notice error">"Something went wrong on our side."</p> }.into_any()
                        }
                        Some(Ok(report)) => view! {
                            <section class="report">
                                <h2>"Result"</h2>
                                {decision_view(report.decision)}
                                <h2>"Why"</h2>
                                <ul>
                                    <li>{format!("Language: {}", report.language)}</li>
                                    <li>{if report.categories.is_empty() { "Risk: none".to_owned() } else { format!("Risk: {}", report.categories.join(", ")) }}</li>
                                    {report.why.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
                                </ul>
                            </section>
                        }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// A test chat through the real pipeline, without Meta: the owner is the customer.
#[component]
pub fn SandboxPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let load = move || {
        let services = services.clone();
        async move {
            let pool = &services.pipeline.pool;
            let id = bikriagent::processing::sandbox_conversation(pool, owner)
                .await
                .ok()
                .flatten()?;
            bikriagent::conversations::conversation(pool, &services.pipeline.keys, owner, id, services.clock.now())
                .await
                .ok()
        }
    };
    view! {
        <PageTitle text="Sandbox chat · BikriAgent"/>
        <InboxNav/>
        <h1>"Sandbox chat"</h1>
        <FlashNotice flash=flash.clone()/>
        <p>"Chat with your agent as a customer would. Messages go through the real pipeline "
           "(risk check, your catalog, the safety filter, orders, the review queue) on a test channel that needs no Meta account."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let kept = flash.value("text");
                Suspend::new(async move {
                    let say = ServerAction::<SandboxSay>::new();
                    let conversation = data.await;
                    let waiting = conversation.as_ref().is_some_and(|c| {
                        c.messages.last().is_some_and(|m| m.author == MessageAuthor::Customer && m.decision.is_empty())
                            || c.messages.last().is_some_and(|m| m.decision.starts_with("replied"))
                    });
                    view! {
                        {waiting.then(|| view! { <Meta http_equiv="refresh" content="1"/> })}
                        {conversation.map(|c| view! {
                            <MessageList messages=c.messages/>
                            <p><a href=format!("/inbox/{}", c.id)>"Open in the inbox"</a></p>
                        })}
                        <ActionForm action=say attr:class="stack">
                            <CsrfField/>
                            <label>"Write as the customer"<EscapedTextArea name="text" value=kept.clone() rows=2 required=true maxlength=2000/></label>
                            <button type="submit">"Send"</button>
                        </ActionForm>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The confirmation step before a customer's data is deleted.
#[component]
pub fn DeleteCustomerPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, services)) = scope() else {
        return please_log_in();
    };
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let Some(id) = id else { return not_found() };
    let load = move || {
        let services = services.clone();
        async move {
            bikriagent::conversations::conversation(
                &services.pipeline.pool,
                &services.pipeline.keys,
                owner,
                id,
                services.clock.now(),
            )
            .await
            .ok()
        }
    };
    view! {
        <PageTitle text="Delete a customer's data · BikriAgent"/>
        <InboxNav/>
        <FlashNotice flash=flash/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                Suspend::new(async move {
                    let Some(conversation) = data.await else { return not_found() };
                    let delete = ServerAction::<DeleteCustomerData>::new();
                    view! {
                        <h1>{format!("Delete {}'s data?", conversation.customer)}</h1>
                        <p>"This deletes the customer's profile, every message of the conversation, its review cases, "
                           "and the name, phone and address on their orders. The orders keep their items and amounts "
                           "for your accounts. It cannot be undone."</p>
                        <ActionForm action=delete attr:class="stack">
                            <CsrfField/>
                            <input type="hidden" name="conversation" value=conversation.id.to_string()/>
                            <label>"Type DELETE to confirm"<input name="confirm" required=true autocomplete="off"/></label>
                            <button type="submit" class="button danger">"Delete this customer's data"</button>
                        </ActionForm>
                        <p><a href=format!("/inbox/{}", conversation.id)>"Keep it and go back"</a></p>
                    }.into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}
