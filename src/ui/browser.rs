//! The few things the app asks of the browser: storage, the address, the
//! clipboard, the theme, timing. Every call tolerates a missing API
//! (private windows, blocked storage) by doing nothing.

use wasm_bindgen::{JsCast, JsValue};
use yew::Callback;

const THEME_KEY: &str = "miniplane.theme";
const DONE_KEY: &str = "miniplane.lessons.done";
const LARGE_KEY: &str = "miniplane.large";

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn storage() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

pub fn now_ms() -> f64 {
    window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

pub fn store_scene(key: &str, fragment: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, fragment);
    }
}

pub fn load_scene(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn clear_scene(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// The fragment the page was opened with, if it is meant for us; the
/// address bar is then cleared of it, so a reload restores the autosave
/// (which goes on from the link) rather than the link again.
pub fn take_fragment() -> Option<String> {
    let w = window()?;
    let hash = w.location().hash().ok()?;
    let hash = hash.strip_prefix('#').unwrap_or(&hash).to_string();
    if hash.is_empty() {
        return None;
    }
    if let Ok(history) = w.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&page_address()));
    }
    Some(hash)
}

/// The page's address without fragment (query kept).
pub fn page_address() -> String {
    let Some(w) = window() else { return String::new() };
    let loc = w.location();
    format!("{}{}{}", loc.origin().unwrap_or_default(), loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default())
}

/// The value of `?name=value` in the page's address (`Some("")` for a bare `?name`).
fn query_value(name: &str) -> Option<String> {
    let search = window()?.location().search().ok()?;
    let query = search.strip_prefix('?')?;
    query.split('&').find_map(|kv| match kv.split_once('=') {
        Some((k, v)) if k == name => Some(js_sys::decode_uri_component(v).ok().and_then(|v| v.as_string()).unwrap_or_else(|| v.to_string())),
        None if kv == name => Some(String::new()),
        _ => None,
    })
}

/// `?embed=1`: the compact layout for iframes.
pub fn embed_request() -> bool {
    query_value("embed").is_some_and(|v| v != "0" && v != "false")
}

/// `?lesson=ID`.
pub fn lesson_query() -> Option<String> {
    query_value("lesson").filter(|v| !v.is_empty())
}

/// The ids of the built-in lessons finished in this browser. Stored text
/// that is not a short list of short ids is reported and forgotten.
pub fn load_done_lessons() -> Result<Vec<String>, String> {
    let Some(text) = storage().and_then(|s| s.get_item(DONE_KEY).ok().flatten()) else { return Ok(Vec::new()) };
    let parsed: Result<Vec<String>, _> = serde_json::from_str(&text);
    match parsed {
        Ok(ids) if ids.len() <= 500 && ids.iter().all(|i| i.len() <= 64) => Ok(ids),
        _ => {
            if let Some(s) = storage() {
                let _ = s.remove_item(DONE_KEY);
            }
            Err("The record of finished lessons in this browser was damaged and has been cleared.".into())
        }
    }
}

pub fn store_done_lessons(ids: &[String]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(ids)) {
        let _ = s.set_item(DONE_KEY, &json);
    }
}

/// Large type for projectors, remembered in this browser.
pub fn initial_large_text() -> bool {
    storage().and_then(|s| s.get_item(LARGE_KEY).ok().flatten()).is_some_and(|v| v == "1")
}

pub fn apply_large_text(large: bool) {
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        if large {
            let _ = root.set_attribute("data-size", "large");
        } else {
            let _ = root.remove_attribute("data-size");
        }
    }
    if let Some(s) = storage() {
        let _ = s.set_item(LARGE_KEY, if large { "1" } else { "0" });
    }
}

/// Whether the page runs inside a frame (so it has a host to tell things).
fn framed() -> bool {
    let Some(w) = window() else { return false };
    match w.parent() {
        Ok(Some(parent)) => !js_sys::Object::is(&parent, &w),
        _ => false,
    }
}

/// Posts `{type, ...fields}` to the page that frames this one (embed API).
pub fn post_to_host(kind: &str, fields: &[(&str, JsValue)]) {
    if !framed() {
        return;
    }
    let Some(parent) = window().and_then(|w| w.parent().ok().flatten()) else { return };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &JsValue::from_str("type"), &JsValue::from_str(kind));
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&message, &JsValue::from_str(k), v);
    }
    let _ = parent.post_message(&message, "*");
}

/// A request from the host page (embed API).
#[derive(Clone, Debug, PartialEq)]
pub enum HostRequest {
    /// `{type: "miniplane:run", line}`: run a terminal line.
    Run(String),
    /// `{type: "miniplane:get-progress"}`.
    GetProgress,
    /// `{type: "miniplane:open-lesson", id}`.
    OpenLesson(String),
}

/// Listens for `message` events from the host page; other messages are ignored.
pub fn listen_host(callback: Callback<HostRequest>) {
    let Some(w) = window() else { return };
    let listener = gloo::events::EventListener::new(&w, "message", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() else { return };
        let data = event.data();
        let field = |name: &str| js_sys::Reflect::get(&data, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
        let request = match field("type").as_deref() {
            Some("miniplane:run") => field("line").filter(|l| l.len() <= crate::scene::MAX_TEXT_BYTES).map(HostRequest::Run),
            Some("miniplane:get-progress") => Some(HostRequest::GetProgress),
            Some("miniplane:open-lesson") => field("id").map(HostRequest::OpenLesson),
            _ => None,
        };
        if let Some(r) = request {
            callback.emit(r);
        }
    });
    listener.forget();
}

/// What `?bench` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchRequest {
    pub workers: usize,
    pub pods: usize,
    /// `&speed=60`; 10× unless asked.
    pub speed: u32,
    /// `&frames=120`: frames measured after 30 of warm-up; 300 unless asked.
    pub frames: usize,
}

/// `?bench` or `?bench=WORKERSxPODS` (default 100×2000), with `&speed=` and `&frames=`.
pub fn bench_request() -> Option<BenchRequest> {
    let search = window()?.location().search().ok()?;
    let query = search.strip_prefix('?')?;
    let param = |name: &str| {
        query.split('&').find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v.to_string()),
            None if kv == name => Some(String::new()),
            _ => None,
        })
    };
    let value = param("bench")?;
    let (workers, pods) = value.split_once('x').and_then(|(w, p)| Some((w.parse().ok()?, p.parse().ok()?))).unwrap_or((100, 2000));
    let speed = param("speed").and_then(|s| s.parse().ok()).filter(|s| crate::ui::SPEEDS.contains(s)).unwrap_or(10);
    let frames = param("frames").and_then(|s| s.parse().ok()).unwrap_or(300usize).clamp(10, 10_000);
    Some(BenchRequest { workers: usize::clamp(workers, 1, crate::scene::MAX_BENCH_NODES), pods: usize::min(pods, crate::scene::MAX_BENCH_PODS), speed, frames })
}

/// Bytes of the wasm linear memory (it only grows).
pub fn wasm_memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

/// Bytes of the JavaScript heap in use, where the browser tells (Chromium).
pub fn js_heap_bytes() -> f64 {
    let Some(perf) = window().and_then(|w| w.performance()) else { return 0.0 };
    js_sys::Reflect::get(&perf, &JsValue::from_str("memory"))
        .ok()
        .and_then(|m| js_sys::Reflect::get(&m, &JsValue::from_str("usedJSHeapSize")).ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Writes the bench figures where scripts read them: the console, a
/// `data-bench` attribute on `<html>` and a `bench-report` element.
pub fn report_bench(json: &str) {
    web_sys::console::log_1(&JsValue::from_str(&format!("miniplane-bench {json}")));
    if let Some(doc) = window().and_then(|w| w.document()) {
        if let Some(root) = doc.document_element() {
            let _ = root.set_attribute("data-bench", json);
        }
        if let (Ok(el), Some(body)) = (doc.create_element("pre"), doc.body()) {
            let _ = el.set_attribute("data-testid", "bench-report");
            let _ = el.set_attribute("class", "bench-report");
            el.set_text_content(Some(json));
            let _ = body.append_child(&el);
        }
    }
}

thread_local! {
    /// For `?bench`: what the page did after a switch, as (what, when) marks.
    static TRACE: std::cell::RefCell<Option<Vec<(&'static str, f64)>>> = const { std::cell::RefCell::new(None) };
}

/// Starts marking what the page does after a switch (`?bench` only).
pub fn trace_start() {
    TRACE.with(|t| *t.borrow_mut() = Some(vec![("switch", now_ms())]));
}

/// Marks a step (a component drawn, an effect, a frame) while a trace runs.
pub fn mark(what: &'static str) {
    TRACE.with(|t| {
        if let Some(marks) = t.borrow_mut().as_mut() {
            if marks.len() < 400 {
                marks.push((what, now_ms()));
            }
        }
    });
}

/// Ends the trace and puts it on `<html data-bench-switch>`: marks and
/// their wall times (`performance.now()`).
pub fn trace_end() {
    let Some(marks) = TRACE.with(|t| t.borrow_mut().take()) else { return };
    let mut json = String::from("[");
    for (i, (what, at)) in marks.iter().enumerate() {
        json.push_str(&format!("{}[\"{what}\",{at:.2}]", if i > 0 { "," } else { "" }));
    }
    json.push(']');
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-bench-switch", &json);
    }
}

/// What the page did after its frame report, while a script clicks.
pub fn report_bench_after(json: &str) {
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-bench-after", json);
    }
}

pub fn report_bench_progress(text: &str) {
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-bench-progress", text);
    }
}

/// Milliseconds from navigation start to the app's first render, on `<html data-first-render-ms>`.
pub fn report_first_render() {
    let ms = now_ms();
    web_sys::console::log_1(&JsValue::from_str(&format!("miniplane-first-render-ms {ms:.1}")));
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-first-render-ms", &format!("{ms:.1}"));
    }
}

pub fn initial_dark_theme() -> bool {
    if let Some(saved) = storage().and_then(|s| s.get_item(THEME_KEY).ok().flatten()) {
        return saved == "dark";
    }
    window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .map(|m| m.matches())
        .unwrap_or(false)
}

pub fn apply_theme(dark: bool) {
    if let Some(root) = window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

pub fn store_theme(dark: bool) {
    if let Some(s) = storage() {
        let _ = s.set_item(THEME_KEY, if dark { "dark" } else { "light" });
    }
}

/// Copies through the async Clipboard API where the page may; the link
/// field shows the link either way.
pub fn copy_to_clipboard(text: &str) {
    let Some(w) = window() else { return };
    let clipboard = js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("clipboard")).ok();
    let Some(clipboard) = clipboard.filter(|c| !c.is_undefined() && !c.is_null()) else { return };
    if let Ok(write) = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")) {
        if let Some(f) = write.dyn_ref::<js_sys::Function>() {
            if let Ok(promise) = f.call1(&clipboard, &JsValue::from_str(text)) {
                // A refusal (no focus, no permission) is not an error for us.
                if let Ok(p) = promise.dyn_into::<js_sys::Promise>() {
                    let noop = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(|_| {});
                    let _ = p.catch(&noop);
                    noop.forget();
                }
            }
        }
    }
}

pub fn focus_test_id(test_id: &str) {
    let Some(doc) = window().and_then(|w| w.document()) else { return };
    if let Ok(Some(el)) = doc.query_selector(&format!("[data-testid=\"{test_id}\"]")) {
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// Inserts text at the caret of the focused field keeping the browser's
/// undo history (execCommand), or by `setRangeText` where that is refused.
pub fn insert_text(field: &web_sys::HtmlTextAreaElement, text: &str) {
    let done = window()
        .and_then(|w| w.document())
        .and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok())
        .and_then(|d| d.exec_command_with_show_ui_and_value("insertText", false, text).ok())
        .unwrap_or(false);
    if !done {
        let start = field.selection_start().ok().flatten().unwrap_or(0);
        let end = field.selection_end().ok().flatten().unwrap_or(start);
        let _ = field.set_range_text_with_start_and_end_and_mode(text, start, end, "end");
        if let Ok(event) = web_sys::Event::new("input") {
            let _ = field.dispatch_event(&event);
        }
    }
}

/// Keys typed outside any field (Space: play/pause, `.`: step, Esc: close).
pub fn listen_global_keys(callback: Callback<web_sys::KeyboardEvent>) {
    let Some(doc) = window().and_then(|w| w.document()) else { return };
    let listener = gloo::events::EventListener::new(&doc, "keydown", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::KeyboardEvent>() else { return };
        if event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let in_field = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT" | "BUTTON"))
            .unwrap_or(false);
        if in_field && event.key() != "Escape" {
            return;
        }
        if matches!(event.key().as_str(), " " | ".") {
            event.prevent_default();
        }
        callback.emit(event.clone());
    });
    // The app lives as long as the page.
    listener.forget();
}
