//! The stored names of the typed states.
//!
//! Each state that a column holds (a send's state, a channel's status, an
//! audit kind, …) is a Rust enum deriving `sqlx::Type` against a PostgreSQL
//! enum type of the same values (`migrations/20261207180000_typed_states.sql`),
//! and `serde` with the same snake_case names, so JSON, the CLI and pages show
//! what they showed when these were strings. [`named_enum!`] gives such an
//! enum its list of values, its name as text and the way back.
//! `server/tests/api/typed_states.rs` checks every list against the
//! database's own.

/// Implements `ALL`, `as_str`, `parse` and `Display` for a fieldless enum
/// from one table of variant and stored name.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order of the database type.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stored snake_case name (the same in the database, JSON and pages).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// The value named by [`Self::as_str`], or `None` for anything else.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;
