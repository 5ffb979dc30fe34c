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

fn set_input(id: &str, value: &str) {
    let input: web_sys::HtmlInputElement = by_test_id(id).expect("input").dyn_into().expect("input element");
    input.set_value(value);
    let event = web_sys::Event::new_with_event_init_dict("input", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .expect("event");
    input.dispatch_event(&event).expect("dispatch");
}

fn chart_totals() -> (u32, u32) {
    let columns = document().query_selector_all("[data-testid=\"traffic-column\"]").expect("columns");
    let (mut ok, mut failed) = (0, 0);
    for i in 0..columns.length() {
        let Some(el) = columns.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) else { continue };
        ok += el.get_attribute("data-ok").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        failed += el.get_attribute("data-failed").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    }
    (ok, failed)
}

#[wasm_bindgen_test]
async fn the_traffic_panel_starts_charts_and_stops_the_generator() {
    mount().await;
    let panel = by_test_id("traffic-panel").expect("traffic panel");
    assert_eq!(panel.get_attribute("data-running").as_deref(), Some("false"));
    // Nothing listens on this NodePort: every request is refused.
    set_input("traffic-url", "http://172.18.0.3:30999/");
    set_input("traffic-rate", "20");
    settle(50).await;
    by_test_id("traffic-start").expect("start button").click();
    settle(100).await;
    let panel = by_test_id("traffic-panel").expect("traffic panel");
    assert_eq!(panel.get_attribute("data-running").as_deref(), Some("true"));
    let speed: web_sys::HtmlSelectElement = by_test_id("speed").expect("speed").dyn_into().expect("select");
    speed.set_value("10");
    speed.dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    }).expect("event")).expect("dispatch");
    settle(1_500).await;
    let (ok, failed) = chart_totals();
    assert_eq!(ok, 0);
    assert!(failed >= 20, "the chart shows the refused requests: {failed}");
    let failed_text = by_test_id("traffic-failed").expect("failed count").text_content().unwrap_or_default();
    assert!(failed_text.ends_with("failed") && !failed_text.starts_with('0'), "{failed_text}");
    let last = by_test_id("traffic-last-failure").expect("last failure").text_content().unwrap_or_default();
    assert!(last.contains("connection refused"), "{last}");
    // The terminal shows the command the panel ran, as if typed.
    let output = by_test_id("terminal-output").expect("output").text_content().unwrap_or_default();
    assert!(output.contains("traffic start http://172.18.0.3:30999/ --rate 20/s"), "{output}");
    by_test_id("traffic-stop").expect("stop button").click();
    settle(100).await;
    let panel = by_test_id("traffic-panel").expect("traffic panel");
    assert_eq!(panel.get_attribute("data-running").as_deref(), Some("false"));
    let frozen = chart_totals();
    settle(500).await;
    assert_eq!(chart_totals(), frozen, "a stopped generator's chart holds still");
}
