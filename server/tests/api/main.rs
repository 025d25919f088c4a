//! Integration tests: the real application on port 0 against a fresh
//! PostgreSQL database per test, spoken to over HTTP. One test binary, so
//! the crate graph is linked once.

#![allow(clippy::unwrap_used, reason = "a test that fails should fail loudly")]

mod helpers;

mod accounts;
mod alerts;
mod backup;
mod catalog;
mod channels;
mod cli;
mod conversation_handling;
mod deletion;
mod faults;
mod graph;
mod headers;
mod health;
mod hierarchy;
mod jobs;
mod llm;
mod log_leak;
mod mail;
mod metrics;
mod pages;
mod pipeline;
mod rls;
mod second_factor;
mod security;
mod staff;
mod stripe;
mod webhooks;
