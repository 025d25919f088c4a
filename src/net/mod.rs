//! Outbound HTTP with SSRF protection, and bot verification.

pub mod safe_fetch;
pub mod turnstile;
