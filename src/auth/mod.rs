//! Accounts and authentication: identities, passwords, tokens, sessions
//! policy, second factors, and who may act on whom. Pure modules
//! (`identity`, `password_policy`, `totp`, `second_factor`, the
//! `authority` decider) take plain values and return plain values.

pub mod access;
pub mod accounts;
pub mod authority;
pub mod hashing;
pub mod identity;
pub mod password_policy;
pub mod second_factor;
pub mod session_store;
pub mod sessions;
pub mod staff;
pub mod tokens;
pub mod totp;
