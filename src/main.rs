//! The browser entry Trunk builds: boots the Miniplane app into the page.
//! Natively there is nothing to run (the CLI is `src/bin/miniplane.rs`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    miniplane::ui::start();
}
