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

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

async fn mount() {
    if let Some(storage) = storage() {
        let _ = storage.clear();
    }
    mount_keeping_storage().await;
}

thread_local! {
    /// The apps mounted so far: each is destroyed before the next mounts, so
    /// no earlier app keeps running and autosaving over the next one's scene.
    static APPS: std::cell::RefCell<Vec<yew::AppHandle<miniplane::ui::App>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn keep_app(handle: yew::AppHandle<miniplane::ui::App>) {
    APPS.with(|apps| apps.borrow_mut().push(handle));
}

/// Mounts a fresh app (the earlier one destroyed, its elements removed) over whatever is stored.
async fn mount_keeping_storage() {
    for app in APPS.with(|apps| std::mem::take(&mut *apps.borrow_mut())) {
        app.destroy();
    }
    // Earlier apps' roots go (the test runner's own elements stay).
    let roots = document().query_selector_all(".test-root").expect("query");
    for i in 0..roots.length() {
        if let Some(node) = roots.item(i) {
            if let Some(parent) = node.parent_node() {
                let _ = parent.remove_child(&node);
            }
        }
    }
    let root = document().create_element("div").expect("div");
    root.set_class_name("test-root");
    document().body().expect("body").append_child(&root).expect("append");
    keep_app(yew::Renderer::<miniplane::ui::App>::with_root(root).render());
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
    // The page says where the simulation simplifies, in the README's words.
    let simplifications = by_test_id("simplifications").expect("the simplifications");
    assert_eq!(simplifications.query_selector_all("li").map(|l| l.length()).unwrap_or(0) as usize, miniplane::view::simplifications::TEXT.lines().filter(|l| l.starts_with("- ")).count());
    assert!(simplifications.text_content().unwrap_or_default().contains("Pod Security's audit level"));
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

#[wasm_bindgen_test]
async fn a_big_cluster_is_an_overview_with_a_map_a_summary_and_search() {
    // The bench page builds a 20-worker cluster with 100 pods: past 12 nodes, the overview.
    let history = web_sys::window().expect("window").history().expect("history");
    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("?bench=20x100&frames=10")).expect("address");
    let root = document().create_element("div").expect("div");
    // Removed by the next mount, as the other tests' apps are.
    root.set_class_name("test-root");
    document().body().expect("body").append_child(&root).expect("append");
    keep_app(yew::Renderer::<miniplane::ui::App>::with_root(root.clone()).render());
    settle(300).await;
    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("?")).expect("address");
    // Only this app's elements (another test's app may share the page).
    let by_test_id = |id: &str| -> Option<web_sys::HtmlElement> {
        root.query_selector(&format!("[data-testid=\"{id}\"]")).ok().flatten().and_then(|e| e.dyn_into().ok())
    };
    for _ in 0..100 {
        if by_test_id("node-map").is_some_and(|m| m.get_attribute("data-nodes").as_deref() == Some("21")) {
            break;
        }
        settle(100).await;
    }
    let map = by_test_id("node-map").expect("the node map");
    assert_eq!(map.get_attribute("data-nodes").as_deref(), Some("21"), "the control plane and 20 workers");
    assert!(by_test_id("pending-lane").is_some());
    assert!(by_test_id("node-worker-3").is_none(), "no cards until a node is opened");

    let search: web_sys::HtmlInputElement = by_test_id("topology-search").expect("search").dyn_into().expect("input");
    search.set_value("load-00042");
    search.dispatch_event(&web_sys::InputEvent::new("input").expect("event")).expect("dispatch");
    settle(100).await;
    let hit = by_test_id("search-hit-pod-default-load-00042").expect("the pod is found");
    hit.click();
    settle(200).await;
    // load-00042 sits on worker-3 (42 % 20 + 1): its card opens, with the pod on it.
    assert!(by_test_id("zoomed-node").is_some());
    assert!(by_test_id("node-worker-3").is_some(), "worker-3's card");
    assert!(by_test_id("pod-default-load-00042").is_some(), "its tile");
    by_test_id("back-to-map").expect("back").click();
    settle(100).await;
    assert!(by_test_id("node-worker-3").is_none());
}

fn press_enter(input: &web_sys::HtmlInputElement) {
    let enter = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &{
        let init = web_sys::KeyboardEventInit::new();
        init.set_key("Enter");
        init.set_bubbles(true);
        init
    })
    .expect("event");
    input.dispatch_event(&enter).expect("dispatch");
}

async fn type_line(line: &str) {
    let input: web_sys::HtmlInputElement = by_test_id("terminal-input").expect("input").dyn_into().expect("input");
    input.set_value(line);
    input.dispatch_event(&web_sys::InputEvent::new("input").expect("input event")).expect("dispatch input");
    press_enter(&input);
    settle(150).await;
}

fn state_of(id: &str) -> Option<String> {
    by_test_id(id).and_then(|e| e.get_attribute("data-state"))
}

fn check_holds() -> Option<String> {
    by_test_id("lesson-check").and_then(|e| e.get_attribute("data-holds"))
}

#[wasm_bindgen_test]
async fn a_lesson_is_picked_followed_and_checked() {
    mount().await;
    by_test_id("lessons").expect("the Lessons button").click();
    settle(100).await;
    assert!(by_test_id("lesson-picker").is_some(), "the picker opens");
    for id in [
        "pod-life-cycle", "replicaset-heals", "rolling-update", "orphans-and-adoption", "node-power-off", "probes", "scheduling", "apiserver-down",
        "statefulset-claims", "daemonset", "jobs-and-cronjobs", "configmaps-and-secrets", "pageview-activity",
        "hpa-walkthrough",
    ] {
        assert!(by_test_id(&format!("lesson-{id}")).is_some(), "lesson-{id} is listed");
    }
    by_test_id("lesson-apiserver-down").expect("card").click();
    settle(300).await;
    assert!(by_test_id("lesson-picker").is_none(), "the picker closes");
    let panel = by_test_id("lesson-panel").expect("the lesson panel");
    assert_eq!(panel.get_attribute("data-lesson").as_deref(), Some("apiserver-down"));
    assert_eq!(state_of("lesson-step-1").as_deref(), Some("current"));
    assert_eq!(state_of("lesson-step-2").as_deref(), Some("pending"));
    assert_eq!(check_holds().as_deref(), Some("false"));
    // The setup ran: the web Deployment's pods exist.
    type_line("kubectl get deploy web").await;
    let output = by_test_id("terminal-output").expect("output").text_content().unwrap_or_default();
    assert!(output.contains("web "), "{output}");

    // A hint, then a wrong attempt: kubectl works, so the check does not hold.
    by_test_id("lesson-hint").expect("hint button").click();
    settle(100).await;
    assert!(by_test_id("lesson-hint-text").is_some(), "the hint shows");
    type_line("kubectl get pods").await;
    settle(300).await;
    assert_eq!(check_holds().as_deref(), Some("false"));
    assert_eq!(state_of("lesson-step-1").as_deref(), Some("current"));

    // A command in the lesson's text copies into the terminal's prompt.
    let panel = by_test_id("lesson-panel").expect("the lesson panel");
    let command = panel.query_selector("[data-testid=\"lesson-command\"]").ok().flatten().expect("a command button");
    command.dyn_ref::<web_sys::HtmlElement>().expect("element").click();
    settle(100).await;
    let input: web_sys::HtmlInputElement = by_test_id("terminal-input").expect("input").dyn_into().expect("input");
    assert_eq!(input.value(), "kubectl get pods");

    // The right answer: the step passes and the next one begins.
    type_line("stop apiserver").await;
    type_line("kubectl get pods").await;
    settle(400).await;
    assert_eq!(state_of("lesson-step-1").as_deref(), Some("passed"), "step 1 passes");
    assert_eq!(state_of("lesson-step-2").as_deref(), Some("current"));
    let scheduler_state = by_test_id("component-apiserver").and_then(|e| e.get_attribute("data-state"));
    assert_eq!(scheduler_state.as_deref(), Some("stopped"));

    // Show me runs the solution in the terminal, and the step passes.
    by_test_id("lesson-solve").expect("show me").click();
    settle(2_500).await;
    let output = by_test_id("terminal-output").expect("output").text_content().unwrap_or_default();
    assert!(output.contains("$ kubectl scale deployment web --replicas=5"), "{output}");
    assert_eq!(state_of("lesson-step-2").as_deref(), Some("passed"));

    // Progress survives a new page over the same storage.
    mount_keeping_storage().await;
    // The scene is rebuilt first (an unoptimised build replays slowly).
    for _ in 0..100 {
        if state_of("lesson-step-2").as_deref() == Some("passed") {
            break;
        }
        settle(200).await;
    }
    let banner = by_test_id("banner").and_then(|b| b.text_content());
    assert_eq!(state_of("lesson-step-2").as_deref(), Some("passed"), "progress is restored; step 1: {:?}, banner: {banner:?}, replaying: {}", state_of("lesson-step-1"), by_test_id("replay-progress").is_some());
    assert_eq!(state_of("lesson-step-3").as_deref(), Some("current"));
}

#[wasm_bindgen_test]
async fn damaged_stored_state_is_a_message_not_a_panic() {
    mount().await;
    let storage = storage().expect("storage");
    storage.set_item("miniplane.scene", "scene=%%%not-a-scene").expect("set");
    storage.set_item("miniplane.lessons.done", "{\"not\": \"a list\"}").expect("set");
    mount_keeping_storage().await;
    let banner = by_test_id("banner").expect("a banner").text_content().unwrap_or_default();
    assert!(banner.contains("could not be opened") || banner.contains("damaged"), "{banner}");
    assert!(by_test_id("topology").is_some(), "the page still works");
}

#[wasm_bindgen_test]
async fn a_custom_lesson_with_a_mistake_names_its_line() {
    mount().await;
    by_test_id("lessons").expect("Lessons").click();
    settle(100).await;
    let text: web_sys::HtmlTextAreaElement = by_test_id("lesson-custom-text").expect("textarea").dyn_into().expect("textarea");
    text.set_value("---\ntitle: Mine\nsummary: S\n---\n## Stop it\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler sleeping\n```\n");
    text.dispatch_event(&web_sys::InputEvent::new("input").expect("event")).expect("dispatch");
    settle(50).await;
    by_test_id("lesson-custom-open").expect("open").click();
    settle(100).await;
    let error = by_test_id("lesson-error").expect("an error").text_content().unwrap_or_default();
    assert!(error.contains("line 10"), "{error}");
    assert!(by_test_id("lesson-panel").is_none());
    // Fixed, it opens.
    text.set_value("---\ntitle: Mine\nsummary: S\n---\n## Stop it\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\n```\n");
    text.dispatch_event(&web_sys::InputEvent::new("input").expect("event")).expect("dispatch");
    settle(50).await;
    by_test_id("lesson-custom-open").expect("open").click();
    settle(300).await;
    assert!(by_test_id("lesson-panel").is_some(), "the custom lesson opens");
    by_test_id("stop-scheduler").expect("switch").click();
    settle(500).await;
    assert!(by_test_id("lesson-done").is_some(), "a one-step lesson completes");
}

fn terminal_text() -> String {
    by_test_id("terminal-output").and_then(|e| e.text_content()).unwrap_or_default()
}

fn prompt() -> String {
    by_test_id("terminal-prompt").and_then(|e| e.text_content()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn exec_it_opens_an_interactive_shell_in_the_terminal() {
    mount().await;
    type_line("kubectl run shell --image=busybox:1.37 -- sleep 3600").await;
    // The clock runs at 1x: the image pull and start take a few virtual seconds.
    let mut running = false;
    for _ in 0..80 {
        settle(250).await;
        type_line("kubectl get pod shell --no-headers").await;
        if terminal_text().contains("Running") {
            running = true;
            break;
        }
    }
    assert!(running, "the pod runs: {}", terminal_text());
    type_line("kubectl exec -it shell -- sh").await;
    assert_eq!(prompt(), "/ # ", "busybox's shell prompt");
    type_line("cd /tmp && echo hello > note && cat note").await;
    assert_eq!(prompt(), "/tmp # ", "the prompt follows cd");
    assert!(terminal_text().contains("/ # cd /tmp && echo hello > note && cat note"), "{}", terminal_text());
    assert!(terminal_text().contains("hello"), "{}", terminal_text());
    type_line("bash").await;
    assert!(terminal_text().contains("sh: bash: not found"), "{}", terminal_text());
    type_line("exit").await;
    assert_eq!(prompt(), "$", "back at kubectl");
    type_line("kubectl exec shell -- cat /tmp/note").await;
    assert!(terminal_text().ends_with("hello\n") || terminal_text().contains("$ kubectl exec shell -- cat /tmp/notehello"), "{}", terminal_text());
    // The Kubernetes Basics tutorial's line: the pod's name in a variable.
    type_line("export POD_NAME=shell").await;
    type_line("kubectl exec -ti $POD_NAME -- sh").await;
    assert_eq!(prompt(), "/ # ", "a terminal through the variable too: {}", terminal_text());
    type_line("exit").await;
    assert_eq!(prompt(), "$", "back at kubectl");
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

#[wasm_bindgen_test]
async fn an_embedded_lesson_has_the_traffic_panel_in_a_tab() {
    if let Some(storage) = storage() {
        let _ = storage.clear();
    }
    let history = web_sys::window().expect("window").history().expect("history");
    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("?embed=1&lesson=pageview-activity")).expect("address");
    mount_keeping_storage().await;
    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("?")).expect("address");
    for _ in 0..50 {
        if by_test_id("lesson-panel").is_some() {
            break;
        }
        settle(100).await;
    }
    let panel = by_test_id("lesson-panel").expect("the lesson panel");
    assert_eq!(panel.get_attribute("data-lesson").as_deref(), Some("pageview-activity"));
    assert!(by_test_id("event-log").is_none(), "embed is compact");
    let hidden = |id: &str| by_test_id(id).and_then(|e| e.closest(".embed-tab").ok().flatten()).is_some_and(|t| t.class_list().contains("hidden"));
    assert!(hidden("traffic-panel"), "the terminal's tab shows first");
    by_test_id("tab-traffic").expect("the traffic tab").click();
    settle(100).await;
    assert!(!hidden("traffic-panel"), "the traffic tab shows the panel");
    assert!(hidden("terminal-input"));
    by_test_id("tab-terminal").expect("the terminal tab").click();
    settle(100).await;
    assert!(!hidden("terminal-input"));
}

#[wasm_bindgen_test]
async fn the_explanation_says_why_a_pod_waits_and_where_it_went() {
    mount().await;
    for node in ["worker-1", "worker-2", "worker-3"] {
        type_line(&format!("kubectl cordon {node}")).await;
    }
    type_line("kubectl run web --image=nginx").await;
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

    // The terminal prints the same explanation.
    type_line("explain pod/web").await;
    let output = by_test_id("terminal-output").expect("output").text_content().unwrap_or_default();
    assert!(output.contains("NodeUnschedulable: node(s) were unschedulable"), "{output}");

    // Uncordon one worker: the pod goes there, and the open explanation follows.
    type_line("kubectl uncordon worker-2").await;
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
