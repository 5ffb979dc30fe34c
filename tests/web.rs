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
async fn the_explanation_says_why_a_pod_waits_and_where_it_went() {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.clear();
    }
    let root = document().create_element("div").expect("div");
    document().body().expect("body").append_child(&root).expect("append");
    yew::Renderer::<miniplane::ui::App>::with_root(root.clone()).render();
    settle(300).await;
    // Only this app's elements (another test's app may share the page).
    let by_test_id = |id: &str| -> Option<web_sys::HtmlElement> {
        root.query_selector(&format!("[data-testid=\"{id}\"]")).ok().flatten().and_then(|e| e.dyn_into().ok())
    };
    let run = |line: &str| {
        let input: web_sys::HtmlInputElement = by_test_id("terminal-input").expect("input").dyn_into().expect("input");
        input.set_value(line);
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_bubbles(true);
        let enter = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
        input.dispatch_event(&enter).expect("dispatch");
    };
    for node in ["worker-1", "worker-2", "worker-3"] {
        run(&format!("kubectl cordon {node}"));
        settle(50).await;
    }
    run("kubectl run web --image=nginx");
    // The pending lane offers the explanation once the scheduler has tried.
    for _ in 0..50 {
        if by_test_id("explain-default-web").is_some() {
            break;
        }
        settle(100).await;
    }
    by_test_id("explain-default-web").expect("why? on the pending pod").click();
    settle(200).await;
    let table = by_test_id("explain-table").expect("the verdict table");
    let rows = table.query_selector_all("tr.explain-row").expect("rows");
    assert!(rows.length() > 0);
    assert!(table.query_selector("tr[data-feasible=\"true\"]").ok().flatten().is_none(), "no node fits");
    let hints = by_test_id("explain-hints").expect("hints").text_content().unwrap_or_default();
    assert!(hints.contains("kubectl uncordon worker-2"), "{hints}");
    assert!(hints.contains("node-role.kubernetes.io/control-plane:NoSchedule"), "{hints}");

    // Uncordon one worker: the pod goes there, and the open explanation follows.
    run("kubectl uncordon worker-2");
    for _ in 0..100 {
        if by_test_id("explain-chosen").is_some() {
            break;
        }
        settle(100).await;
    }
    let chosen = by_test_id("explain-chosen").expect("the choice");
    assert_eq!(chosen.get_attribute("data-node").as_deref(), Some("worker-2"));
    // Every node the table says passed really fits: only the uncordoned one.
    let table = by_test_id("explain-table").expect("the verdict table");
    let feasible = table.query_selector_all("tr[data-feasible=\"true\"]").expect("rows");
    assert_eq!(feasible.length(), 1);
    let row: web_sys::Element = feasible.item(0).expect("row").dyn_into().expect("element");
    assert_eq!(row.get_attribute("data-nodes").as_deref(), Some("worker-2"));
    assert_eq!(row.get_attribute("data-chosen").as_deref(), Some("true"));
    assert!(by_test_id("pod-default-web").is_some(), "its tile is on a node");
    by_test_id("close-explain").expect("close").click();
    settle(100).await;
    assert!(by_test_id("explain-table").is_none());
}
