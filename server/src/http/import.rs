//! Catalog import by CSV upload (multipart, so not a Leptos server
//! function) and the downloadable template. The API guard has already
//! checked the owner, the origin and the CSRF token (from the form's query
//! string, since a multipart body is not read by the guard).

use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bikriagent::catalog::csv_import::{self, TEMPLATE_CSV};
use bikriagent::catalog::store;
use bikriagent_app::web::{Flash, OwnerSession, keys};
use tower_sessions::Session;

use super::AppState;

/// The largest CSV accepted.
pub const CSV_LIMIT: usize = 2 * 1024 * 1024;

pub fn upload_router() -> Router<AppState> {
    Router::new().route("/api/import_csv", post(import_csv))
}

pub fn template_router() -> Router<AppState> {
    Router::new().route("/catalog/template.csv", get(template))
}

async fn template() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"bikriagent-products.csv\""),
            ),
        ],
        // A BOM so spreadsheet programs open the Bangla text as UTF-8.
        format!("\u{feff}{TEMPLATE_CSV}"),
    )
        .into_response()
}

fn back(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

async fn fail(session: &Session, message: String) -> Response {
    let mut flash = Flash::form_error("import", message.clone());
    flash.errors.insert("file".to_owned(), message);
    let _ = session.insert(keys::FLASH, flash).await;
    back("/catalog/import")
}

async fn import_csv(
    State(state): State<AppState>,
    owner_session: OwnerSession,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let (owner, ctx) = (owner_session.owner, owner_session.context);
    // The per-owner import limit was counted by the guard.
    let mut file: Option<Vec<u8>> = None;
    let mut turnstile_token = String::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("file") => match field.bytes().await {
                    Ok(bytes) => file = Some(bytes.to_vec()),
                    Err(_) => return fail(&session, "The file is larger than 2 MB.".to_owned()).await,
                },
                Some("cf-turnstile-response") => turnstile_token = field.text().await.unwrap_or_default(),
                _ => {}
            },
            Ok(None) => break,
            Err(_) => {
                return fail(
                    &session,
                    "The upload did not arrive whole. Please try again.".to_owned(),
                )
                .await;
            }
        }
    }
    if let Some(turnstile) = &state.services.turnstile
        && turnstile
            .verify(&turnstile_token, ctx.meta.ip.as_deref())
            .await
            .is_err()
    {
        return fail(
            &session,
            "Please complete the check that you are not a robot.".to_owned(),
        )
        .await;
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return fail(&session, "Choose a CSV file to upload.".to_owned()).await;
    };
    if bytes.len() > CSV_LIMIT {
        return fail(&session, "The file is larger than 2 MB.".to_owned()).await;
    }
    if let Err(error) = csv_import::sniff_csv(&bytes) {
        return fail(&session, error.to_string()).await;
    }
    let preview = csv_import::parse_csv(&bytes);
    match store::save_preview(&state.pool, owner, "csv", &preview).await {
        Ok(id) => back(&format!("/catalog/import/{id}")),
        Err(error) => {
            tracing::error!(%error, "could not save an import preview");
            super::pages::internal_error_response()
        }
    }
}
