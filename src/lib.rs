//! BikriAgent's domain logic, store and clients.
//!
//! Everything that decides or talks to the database or the outside world lives
//! here, free of HTTP and of Leptos, so tests can drive it directly. The web
//! layer (`app/`, `server/`) only extracts, calls and maps.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod channels;
pub mod cleanup;
pub mod clock;
pub mod conversations;
pub mod converse;
pub mod crypto;
pub mod customer_ids;
pub mod db;
pub mod deletion;
pub mod ingest;
pub mod input;
pub mod jobs;
pub mod mail;
pub mod meta;
pub mod metrics;
mod names;
pub mod net;
pub mod orders;
pub mod owners;
pub mod pipeline;
pub mod processing;
pub mod ratelimit;
pub mod redact;
pub mod sending;
pub mod stripe;
pub mod tenancy;
