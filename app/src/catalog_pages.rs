//! Owner pages: business profile, products and variants, reply rules, import.

use crate::raw_text::{EscapedTextArea, PageTitle};
use bikriagent::catalog::csv_import::Stock;
use bikriagent::catalog::money::{Money, format_money, format_plain};
use bikriagent::catalog::store::{self, PAYMENT_KINDS, Product};
use bikriagent::tenancy::OwnerId;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use sqlx::PgPool;

use crate::catalog_fns::{
    AddDeliveryArea, AddFaq, AddPaymentMethod, AddVariant, ArchiveProduct, ConfirmImport, RemoveDeliveryArea,
    RemoveFaq, RemovePaymentMethod, RemoveVariant, SaveContact, SaveProduct, SaveProfile, SaveRules,
};
use crate::forms::{CsrfField, Field, FlashNotice, flash_for};
use crate::web::{Flash, Services, request_context};

/// The signed-in owner's scope and the pool, for loading page data.
fn scope() -> Option<(OwnerId, PgPool)> {
    let owner = request_context().owner().and_then(|p| p.owner_id())?;
    let services = use_context::<Services>()?;
    Some((owner, services.accounts.pool))
}

fn not_found() -> AnyView {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="error-page">
            <p class="code">"404"</p>
            <h1>"We could not find that page"</h1>
            <p><a class="button" href="/catalog">"Back to your products"</a></p>
        </section>
    }
    .into_any()
}

fn stock_text(stock: Option<i32>) -> String {
    match stock {
        Some(n) => n.to_string(),
        None => "made to order".to_owned(),
    }
}

/// A field's value: what the person typed, kept by a failed post, else
/// `current`. Only the refused form's fields were kept, so the other forms
/// on the same page keep showing the saved values.
fn value_or(flash: &Flash, field: &str, current: &str) -> String {
    match flash.values.get(field) {
        Some(kept) if !flash.errors.is_empty() => kept.clone(),
        _ => current.to_owned(),
    }
}

#[component]
fn TextArea(
    flash: Flash,
    name: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = flash.field_error(name);
    let error_id = format!("{name}-error");
    view! {
        <label>
            {label}
            <EscapedTextArea name=name value=value rows=4 invalid=error.is_some()/>
            {hint.map(|h| view! { <small>{h}</small> })}
            {error.map(|e| view! { <span class="field-error" id=error_id>{e}</span> })}
        </label>
    }
}

#[component]
fn ValueField(
    flash: Flash,
    name: &'static str,
    label: &'static str,
    value: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = false)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = flash.field_error(name);
    let error_id = format!("{name}-error");
    view! {
        <label>
            {label}
            <input type=kind name=name value=value required=required aria-invalid=error.as_ref().map(|_| "true")/>
            {hint.map(|h| view! { <small>{h}</small> })}
            {error.map(|e| view! { <span class="field-error" id=error_id>{e}</span> })}
        </label>
    }
}

#[component]
pub fn CatalogNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Shop">
            <a href="/dashboard">"Home"</a>
            <a href="/business">"Business"</a>
            <a href="/catalog">"Products"</a>
            <a href="/catalog/import">"Import"</a>
            <a href="/rules">"Reply rules"</a>
            <a href="/channels">"Channels"</a>
            <a href="/inbox">"Inbox"</a>
        </nav>
    }
}

#[component]
pub fn BusinessPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, pool)) = scope() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let load = move || {
        let pool = pool.clone();
        async move {
            let profile = store::load_profile(&pool, owner).await.ok();
            let areas = store::list_delivery_areas(&pool, owner).await.unwrap_or_default();
            let methods = store::list_payment_methods(&pool, owner).await.unwrap_or_default();
            let contact = store::load_contact(&pool, owner).await.unwrap_or_default();
            (profile, areas, methods, contact)
        }
    };
    view! {
        <PageTitle text="Business profile · BikriAgent"/>
        <CatalogNav/>
        <h1>"Your business"</h1>
        <FlashNotice flash=flash.clone()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let flash = flash.clone();
                Suspend::new(async move {
                    let (profile, areas, methods, contact) = data.await;
                    let save_contact = ServerAction::<SaveContact>::new();
                    let phone_v = value_or(&flash, "contact_phone", &contact.contact_phone);
                    let address_v = value_or(&flash, "address", &contact.address);
                    let domains_v = value_or(&flash, "link_domains", &contact.link_domains.join("\n"));
                    let fc = flash.clone();
                    let profile = profile.unwrap_or_default();
                    let save = ServerAction::<SaveProfile>::new();
                    let add_area = ServerAction::<AddDeliveryArea>::new();
                    let add_method = ServerAction::<AddPaymentMethod>::new();
                    let en = profile.languages.iter().any(|l| l == "en");
                    let bn = profile.languages.iter().any(|l| l == "bn");
                    let currency = profile.currency.clone();
                    let name_v = value_or(&flash, "name", &profile.name);
                    let description_v = value_or(&flash, "description", &profile.description);
                    let city_v = value_or(&flash, "city", &profile.city);
                    let currency_v = value_or(&flash, "currency", &profile.currency);
                    let hours_v = value_or(&flash, "opening_hours", &profile.opening_hours);
                    let policy_v = value_or(&flash, "return_policy", &profile.return_policy);
                    let languages_error = flash.field_error("languages");
                    let instructions_v = flash.value("instructions");
                    let (fp, fa, fm) = (flash.clone(), flash.clone(), flash.clone());
                    view! {
                        <ActionForm action=save attr:class="stack">
                            <CsrfField/>
                            <ValueField flash=fp.clone() name="name" label="Business name" required=true value=name_v.clone()/>
                            <TextArea flash=fp.clone() name="description" label="What you sell" value=description_v.clone()/>
                            <ValueField flash=fp.clone() name="city" label="City or area" value=city_v.clone()/>
                            <ValueField flash=fp.clone() name="currency" label="Currency" value=currency_v.clone()/>
                            <fieldset>
                                <legend>"Languages your shop answers in"</legend>
                                <label class="inline"><input type="checkbox" name="answers_english" value="on" checked=en/>" English"</label>
                                <label class="inline"><input type="checkbox" name="answers_bangla" value="on" checked=bn/>" বাংলা (Bangla)"</label>
                                {languages_error.clone().map(|e| view! { <span class="field-error" id="languages-error">{e}</span> })}
                            </fieldset>
                            <ValueField flash=fp.clone() name="opening_hours" label="Opening hours" value=hours_v.clone() hint="For example: Saturday to Thursday, 10am to 8pm"/>
                            <TextArea flash=fp.clone() name="return_policy" label="Return and exchange policy" value=policy_v.clone()/>
                            <button type="submit">"Save profile"</button>
                        </ActionForm>

                        <h2>"What the agent may share"</h2>
                        <ActionForm action=save_contact attr:class="stack">
                            <CsrfField/>
                            <ValueField flash=fc.clone() name="contact_phone" label="Shop phone number" value=phone_v.clone() hint="The agent may give this number to customers"/>
                            <TextArea flash=fc.clone() name="address" label="Shop address" value=address_v.clone()/>
                            <TextArea flash=fc.clone() name="link_domains" label="Websites the agent may link to" value=domains_v.clone() hint="One per line, for example: rahima.shop. Links to anything else are held back."/>
                            <label class="inline"><input type="checkbox" name="bot_disclosure" value="on" checked=contact.bot_disclosure/>
                                " The first automatic reply says it comes from an automatic assistant (recommended)"</label>
                            <button type="submit">"Save"</button>
                        </ActionForm>

                        <h2>"Delivery areas"</h2>
                        <table class="list">
                            <thead><tr><th>"Area"</th><th>"Charge"</th><th>"Days"</th><th></th></tr></thead>
                            <tbody>
                                {areas.into_iter().map(|area| {
                                    let remove = ServerAction::<RemoveDeliveryArea>::new();
                                    view! {
                                        <tr>
                                            <td>{area.name}</td>
                                            <td>{format_money(Money::from_minor(area.charge_minor), &currency)}</td>
                                            <td>{format!("{}–{}", area.min_days, area.max_days)}</td>
                                            <td><ActionForm action=remove><CsrfField/><input type="hidden" name="id" value=area.id.to_string()/><button type="submit" class="button secondary">"Remove"</button></ActionForm></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add_area attr:class="stack">
                            <CsrfField/>
                            <Field flash=fa.clone() name="area_name" label="Area" hint="For example: Inside Dhaka"/>
                            <Field flash=fa.clone() name="charge" label="Delivery charge" hint="For example: 60"/>
                            <Field flash=fa.clone() name="min_days" label="Shortest delivery time (days)"/>
                            <Field flash=fa.clone() name="max_days" label="Longest delivery time (days)"/>
                            <button type="submit">"Add delivery area"</button>
                        </ActionForm>

                        <h2>"Payment methods"</h2>
                        <table class="list">
                            <thead><tr><th>"Method"</th><th>"What customers are told"</th><th></th></tr></thead>
                            <tbody>
                                {methods.into_iter().map(|method| {
                                    let remove = ServerAction::<RemovePaymentMethod>::new();
                                    view! {
                                        <tr>
                                            <td>{method.label}</td>
                                            <td>{method.instructions}</td>
                                            <td><ActionForm action=remove><CsrfField/><input type="hidden" name="id" value=method.id.to_string()/><button type="submit" class="button secondary">"Remove"</button></ActionForm></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add_method attr:class="stack">
                            <CsrfField/>
                            <label>"Method"
                                <select name="kind">
                                    {PAYMENT_KINDS.iter().map(|(kind, label)| view! { <option value=*kind>{*label}</option> }).collect_view()}
                                </select>
                            </label>
                            <TextArea flash=fm.clone() name="instructions" label="Instructions for customers" value=instructions_v.clone() hint="For example: Send money to bKash 01711-000000 (personal) and reply with the transaction ID."/>
                            <button type="submit">"Save payment method"</button>
                        </ActionForm>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn ProductListPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let query = crate::forms::query_text("q", bikriagent::input::text::Shape::Line);
    let page = crate::forms::page_param();
    let archived = use_query_map().with_untracked(|q| q.get("archived").is_some());
    let Some((owner, pool)) = scope() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let q = query.clone();
    let load = move || {
        let pool = pool.clone();
        let q = q.clone();
        async move { store::list_products(&pool, owner, &q, page, archived).await }
    };
    view! {
        <PageTitle text="Products · BikriAgent"/>
        <CatalogNav/>
        <h1>"Products"</h1>
        <FlashNotice flash=flash/>
        <div class="cta">
            <a class="button" href="/catalog/new">"Add a product"</a>
            <a class="button secondary" href="/catalog/import">"Import from a file or link"</a>
        </div>
        <form method="get" action="/catalog" class="search" role="search">
            <label>"Search" <input type="search" name="q" value=query.clone() placeholder="Name, SKU or tag"/></label>
            <label class="inline"><input type="checkbox" name="archived" value="1" checked=archived/>" Show archived"</label>
            <button type="submit" class="button secondary">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let query = query.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(list) => {
                            let pages = (list.total + list.per_page - 1) / list.per_page;
                            let link = move |p: bikriagent::input::page::Page| format!("/catalog?q={}&page={p}{}", urlencode(&query), if archived { "&archived=1" } else { "" });
                            view! {
                                <p>{format!("{} products", list.total)}</p>
                                <table class="list products">
                                    <thead><tr><th>"Product"</th><th>"SKU"</th><th>"Price"</th><th>"Stock"</th><th>"Status"</th></tr></thead>
                                    <tbody>
                                        {list.rows.into_iter().map(|row| view! {
                                            <tr>
                                                <td><a href=format!("/catalog/{}", row.id)>{row.name}</a>
                                                    {row.name_bn.map(|bn| view! { <br/><small lang="bn">{bn}</small> })}</td>
                                                <td>{row.sku}</td>
                                                <td>{format_plain(Money::from_minor(row.sale_price_minor.unwrap_or(row.price_minor)))}</td>
                                                <td>{stock_text(row.stock)}</td>
                                                <td>{if row.archived { "archived" } else if row.active { "active" } else { "hidden" }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label="Pages">
                                    {list.page.previous().map(|p| view! { <a href=link(p)>"← Previous"</a> })}
                                    <span>{format!("Page {} of {}", list.page, pages.max(1))}</span>
                                    {list.page.next().filter(|p| i64::from(p.number()) <= pages).map(|p| view! { <a href=link(p)>"Next →"</a> })}
                                </nav>
                            }
                            .into_any()
                        }
                        Err(_) => view! { <p class="notice error">"We could not load your products. Please reload."</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn ProductForm(flash: Flash, product: Option<Product>) -> impl IntoView {
    let save = ServerAction::<SaveProduct>::new();
    let d = product.as_ref().map(|p| p.draft.clone());
    let current =
        |f: &dyn Fn(&bikriagent::catalog::csv_import::ProductDraft) -> String| d.as_ref().map(f).unwrap_or_default();
    let stock = current(&|d| match d.stock {
        Stock::Quantity(n) => n.to_string(),
        Stock::MadeToOrder => String::new(),
    });
    let values = [
        ("sku", current(&|d| d.sku.clone())),
        ("name", current(&|d| d.name.clone())),
        ("name_bn", current(&|d| d.name_bn.clone().unwrap_or_default())),
        ("price", current(&|d| format_plain(d.price))),
        (
            "sale_price",
            current(&|d| d.sale_price.map(format_plain).unwrap_or_default()),
        ),
        ("stock", stock),
        ("tags", current(&|d| d.tags.join("; "))),
        ("image_urls", current(&|d| d.image_urls.join(" "))),
    ];
    let v = |name: &str| {
        let current = values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        value_or(&flash, name, &current)
    };
    let (v_name, v_name_bn, v_sku, v_price, v_sale, v_stock, v_tags, v_images) = (
        v("name"),
        v("name_bn"),
        v("sku"),
        v("price"),
        v("sale_price"),
        v("stock"),
        v("tags"),
        v("image_urls"),
    );
    let description = value_or(&flash, "description", &current(&|d| d.description.clone()));
    let active = d.as_ref().map(|d| d.active).unwrap_or(true);
    let id = product.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
    view! {
        <ActionForm action=save attr:class="stack">
            <CsrfField/>
            <input type="hidden" name="id" value=id.clone()/>
            <ValueField flash=flash.clone() name="name" label="Name" required=true value=v_name.clone()/>
            <ValueField flash=flash.clone() name="name_bn" label="Bangla name (optional)" value=v_name_bn.clone()/>
            <ValueField flash=flash.clone() name="sku" label="SKU (your product code)" required=true value=v_sku.clone()/>
            <TextArea flash=flash.clone() name="description" label="Description" value=description.clone()/>
            <ValueField flash=flash.clone() name="price" label="Price" required=true value=v_price.clone() hint="In taka, for example 1250 or 1,250.50"/>
            <ValueField flash=flash.clone() name="sale_price" label="Sale price (optional)" value=v_sale.clone()/>
            <ValueField flash=flash.clone() name="stock" label="In stock" value=v_stock.clone() hint="Leave empty if made to order"/>
            <ValueField flash=flash.clone() name="tags" label="Tags" value=v_tags.clone() hint="Separated by semicolons, for example: saree; cotton; eid"/>
            <ValueField flash=flash.clone() name="image_urls" label="Image links" value=v_images.clone() hint="https:// links, separated by spaces"/>
            <label class="inline"><input type="checkbox" name="active" value="on" checked=active/>" The agent may offer this product"</label>
            <button type="submit">"Save product"</button>
        </ActionForm>
    }
}

#[component]
pub fn NewProductPage() -> impl IntoView {
    let flash = flash_for("product");
    view! {
        <PageTitle text="Add a product · BikriAgent"/>
        <CatalogNav/>
        <h1>"Add a product"</h1>
        <FlashNotice flash=flash.clone()/>
        <ProductForm flash=flash product=None/>
    }
}

#[component]
pub fn EditProductPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    let Some((owner, pool)) = scope() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return not_found();
    };
    let load = move || {
        let pool = pool.clone();
        async move { store::get_product(&pool, owner, id).await }
    };
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let flash = flash.clone();
                Suspend::new(async move {
                    let Ok(product) = data.await else { return not_found() };
                    let title = format!("{} · BikriAgent", product.draft.name);
                    let add = ServerAction::<AddVariant>::new();
                    let archive = ServerAction::<ArchiveProduct>::new();
                    let product_id = product.id.to_string();
                    let variants = product.variants.clone();
                    let base = product.draft.price;
                    let archived = product.archived;
                    let (id_for_variant, id_for_archive) = (product_id.clone(), product_id.clone());
                    let form_flash = if flash.form.as_deref() == Some("variant") { Flash::default() } else { flash.clone() };
                    let variant_flash = if flash.form.as_deref() == Some("variant") { flash.clone() } else { Flash::default() };
                    view! {
                        <PageTitle text=title/>
                        <CatalogNav/>
                        <h1>{product.draft.name.clone()}</h1>
                        <FlashNotice flash=flash.clone()/>
                        {archived.then(|| view! { <p class="notice">"This product is archived: the agent does not offer it."</p> })}
                        <ProductForm flash=form_flash product=Some(product.clone())/>
                        <h2>"Variants"</h2>
                        <table class="list">
                            <thead><tr><th>"Size"</th><th>"Colour"</th><th>"Price"</th><th>"Stock"</th><th></th></tr></thead>
                            <tbody>
                                {variants.into_iter().map(|variant| {
                                    let remove = ServerAction::<RemoveVariant>::new();
                                    let price = base.checked_add(Money::from_minor(variant.price_delta_minor)).unwrap_or(base);
                                    let product_id = product_id.clone();
                                    view! {
                                        <tr>
                                            <td>{variant.size}</td>
                                            <td>{variant.colour}</td>
                                            <td>{format_plain(price)}</td>
                                            <td>{stock_text(variant.stock)}</td>
                                            <td><ActionForm action=remove><CsrfField/>
                                                <input type="hidden" name="product_id" value=product_id/>
                                                <input type="hidden" name="variant_id" value=variant.id.to_string()/>
                                                <button type="submit" class="button secondary">"Remove"</button></ActionForm></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add attr:class="stack">
                            <CsrfField/>
                            <input type="hidden" name="product_id" value=id_for_variant.clone()/>
                            <ValueField flash=variant_flash.clone() name="size" label="Size" value=variant_flash.value("size")/>
                            <ValueField flash=variant_flash.clone() name="colour" label="Colour" value=variant_flash.value("colour")/>
                            <ValueField flash=variant_flash.clone() name="price_delta" label="Price difference" value=variant_flash.value("price_delta") hint="For example 100 or -50; empty for the same price"/>
                            <ValueField flash=variant_flash.clone() name="variant_stock" label="In stock" value=variant_flash.value("variant_stock") hint="Leave empty if made to order"/>
                            <button type="submit">"Add variant"</button>
                        </ActionForm>
                        <h2>{if archived { "Restore" } else { "Archive" }}</h2>
                        <ActionForm action=archive>
                            <CsrfField/>
                            <input type="hidden" name="id" value=id_for_archive.clone()/>
                            <input type="hidden" name="archive" value=if archived { "false" } else { "true" }/>
                            <button type="submit" class=if archived { "button" } else { "button danger" }>
                                {if archived { "Restore this product" } else { "Archive this product" }}
                            </button>
                        </ActionForm>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let flash = request_context().flash.unwrap_or_default();
    let Some((owner, pool)) = scope() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let load = move || {
        let pool = pool.clone();
        async move {
            (
                store::load_rules(&pool, owner).await.unwrap_or_default(),
                store::list_faq(&pool, owner).await.unwrap_or_default(),
            )
        }
    };
    view! {
        <PageTitle text="Reply rules · BikriAgent"/>
        <CatalogNav/>
        <h1>"Reply rules"</h1>
        <FlashNotice flash=flash.clone()/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                let flash = flash.clone();
                Suspend::new(async move {
                    let (rules, faq) = data.await;
                    let save = ServerAction::<SaveRules>::new();
                    let add = ServerAction::<AddFaq>::new();
                    let friendly = rules.tone != "formal";
                    let greeting_v = value_or(&flash, "greeting", &rules.greeting);
                    let away_v = value_or(&flash, "away_message", &rules.away_message);
                    let holding_v = value_or(&flash, "holding_message", &rules.holding_message);
                    let never_v = value_or(&flash, "never_say", &rules.never_say.join("\n"));
                    let topics_v = value_or(&flash, "review_topics", &rules.review_topics.join("\n"));
                    let (patterns_v, answer_v) = (flash.value("patterns"), flash.value("answer"));
                    let (fr, ff) = (flash.clone(), flash.clone());
                    view! {
                        <ActionForm action=save attr:class="stack">
                            <CsrfField/>
                            <label>"Tone"
                                <select name="tone">
                                    <option value="friendly" selected=friendly>"Friendly"</option>
                                    <option value="formal" selected=!friendly>"Formal"</option>
                                </select>
                            </label>
                            <TextArea flash=fr.clone() name="greeting" label="Greeting" value=greeting_v.clone()/>
                            <TextArea flash=fr.clone() name="away_message" label="Away message" value=away_v.clone() hint="Sent outside your opening hours"/>
                            <TextArea flash=fr.clone() name="holding_message" label="Holding message for messages sent to you for review" value=holding_v.clone() hint="Optional. For example: Thank you, the owner will answer you shortly."/>
                            <TextArea flash=fr.clone() name="never_say" label="Things the agent must never say or promise" value=never_v.clone() hint="One per line, for example: free delivery"/>
                            <TextArea flash=fr.clone() name="review_topics" label="Topics that always come to you for review" value=topics_v.clone() hint="One per line, for example: wholesale"/>
                            <button type="submit">"Save rules"</button>
                        </ActionForm>
                        <h2>"Questions and answers"</h2>
                        <table class="list">
                            <thead><tr><th>"When a customer asks"</th><th>"The agent answers"</th><th></th></tr></thead>
                            <tbody>
                                {faq.into_iter().map(|entry| {
                                    let remove = ServerAction::<RemoveFaq>::new();
                                    view! {
                                        <tr>
                                            <td>{entry.patterns.join(" / ")}</td>
                                            <td>{entry.answer}</td>
                                            <td><ActionForm action=remove><CsrfField/><input type="hidden" name="id" value=entry.id.to_string()/><button type="submit" class="button secondary">"Remove"</button></ActionForm></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <ActionForm action=add attr:class="stack">
                            <CsrfField/>
                            <TextArea flash=ff.clone() name="patterns" label="Ways a customer might ask (one per line, any language)" value=patterns_v.clone() hint="For example: delivery koto din?\nহোম ডেলিভারি আছে?"/>
                            <TextArea flash=ff.clone() name="answer" label="Answer" value=answer_v.clone()/>
                            <button type="submit">"Add question and answer"</button>
                        </ActionForm>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let ctx = request_context();
    let flash = ctx.flash.clone().unwrap_or_default();
    let csrf = ctx.csrf.clone().unwrap_or_default();
    let upload_action = format!("/api/import_csv?csrf_token={csrf}");
    let shop_action = format!("/api/import_shop?csrf_token={csrf}");
    view! {
        <PageTitle text="Import products · BikriAgent"/>
        <CatalogNav/>
        <h1>"Import products"</h1>
        <FlashNotice flash=flash.clone()/>
        <h2>"From a CSV file"</h2>
        <p>"Start from our " <a href="/catalog/template.csv" download="bikriagent-products.csv">"template"</a>
           ". Save your sheet as “CSV UTF-8” so Bangla text is kept. Up to 2 MB. You will see every row checked before anything is saved."</p>
        <form method="post" action=upload_action enctype="multipart/form-data" class="stack">
            <label>"CSV file" <input type="file" name="file" accept=".csv,text/csv" required=true/></label>
            {flash.field_error("file").map(|e| view! { <span class="field-error" id="file-error">{e}</span> })}
            <crate::forms::TurnstileWidget/>
            <button type="submit">"Upload and check"</button>
        </form>
        <h2>"A whole shop from a shop file"</h2>
        <p>"One JSON file with your profile, address, delivery areas, payment methods, products with variants, questions and answers, and rules. Start from our "
           <a href="/catalog/shop-example.json" download="bikriagent-shop.json">"example"</a>
           ". Products with the same SKU are updated, delivery areas with the same name and payment methods of the same kind too; nothing is deleted. If anything in the file is wrong, nothing is saved and every problem is listed."</p>
        <form method="post" action=shop_action enctype="multipart/form-data" class="stack">
            <label>"Shop file" <input type="file" name="file" accept=".json,application/json" required=true/></label>
            {flash.field_error("shop_file").map(|e| view! {
                <ul class="field-error" id="shop_file-error">
                    {e.lines().map(|line| view! { <li>{line.to_owned()}</li> }).collect_view()}
                </ul>
            })}
            <crate::forms::TurnstileWidget/>
            <button type="submit">"Upload and import"</button>
        </form>
        <h2>"From your shop's product feed"</h2>
        <form method="post" action="/api/import_url" class="stack">
            <CsrfField/>
            <Field flash=flash.clone() name="url" label="Feed link (https://…, JSON or CSV)" kind="url"/>
            <crate::forms::TurnstileWidget/>
            <button type="submit">"Fetch and check"</button>
        </form>
    }
}

#[component]
pub fn ImportPreviewPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    let Some((owner, pool)) = scope() else {
        return view! { <p>"Please log in."</p> }.into_any();
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return not_found();
    };
    let load = move || {
        let pool = pool.clone();
        async move { store::load_preview(&pool, owner, id).await }
    };
    view! {
        <PageTitle text="Check your import · BikriAgent"/>
        <CatalogNav/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let data = load();
                Suspend::new(async move {
                    let Ok((preview, imported)) = data.await else { return not_found() };
                    let valid = preview.is_valid() && !imported;
                    let confirm = ServerAction::<ConfirmImport>::new();
                    let bad_rows = preview.rows.iter().filter(|r| !r.errors.is_empty()).count();
                    view! {
                        <h1>"Check your import"</h1>
                        {imported.then(|| view! { <p class="notice ok">"This file was already imported."</p> })}
                        {preview.file_errors.iter().map(|e| view! { <p class="notice error">{e.clone()}</p> }).collect_view()}
                        {(bad_rows > 0).then(|| view! {
                            <p class="notice error">{format!("{bad_rows} rows have problems. Nothing will be imported until the file is fixed.")}</p>
                        })}
                        <table class="list">
                            <thead><tr><th>"Line"</th><th>"SKU"</th><th>"Result"</th></tr></thead>
                            <tbody>
                                {preview.rows.iter().map(|row| view! {
                                    <tr class=if row.errors.is_empty() { "ok" } else { "bad" }>
                                        <td>{row.line}</td>
                                        <td>{row.sku.clone()}</td>
                                        <td>{if row.errors.is_empty() { "OK".to_owned() } else { row.errors.join(" ") }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {valid.then(|| view! {
                            <ActionForm action=confirm>
                                <CsrfField/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <button type="submit">{format!("Import {} products", preview.products.len())}</button>
                            </ActionForm>
                        })}
                        <p><a href="/catalog/import">"Upload another file"</a></p>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
    .into_any()
}
