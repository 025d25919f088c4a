//! Control characters in form fields.
//!
//! A person typing in a browser never produces a NUL, an escape or a DEL,
//! and PostgreSQL cannot store a NUL in `text` or `jsonb` at all. So every
//! form field is checked here before its value reaches a feature, the
//! session or a redirect: a single-line field holds no control character,
//! a multi-line one holds only tab, newline and carriage return.

/// How much of the control range a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An `<input>`: no control character at all.
    Line,
    /// A text area: tab, newline and carriage return, nothing else.
    Lines,
}

/// Whether a field of `shape` may hold `c`.
fn allowed(c: char, shape: Shape) -> bool {
    !c.is_control() || (shape == Shape::Lines && matches!(c, '\t' | '\n' | '\r'))
}

/// Whether `value` holds a character a field of `shape` may not.
pub fn refuses(value: &str, shape: Shape) -> bool {
    value.chars().any(|c| !allowed(c, shape))
}

/// The names of the fields (each once, in form order) whose value holds a
/// character its shape forbids. Fields named in `multiline` are text areas,
/// every other field is a single line. A field whose *name* holds a control
/// character is refused too, under its name with those characters removed.
pub fn refused_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>, multiline: &[&str]) -> Vec<String> {
    let mut refused: Vec<String> = Vec::new();
    for (name, value) in fields {
        let shape = if multiline.contains(&name) {
            Shape::Lines
        } else {
            Shape::Line
        };
        if refuses(name, Shape::Line) || refuses(value, shape) {
            let name = strip_controls(name, Shape::Line);
            if !refused.contains(&name) {
                refused.push(name);
            }
        }
    }
    refused
}

/// `value` without the characters a field of `shape` may not hold: what is
/// safe to keep (in the session, to refill a form) from a refused value.
pub fn strip_controls(value: &str, shape: Shape) -> String {
    value.chars().filter(|c| allowed(*c, shape)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_no_control_character_and_lines_hold_only_tab_newline_and_return() {
        for c in (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32) {
            let value = format!("a{c}b");
            assert!(refuses(&value, Shape::Line), "{c:?} in a line");
            let in_lines = !matches!(c, '\t' | '\n' | '\r');
            assert_eq!(refuses(&value, Shape::Lines), in_lines, "{c:?} in lines");
        }
        for fine in [
            "",
            "Rahima Fashion",
            "লাল সুতি শাড়ি",
            "৳1,250 — 50% off!",
            "😀 <b>&amp;</b>",
            "\u{a0}",
        ] {
            assert!(!refuses(fine, Shape::Line), "{fine:?}");
            assert!(!refuses(fine, Shape::Lines), "{fine:?}");
        }
    }

    #[test]
    fn refused_fields_are_named_once_in_form_order() {
        let fields = [
            ("name", "a\u{0}b"),
            ("description", "line one\r\nline\ttwo"),
            ("city", "Dhaka"),
            ("name", "again\u{1b}"),
            ("return_policy", "no\u{7f}"),
            ("phone\u{0}", "017"),
        ];
        assert_eq!(
            refused_fields(fields, &["description", "return_policy"]),
            ["name", "return_policy", "phone"]
        );
        assert!(refused_fields([("description", "a\nb")], &["description"]).is_empty());
        assert_eq!(refused_fields([("city", "a\nb")], &["description"]), ["city"]);
    }

    #[test]
    fn stripping_keeps_everything_a_field_may_hold() {
        assert_eq!(strip_controls("a\u{0}b\u{1b}[31mc\u{7f}\u{85}", Shape::Line), "ab[31mc");
        assert_eq!(
            strip_controls("one\r\ntwo\tthree\u{0}", Shape::Lines),
            "one\r\ntwo\tthree"
        );
        assert_eq!(strip_controls("one\ntwo", Shape::Line), "onetwo");
        for value in ["a\u{0}b", "x\u{1}\u{2}\u{3}", "\u{7f}"] {
            for shape in [Shape::Line, Shape::Lines] {
                assert!(!refuses(&strip_controls(value, shape), shape));
            }
        }
    }
}
