//! Embeds `style/` and `public/` into the binary under content-hashed names,
//! so they can be served with `Cache-Control: immutable` and a new deploy
//! never serves a stale stylesheet.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let root = manifest.parent().expect("app/ sits in the workspace").to_path_buf();
    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    for folder in ["style", "public"] {
        let base = root.join(folder);
        println!("cargo:rerun-if-changed={}", base.display());
        let mut files = Vec::new();
        collect(&base, &mut files);
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let bytes = std::fs::read(&file).expect("asset readable");
            let logical = file
                .strip_prefix(&base)
                .expect("under base")
                .to_string_lossy()
                .replace('\\', "/");
            let hash = format!("{:016x}", fnv1a64(&bytes));
            let hashed = match logical.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{}.{ext}", &hash[..12]),
                None => format!("{logical}.{}", &hash[..12]),
            };
            writeln!(
                code,
                "    Asset {{ name: {logical:?}, url: \"/assets/{hashed}\", content_type: {:?}, bytes: include_bytes!({:?}) }},",
                content_type(&file),
                file.display().to_string()
            )
            .expect("write to string");
        }
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this")).join("assets.rs");
    std::fs::write(out, code).expect("write generated assets");
}
