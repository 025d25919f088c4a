//! The message pipeline: risk triage, replies, sending.

pub mod classifier;
