//! Fails when a file in `app/src` writes a `<textarea>` or a page title
//! itself instead of through `raw_text` (`EscapedTextArea`, `PageTitle`,
//! `DocumentTitle`). Leptos writes textarea children and leptos_meta's title
//! text without escaping them, so a direct use renders stored text as markup.

use std::path::{Path, PathBuf};

/// The module allowed to write these elements.
const ESCAPING_MODULE: &str = "raw_text.rs";

/// What may only appear in the escaping module, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "<textarea",
        "a <textarea> element (its children are not escaped): use EscapedTextArea",
    ),
    ("<title", "a <title> element: use PageTitle or DocumentTitle"),
    (
        "<Title",
        "leptos_meta's <Title> (its text is not escaped): use PageTitle",
    ),
    ("Title(", "leptos_meta's Title called as a function: use PageTitle"),
    ("html::textarea", "the textarea builder: use EscapedTextArea"),
    ("html::title", "the title builder: use PageTitle or DocumentTitle"),
    ("inner_html", "raw inner HTML: put escaping in raw_text"),
];

/// The forbidden uses in one file's source, as (line number, reason).
fn violations(source: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (index, code) in source.lines().enumerate() {
        if code.trim_start().starts_with("//") {
            continue;
        }
        for (needle, why) in FORBIDDEN {
            if contains_token(code, needle) {
                found.push((index + 1, *why));
            }
        }
        // `use leptos_meta::Title;`, `use leptos_meta::{Meta, Title};` or a glob that brings it in.
        if code.contains("leptos_meta")
            && (code.contains("::*")
                || code
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == "Title"))
        {
            found.push((index + 1, "leptos_meta's Title imported: use PageTitle"));
        }
    }
    found
}

/// Whether `needle` occurs in `code` not as the end of a longer name
/// (`PageTitle(` is not `Title(`).
fn contains_token(code: &str, needle: &str) -> bool {
    code.match_indices(needle).any(|(at, _)| {
        !needle.starts_with(char::is_alphabetic)
            || !code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("app/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_escaping_module_writes_textareas_and_titles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10, "found the page sources: {files:?}");
    let escaping = src.join(ESCAPING_MODULE);
    assert!(
        files.contains(&escaping),
        "the escaping module is at {}",
        escaping.display()
    );
    let mut problems = Vec::new();
    for file in files.iter().filter(|f| **f != escaping) {
        let source = std::fs::read_to_string(file).expect("a readable source file");
        for (line, why) in violations(&source) {
            problems.push(format!("{}:{line}: {why}", file.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "write these through app/src/raw_text.rs:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_each_direct_use() {
    let direct = [
        r#"<label>"Reply"<textarea name="text">{kept}</textarea></label>"#,
        "<Title text=title/>",
        r#"<title>{page_title}</title>"#,
        "use leptos_meta::Title;",
        "use leptos_meta::{Meta, Title};",
        "use leptos_meta::*;",
        "leptos_meta::Title(TitleProps::builder().text(name).build())",
        "leptos::html::textarea().child(value)",
        "leptos::html::title().child(value)",
        "<div inner_html=value></div>",
    ];
    for source in direct {
        assert!(!violations(source).is_empty(), "not caught: {source}");
    }
    let fine = [
        r#"<EscapedTextArea name="text" value=kept required=true/>"#,
        r#"<PageTitle text="Inbox · BikriAgent"/>"#,
        "<crate::raw_text::DocumentTitle text=page_title/>",
        "use leptos_meta::{Meta, MetaTags, provide_meta_context};",
        "// a <textarea> in a comment",
        r#"<TextArea flash=f name="answer" label="Answer" value=v/>"#,
        "let title = format!(\"{} · BikriAgent\", name);",
        "view! { <PageTitle text=title/> }; PageTitle(props)",
    ];
    for source in fine {
        assert_eq!(violations(source), Vec::new(), "wrongly caught: {source}");
    }
}
