//! The message pipeline: risk triage, replies, sending.
//!
//! The deciding parts are pure: [`classifier`] (risk and language),
//! [`engine`] (the embedded catalog-grounded reply engine and order capture),
//! [`safety`] (the filter every outgoing reply passes) and [`gates`] (whether
//! an automatic send may happen now), and [`decision`], which puts the first
//! three together for one message. They take a [`grounding::Grounding`] and
//! plain values; the store modules load those and act on the outcome.

pub mod classifier;
pub mod decision;
pub mod engine;
pub mod gates;
pub mod gazetteer;
pub mod grounding;
pub mod llm;
pub mod risk_model;
pub mod risk_training;
pub mod safety;
pub mod text;
pub mod understanding;
