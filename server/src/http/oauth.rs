//! Connecting channels through Meta's own Login dialog.
//!
//! `GET /oauth/meta/start` stores a one-shot state and a PKCE verifier in the
//! owner's session and sends the browser to Meta. `GET /oauth/meta/callback`
//! takes them out of the session (so a state works once, and only in the
//! session that started it), exchanges the code, lists what the owner granted
//! and keeps it sealed until the owner picks on `/channels/connect`.
//! `POST /api/connect_channels` connects the picked ones.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bikriagent::audit::{self, AuditKind};
use bikriagent::channels::{self, Candidate, Pending};
use bikriagent::meta::graph::Platform;
use bikriagent_app::web::{Flash, OwnerSession, keys};
use secrecy::ExposeSecret as _;
use tower_sessions::Session;

use super::AppState;

const STATE_KEY: &str = "oauth_meta_state";
const VERIFIER_KEY: &str = "oauth_meta_verifier";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/meta/start", get(start))
        .route("/oauth/meta/callback", get(callback))
        // The same field check as every server function's form.
        .route(
            "/api/connect_channels",
            post(connect).layer(bikriagent_app::forms::PlainText::form("")),
        )
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

async fn flash_redirect(session: &Session, flash: Flash, to: &str) -> Response {
    let _ = session.insert(keys::FLASH, flash).await;
    redirect(to)
}

fn callback_url(state: &AppState) -> String {
    format!("{}/oauth/meta/callback", state.config.public_url)
}

async fn start(State(state): State<AppState>, owner: OwnerSession, session: Session) -> Response {
    if !owner.principal.email_verified {
        let flash = Flash::error("Confirm your email address first: then you can connect your Page or number.");
        return flash_redirect(&session, flash, "/channels").await;
    }
    match bikriagent::owners::may_connect(&state.pool, owner.owner.as_uuid(), &[]).await {
        Ok(Ok(())) => {}
        // At the limit already: reconnecting one of them is still allowed at the picker.
        Ok(Err(message)) if message.contains("live channel(s)") => {}
        Ok(Err(message)) => return flash_redirect(&session, Flash::error(message), "/channels").await,
        Err(error) => {
            tracing::error!(%error, "could not read the owner's standing");
            return super::pages::internal_error_response();
        }
    }
    let start = match state
        .services
        .graph
        .authorize_url(&state.config.meta_dialog_url, &callback_url(&state))
    {
        Ok(start) => start,
        Err(error) => {
            tracing::error!(%error, "could not build the Meta login URL");
            return super::pages::internal_error_response();
        }
    };
    if session.insert(STATE_KEY, &start.state).await.is_err()
        || session.insert(VERIFIER_KEY, &start.pkce_verifier).await.is_err()
    {
        return super::pages::internal_error_response();
    }
    redirect(&start.url)
}

fn refused(title: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        bikriagent_app::error_document(400, title, message),
    )
        .into_response()
}

async fn callback(
    State(state): State<AppState>,
    owner_session: OwnerSession,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (owner, ctx) = (owner_session.owner, owner_session.context);
    // One shot: whatever happens next, this state cannot be used again.
    let expected: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let given = params.get("state");
    let state_ok = matches!((&expected, given), (Some(e), Some(g)) if bikriagent::auth::tokens::constant_time_eq(e, g));
    if !state_ok {
        let _ = audit::record(
            &state.pool,
            AuditKind::OauthStateMismatch,
            Some(owner.as_uuid()),
            Some(owner.as_uuid()),
            &ctx.meta,
            serde_json::json!({ "had_state": expected.is_some(), "got_state": given.is_some() }),
        )
        .await;
        tracing::warn!(security_event = "oauth_state_mismatch", "refused a Meta OAuth callback");
        return refused(
            "This connection attempt is not valid",
            "The link was already used, has expired, or was started in another browser. Start again from Channels.",
        );
    }
    if params.contains_key("error") {
        return flash_redirect(
            &session,
            Flash::notice("You cancelled on Meta's screen. Nothing was connected."),
            "/channels",
        )
        .await;
    }
    let (Some(code), Some(verifier)) = (params.get("code"), verifier) else {
        return refused(
            "This connection attempt is not valid",
            "Meta did not send a code. Start again from Channels.",
        );
    };
    match gather(&state, owner, code, &verifier).await {
        Ok(pending) if pending.candidates.is_empty() => {
            let flash = Flash::error(
                "Meta did not share any Page, Instagram account or WhatsApp number. Try again and select at least one.",
            );
            flash_redirect(&session, flash, "/channels").await
        }
        Ok(pending) => {
            match channels::save_pending(&state.pool, &state.services.accounts.keys, owner, &pending).await {
                Ok(id) => redirect(&format!("/channels/connect?pending={id}")),
                Err(error) => {
                    tracing::error!(%error, "could not keep the pending connection");
                    super::pages::internal_error_response()
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "Meta OAuth exchange failed");
            let flash = Flash::error("Meta did not complete the connection. Please try again in a minute.");
            flash_redirect(&session, flash, "/channels").await
        }
    }
}

/// Exchanges the code and lists what the owner granted.
async fn gather(
    state: &AppState,
    owner: bikriagent::tenancy::OwnerId,
    code: &str,
    verifier: &str,
) -> Result<Pending, bikriagent::meta::graph::GraphError> {
    let graph = &state.services.graph;
    let short = graph.exchange_code(code, &callback_url(state), verifier).await?;
    let long = graph.long_lived(&short.token).await?;
    let meta_user_id = graph.me_id(&long.token).await?;
    let mut candidates = Vec::new();
    for page in graph.pages(&long.token).await? {
        let page_token = page.access_token.expose_secret().to_owned();
        if let Some(instagram) = &page.instagram {
            candidates.push(Candidate {
                platform: Platform::Instagram,
                meta_id: instagram.id.clone(),
                parent_id: Some(page.page_id.clone()),
                display_name: format!("@{} (Instagram)", instagram.username),
                token: page_token.clone(),
            });
        }
        candidates.push(Candidate {
            platform: Platform::Messenger,
            meta_id: page.page_id.clone(),
            parent_id: None,
            display_name: format!("{} (Facebook Page)", page.name),
            token: page_token,
        });
    }
    for number in graph.whatsapp_numbers(&long.token).await? {
        candidates.push(Candidate {
            platform: Platform::Whatsapp,
            meta_id: number.phone_number_id.clone(),
            parent_id: Some(number.waba_id.clone()),
            display_name: format!("{} {} (WhatsApp)", number.verified_name, number.display_phone_number),
            token: long.token.expose_secret().to_owned(),
        });
    }
    tracing::info!(owner = %owner, candidates = candidates.len(), "Meta granted assets");
    Ok(Pending {
        meta_user_id,
        candidates,
    })
}

async fn connect(
    State(state): State<AppState>,
    owner_session: OwnerSession,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (owner, ctx) = (owner_session.owner, owner_session.context.clone());
    if !owner_session.principal.email_verified {
        return flash_redirect(&session, Flash::error("Confirm your email address first."), "/channels").await;
    }
    let pending = fields
        .iter()
        .find(|(k, _)| k == "pending")
        .and_then(|(_, v)| v.parse().ok());
    let chosen: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "choice")
        .map(|(_, v)| v.clone())
        .collect();
    let Some(pending) = pending else {
        return flash_redirect(
            &session,
            Flash::error("That connection has expired. Start again."),
            "/channels",
        )
        .await;
    };
    if chosen.is_empty() {
        let to = format!("/channels/connect?pending={pending}");
        return flash_redirect(&session, Flash::error("Choose at least one to connect."), &to).await;
    }
    match bikriagent::owners::may_connect(&state.pool, owner.as_uuid(), &chosen).await {
        Ok(Ok(())) => {}
        Ok(Err(message)) => {
            let to = format!("/channels/connect?pending={pending}");
            return flash_redirect(&session, Flash::error(message), &to).await;
        }
        Err(error) => {
            tracing::error!(%error, "could not read the owner's standing");
            return super::pages::internal_error_response();
        }
    }
    let outcome = channels::connect(
        &state.pool,
        &state.services.accounts.keys,
        &state.services.graph,
        owner,
        pending,
        &chosen,
        &ctx.meta,
    )
    .await;
    let flash = match outcome {
        Ok(outcome) => {
            let mut flash = Flash::default();
            if !outcome.connected.is_empty() {
                flash.notice = Some(format!("Connected: {}.", outcome.connected.join(", ")));
            }
            if !outcome.refused.is_empty() {
                flash.error = Some(format!(
                    "Already connected to another BikriAgent account, so not connected here: {}. If this is your Page, \
                     contact support: our staff can see this attempt.",
                    outcome.refused.join(", ")
                ));
            }
            flash
        }
        Err(channels::ChannelError::NotFound) => Flash::error("That connection has expired. Start again."),
        Err(error) => {
            tracing::error!(%error, "connecting channels failed");
            Flash::error("Meta did not accept the connection. Please try again in a minute.")
        }
    };
    flash_redirect(&session, flash, "/channels").await
}
