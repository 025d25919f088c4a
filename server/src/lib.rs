//! The `bikriagent` binary's library: configuration, telemetry, the HTTP
//! router and the process lifecycle. Integration tests build the same
//! [`startup::Application`] the binary runs.

pub mod backup;
pub mod cli;
pub mod config;
pub mod fake_meta;
pub mod http;
pub mod serve;
pub mod startup;
pub mod telemetry;
