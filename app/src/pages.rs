//! Public pages.

use crate::raw_text::PageTitle;
use leptos::prelude::*;

/// The public landing page: what BikriAgent does and how it keeps a shop safe.
#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <PageTitle text="BikriAgent · a safe sales assistant for your Facebook, Instagram and WhatsApp shop"/>
        <section class="hero">
            <h1>"Answer every customer, even while you sleep."</h1>
            <p class="lead">
                "BikriAgent replies to your customers on Facebook Messenger, Instagram and WhatsApp "
                "using only your own product list, prices and delivery rules, in English, Bangla or "
                "Banglish. It takes orders for you and sends anything risky to you first."
            </p>
            <div class="cta">
                <a class="button" href="/signup">"Create your shop's account"</a>
                <a class="button secondary" href="/login">"Log in"</a>
            </div>
        </section>

        <h2>"What it does for your shop"</h2>
        <div class="grid">
            <article class="card">
                <h3>"Answers from your catalog"</h3>
                <p>"Prices, stock, sizes, delivery charges and payment instructions come from what you entered. It never invents a price or a promise."</p>
            </article>
            <article class="card">
                <h3>"Takes orders"</h3>
                <p>"It collects the product, size, quantity, name, phone and address, reads the total back, and waits for you to confirm the order."</p>
            </article>
            <article class="card">
                <h3>"Asks you about hard questions"</h3>
                <p>"Allergies, refunds, payment problems, angry customers and anyone who asks for a person go to your review queue instead of an automatic answer."</p>
            </article>
            <article class="card">
                <h3>"One stop button"</h3>
                <p>"Pause automatic replies on any page or number at once, and take over a conversation whenever you like."</p>
            </article>
        </div>

        <h2>"How we keep your shop and your customers safe"</h2>
        <ul class="promises">
            <li>"We never ask for your Facebook, Instagram, WhatsApp, bank or email password. You connect your page only on Meta's own screen, and you can disconnect it any time."</li>
            <li>"The keys that let us answer on your page are stored encrypted, and no one at BikriAgent can read them in plain text."</li>
            <li>"Your customers' messages are stored encrypted and are visible only to you. Other shops can never see your products, customers or orders."</li>
            <li>"Your BikriAgent password is stored as a strong one-way hash. Repeated wrong passwords lock the account for a while, and we email you about new logins."</li>
            <li>"Every message from Meta is checked for Meta's signature before we act on it."</li>
            <li>"You can delete a customer's data at any time, and we keep messages only as long as needed."</li>
        </ul>
    }
}

/// The page for any address that does not exist. Answers 404.
#[component]
pub fn NotFound() -> impl IntoView {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageTitle text="Page not found · BikriAgent"/>
        <section class="error-page">
            <p class="code">"404"</p>
            <h1>"We could not find that page"</h1>
            <p>"The address may be mistyped, or the page may have moved."</p>
            <p><a class="button" href="/">"Go to the home page"</a></p>
        </section>
    }
}
