//! Whole kubectl lines (shaped words, optional manifest on stdin) against a
//! running cluster; the cluster is rebuilt every 500 inputs.
#![no_main]
#[path = "common.rs"]
mod common;
use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::{self, NoFiles};

thread_local! {
    static CLUSTER: RefCell<Option<(Cluster, u32)>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(words) = common::kubectl_words(&mut u) else { return };
    let stdin = match u.ratio(1, 3) {
        Ok(true) => common::object(&mut u).ok().map(|o| serde_yaml::to_string(&o).unwrap_or_default()),
        _ => None,
    };
    CLUSTER.with(|c| {
        let mut slot = c.borrow_mut();
        if slot.as_ref().is_none_or(|(_, n)| *n >= 500) {
            *slot = Some((Cluster::new(Profile::new(ProfileKind::Minikube), 5), 0));
        }
        if let Some((cluster, n)) = slot.as_mut() {
            *n += 1;
            let _ = kubectl::run_words(cluster, words, stdin.as_deref(), &NoFiles);
        }
    });
});
