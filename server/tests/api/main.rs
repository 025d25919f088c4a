//! Integration tests: the real application on port 0 against a fresh
//! PostgreSQL database per test, spoken to over HTTP. One test binary, so
//! the crate graph is linked once.

#![allow(clippy::unwrap_used, reason = "a test that fails should fail loudly")]

mod helpers;

mod aborts;
mod accounts;
mod alerts;
mod backup;
mod bad_input;
mod catalog;
mod channels;
mod cleanup;
mod cli;
mod conversation_handling;
mod cross_owner;
mod customer_ids;
mod deletion;
mod faults;
mod graph;
mod headers;
mod health;
mod hierarchy;
mod hostile;
mod jobs;
mod llm;
mod log_leak;
mod mail;
mod metrics;
mod pages;
mod pipeline;
mod rls;
mod route_policy;
mod second_factor;
mod security;
mod sessions;
mod shop_import;
mod staff;
mod stripe;
mod typed_states;
mod webhooks;
