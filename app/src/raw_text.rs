//! The only place that writes `<textarea>` and `<title>`: text in them is
//! escaped exactly once, so a value can never end the element.
//!
//! What the renderer does on its own (leptos 0.8.23, tachys 0.2.19,
//! leptos_meta 0.8.7):
//! - attribute values are escaped (`&`, `<`, `>`, `"`), and so are the text
//!   children of ordinary elements (`&`, `<`, `>`);
//! - the children of `<textarea>` are written as they are: tachys declares
//!   the element with `ESCAPE_CHILDREN = false`, like `<script>` and
//!   `<style>` (upstream fixed this in leptos PR #4730 and reverted the fix in
//!   #4819), so `</textarea><meta http-equiv=refresh …>` in a value would end
//!   the field and become markup;
//! - leptos_meta's `<Title text=…/>` pushes its text between `<title>` and
//!   `</title>` as it is, so `</title>` in a product name ends the title;
//! - a `<title>` element written with `view!` escapes its children.
//!
//! [`EscapedTextArea`] writes its escaped value as the element's inner HTML
//! (which tachys never escapes, so the value is escaped once even if a later
//! tachys escapes textarea children again), and [`PageTitle`] escapes the
//! text it hands to leptos_meta. `app/tests/raw_text_sources.rs` fails when
//! any other file in `app/src` writes one of these elements itself.

use leptos::prelude::*;

/// `value` as HTML text: `&`, `<` and `>` become character references.
/// Inside `<textarea>` and `<title>` (RCDATA) the browser decodes them back,
/// so the person sees exactly what was stored, and `</textarea` or `</title`
/// can never appear in the markup.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The inner HTML of a `<textarea>` holding `value`. The HTML parser drops
/// one line break right after `<textarea>`, so a value that starts with one
/// gets an extra one in front (as the HTML serialisation algorithm does).
pub fn textarea_html(value: &str) -> String {
    let escaped = escape_text(value);
    if value.starts_with(['\n', '\r']) {
        format!("\n{escaped}")
    } else {
        escaped
    }
}

/// A `<textarea>` whose value is shown exactly as stored, whatever it holds.
#[component]
pub fn EscapedTextArea(
    name: &'static str,
    /// The text in the field.
    #[prop(into)]
    value: String,
    #[prop(default = 3)] rows: u32,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<u32>,
    /// Marks the field as failing validation (`aria-invalid="true"`).
    #[prop(optional)]
    invalid: bool,
) -> impl IntoView {
    view! {
        <textarea
            name=name
            rows=rows
            required=required
            maxlength=maxlength
            aria-invalid=invalid.then_some("true")
            inner_html=textarea_html(&value)
        ></textarea>
    }
}

/// The page's `<title>`, through leptos_meta, with `text` escaped once.
#[component]
pub fn PageTitle(#[prop(into)] text: String) -> impl IntoView {
    view! { <leptos_meta::Title text=escape_text(&text)/> }
}

/// The `<title>` of a document rendered outside the router (error pages),
/// where there is no leptos_meta context. `view!` escapes the text of a
/// `<title>` element itself, so it is passed as it is.
#[component]
pub fn DocumentTitle(#[prop(into)] text: String) -> impl IntoView {
    view! { <title>{text}</title> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_once() {
        assert_eq!(escape_text(r#"a < b & "c" > d"#), r#"a &lt; b &amp; "c" &gt; d"#);
        assert_eq!(escape_text("&amp;"), "&amp;amp;", "what was typed, not what it means");
        assert_eq!(escape_text("লাল শাড়ি \u{202E}x"), "লাল শাড়ি \u{202E}x");
    }

    #[test]
    fn a_textarea_cannot_be_closed_by_its_value() {
        let html = view! {
            <EscapedTextArea name="text" value=r#"</textarea><meta http-equiv=refresh content="0;url=https://evil.example/">"#/>
        }
        .to_html();
        assert_eq!(
            html,
            r#"<textarea name="text" rows="3">&lt;/textarea&gt;&lt;meta http-equiv=refresh content="0;url=https://evil.example/"&gt;</textarea>"#
        );
    }

    #[test]
    fn textarea_attributes_are_written() {
        let html = view! {
            <EscapedTextArea name="reason" value="a < b & \"c\"" rows=2 required=true maxlength=500 invalid=true/>
        }
        .to_html();
        assert_eq!(
            html,
            r#"<textarea name="reason" rows="2" required maxlength="500" aria-invalid="true">a &lt; b &amp; "c"</textarea>"#
        );
    }

    #[test]
    fn a_leading_line_break_survives_the_parser() {
        assert_eq!(textarea_html("\nfirst"), "\n\nfirst");
        assert_eq!(textarea_html("first\n"), "first\n");
        assert_eq!(textarea_html(""), "");
    }

    #[test]
    fn a_document_title_is_escaped_by_the_renderer() {
        let html = view! { <DocumentTitle text="</title><img src=x onerror=alert(1)> · BikriAgent"/> }.to_html();
        assert_eq!(
            html,
            "<title>&lt;/title&gt;&lt;img src=x onerror=alert(1)&gt; · BikriAgent</title>"
        );
    }
}
