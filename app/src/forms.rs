//! Form building blocks: every form is a plain HTML POST with a CSRF field,
//! and shows the flash (outcome, kept values, errors next to fields).

use leptos::prelude::*;

use crate::web::{CSRF_FIELD, Flash, request_context};

/// The flash of this request, if it belongs to `form` (or to no form).
pub fn flash_for(form: &str) -> Flash {
    match request_context().flash {
        Some(flash) if flash.form.as_deref().is_none_or(|f| f == form) => flash,
        _ => Flash::default(),
    }
}

/// The hidden CSRF token field.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = request_context().csrf.unwrap_or_default();
    view! { <input type="hidden" name=CSRF_FIELD value=token/> }
}

/// A labelled input with its error message and kept value.
#[component]
pub fn Field(
    flash: Flash,
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = flash.field_error(name);
    // Passwords are never refilled.
    let value = if kind == "password" {
        String::new()
    } else {
        flash.value(name)
    };
    let error_id = format!("{name}-error");
    let described = error.as_ref().map(|_| error_id.clone());
    view! {
        <label>
            {label}
            <input
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                aria-invalid=error.as_ref().map(|_| "true")
                aria-describedby=described
                required=true
            />
            {hint.map(|h| view! { <small>{h}</small> })}
            {error.map(|e| view! { <span class="field-error" id=error_id>{e}</span> })}
        </label>
    }
}

/// The outcome message of the last form post.
#[component]
pub fn FlashNotice(flash: Flash) -> impl IntoView {
    view! {
        {flash.notice.map(|n| view! { <p class="notice ok" role="status">{n}</p> })}
        {flash.error.map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        {(!flash.errors.is_empty()).then(|| view! {
            <p class="notice error" role="alert">"Please fix the fields marked below."</p>
        })}
    }
}

/// Cloudflare Turnstile's widget, only when a site key is configured (the
/// CSP then allows its script and frame origin, and only then).
#[component]
pub fn TurnstileWidget() -> impl IntoView {
    use_context::<crate::web::Services>()
        .and_then(|s| s.turnstile_site_key)
        .map(|key| {
            view! {
                <div class="cf-turnstile" data-sitekey=key></div>
                <script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async=true defer=true></script>
            }
        })
}

/// A time to the minute, `2026-11-23 21:05`, in the offset `at` carries.
pub fn minute_stamp(at: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}
