//! Static assets from `style/` and `public/`, embedded at build time under
//! content-hashed URLs (see `build.rs`).

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path below `style/` or `public/`, e.g. `main.css`.
    pub name: &'static str,
    /// The hashed URL it is served at, e.g. `/assets/main.1a2b3c4d5e6f.css`.
    pub url: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The hashed URL of the asset named `name`.
///
/// An unknown name gives a URL that answers 404, which the page tests catch:
/// a typo in an asset name is a programming error, not user input.
pub fn url(name: &str) -> &'static str {
    by_name(name).map(|a| a.url).unwrap_or("/assets/missing")
}

pub fn by_name(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The asset served at `path` (the full `/assets/…` path).
pub fn by_url(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.url == path)
}
