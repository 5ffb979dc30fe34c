//! The cluster as panels: the control plane with its switches, the lane of
//! pods no node has taken, and every node with its pods as tiles.
//! Node panels are memoised on their view data, so a frame only redraws
//! the nodes that changed; big nodes show their first tiles until opened.
//!
//! Past [`MAP_ABOVE_NODES`] nodes the cards give way to an overview: the
//! nodes as a dense map (a canvas) coloured by state and fullness, the
//! Pending lane summarised by reason, a search by name or label, and one
//! node's card at a time, opened from the map or the search.

use std::rc::Rc;

use yew::prelude::*;

use super::details::Selection;
use super::node_map::NodeMap;
use crate::view::topology::{format_bytes, format_cpu, ComponentView, NodeView, PendingGroup, PodView, Readiness, SearchHit, SearchResults, TopologyView};

/// Tiles a node shows before "+N more".
const TILES_SHOWN: usize = 40;
/// Past this many pods in the cluster, tiles become compact squares.
const COMPACT_ABOVE: usize = 150;
/// Past this many nodes, the topology is a map rather than cards.
pub const MAP_ABOVE_NODES: usize = 12;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<TopologyView>,
    /// (component, run)
    pub on_switch: Callback<(String, bool)>,
    pub on_select: Callback<Selection>,
    /// Opens the scheduler's explanation of a pod.
    pub on_explain: Callback<Selection>,
    pub selected: Option<Selection>,
    /// A fault as a script line (`partition node/worker-1`).
    pub on_fault: Callback<String>,
    /// What the search box found (big clusters).
    #[prop_or_default]
    pub search: Rc<SearchResults>,
    #[prop_or_default]
    pub on_search: Callback<String>,
}

#[function_component]
pub fn Topology(props: &Props) -> Html {
    super::browser::mark("topology");
    let zoomed = use_state(|| None::<String>);
    // Made once, so the map and the search are not redrawn for a new callback.
    let zoom = use_callback(zoomed.setter(), |name: Option<String>, set| set.set(name));
    if props.view.nodes.len() > MAP_ABOVE_NODES {
        return overview(props, zoomed, zoom);
    }
    let view = &props.view;
    let compact = view.pod_count > COMPACT_ABOVE;
    let ready = view.nodes.iter().filter(|n| n.readiness == Readiness::Ready).count();
    html! {
        <div class="topology" data-testid="topology" data-compact={compact.to_string()}>
            <div class="pane-title">
                <h2>{"Cluster"}</h2>
                <span class="muted">{ format!("{} nodes ({} Ready) · {} pods", view.nodes.len(), ready, view.pod_count) }</span>
            </div>
            <div class="control-plane" aria-label="Control plane">
                <h3>{"Control plane"}</h3>
                <div class="cp-components">
                    { for view.control_plane.iter().map(|c| html! {
                        <ComponentCard key={c.name.clone()} component={c.clone()} on_switch={props.on_switch.clone()} />
                    }) }
                </div>
                <super::faults::Slowness apiserver_ms={view.apiserver_slow_ms} etcd_ms={view.etcd_slow_ms} on_fault={props.on_fault.clone()} />
            </div>
            <PendingLane pods={view.unscheduled.clone()} compact={compact} on_select={props.on_select.clone()} on_explain={props.on_explain.clone()} />
            <div class="nodes">
                { for view.nodes.iter().map(|n| html! {
                    <NodePanel key={n.name.clone()} node={n.clone()} compact={compact}
                        on_switch={props.on_switch.clone()} on_select={props.on_select.clone()} on_fault={props.on_fault.clone()} />
                }) }
            </div>
        </div>
    }
}

/// A big cluster: summaries, a map and one node at a time.
fn overview(props: &Props, zoomed: UseStateHandle<Option<String>>, zoom: Callback<Option<String>>) -> Html {
    let view = &props.view;
    let ready = view.nodes.iter().filter(|n| n.readiness == Readiness::Ready).count();
    let opened = zoomed.as_ref().and_then(|name| view.nodes.iter().find(|n| &n.name == name)).cloned();
    html! {
        <div class="topology overview" data-testid="topology" data-compact="true" data-mode="map">
            <div class="pane-title">
                <h2>{"Cluster"}</h2>
                <span class="muted">{ format!("{} nodes ({} Ready) · {} pods", view.nodes.len(), ready, view.pod_count) }</span>
            </div>
            <div class="control-plane" aria-label="Control plane">
                <h3>{"Control plane"}</h3>
                <div class="cp-components">
                    { for view.control_plane.iter().map(|c| html! {
                        <ComponentCard key={c.name.clone()} component={c.clone()} on_switch={props.on_switch.clone()} />
                    }) }
                </div>
                <super::faults::Slowness apiserver_ms={view.apiserver_slow_ms} etcd_ms={view.etcd_slow_ms} on_fault={props.on_fault.clone()} />
            </div>
            <PendingSummary groups={view.pending_groups.clone()} count={view.unscheduled_count} on_select={props.on_select.clone()} on_explain={props.on_explain.clone()} />
            <Search results={props.search.clone()} on_search={props.on_search.clone()} on_zoom={zoom.clone()} on_select={props.on_select.clone()} />
            <NodeMap view={view.clone()} zoomed={(*zoomed).clone()} on_zoom={zoom.clone()} />
            if let Some(node) = opened {
                <div class="zoomed-node" data-testid="zoomed-node">
                    <button class="ghost" data-testid="back-to-map" onclick={zoom.reform(|_: MouseEvent| None)}>{"← Back to the map"}</button>
                    <NodePanel key={node.name.clone()} node={node.clone()} compact={false}
                        on_switch={props.on_switch.clone()} on_select={props.on_select.clone()} on_fault={props.on_fault.clone()} />
                </div>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SummaryProps {
    groups: Rc<Vec<PendingGroup>>,
    count: usize,
    on_select: Callback<Selection>,
    on_explain: Callback<Selection>,
}

/// The Pending lane of a big cluster: one line per reason, opened for its first pods.
#[function_component]
fn PendingSummary(props: &SummaryProps) -> Html {
    super::browser::mark("pending-summary");
    html! {
        <div class={classes!("pending-lane", "summary", (props.count > 0).then_some("has-pods"))} data-testid="pending-lane">
            <h3>{"Pending / unscheduled"} <span class="count">{ props.count }</span></h3>
            if props.groups.is_empty() {
                <span class="muted">{"No pod is waiting for a node."}</span>
            }
            { for props.groups.iter().map(|g| html! {
                <details class="pending-group" data-testid="pending-group" data-count={g.count.to_string()} key={g.reason.clone()}>
                    <summary><span class="count">{ g.count }</span>{ " " }<span class="reason">{ g.reason.clone() }</span></summary>
                    <div class="tiles">
                        { for g.sample.iter().map(|p| pending_item(p, false, &props.on_select, &props.on_explain)) }
                        if g.count > g.sample.len() { <span class="muted small">{ format!("and {} more", g.count - g.sample.len()) }</span> }
                    </div>
                </details>
            }) }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SearchProps {
    results: Rc<SearchResults>,
    on_search: Callback<String>,
    on_zoom: Callback<Option<String>>,
    on_select: Callback<Selection>,
}

/// Finds nodes and pods by name or by a `key=value` label.
#[function_component]
fn Search(props: &SearchProps) -> Html {
    super::browser::mark("search");
    let oninput = props.on_search.reform(|e: InputEvent| e.target_unchecked_into::<web_sys::HtmlInputElement>().value());
    let r = &props.results;
    html! {
        <div class="topology-search">
            <input type="search" data-testid="topology-search" aria-label="Find a node or pod"
                placeholder="Find a node or pod: part of a name, or a label (app=web)" {oninput} />
            if !r.query.is_empty() {
                <ul class="search-hits" data-testid="search-hits">
                    if r.hits.is_empty() { <li class="muted">{"Nothing matches."}</li> }
                    { for r.hits.iter().map(|hit| search_hit(hit, props)) }
                    if r.more > 0 { <li class="muted small">{ format!("and {} more: narrow the search", r.more) }</li> }
                </ul>
            }
        </div>
    }
}

fn search_hit(hit: &SearchHit, props: &SearchProps) -> Html {
    match hit {
        SearchHit::Node { name, readiness } => {
            let onclick = props.on_zoom.reform({
                let name = name.clone();
                move |_: MouseEvent| Some(name.clone())
            });
            html! {
                <li><button class="linklike" data-testid={format!("search-hit-node-{name}")} {onclick}>
                    { format!("node {name}") }</button>{ format!(" · {}", readiness.label()) }</li>
            }
        }
        SearchHit::Pod { namespace, name, node, status } => {
            let (zoom, select) = (props.on_zoom.clone(), props.on_select.clone());
            let onclick = {
                let (namespace, name, node) = (namespace.clone(), name.clone(), node.clone());
                Callback::from(move |_: MouseEvent| {
                    if node.is_some() {
                        zoom.emit(node.clone());
                    }
                    select.emit(Selection::pod(&namespace, &name));
                })
            };
            let place = node.as_ref().map_or_else(|| " · no node".to_string(), |n| format!(" · on {n}"));
            html! {
                <li><button class="linklike" data-testid={format!("search-hit-pod-{namespace}-{name}")} {onclick}>
                    { format!("pod {namespace}/{name}") }</button>{ format!(" · {status}{place}") }</li>
            }
        }
    }
}

fn component_blurb(name: &str) -> &'static str {
    match name {
        "apiserver" => "kube-apiserver: every read and write goes through it",
        "etcd" => "etcd: the store behind the API server",
        "scheduler" => "kube-scheduler: picks a node for each new pod",
        "controller-manager" => "kube-controller-manager: Deployments, ReplicaSets, node lifecycle…",
        "storage-provisioner" => "minikube's storage-provisioner: makes a hostPath volume for each claim",
        "local-path-provisioner" => "local-path-provisioner: makes a volume on the node a claim's pod was scheduled to",
        _ => "",
    }
}

#[derive(Properties, PartialEq)]
struct ComponentProps {
    component: ComponentView,
    on_switch: Callback<(String, bool)>,
}

#[function_component]
fn ComponentCard(props: &ComponentProps) -> Html {
    super::browser::mark("component-card");
    let c = &props.component;
    let state = if c.running { "running" } else { "stopped" };
    html! {
        <div class={classes!("component", state)} data-testid={format!("component-{}", c.test_name())} data-state={state}
            title={component_blurb(&c.name)}>
            <span class="dot" aria-hidden="true"></span>
            <span class="component-name">{ c.name.clone() }</span>
            <span class="component-state">{ state }</span>
            <Switch component={c.clone()} on_switch={props.on_switch.clone()} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SwitchProps {
    component: ComponentView,
    on_switch: Callback<(String, bool)>,
}

/// Stop and Start for one component; the one that would change nothing is disabled.
#[function_component]
fn Switch(props: &SwitchProps) -> Html {
    super::browser::mark("switch");
    let c = &props.component;
    let test = c.test_name();
    let (stop_label, start_label) = if c.name.starts_with("node/") { ("Power off", "Power on") } else { ("Stop", "Start") };
    let stop = {
        let (cb, name) = (props.on_switch.clone(), c.name.clone());
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            cb.emit((name.clone(), false))
        })
    };
    let start = {
        let (cb, name) = (props.on_switch.clone(), c.name.clone());
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            cb.emit((name.clone(), true))
        })
    };
    html! {
        <span class="switch" role="group" aria-label={format!("{} switch", c.name)}>
            <button class="stop" data-testid={format!("stop-{test}")} disabled={!c.running} onclick={stop}
                title={format!("{stop_label} {}", c.name)}>{"■"}<span class="visually-hidden">{ stop_label }</span></button>
            <button class="start" data-testid={format!("start-{test}")} disabled={c.running} onclick={start}
                title={format!("{start_label} {}", c.name)}>{"▶"}<span class="visually-hidden">{ start_label }</span></button>
        </span>
    }
}

#[derive(Properties, PartialEq)]
struct LaneProps {
    pods: Rc<Vec<PodView>>,
    compact: bool,
    on_select: Callback<Selection>,
    on_explain: Callback<Selection>,
}

#[function_component]
fn PendingLane(props: &LaneProps) -> Html {
    let expanded = use_state(|| false);
    let shown = if *expanded { props.pods.len() } else { TILES_SHOWN.min(props.pods.len()) };
    html! {
        <div class={classes!("pending-lane", (!props.pods.is_empty()).then_some("has-pods"))} data-testid="pending-lane">
            <h3>{"Pending / unscheduled"} <span class="count">{ props.pods.len() }</span></h3>
            <div class="tiles">
                if props.pods.is_empty() {
                    <span class="muted">{"No pod is waiting for a node."}</span>
                }
                { for props.pods.iter().take(shown).map(|p| pending_item(p, props.compact, &props.on_select, &props.on_explain)) }
                { more_button(props.pods.len(), shown, expanded) }
            </div>
        </div>
    }
}

/// A waiting pod's tile with its "why?" button (the scheduler's explanation).
fn pending_item(p: &PodView, compact: bool, on_select: &Callback<Selection>, on_explain: &Callback<Selection>) -> Html {
    let explain = {
        let (cb, ns, name) = (on_explain.clone(), p.namespace.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| cb.emit(Selection::pod(&ns, &name)))
    };
    html! {
        <span class="pending-item" key={format!("{}/{}", p.namespace, p.name)}>
            <PodTile pod={p.clone()} compact={compact} on_select={on_select.clone()} />
            <button class="why" data-testid={format!("explain-{}-{}", p.namespace, p.name)} onclick={explain}
                title="Why is this pod not scheduled?">{"why?"}</button>
        </span>
    }
}

fn more_button(total: usize, shown: usize, expanded: UseStateHandle<bool>) -> Html {
    if total <= TILES_SHOWN {
        return html! {};
    }
    let open = *expanded;
    let label = if open { "Show fewer".to_string() } else { format!("+{} more", total - shown) };
    html! {
        <button class="more" onclick={move |_| expanded.set(!open)} aria-expanded={open.to_string()}>{ label }</button>
    }
}

#[derive(Properties, PartialEq)]
struct NodeProps {
    node: Rc<NodeView>,
    compact: bool,
    on_switch: Callback<(String, bool)>,
    on_select: Callback<Selection>,
    on_fault: Callback<String>,
}

#[function_component]
fn NodePanel(props: &NodeProps) -> Html {
    let n = &props.node;
    let expanded = use_state(|| false);
    let shown = if *expanded { n.pods.len() } else { TILES_SHOWN.min(n.pods.len()) };
    let readiness = match n.readiness {
        Readiness::Ready => "ready",
        Readiness::NotReady => "notready",
        Readiness::Unknown => "unknown",
        Readiness::NotRegistered => "unregistered",
    };
    let select = {
        let (cb, name) = (props.on_select.clone(), n.name.clone());
        Callback::from(move |_: MouseEvent| cb.emit(Selection::node(&name)))
    };
    let cpu_pct = percent(n.cpu_requested_millis, n.cpu_allocatable_millis);
    let mem_pct = percent(n.memory_requested_bytes, n.memory_allocatable_bytes);
    html! {
        <article class={classes!("node", readiness, (!n.powered()).then_some("off"), n.cordoned.then_some("cordoned"), n.partitioned.then_some("partitioned"))}
            data-testid={format!("node-{}", n.name)} data-ready={n.readiness.label()} aria-label={format!("Node {}", n.name)}>
            <header class="node-head">
                <button class="node-name linklike" onclick={select} title="Describe this node">{ n.name.clone() }</button>
                <span class={classes!("badge", readiness)}>{ n.readiness.label() }</span>
                if n.control_plane { <span class="badge role">{"control-plane"}</span> }
                if n.cordoned { <span class="badge warn">{"SchedulingDisabled"}</span> }
                if !n.powered() { <span class="badge off">{"powered off"}</span> }
                if n.partitioned { <span class="badge partitioned" data-testid={format!("partitioned-{}", n.name)}>{"partitioned"}</span> }
            </header>
            if !n.taints.is_empty() {
                <div class="taints">{ for n.taints.iter().map(|t| html! { <span class="taint" title="Taint">{ t.clone() }</span> }) }</div>
            }
            <div class="resources">
                <Meter label="cpu" pct={cpu_pct}
                    text={format!("{} / {}", format_cpu(n.cpu_requested_millis), format_cpu(n.cpu_allocatable_millis))} />
                <Meter label="mem" pct={mem_pct}
                    text={format!("{} / {}", format_bytes(n.memory_requested_bytes), format_bytes(n.memory_allocatable_bytes))} />
            </div>
            <div class="node-components">
                { for n.components.iter().map(|c| {
                    let state = if c.running { "running" } else { "stopped" };
                    html! {
                        <span key={c.name.clone()} class={classes!("component", "small", state)}
                            data-testid={format!("component-{}", c.test_name())} data-state={state}>
                            <span class="dot" aria-hidden="true"></span>
                            <span class="component-name">{ c.label() }</span>
                            <Switch component={c.clone()} on_switch={props.on_switch.clone()} />
                        </span>
                    }
                }) }
                <super::faults::NodeFaults node={n.name.clone()} partitioned={n.partitioned} kubelet_running={n.kubelet_running()}
                    powered={n.powered()} on_fault={props.on_fault.clone()} />
            </div>
            <div class="tiles">
                { for n.pods.iter().take(shown).map(|p| html! {
                    <PodTile key={format!("{}/{}", p.namespace, p.name)} pod={p.clone()} compact={props.compact} on_select={props.on_select.clone()} />
                }) }
                { more_button(n.pods.len(), shown, expanded) }
            </div>
        </article>
    }
}

fn percent(used: i64, total: i64) -> u32 {
    if total <= 0 {
        0
    } else {
        ((used as f64 / total as f64) * 100.0).round().clamp(0.0, 999.0) as u32
    }
}

#[derive(Properties, PartialEq)]
struct MeterProps {
    label: &'static str,
    pct: u32,
    text: String,
}

#[function_component]
fn Meter(props: &MeterProps) -> Html {
    let level = if props.pct >= 100 { "full" } else if props.pct >= 80 { "high" } else { "" };
    html! {
        <div class="meter-row" title={format!("{} requested {} ({}% of allocatable)", props.label, props.text, props.pct)}>
            <span class="meter-label">{ props.label }</span>
            <div class={classes!("meter", level)}><div class="meter-fill" style={format!("width: {}%", props.pct.min(100))}></div></div>
            <span class="meter-text">{ props.text.clone() }</span>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct TileProps {
    pod: PodView,
    compact: bool,
    on_select: Callback<Selection>,
}

#[function_component]
fn PodTile(props: &TileProps) -> Html {
    let p = &props.pod;
    let select = {
        let (cb, ns, name) = (props.on_select.clone(), p.namespace.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| cb.emit(Selection::pod(&ns, &name)))
    };
    let title = format!(
        "{}/{} — {}{}{}",
        p.namespace,
        p.name,
        p.status,
        if p.owner.is_empty() { String::new() } else { format!(" — owned by {}", p.owner) },
        if p.restarts > 0 { format!(" — {} restarts", p.restarts) } else { String::new() }
    );
    html! {
        <button class={classes!("pod", p.tone(), props.compact.then_some("compact"))} data-testid={p.test_id()} data-status={p.status.clone()}
            onclick={select} title={title}>
            if !props.compact {
                <span class="pod-name">{ p.name.clone() }</span>
                <span class="pod-status">{ p.status.clone() }<span class="pod-ready">{ format!(" {}", p.ready) }</span></span>
                if !p.owner.is_empty() { <span class="pod-owner">{ p.owner.clone() }</span> }
            }
        </button>
    }
}
