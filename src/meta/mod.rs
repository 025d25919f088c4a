//! Meta (Facebook, Instagram, WhatsApp): signatures, the Graph API client.

pub mod graph;
pub mod signature;
pub mod signed_requests;
pub mod webhook;
