//! Bangladesh's places, so "Sylhet?", "ctg te delivery charge koto",
//! "চট্টগ্রাম" or "mirpur 10" can be mapped to a shop's delivery zone.
//!
//! The data (`gazetteer/bd_places.tsv`, see its README) lists the 8
//! divisions, 64 districts, 12 city corporations, the main areas of Dhaka and
//! Chattogram and 495 upazilas, each with its Bangla name, the spellings
//! customers use, and whether it is inside Dhaka city, a Dhaka suburb, or
//! outside. Names are matched as whole folded words (the shared text layer),
//! longest first; a name that is also a place elsewhere (Mirpur is an area of
//! Dhaka and an upazila of Kushtia) takes the city area.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::text::{self, Token};

/// Where a place is, as couriers charge for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Dhaka city (both city corporations).
    Inside,
    /// Around Dhaka: Savar, Keraniganj, Gazipur and Narayanganj cities, …
    Suburb,
    /// Everywhere else.
    Outside,
}

/// A place found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Its official English name ("Outside Dhaka" for the phrase).
    pub name: String,
    pub zone: Zone,
    /// A phrase that names a zone ("dhakar baire"), not a place.
    pub zone_phrase: bool,
}

/// Phrases that name a zone rather than a place; checked first, so "ঢাকার
/// বাইরে" is outside although it contains ঢাকা.
const ZONE_PHRASES: &[(&str, Zone)] = &[
    ("outside dhaka", Zone::Outside),
    ("dhakar baire", Zone::Outside),
    ("dhaka r baire", Zone::Outside),
    ("dhakar bahire", Zone::Outside),
    ("ঢাকার বাইরে", Zone::Outside),
    ("ঢাকা বাইরে", Zone::Outside),
    ("inside dhaka", Zone::Inside),
    ("dhakar vitore", Zone::Inside),
    ("dhakar bhitore", Zone::Inside),
    ("dhakar vitor", Zone::Inside),
    ("dhaka city", Zone::Inside),
    ("ঢাকার ভিতরে", Zone::Inside),
    ("ঢাকার ভেতরে", Zone::Inside),
    ("ঢাকা সিটি", Zone::Inside),
];

/// One-word place names that are also everyday words in a shop chat.
const TOO_COMMON: &[&str] = &[
    "sadar", "bandar", "city", "char", "nagar", "ghat", "bazar", "market", "road", "hat", "new", "old", "model",
    "town", "pur", "sador", "thana", "islampur", "manda",
];

/// How much a level is preferred when a name is shared.
fn rank(level: &str) -> u8 {
    match level {
        "city_area" => 5,
        "city_corporation" => 4,
        "district" => 3,
        "upazila" => 2,
        _ => 1,
    }
}

fn zone_of(value: &str) -> Zone {
    match value {
        "inside" => Zone::Inside,
        "suburb" => Zone::Suburb,
        _ => Zone::Outside,
    }
}

struct Gazetteer {
    /// Folded words joined by spaces → (rank, place).
    names: HashMap<String, (u8, Place)>,
    longest: usize,
}

static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(|| {
    let mut names: HashMap<String, (u8, Place)> = HashMap::new();
    let mut add = |spelling: &str, rank: u8, place: &Place| {
        let key = text::folded_words(spelling).join(" ");
        if key.is_empty() || (!key.contains(' ') && TOO_COMMON.contains(&key.as_str())) {
            return;
        }
        match names.get(&key) {
            Some((have, _)) if *have >= rank => {}
            _ => {
                names.insert(key, (rank, place.clone()));
            }
        }
    };
    for line in include_str!("gazetteer/bd_places.tsv").lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [level, name_en, name_bn, variants, _district, _division, zone] = fields.as_slice() else {
            continue;
        };
        let place = Place {
            name: (*name_en).to_owned(),
            zone: zone_of(zone),
            zone_phrase: false,
        };
        let rank = rank(level);
        add(name_en, rank, &place);
        add(name_bn, rank, &place);
        for variant in variants.split('|') {
            add(variant, rank, &place);
        }
    }
    for (phrase, zone) in ZONE_PHRASES {
        let place = Place {
            name: if *zone == Zone::Outside {
                "Outside Dhaka"
            } else {
                "Inside Dhaka"
            }
            .to_owned(),
            zone: *zone,
            zone_phrase: true,
        };
        add(phrase, u8::MAX, &place);
    }
    let longest = names.keys().map(|k| k.split(' ').count()).max().unwrap_or(1);
    Gazetteer { names, longest }
});

/// Case endings on a place name, as folded text: the name without each
/// ending it may have, longest ending first. Bangla ("চট্টগ্রামে", "সিলেটের", "ঢাকাতে",
/// "খুলনায়", "কুমিল্লায়") and Banglish ("khulnay", "sylhete", "gazipure",
/// "dhakar", "rajshahite"). Only tried when the whole word is not a name.
fn without_case_ending(folded: &str) -> Vec<&str> {
    // Folded: য় is য.
    const BANGLA: [&str; 8] = [
        "\u{09AF}\u{09C7}\u{09B0}",
        "\u{09C7}\u{09B0}",
        "\u{098F}\u{09B0}",
        "\u{09A4}\u{09C7}",
        "\u{09AF}\u{09C7}",
        "\u{09C7}",
        "\u{09B0}",
        "\u{09AF}",
    ];
    const BANGLISH: [&str; 6] = ["er", "te", "ey", "e", "y", "r"];
    let Some(last) = folded.chars().last() else {
        return Vec::new();
    };
    let (endings, least_stem): (&[&str], usize) = if crate::pipeline::text::is_bengali_letter(last) {
        (&BANGLA, 2)
    } else if last.is_ascii_lowercase() {
        (&BANGLISH, 4)
    } else {
        return Vec::new();
    };
    let last_word_len = |stem: &str| stem.rsplit(' ').next().map_or(0, |word| word.chars().count());
    endings
        .iter()
        .filter_map(|ending| folded.strip_suffix(ending))
        .filter(|stem| last_word_len(stem) >= least_stem)
        .collect()
}

/// The first place the message names (longest name at the earliest word);
/// zone phrases ("dhakar baire") win over the place inside them.
pub fn place_in(tokens: &[Token]) -> Option<Place> {
    let gazetteer = &*GAZETTEER;
    let words: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
    let mut best: Option<(usize, u8, Place)> = None;
    for start in 0..words.len() {
        for len in (1..=gazetteer.longest.min(words.len() - start)).rev() {
            let key = words[start..start + len].join(" ");
            let found = gazetteer.names.get(&key).or_else(|| {
                without_case_ending(&key)
                    .into_iter()
                    .find_map(|stem| gazetteer.names.get(stem))
            });
            if let Some((rank, place)) = found {
                let better = match &best {
                    None => true,
                    Some((have_len, have_rank, _)) => *have_rank != u8::MAX && (*rank == u8::MAX || len > *have_len),
                };
                if better {
                    best = Some((len, *rank, place.clone()));
                }
                break;
            }
        }
    }
    best.map(|(_, _, place)| place)
}

/// Countries and cities abroad that customers of Bangladeshi shops write
/// from or send to (the Gulf, Malaysia, Europe, North America, India), in
/// English, Banglish and Bangla. No owner's delivery area covers them.
const ABROAD: &str = "dubai, abu dhabi, sharjah, uae, saudi, saudi arabia, riyadh, jeddah, \
    qatar, doha, kuwait, oman, muscat, bahrain, malaysia, kuala lumpur, singapore, maldives, uk, england, london, \
    usa, america, new york, canada, toronto, australia, sydney, italy, japan, korea, india, kolkata, calcutta, \
    বিদেশ, দুবাই, সৌদি, সৌদি আরব, কাতার, কুয়েত, ওমান, মালয়েশিয়া, সিঙ্গাপুর, লন্ডন, আমেরিকা, কানাডা, ইতালি, \
    অস্ট্রেলিয়া, ভারত, কলকাতা, bidesh, bidesh e, probash, প্রবাস";

static ABROAD_NAMES: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    ABROAD
        .split(',')
        .map(|name| text::folded_words(name.trim()))
        .filter(|words| !words.is_empty())
        .collect()
});

/// A place abroad the message names ("dubai te pathate parben?", "সৌদি
/// আরবে"), with a Bangla or Banglish case ending; `None` when none.
pub fn abroad_in(tokens: &[Token]) -> Option<String> {
    let words: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
    ABROAD_NAMES.iter().find_map(|name| {
        (0..words.len()).find_map(|start| {
            let candidate = words.get(start..start + name.len())?.join(" ");
            let wanted = name.join(" ");
            let fits = candidate == wanted || without_case_ending(&candidate).contains(&wanted.as_str());
            fits.then_some(wanted)
        })
    })
}

/// The place named by the words at the very start of `tokens`, if any
/// (longest name first): where an address written without a label begins.
pub fn place_in_prefix(tokens: &[Token]) -> Option<Place> {
    let gazetteer = &*GAZETTEER;
    let words: Vec<&str> = tokens.iter().map(|t| t.folded.as_str()).collect();
    (1..=gazetteer.longest.min(words.len()))
        .rev()
        .find_map(|len| gazetteer.names.get(&words[..len].join(" ")))
        .filter(|(_, place)| !place.zone_phrase)
        .map(|(_, place)| place.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(message: &str) -> Option<(String, Zone)> {
        place_in(&text::tokenize(message)).map(|p| (p.name, p.zone))
    }

    #[test]
    fn places_in_three_scripts_map_to_zones() {
        let table: &[(&str, Option<(&str, Zone)>)] = &[
            ("Sylhet?", Some(("Sylhet", Zone::Outside))),
            ("ctg te delivery charge koto", Some(("Chattogram", Zone::Outside))),
            ("চট্টগ্রাম এ কত দিনে পাব?", Some(("Chattogram", Zone::Outside))),
            ("Chittagong", Some(("Chattogram", Zone::Outside))),
            ("gazipur", Some(("Gazipur", Zone::Suburb))),
            ("mirpur 10", Some(("Mirpur", Zone::Inside))),
            ("dhakar vitore koto?", Some(("Inside Dhaka", Zone::Inside))),
            ("ঢাকার বাইরে চার্জ কত", Some(("Outside Dhaka", Zone::Outside))),
            ("dhakar baire delivery koto din", Some(("Outside Dhaka", Zone::Outside))),
            ("Comilla te pathaben?", Some(("Cumilla", Zone::Outside))),
            ("খুলনায় ডেলিভারি চার্জ?", Some(("Khulna", Zone::Outside))),
            ("কুমিল্লায় কয়দিন লাগে", Some(("Cumilla", Zone::Outside))),
            ("khulnay delivery koto", Some(("Khulna", Zone::Outside))),
            ("sylhete pathaben?", Some(("Sylhet", Zone::Outside))),
            ("gazipure koto", Some(("Gazipur", Zone::Suburb))),
            ("savarer charge?", Some(("Savar", Zone::Suburb))),
            ("price koto?", None),
            ("red cotton saree", None),
        ];
        for (message, expected) in table {
            let got = zone(message);
            let want = expected.map(|(name, zone)| (name.to_owned(), zone));
            assert_eq!(got, want, "{message}");
        }
    }

    #[test]
    fn the_data_loads_every_district() {
        let districts = include_str!("gazetteer/bd_places.tsv")
            .lines()
            .filter(|line| line.starts_with("district\t"))
            .count();
        assert_eq!(districts, 64);
        assert!(GAZETTEER.names.len() > 1_500, "{}", GAZETTEER.names.len());
    }
}
