//! Component tests in headless Chromium:
//!   CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web
//! Natively this file is empty (the browser app only exists in wasm).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Lets Yew render and a few animation frames pass.
async fn settle(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("document")
}

fn by_test_id(id: &str) -> Option<web_sys::HtmlElement> {
    document().query_selector(&format!("[data-testid=\"{id}\"]")).ok().flatten().and_then(|e| e.dyn_into().ok())
}

async fn mount() {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.clear();
    }
    // One app at a time: an earlier test's app is taken off the page.
    document().body().expect("body").set_inner_html("");
    let root = document().create_element("div").expect("div");
    document().body().expect("body").append_child(&root).expect("append");
    yew::Renderer::<miniplane::ui::App>::with_root(root).render();
    settle(300).await;
}

#[wasm_bindgen_test]
async fn the_app_draws_the_cluster_and_its_switches_work() {
    mount().await;
    assert!(by_test_id("topology").is_some(), "topology panel");
    for node in ["control-plane", "worker-1", "worker-2", "worker-3"] {
        assert!(by_test_id(&format!("node-{node}")).is_some(), "node {node}");
        for c in ["kubelet", "kube-proxy", "node"] {
            assert!(by_test_id(&format!("component-{c}-{node}")).is_some(), "{c} of {node}");
        }
    }
    for id in ["yaml-editor", "apply-button", "event-log", "terminal-input", "terminal-output", "clock", "play-pause", "speed", "share-button", "share-link"] {
        assert!(by_test_id(id).is_some(), "{id} is on the page");
    }
    let scheduler = by_test_id("component-scheduler").expect("scheduler panel");
    assert_eq!(scheduler.get_attribute("data-state").as_deref(), Some("running"));
    by_test_id("stop-scheduler").expect("stop button").click();
    settle(100).await;
    let scheduler = by_test_id("component-scheduler").expect("scheduler panel");
    assert_eq!(scheduler.get_attribute("data-state").as_deref(), Some("stopped"));
    by_test_id("start-scheduler").expect("start button").click();
    settle(100).await;
    let scheduler = by_test_id("component-scheduler").expect("scheduler panel");
    assert_eq!(scheduler.get_attribute("data-state").as_deref(), Some("running"));

    // Copy link fills the link field with a scene link.
    by_test_id("share-button").expect("share").click();
    settle(100).await;
    let link: web_sys::HtmlInputElement = by_test_id("share-link").expect("link field").dyn_into().expect("input");
    assert!(link.value().contains("#scene="), "{}", link.value());

    // The terminal runs a line and shows its output.
    let input: web_sys::HtmlInputElement = by_test_id("terminal-input").expect("input").dyn_into().expect("input");
    input.set_value("kubectl version");
    let enter = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_bubbles(true);
        init
    })
    .expect("event");
    input.dispatch_event(&enter).expect("dispatch");
    settle(100).await;
    let output = by_test_id("terminal-output").expect("output").text_content().unwrap_or_default();
    assert!(output.contains("$ kubectl version"), "{output}");
}

#[wasm_bindgen_test]
async fn node_panels_partition_heal_and_restart_their_kubelet() {
    mount().await;
    assert!(by_test_id("slow-apiserver").is_some() && by_test_id("slow-etcd").is_some(), "latency choices");
    assert!(by_test_id("partitioned-worker-2").is_none());
    by_test_id("partition-worker-2").expect("partition button").click();
    settle(100).await;
    assert!(by_test_id("partitioned-worker-2").is_some(), "the badge shows the partition");
    assert!(by_test_id("partition-worker-2").is_none(), "Partition becomes Heal");
    by_test_id("heal-worker-2").expect("heal button").click();
    settle(100).await;
    assert!(by_test_id("partitioned-worker-2").is_none(), "healed");
    by_test_id("restart-kubelet-worker-2").expect("restart button").click();
    settle(100).await;
    let kubelet = by_test_id("component-kubelet-worker-2").expect("kubelet switch");
    assert_eq!(kubelet.get_attribute("data-state").as_deref(), Some("running"), "a restart leaves it running");
}
