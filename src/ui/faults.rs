//! Faults beyond a switch: on each node panel, Partition/Heal (the node
//! loses the API server, its containers keep running) and Restart kubelet
//! (the process restarts, the containers stay); on the control plane, the
//! latency of the API server and of etcd. Each is a script line
//! (`partition node/worker-1`, `slow etcd 2s`), recorded in the scene.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NodeFaultsProps {
    pub node: String,
    pub partitioned: bool,
    pub kubelet_running: bool,
    pub powered: bool,
    /// A script line to run.
    pub on_fault: Callback<String>,
}

#[function_component]
pub fn NodeFaults(props: &NodeFaultsProps) -> Html {
    let line = |text: String| {
        let cb = props.on_fault.clone();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            cb.emit(text.clone())
        })
    };
    let node = &props.node;
    html! {
        <span class="node-faults" role="group" aria-label={format!("Faults for {node}")}>
            if props.partitioned {
                <button class="fault heal" data-testid={format!("heal-{node}")} onclick={line(format!("heal node/{node}"))}
                    title="Heal the partition: the node reaches the API server again">{"⇄ Heal"}</button>
            } else {
                <button class="fault partition" data-testid={format!("partition-{node}")} onclick={line(format!("partition node/{node}"))}
                    title="Cut the node off from the API server: its kubelet and kube-proxy can no longer report, its containers keep running">{"✂ Partition"}</button>
            }
            <button class="fault restart" data-testid={format!("restart-kubelet-{node}")} disabled={!props.kubelet_running || !props.powered}
                onclick={line(format!("restart kubelet/{node}"))}
                title="Restart the kubelet process: it relists its pods; the containers keep running">{"↻ Restart kubelet"}</button>
        </span>
    }
}

/// The latencies offered, in the script's duration syntax.
const LATENCIES: &[(&str, &str)] = &[("0s", "normal"), ("200ms", "+200ms"), ("1s", "+1s"), ("5s", "+5s"), ("30s", "+30s")];

#[derive(Properties, PartialEq)]
pub struct SlownessProps {
    pub apiserver_ms: u64,
    pub etcd_ms: u64,
    pub on_fault: Callback<String>,
}

fn duration_of(ms: u64) -> String {
    match ms {
        0 => "0s".into(),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

#[function_component]
pub fn Slowness(props: &SlownessProps) -> Html {
    super::browser::mark("slowness");
    let select = |target: &'static str, current: u64| {
        let cb = props.on_fault.clone();
        let onchange = Callback::from(move |e: Event| {
            let field: web_sys::HtmlSelectElement = e.target_unchecked_into();
            cb.emit(format!("slow {target} {}", field.value()));
        });
        let current = duration_of(current);
        let known = LATENCIES.iter().any(|(v, _)| *v == current);
        html! {
            <label class="slowness-choice" title={format!("Latency added to every request to {target} and to every watch event")}>
                <span>{ format!("{target} latency") }</span>
                <select data-testid={format!("slow-{target}")} {onchange}>
                    { for LATENCIES.iter().map(|(value, label)| html! { <option value={*value} selected={*value == current}>{ *label }</option> }) }
                    if !known { <option value={current.clone()} selected=true>{ format!("+{current}") }</option> }
                </select>
            </label>
        }
    };
    html! {
        <div class="slowness" role="group" aria-label="Control-plane latency">
            { select("apiserver", props.apiserver_ms) }
            { select("etcd", props.etcd_ms) }
        </div>
    }
}
