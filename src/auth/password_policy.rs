//! The password policy, enforced on the server (OWASP ASVS 4.0 level 2, V2.1).
//!
//! The client may show the same hints, but only this check decides. The rules
//! follow NIST SP 800-63B: length matters, composition rules ("one digit, one
//! symbol") do not, and what attackers try first is refused: the most common
//! passwords, anything zxcvbn estimates as guessable within about 10^10
//! tries, and anything built from facts an attacker already knows about the
//! account holder (name, email, business name, phone number).
//!
//! [`check`] returns every problem at once so the signup form can show them
//! together instead of making the person fix them one round trip at a time.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::identity::Phone;

/// ASVS 2.1.1: at least 12 characters.
pub const MIN_CHARS: usize = 12;
/// ASVS 2.1.2: at least 64 must be allowed; 128 leaves room for passphrases
/// while bounding the work an attacker can make hashing and zxcvbn do.
pub const MAX_CHARS: usize = 128;

/// How many non-letters at the ends of a common password still count as
/// "the common password with decoration": `Password1234!` adds five. More
/// than this and the additions themselves carry real entropy, which zxcvbn
/// judges better than a yes/no list lookup.
const MAX_DECORATION_CHARS: usize = 6;
/// Shorter pieces of personal info (initials, `Md`) appear by chance in
/// unrelated words, so refusing them would refuse good passwords.
const MIN_PERSONAL_CHARS: usize = 3;
/// Words of names that are too generic to count as personal.
const NOT_PERSONAL: &[&str] = &["the", "and", "for"];
/// The tail of a phone number people reuse as "their" digits.
const PHONE_TAIL_DIGITS: usize = 6;
/// `1` stands for both `i` and `l`; with up to this many `1`s every mix is
/// tried (2^4 = 16 lookups), beyond it only all-`i` and all-`l`, so a
/// password of `1`s cannot make the check exponential.
const MAX_ONES_EXPANDED: u32 = 4;

/// The 10,000 most common passwords, lowercase, one per line.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// What is known about the account holder, so a password built from it can
/// be refused. Any field may be empty (staff have no business, a phone may
/// not be given yet); empty fields are ignored.
///
/// Deliberately not `Debug`: it holds personal data and would end up in logs.
#[derive(Clone, Copy, Default)]
pub struct PersonalInfo<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub business_name: &'a str,
    pub phone: &'a str,
}

/// One reason a password was refused. The web layer shows
/// [`PasswordProblem::message`]; tests and metrics match on the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    /// In the common-passwords list, possibly with a little decoration or
    /// leetspeak.
    Common,
    /// zxcvbn scores it below 3 (guessable in under about 10^10 tries).
    Weak,
    /// Contains the named piece of personal info: `"name"`, `"email"`,
    /// `"business name"` or `"phone number"`.
    ContainsPersonalInfo(&'static str),
}

impl PasswordProblem {
    /// One sentence for the person choosing the password, saying what to do.
    pub fn message(&self) -> String {
        match self {
            PasswordProblem::TooShort => format!("Use at least {MIN_CHARS} characters."),
            PasswordProblem::TooLong => format!("Use at most {MAX_CHARS} characters."),
            PasswordProblem::Common => "This is a commonly used password, and adding numbers or \
                 symbols doesn't change that: choose something less predictable."
                .to_owned(),
            PasswordProblem::Weak => {
                "This password is too easy to guess: try a longer phrase of unrelated words.".to_owned()
            }
            PasswordProblem::ContainsPersonalInfo(what) => {
                format!("Don't use your {what} in your password.")
            }
        }
    }
}

/// Checks `password` against the policy and returns every problem found, most
/// specific first; an empty list means the password is accepted.
///
/// The password is never truncated or normalised: what is checked is what
/// gets hashed. A too-long password is reported alone, because nothing else
/// matters until it is shortened and that bounds the work hostile input can
/// cause; a too-short one skips only the zxcvbn estimate, the expensive part.
pub fn check(password: &str, personal: &PersonalInfo<'_>) -> Vec<PasswordProblem> {
    let length = password.chars().count();
    if length > MAX_CHARS {
        return vec![PasswordProblem::TooLong];
    }
    let mut problems = Vec::new();
    let too_short = length < MIN_CHARS;
    if too_short {
        problems.push(PasswordProblem::TooShort);
    }

    let lower = password.to_lowercase();
    if is_common(&lower) {
        problems.push(PasswordProblem::Common);
    }

    let personal = PersonalNeedles::new(personal);
    let forward: Vec<char> = lower.chars().collect();
    let backward: Vec<char> = forward.iter().rev().copied().collect();
    for (what, needles) in personal.by_field() {
        if needles
            .iter()
            .any(|needle| contains_leet(&forward, needle) || contains_leet(&backward, needle))
        {
            problems.push(PasswordProblem::ContainsPersonalInfo(what));
        }
    }

    if !too_short {
        let user_inputs = personal.user_inputs();
        if zxcvbn::zxcvbn(password, &user_inputs).score() < zxcvbn::Score::Three {
            problems.push(PasswordProblem::Weak);
        }
    }
    problems
}

/// Whether `lower` is a common password, also once up to
/// [`MAX_DECORATION_CHARS`] non-letters are removed from its ends
/// (`password1234!`) and once leetspeak is undone in what is left
/// (`p@ssw0rd`). Every split of the removed characters between the two ends
/// is tried, because a non-letter at the edge may be leetspeak (`@dmin`,
/// `secre7`) rather than decoration. At most 28 splits times 16 spellings of
/// a string of at most 128 characters: microseconds.
fn is_common(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let non_letters = |c: &&char| !c.is_alphabetic();
    let leading = chars.iter().take_while(non_letters).count();
    let trailing = chars.iter().rev().take_while(non_letters).count();
    for front in 0..=leading.min(MAX_DECORATION_CHARS) {
        for back in 0..=trailing.min(MAX_DECORATION_CHARS - front) {
            let Some(core) = chars.get(front..chars.len().saturating_sub(back)) else {
                continue;
            };
            if core.is_empty() {
                continue;
            }
            let core: String = core.iter().collect();
            if COMMON_PASSWORDS.contains(core.as_str())
                || unleet_spellings(&core)
                    .iter()
                    .any(|spelling| COMMON_PASSWORDS.contains(spelling.as_str()))
            {
                return true;
            }
        }
    }
    false
}

/// The letter a leetspeak character stands for, other than `1` (which stands
/// for two letters and is handled by the callers).
fn unleet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

/// `s` with its leetspeak undone, once for each reasonable reading of its
/// `1`s (see [`MAX_ONES_EXPANDED`]); empty when there is nothing to undo.
fn unleet_spellings(s: &str) -> Vec<String> {
    if !s.chars().any(|c| c == '1' || unleet(c).is_some()) {
        return Vec::new();
    }
    let ones = u32::try_from(s.chars().filter(|&c| c == '1').count()).unwrap_or(u32::MAX);
    let expand = ones <= MAX_ONES_EXPANDED;
    let readings: u32 = if expand { 1 << ones } else { 2 };
    (0..readings)
        .map(|reading| {
            let mut nth_one = 0;
            s.chars()
                .map(|c| {
                    if c != '1' {
                        return unleet(c).unwrap_or(c);
                    }
                    let as_l = if expand {
                        reading >> nth_one & 1 == 1
                    } else {
                        reading == 1
                    };
                    nth_one += 1;
                    if as_l { 'l' } else { 'i' }
                })
                .collect()
        })
        .collect()
}

/// Whether a password character can stand for a needle character: itself,
/// or the letter it is leetspeak for.
fn leet_matches(password_char: char, needle_char: char) -> bool {
    password_char == needle_char
        || match password_char {
            '1' => needle_char == 'i' || needle_char == 'l',
            other => unleet(other) == Some(needle_char),
        }
}

/// Substring search where each password character may be leetspeak for the
/// needle's. Comparing character by character, instead of generating
/// de-leeted spellings of the password, catches every mix (`r4h1ma`) without
/// an exponential number of spellings and never turns a real letter into
/// another one.
fn contains_leet(haystack: &[char], needle: &[char]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window.iter().zip(needle).all(|(&p, &n)| leet_matches(p, n)))
}

/// The lowercase pieces of personal info a password must not contain.
struct PersonalNeedles {
    name: Vec<String>,
    email: Vec<String>,
    business_name: Vec<String>,
    phone: Vec<String>,
    /// The whole values too, which zxcvbn can use as dictionary words.
    extra_user_inputs: Vec<String>,
}

impl PersonalNeedles {
    fn new(personal: &PersonalInfo<'_>) -> Self {
        let email = personal.email.trim().to_lowercase();
        Self {
            name: words_needles(personal.name),
            email: email_needles(&email),
            business_name: words_needles(personal.business_name),
            phone: phone_needles(personal.phone),
            extra_user_inputs: [email, personal.name.trim().to_lowercase()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    fn by_field(&self) -> [(&'static str, Vec<Vec<char>>); 4] {
        let chars = |needles: &[String]| -> Vec<Vec<char>> { needles.iter().map(|n| n.chars().collect()).collect() };
        [
            ("name", chars(&self.name)),
            ("email", chars(&self.email)),
            ("business name", chars(&self.business_name)),
            ("phone number", chars(&self.phone)),
        ]
    }

    fn user_inputs(&self) -> Vec<&str> {
        [
            &self.name,
            &self.email,
            &self.business_name,
            &self.phone,
            &self.extra_user_inputs,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
    }
}

fn push_needle(needles: &mut Vec<String>, needle: String) {
    if needle.chars().count() >= MIN_PERSONAL_CHARS && !needles.contains(&needle) {
        needles.push(needle);
    }
}

/// For a person's or a business's name: each word on its own (people use
/// their first name or surname alone), and the whole name run together, both
/// without spaces and without any punctuation (`Md. Rahim` → `mdrahim`).
fn words_needles(name: &str) -> Vec<String> {
    let lower = name.trim().to_lowercase();
    let mut needles = Vec::new();
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        if !NOT_PERSONAL.contains(&word) {
            push_needle(&mut needles, word.to_owned());
        }
    }
    push_needle(&mut needles, lower.chars().filter(|c| !c.is_whitespace()).collect());
    push_needle(&mut needles, lower.chars().filter(|c| c.is_alphanumeric()).collect());
    needles
}

/// The local part, and its base without a `+tag` subaddress. The domain is
/// left out: it is usually a mail provider shared by millions.
fn email_needles(lower_email: &str) -> Vec<String> {
    let local = lower_email.rsplit_once('@').map_or(lower_email, |(local, _)| local);
    let mut needles = Vec::new();
    push_needle(&mut needles, local.to_owned());
    if let Some((base, _tag)) = local.split_once('+') {
        push_needle(&mut needles, base.to_owned());
    }
    needles
}

/// The number as people write it at home (for Bangladesh `1711000000` and
/// `01711000000`), the full international digits, and the last
/// [`PHONE_TAIL_DIGITS`] digits, which also catches any longer tail.
fn phone_needles(raw: &str) -> Vec<String> {
    let digits: String = match Phone::parse(raw) {
        Ok(phone) => phone.digits().to_owned(),
        Err(_) => raw.chars().filter(char::is_ascii_digit).collect(),
    };
    if digits.len() < PHONE_TAIL_DIGITS {
        return Vec::new();
    }
    let mut needles = Vec::new();
    if let Some(national) = digits.strip_prefix("880") {
        push_needle(&mut needles, national.to_owned());
        push_needle(&mut needles, format!("0{national}"));
    }
    push_needle(&mut needles, digits.clone());
    // ASCII digits only, so any byte offset is a char boundary.
    push_needle(&mut needles, digits[digits.len() - PHONE_TAIL_DIGITS..].to_owned());
    needles
}

#[cfg(test)]
mod tests {
    use super::PasswordProblem::*;
    use super::*;

    const RAHIMA: PersonalInfo<'static> = PersonalInfo {
        name: "Rahima Khatun",
        email: "tigerlily84@example.com",
        business_name: "Sonali Fabrics House",
        phone: "+8801711000000",
    };

    /// 128 characters, made of unrelated words.
    fn passphrase_128() -> String {
        let p = "glacier orbit velvet mango thunder quilt pepper lantern \
                 saffron walrus cobalt meadow jigsaw harbor nimbus fjord oxen";
        let p = format!("{p} {}", "z".repeat(128 - p.chars().count() - 1));
        assert_eq!(p.chars().count(), 128);
        p
    }

    #[test]
    fn table() {
        let long_ok = passphrase_128();
        let too_long = format!("{long_ok}q");
        let cases: Vec<(&str, Vec<PasswordProblem>)> = vec![
            // Accepted.
            ("correct horse battery staple", vec![]),
            ("purple-river-lamp-9417", vec![]),
            ("Mango Tin Roof Monsoon", vec![]),
            // Any script is allowed; no composition rules.
            ("নদীর ধারে সোনালি আলো ঝরে", vec![]),
            (&long_ok, vec![]),
            // Length, counted in characters.
            ("Tr0ub4dor&3", vec![TooShort]),
            ("", vec![TooShort]),
            ("kiwi-oboe-7q", vec![]), // exactly 12
            (&too_long, vec![TooLong]),
            // Common passwords, also decorated or in leetspeak.
            ("password1234", vec![Common, Weak]),
            ("Password1234!", vec![Common, Weak]),
            ("PASSWORD1234", vec![Common, Weak]),
            ("P@ssw0rd1234!", vec![Common, Weak]),
            // zxcvbn lets this one through; the list does not.
            ("!!passw0rd99", vec![Common]),
            ("qwerty123456", vec![Common, Weak]),
            ("password", vec![TooShort, Common]),
            // Weak but not common.
            ("aaaaaaaaaaaaaa", vec![Weak]),
            ("abcdefghijklmnop", vec![Weak]),
            // Personal info: name, reversed, leetspeak.
            ("rahimasecurepassword7!", vec![ContainsPersonalInfo("name")]),
            ("amihar-glacier-velvet-orbit", vec![ContainsPersonalInfo("name")]),
            ("r4h1m4-glacier-velvet-orbit", vec![ContainsPersonalInfo("name")]),
            ("glacier-KHATUN-velvet-orbit", vec![ContainsPersonalInfo("name")]),
            ("glacier-rahimakhatun-orbit", vec![ContainsPersonalInfo("name")]),
            // Email local part.
            ("glacier-tigerlily84-orbit", vec![ContainsPersonalInfo("email")]),
            ("48ylilregit-glacier-orbit", vec![ContainsPersonalInfo("email")]),
            // Business name, each word and run together.
            (
                "glacier-sonali-velvet-orbit",
                vec![ContainsPersonalInfo("business name")],
            ),
            (
                "glacier-f4br1c5-velvet-orbit",
                vec![ContainsPersonalInfo("business name")],
            ),
            // Phone number digits.
            ("glacier-velvet-01711000000", vec![ContainsPersonalInfo("phone number")]),
            ("glacier-velvet-1711000000", vec![ContainsPersonalInfo("phone number")]),
            (
                "glacier-velvet-orbit-000000",
                vec![ContainsPersonalInfo("phone number")],
            ),
            (
                "glacier-velvet-orbit-0000001",
                vec![ContainsPersonalInfo("phone number")],
            ),
        ];
        let mut failures = Vec::new();
        for (password, want) in cases {
            let got = check(password, &RAHIMA);
            if got != want {
                failures.push(format!("{password:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn accepted_examples_really_score_three_or_more() {
        for password in [
            "correct horse battery staple",
            "purple-river-lamp-9417",
            "kiwi-oboe-7q",
            &passphrase_128(),
        ] {
            let personal = PersonalNeedles::new(&RAHIMA);
            let score = zxcvbn::zxcvbn(password, &personal.user_inputs()).score();
            assert!(score >= zxcvbn::Score::Three, "{password:?}: {score}");
            assert!(check(password, &PersonalInfo::default()).is_empty());
        }
    }

    #[test]
    fn length_counts_chars_not_bytes() {
        // 12 Bengali characters are 36 bytes; 11 are too few however many bytes.
        let twelve = "কখগঘঙচছজঝঞটঠ";
        assert_eq!(twelve.chars().count(), 12);
        assert!(!check(twelve, &RAHIMA).contains(&TooShort));
        let eleven: String = twelve.chars().take(11).collect();
        assert!(check(&eleven, &RAHIMA).contains(&TooShort));
        let long: String = "ক".repeat(129);
        assert_eq!(check(&long, &RAHIMA), vec![TooLong]);
    }

    #[test]
    fn empty_personal_fields_are_ignored() {
        let staff = PersonalInfo {
            name: "Rahima Khatun",
            email: "",
            business_name: "",
            phone: "",
        };
        assert!(check("glacier-velvet-orbit-000000", &staff).is_empty());
        assert_eq!(
            check("glacier-velvet-rahima-orbit", &staff),
            vec![ContainsPersonalInfo("name")]
        );
        assert!(check("correct horse battery staple", &PersonalInfo::default()).is_empty());
    }

    #[test]
    fn short_name_words_and_filler_are_not_personal() {
        let personal = PersonalInfo {
            name: "Md. Al Amin",
            business_name: "The Tea Stall",
            ..PersonalInfo::default()
        };
        // "md", "al" and "the" would refuse too many good passwords.
        assert!(check("the almond medal orbit", &personal).is_empty());
        assert_eq!(
            check("glacier amin velvet orbit", &personal),
            vec![ContainsPersonalInfo("name")]
        );
        assert_eq!(
            check("glacier stall velvet orbit", &personal),
            vec![ContainsPersonalInfo("business name")]
        );
        assert_eq!(
            check("glacier-mdalamin-orbit", &personal),
            vec![ContainsPersonalInfo("name")]
        );
    }

    #[test]
    fn email_subaddress_and_unparsed_phone() {
        let personal = PersonalInfo {
            email: "Shapla+Shop@Example.com",
            phone: "call 017-1234-5678",
            ..PersonalInfo::default()
        };
        assert_eq!(
            check("glacier-shapla-velvet-orbit", &personal),
            vec![ContainsPersonalInfo("email")]
        );
        assert_eq!(
            check("glacier-velvet-orbit-345678", &personal),
            vec![ContainsPersonalInfo("phone number")]
        );
        assert_eq!(
            check("glacier-velvet-orbit-876543", &personal),
            vec![ContainsPersonalInfo("phone number")]
        );
    }

    #[test]
    fn leet_matching_never_turns_letters_into_other_letters() {
        let personal = PersonalInfo {
            name: "Ali Lila",
            ..PersonalInfo::default()
        };
        // "all" and "ill" are not "ali"; only digits and symbols are leetspeak.
        assert!(check("small rivers call quietly", &personal).is_empty());
        assert_eq!(
            check("glacier-1i1a-velvet-orbit", &personal),
            vec![ContainsPersonalInfo("name")]
        );
    }

    #[test]
    fn every_problem_has_a_sentence() {
        for problem in [
            TooShort,
            TooLong,
            Common,
            Weak,
            ContainsPersonalInfo("name"),
            ContainsPersonalInfo("email"),
            ContainsPersonalInfo("business name"),
            ContainsPersonalInfo("phone number"),
        ] {
            let message = problem.message();
            assert!(message.ends_with('.'), "{message}");
            assert!(message.chars().next().is_some_and(char::is_uppercase));
        }
        assert_eq!(TooShort.message(), "Use at least 12 characters.");
        assert_eq!(
            ContainsPersonalInfo("business name").message(),
            "Don't use your business name in your password."
        );
    }

    #[test]
    fn common_list_is_loaded() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        assert!(COMMON_PASSWORDS.contains("password"));
    }

    #[test]
    fn unleet_spellings_bounded() {
        assert_eq!(unleet_spellings("plain"), Vec::<String>::new());
        let mut spellings = unleet_spellings("1i1a");
        spellings.sort();
        assert_eq!(spellings, ["iiia", "iila", "liia", "lila"]);
        assert_eq!(unleet_spellings(&"1".repeat(100)).len(), 2);
    }

    /// Decorating any common password with a few digits or symbols, or
    /// writing it in leetspeak, must not get it past the list.
    #[test]
    fn property_decorated_common_passwords_are_refused() {
        let decorations = ["1", "123", "1234!", "!!", "2024", "#1", "99$"];
        for (i, common) in COMMON_PASSWORDS
            .iter()
            .filter(|p| p.chars().all(|c| c.is_ascii_lowercase()) && p.len() >= 6)
            .take(300)
            .enumerate()
        {
            let decoration = decorations[i % decorations.len()];
            let mut capitalised = common.to_string();
            capitalised[..1].make_ascii_uppercase();
            let leet: String = common
                .chars()
                .map(|c| match c {
                    'a' => '@',
                    'o' => '0',
                    's' => '$',
                    'e' => '3',
                    other => other,
                })
                .collect();
            for candidate in [
                format!("{common}{decoration}"),
                format!("{capitalised}{decoration}"),
                format!("{leet}{decoration}"),
                format!("{decoration}{common}"),
            ] {
                assert!(is_common(&candidate.to_lowercase()), "{candidate:?}");
            }
        }
    }
}
