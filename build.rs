//! Rebuilds the library when a migration is added: `sqlx::migrate!` embeds
//! the folder's files at compile time, but cargo only notices changes to
//! files it already knows about.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
