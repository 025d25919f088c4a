//! Catalog import by CSV or shop file upload (multipart, so not Leptos
//! server functions) and the downloadable template. The API guard has already
//! checked the owner, the origin and the CSRF token (from the form's query
//! string, since a multipart body is not read by the guard).

use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bikriagent::catalog::csv_import::{self, TEMPLATE_CSV};
use bikriagent::catalog::shop_file::{self, ShopFile};
use bikriagent::catalog::store;
use bikriagent_app::web::{Flash, OwnerSession, keys};
use tower_sessions::Session;

use super::AppState;

/// The largest CSV accepted.
pub const CSV_LIMIT: usize = 2 * 1024 * 1024;

pub fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/api/import_csv", post(import_csv))
        .route("/api/import_shop", post(import_shop))
}

pub fn template_router() -> Router<AppState> {
    Router::new()
        .route("/catalog/template.csv", get(template))
        .route("/catalog/shop-example.json", get(shop_example))
}

/// The example shop file (docs/examples/shop.json), to start from.
async fn shop_example() -> Response {
    attachment(
        "application/json; charset=utf-8",
        "attachment; filename=\"bikriagent-shop.json\"",
        include_str!("../../../docs/examples/shop.json").to_owned(),
    )
}

async fn template() -> Response {
    // A BOM so spreadsheet programs open the Bangla text as UTF-8.
    attachment(
        "text/csv; charset=utf-8",
        "attachment; filename=\"bikriagent-products.csv\"",
        format!("\u{feff}{TEMPLATE_CSV}"),
    )
}

/// A download: `body` with its type and file name.
fn attachment(content_type: &'static str, disposition: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition)),
        ],
        body,
    )
        .into_response()
}

fn back(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Back to the import page with `notice` on top and `message` under the
/// form's `field`.
async fn fail_at(session: &Session, notice: &str, field: &str, message: String) -> Response {
    let mut flash = Flash::form_error("import", notice);
    flash.errors.insert(field.to_owned(), message);
    let _ = session.insert(keys::FLASH, flash).await;
    back("/catalog/import")
}

async fn fail(session: &Session, message: String) -> Response {
    fail_at(session, &message.clone(), "file", message).await
}

/// A refused shop file: the problems are listed under its form.
async fn fail_shop(session: &Session, message: String) -> Response {
    fail_at(
        session,
        "The shop file was not imported; nothing was saved. See the problems below.",
        "shop_file",
        message,
    )
    .await
}

/// The uploaded file and the bot-check token, or why the upload is unusable.
async fn read_upload(multipart: &mut Multipart) -> Result<(Option<Vec<u8>>, String), String> {
    let mut file: Option<Vec<u8>> = None;
    let mut turnstile_token = String::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("file") => match field.bytes().await {
                    Ok(bytes) => file = Some(bytes.to_vec()),
                    Err(_) => return Err("The file is larger than 2 MB.".to_owned()),
                },
                Some("cf-turnstile-response") => turnstile_token = field.text().await.unwrap_or_default(),
                _ => {}
            },
            Ok(None) => return Ok((file, turnstile_token)),
            Err(_) => return Err("The upload did not arrive whole. Please try again.".to_owned()),
        }
    }
}

/// Whether the bot check (when configured) passed.
async fn human(state: &AppState, token: &str, ip: Option<&str>) -> bool {
    match &state.services.turnstile {
        Some(turnstile) => turnstile.verify(token, ip).await.is_ok(),
        None => true,
    }
}

const NOT_A_ROBOT: &str = "Please complete the check that you are not a robot.";

async fn import_csv(
    State(state): State<AppState>,
    owner_session: OwnerSession,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let (owner, ctx) = (owner_session.owner, owner_session.context);
    // The per-owner import limit was counted by the guard.
    let (file, turnstile_token) = match read_upload(&mut multipart).await {
        Ok(upload) => upload,
        Err(message) => return fail(&session, message).await,
    };
    if !human(&state, &turnstile_token, ctx.meta.ip.as_deref()).await {
        return fail(&session, NOT_A_ROBOT.to_owned()).await;
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

/// The most problems of a refused shop file shown at once.
const SHOWN_PROBLEMS: usize = 20;

/// A whole shop file (docs/SHOP_FILE.md), imported at once: it adds and
/// updates, deletes nothing, and is all or nothing, so there is no preview
/// step; every problem is listed by field instead.
async fn import_shop(
    State(state): State<AppState>,
    owner_session: OwnerSession,
    session: Session,
    mut multipart: Multipart,
) -> Response {
    let (owner, ctx) = (owner_session.owner, owner_session.context);
    let (file, turnstile_token) = match read_upload(&mut multipart).await {
        Ok(upload) => upload,
        Err(message) => return fail_shop(&session, message).await,
    };
    if !human(&state, &turnstile_token, ctx.meta.ip.as_deref()).await {
        return fail_shop(&session, NOT_A_ROBOT.to_owned()).await;
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return fail_shop(&session, "Choose a shop file (.json) to upload.".to_owned()).await;
    };
    let shop = match ShopFile::from_json(&bytes) {
        Ok(shop) => shop,
        Err(error) => {
            let mut problems: Vec<String> = error.problems.iter().take(SHOWN_PROBLEMS).cloned().collect();
            if error.problems.len() > SHOWN_PROBLEMS {
                problems.push(format!("… and {} more.", error.problems.len() - SHOWN_PROBLEMS));
            }
            return fail_shop(&session, problems.join("\n")).await;
        }
    };
    match shop_file::import(&state.pool, owner, &shop).await {
        Ok(report) => {
            let flash = Flash::notice(format!("Shop file imported: {report}."));
            let _ = session.insert(keys::FLASH, flash).await;
            back("/catalog")
        }
        Err(shop_file::ImportError::Invalid(message)) => fail_shop(&session, message).await,
        Err(error) => {
            tracing::error!(%error, "could not import a shop file");
            super::pages::internal_error_response()
        }
    }
}
