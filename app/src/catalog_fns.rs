//! Server functions for the business profile, products, variants, reply
//! rules and imports. Every one needs a signed-in owner (API guard) and runs
//! its queries in that owner's tenant transaction.

use leptos::prelude::*;
use leptos::server;

#[cfg(feature = "ssr")]
pub(crate) mod imp {
    use bikriagent::catalog::store::CatalogError;
    use bikriagent::tenancy::OwnerId;
    use leptos::prelude::ServerFnError;
    use sqlx::PgPool;
    use tower_sessions::Session;

    use crate::web::{Flash, services};

    /// The signed-in owner's tenant scope, the pool and the session.
    pub async fn owner() -> Result<(OwnerId, PgPool, Session), ServerFnError> {
        let owner = crate::web::owner_session().await?.owner;
        let session = crate::account_fns::session_for_fns().await?;
        Ok((owner, services()?.accounts.pool, session))
    }

    pub async fn flash(session: &Session, flash: Flash) -> Result<(), ServerFnError> {
        session
            .insert(crate::web::keys::FLASH, flash)
            .await
            .map_err(crate::web::internal)
    }

    /// Maps a store outcome to a flash and a redirect back to `page` (to its
    /// list when the item is not found).
    pub async fn finish(
        session: &Session,
        outcome: Result<(), CatalogError>,
        form: &str,
        page: &str,
        success: &str,
        kept: &[(&str, &str)],
    ) -> Result<(), ServerFnError> {
        match outcome {
            Ok(()) => flash(session, Flash::notice(success)).await?,
            Err(CatalogError::Invalid(errors)) => {
                let mut flash_value = Flash::fields(form, &errors);
                for (field, value) in kept {
                    flash_value = flash_value.keep(field, value);
                }
                flash(session, flash_value).await?
            }
            Err(CatalogError::NotFound) => {
                flash(session, Flash::error("That item doesn't exist any more.")).await?;
                // The item's own page would be a 404 that never shows the message.
                leptos_axum::redirect(crate::forms::list_of(page));
                return Ok(());
            }
            Err(error) => return Err(crate::web::internal(error)),
        }
        leptos_axum::redirect(page);
        Ok(())
    }

    pub fn parse_id(raw: &str) -> Result<uuid::Uuid, CatalogError> {
        raw.trim().parse().map_err(|_| CatalogError::NotFound)
    }
}

#[server(endpoint = "save_profile")]
#[middleware(crate::forms::PlainText::form("profile").multiline(&["description", "return_policy"]))]
#[allow(clippy::too_many_arguments)]
pub async fn save_profile(
    name: String,
    description: String,
    city: String,
    currency: String,
    answers_english: Option<String>,
    answers_bangla: Option<String>,
    opening_hours: String,
    return_policy: String,
) -> Result<(), ServerFnError> {
    use bikriagent::catalog::store::{self, ProfileInput};
    let (owner, pool, session) = imp::owner().await?;
    let input = ProfileInput {
        name: name.clone(),
        description: description.clone(),
        city: city.clone(),
        currency: currency.clone(),
        answers_english: answers_english.is_some(),
        answers_bangla: answers_bangla.is_some(),
        opening_hours: opening_hours.clone(),
        return_policy: return_policy.clone(),
    };
    let outcome = store::save_profile(&pool, owner, &input).await;
    let kept = [
        ("name", name.as_str()),
        ("description", description.as_str()),
        ("city", city.as_str()),
        ("currency", currency.as_str()),
        ("opening_hours", opening_hours.as_str()),
        ("return_policy", return_policy.as_str()),
    ];
    imp::finish(
        &session,
        outcome,
        "profile",
        "/business",
        "Your business profile is saved.",
        &kept,
    )
    .await
}

#[server(endpoint = "add_delivery_area")]
#[middleware(crate::forms::PlainText::form("delivery"))]
pub async fn add_delivery_area(
    area_name: String,
    charge: String,
    min_days: String,
    max_days: String,
) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome =
        bikriagent::catalog::store::add_delivery_area(&pool, owner, &area_name, &charge, &min_days, &max_days).await;
    let kept = [
        ("area_name", area_name.as_str()),
        ("charge", charge.as_str()),
        ("min_days", min_days.as_str()),
        ("max_days", max_days.as_str()),
    ];
    imp::finish(
        &session,
        outcome,
        "delivery",
        "/business",
        "Delivery area added.",
        &kept,
    )
    .await
}

#[server(endpoint = "remove_delivery_area")]
#[middleware(crate::forms::PlainText::form("delivery"))]
pub async fn remove_delivery_area(id: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = match imp::parse_id(&id) {
        Ok(id) => bikriagent::catalog::store::remove_delivery_area(&pool, owner, id).await,
        Err(error) => Err(error),
    };
    imp::finish(
        &session,
        outcome,
        "delivery",
        "/business",
        "Delivery area removed.",
        &[],
    )
    .await
}

#[server(endpoint = "add_payment_method")]
#[middleware(crate::forms::PlainText::form("payment").multiline(&["instructions"]))]
pub async fn add_payment_method(kind: String, instructions: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = bikriagent::catalog::store::add_payment_method(&pool, owner, &kind, &instructions).await;
    let kept = [("instructions", instructions.as_str())];
    imp::finish(
        &session,
        outcome,
        "payment",
        "/business",
        "Payment method saved.",
        &kept,
    )
    .await
}

#[server(endpoint = "remove_payment_method")]
#[middleware(crate::forms::PlainText::form("payment"))]
pub async fn remove_payment_method(id: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = match imp::parse_id(&id) {
        Ok(id) => bikriagent::catalog::store::remove_payment_method(&pool, owner, id).await,
        Err(error) => Err(error),
    };
    imp::finish(
        &session,
        outcome,
        "payment",
        "/business",
        "Payment method removed.",
        &[],
    )
    .await
}

#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
fn product_input(
    sku: &str,
    name: &str,
    name_bn: &str,
    description: &str,
    price: &str,
    sale_price: &str,
    stock: &str,
    tags: &str,
    image_urls: &str,
    active: bool,
) -> bikriagent::catalog::store::ProductInput {
    bikriagent::catalog::store::ProductInput {
        sku: sku.to_owned(),
        name: name.to_owned(),
        name_bn: name_bn.to_owned(),
        description: description.to_owned(),
        price: price.to_owned(),
        sale_price: sale_price.to_owned(),
        stock: stock.to_owned(),
        tags: tags.to_owned(),
        image_urls: image_urls.to_owned(),
        active,
    }
}

/// Saves a new product (no `id`) or an existing one.
#[server(endpoint = "save_product")]
#[middleware(crate::forms::PlainText::form("product").multiline(&["description"]))]
#[allow(clippy::too_many_arguments)]
pub async fn save_product(
    id: Option<String>,
    sku: String,
    name: String,
    name_bn: String,
    description: String,
    price: String,
    sale_price: String,
    stock: String,
    tags: String,
    image_urls: String,
    active: Option<String>,
) -> Result<(), ServerFnError> {
    use bikriagent::catalog::store::{self, CatalogError};
    let (owner, pool, session) = imp::owner().await?;
    let input = product_input(
        &sku,
        &name,
        &name_bn,
        &description,
        &price,
        &sale_price,
        &stock,
        &tags,
        &image_urls,
        active.is_some(),
    );
    let kept = [
        ("sku", sku.as_str()),
        ("name", name.as_str()),
        ("name_bn", name_bn.as_str()),
        ("description", description.as_str()),
        ("price", price.as_str()),
        ("sale_price", sale_price.as_str()),
        ("stock", stock.as_str()),
        ("tags", tags.as_str()),
        ("image_urls", image_urls.as_str()),
    ];
    match id.filter(|i| !i.is_empty()) {
        None => match store::create_product(&pool, owner, &input).await {
            Ok(id) => {
                imp::flash(&session, crate::web::Flash::notice("Product created.")).await?;
                leptos_axum::redirect(&format!("/catalog/{id}"));
                Ok(())
            }
            Err(error) => imp::finish(&session, Err(error), "product", "/catalog/new", "", &kept).await,
        },
        Some(id) => {
            let page = format!("/catalog/{}", id.trim());
            let outcome = match imp::parse_id(&id) {
                Ok(id) => store::update_product(&pool, owner, id, &input).await,
                Err(error) => Err(error),
            };
            let page = if matches!(outcome, Err(CatalogError::NotFound)) {
                "/catalog".to_owned()
            } else {
                page
            };
            imp::finish(&session, outcome, "product", &page, "Product saved.", &kept).await
        }
    }
}

#[server(endpoint = "archive_product")]
#[middleware(crate::forms::PlainText::form("product"))]
pub async fn archive_product(id: String, archive: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let archived = archive == "true";
    let outcome = match imp::parse_id(&id) {
        Ok(id) => bikriagent::catalog::store::set_archived(&pool, owner, id, archived).await,
        Err(error) => Err(error),
    };
    let message = if archived {
        "Product archived: the agent no longer offers it."
    } else {
        "Product restored."
    };
    imp::finish(&session, outcome, "product", "/catalog", message, &[]).await
}

#[server(endpoint = "add_variant")]
#[middleware(crate::forms::PlainText::form("variant"))]
pub async fn add_variant(
    product_id: String,
    size: String,
    colour: String,
    price_delta: String,
    variant_stock: String,
) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let page = format!("/catalog/{}", product_id.trim());
    let outcome = match imp::parse_id(&product_id) {
        Ok(id) => {
            bikriagent::catalog::store::add_variant(&pool, owner, id, &size, &colour, &price_delta, &variant_stock)
                .await
        }
        Err(error) => Err(error),
    };
    let kept = [
        ("size", size.as_str()),
        ("colour", colour.as_str()),
        ("price_delta", price_delta.as_str()),
        ("variant_stock", variant_stock.as_str()),
    ];
    imp::finish(&session, outcome, "variant", &page, "Variant added.", &kept).await
}

#[server(endpoint = "remove_variant")]
#[middleware(crate::forms::PlainText::form("variant"))]
pub async fn remove_variant(product_id: String, variant_id: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let page = format!("/catalog/{}", product_id.trim());
    let outcome = match (imp::parse_id(&product_id), imp::parse_id(&variant_id)) {
        (Ok(product), Ok(variant)) => bikriagent::catalog::store::remove_variant(&pool, owner, product, variant).await,
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    imp::finish(&session, outcome, "variant", &page, "Variant removed.", &[]).await
}

#[server(endpoint = "save_rules")]
#[middleware(crate::forms::PlainText::form("rules").multiline(&["never_say", "review_topics", "greeting", "away_message", "holding_message"]))]
pub async fn save_rules(
    tone: String,
    never_say: String,
    review_topics: String,
    greeting: String,
    away_message: String,
    holding_message: String,
) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = bikriagent::catalog::store::save_rules(
        &pool,
        owner,
        &tone,
        &never_say,
        &review_topics,
        &greeting,
        &away_message,
        &holding_message,
    )
    .await;
    let kept = [
        ("never_say", never_say.as_str()),
        ("review_topics", review_topics.as_str()),
        ("greeting", greeting.as_str()),
        ("away_message", away_message.as_str()),
        ("holding_message", holding_message.as_str()),
    ];
    imp::finish(&session, outcome, "rules", "/rules", "Reply rules saved.", &kept).await
}

/// The shop's phone and address the agent may share, the domains it may
/// link to, and the bot disclosure setting.
#[server(endpoint = "save_contact")]
#[middleware(crate::forms::PlainText::form("contact").multiline(&["address", "link_domains"]))]
pub async fn save_contact(
    contact_phone: String,
    address: String,
    bot_disclosure: Option<String>,
    link_domains: String,
) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = bikriagent::catalog::store::save_contact(
        &pool,
        owner,
        &contact_phone,
        &address,
        bot_disclosure.is_some(),
        &link_domains,
    )
    .await;
    let kept = [
        ("contact_phone", contact_phone.as_str()),
        ("address", address.as_str()),
        ("link_domains", link_domains.as_str()),
    ];
    imp::finish(
        &session,
        outcome,
        "contact",
        "/business",
        "Contact details saved.",
        &kept,
    )
    .await
}

#[server(endpoint = "add_faq")]
#[middleware(crate::forms::PlainText::form("faq").multiline(&["patterns", "answer"]))]
pub async fn add_faq(patterns: String, answer: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = bikriagent::catalog::store::add_faq(&pool, owner, &patterns, &answer).await;
    let kept = [("patterns", patterns.as_str()), ("answer", answer.as_str())];
    imp::finish(&session, outcome, "faq", "/rules", "Question and answer added.", &kept).await
}

#[server(endpoint = "remove_faq")]
#[middleware(crate::forms::PlainText::form("faq"))]
pub async fn remove_faq(id: String) -> Result<(), ServerFnError> {
    let (owner, pool, session) = imp::owner().await?;
    let outcome = match imp::parse_id(&id) {
        Ok(id) => bikriagent::catalog::store::remove_faq(&pool, owner, id).await,
        Err(error) => Err(error),
    };
    imp::finish(&session, outcome, "faq", "/rules", "Question and answer removed.", &[]).await
}

/// Imports a confirmed preview (all rows or none).
#[server(endpoint = "confirm_import")]
#[middleware(crate::forms::PlainText::form("import"))]
pub async fn confirm_import(id: String) -> Result<(), ServerFnError> {
    use bikriagent::catalog::store::{self, CatalogError};

    use crate::web::Flash;
    let (owner, pool, session) = imp::owner().await?;
    let outcome = match imp::parse_id(&id) {
        Ok(id) => store::commit_import(&pool, owner, id).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(count) => {
            imp::flash(&session, Flash::notice(format!("Imported {count} products."))).await?;
            leptos_axum::redirect("/catalog");
        }
        Err(CatalogError::NotFound | CatalogError::Invalid(_)) => {
            imp::flash(
                &session,
                Flash::error("That import can't be used: upload the file again."),
            )
            .await?;
            leptos_axum::redirect("/catalog/import");
        }
        Err(error) => return Err(crate::web::internal(error)),
    }
    Ok(())
}

/// Fetches a shop's public product feed (JSON or CSV) safely and shows the preview.
#[server(endpoint = "import_url")]
#[middleware(crate::forms::PlainText::form("import"))]
pub async fn import_url(url: String) -> Result<(), ServerFnError> {
    use bikriagent::catalog::{csv_import, store};
    use bikriagent::net::safe_fetch;

    use crate::web::{Flash, services};
    let (owner, pool, session) = imp::owner().await?;
    let services = services()?;
    let fail = |message: String| Flash::fields("import", &[("url", message)].into_iter().collect()).keep("url", &url);
    // The per-owner import limit was counted by the guard.
    let fetched = match safe_fetch::fetch(url.trim(), &services.fetch_policy, services.resolver.as_ref()).await {
        Ok(fetched) => fetched,
        Err(error) => {
            tracing::info!(owner = %owner, %error, "feed import refused");
            imp::flash(&session, fail(error.to_string())).await?;
            leptos_axum::redirect("/catalog/import");
            return Ok(());
        }
    };
    let is_json = fetched.content_type.as_deref().is_some_and(|t| t.contains("json"))
        || fetched
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[' || *b == b'{');
    let preview = if is_json {
        csv_import::drafts_from_json(&fetched.body)
    } else {
        csv_import::parse_csv(&fetched.body)
    };
    let id = store::save_preview(&pool, owner, "url", &preview)
        .await
        .map_err(crate::web::internal)?;
    leptos_axum::redirect(&format!("/catalog/import/{id}"));
    Ok(())
}
