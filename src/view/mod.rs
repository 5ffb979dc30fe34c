//! View models for the browser app, built from the engine and tested
//! natively: what the topology draws, the event log's rows, the editor's
//! highlighting and markers, terminal completion, editor templates, the
//! traffic chart, and the masking of Secret values.
//! The Yew components in `ui` only lay these out.

pub mod complete;
pub mod log;
pub mod secrets;
pub mod simplifications;
pub mod templates;
pub mod topology;
pub mod topology_model;
pub mod traffic;
pub mod yaml;
