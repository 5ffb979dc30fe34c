//! Miniplane: a whole Kubernetes 1.33 cluster that runs in a browser tab.
//!
//! `engine` is the cluster itself, deterministic and free of any browser
//! dependency, tested natively. `ui` (wasm only) is the Yew app around it.

pub mod engine;

#[cfg(target_arch = "wasm32")]
pub mod ui;

/// View models for the browser app, natively testable.
pub mod view;
/// Scenes: record, share and replay what the user did.
pub mod scene;
/// Lessons: guided, self-checking exercises (the `lessons/` folder).
pub mod lesson;
