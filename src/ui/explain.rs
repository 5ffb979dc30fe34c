//! "Why here / why not scheduled": the scheduler's last attempt for a pod.
//! Every node is a row with each filter's verdict (nodes failing for the
//! same reasons share a row, so 100 nodes stay readable); feasible nodes
//! show each score plugin's raw, normalised and weighted score; then the
//! choice and ties, preemption, and what would let a pending pod schedule.

use std::rc::Rc;

use yew::prelude::*;

use crate::engine::scheduler::explain::{filter_names, Cell, Explanation, Row};
use crate::engine::scheduler::decision::PreemptionNote;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The explanation, or why there is none (pod gone, API down).
    pub view: Rc<Result<Explanation, String>>,
    pub on_close: Callback<()>,
}

/// Short column titles for the filter plugins.
fn short(name: &str) -> String {
    match name {
        "NodeUnschedulable" => "Unsched.".into(),
        "NodeResourcesFit" => "Resources".into(),
        "TaintToleration" => "Taints".into(),
        "NodeAffinity" => "NodeAff.".into(),
        "VolumeRestrictions" => "VolRestr.".into(),
        "NodeVolumeLimits" => "VolLimits".into(),
        "VolumeBinding" => "VolBind".into(),
        "PodTopologySpread" => "Spread".into(),
        "InterPodAffinity" => "PodAff.".into(),
        other => other.to_string(),
    }
}

fn cell_html(cell: &Cell) -> Html {
    let (class, title) = match cell {
        Cell::Passed => ("pass", "passed".to_string()),
        Cell::Failed(r) => ("fail", r.join(", ")),
        Cell::WouldFail(r) => ("would-fail", format!("not run (an earlier filter rejected the node); would also reject: {}", r.join(", "))),
        Cell::NotRun => ("not-run", "not run: an earlier filter rejected the node".to_string()),
        Cell::Skipped => ("skipped", "PreFilter: nothing about this pod concerns this plugin".to_string()),
    };
    html! { <td class={classes!("verdict", class)} title={title}>{ cell.mark() }</td> }
}

fn row_html(row: &Row) -> Html {
    let nodes = row.nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",");
    let first_failure = row.cells.iter().find_map(|c| match c {
        Cell::Failed(r) => Some(r.join(", ")),
        _ => None,
    });
    let reason = match (&row.not_considered, first_failure, row.feasible) {
        (Some(r), _, _) => r.clone(),
        (None, Some(r), _) => r,
        (None, None, true) => "passed every filter".to_string(),
        _ => String::new(),
    };
    html! {
        <tr class={classes!("explain-row", row.feasible.then_some("feasible"), row.chosen.then_some("chosen"))}
            data-nodes={nodes} data-feasible={row.feasible.to_string()} data-chosen={row.chosen.to_string()}>
            <th scope="row" class="node-cell" title={row.nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")}>
                { row.label() }
                if row.chosen { <span class="badge chosen">{"chosen"}</span> }
            </th>
            { for row.cells.iter().map(cell_html) }
            <td class="reason">{ reason }</td>
        </tr>
    }
}

fn preemption_html(title: String, p: &PreemptionNote) -> Html {
    html! {
        <section class="explain-preemption" data-testid="explain-preemption">
            <h3>{ title }</h3>
            if let Some(r) = &p.not_eligible { <p>{ format!("Not attempted: {r}") }</p> }
            if p.not_eligible.is_none() && p.candidates.is_empty() { <p>{"No node where evicting lower-priority pods would make room."}</p> }
            <ul>
                { for p.candidates.iter().map(|c| {
                    let victims = c.victims.iter().map(|(k, prio)| format!("{k} (priority {prio})")).collect::<Vec<_>>().join(", ");
                    let chosen = p.nominated.as_deref() == Some(&*c.node);
                    html! {
                        <li class={classes!(chosen.then_some("chosen"))} data-candidate={c.node.to_string()}>
                            <strong>{ c.node.to_string() }</strong>{ format!(": evict {victims}") }
                            if c.pdb_violations > 0 { { format!(" (breaks {} PodDisruptionBudget(s))", c.pdb_violations) } }
                            if chosen { <span class="badge chosen">{"nominated"}</span> }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}

#[function_component]
pub fn ExplainPanel(props: &Props) -> Html {
    let close = props.on_close.reform(|_| ());
    let body = match &*props.view {
        Err(e) => html! { <p class="muted" data-testid="explain-error">{ e.clone() }</p> },
        Ok(e) => {
            let columns = filter_names();
            html! {
                <>
                    <p class="explain-headline" data-testid="explain-headline">{ e.headline.clone() }</p>
                    { for e.notes.iter().map(|n| html! { <p class="muted">{ n.clone() }</p> }) }
                    if let Some(a) = &e.attempt {
                        <p class="muted">{ format!("Attempt {} ({} ago): {} of {} nodes filtered, {} feasible.", a.number, a.ago, a.evaluated, a.nodes_total, a.feasible) }</p>
                        if let Some((plugin, reason)) = &a.pre_filter_rejection {
                            <p class="fail-text">{ format!("PreFilter {plugin} rejected the pod before any node was tried: {reason}") }</p>
                        }
                        if a.nominated_node_first { <p>{"Its nominated node (from an earlier preemption) was tried first and fit."}</p> }
                        <div class="explain-scroll">
                            <table class="explain-table" data-testid="explain-table">
                                <caption class="visually-hidden">{"Each filter's verdict per node: ✓ passed, ✗ rejected, (✗) would also reject, · not run, – skipped"}</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">{"Node"}</th>
                                        { for columns.iter().map(|c| html! { <th scope="col" title={c.to_string()}>{ short(c) }</th> }) }
                                        <th scope="col">{"Verdict"}</th>
                                    </tr>
                                </thead>
                                <tbody>{ for a.rows.iter().map(row_html) }</tbody>
                            </table>
                        </div>
                        <p class="legend muted">{"✓ passed · ✗ rejected (the scheduler stops at the first) · (✗) would also reject · · not run · – skipped (nothing concerns this pod)"}</p>
                        if a.omitted > 0 { <p class="muted">{ format!("{} more nodes were filtered and are not shown.", a.omitted) }</p> }
                        if a.rows.iter().any(|r| r.total.is_some()) {
                            <h3>{"Scores: raw / normalised / weighted"}</h3>
                            <div class="explain-scroll">
                                <table class="explain-scores" data-testid="explain-scores">
                                    <thead>
                                        <tr>
                                            <th scope="col">{"Node"}</th>
                                            { for a.score_plugins.iter().map(|p| html! { <th scope="col">{ p.to_string() }</th> }) }
                                            <th scope="col">{"Total"}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        { for a.rows.iter().filter(|r| r.total.is_some()).map(|r| html! {
                                            <tr class={classes!(r.chosen.then_some("chosen"))} data-node={r.label()}>
                                                <th scope="row">{ r.label() }</th>
                                                { for a.score_plugins.iter().map(|p| {
                                                    let s = r.scores.iter().find(|s| s.plugin == *p);
                                                    html! { <td>{ s.map(|s| format!("{} / {} / {}", s.raw, s.normalized, s.weighted)).unwrap_or_default() }</td> }
                                                }) }
                                                <td class="total">{ r.total.map(|t| t.to_string()).unwrap_or_default() }</td>
                                            </tr>
                                        }) }
                                    </tbody>
                                </table>
                            </div>
                            if !a.skipped_scores.is_empty() { <p class="muted">{ format!("Not scoring (nothing to say about this pod): {}.", a.skipped_scores.join(", ")) }</p> }
                        }
                        if let Some(c) = &a.chosen {
                            <p class="explain-chosen" data-testid="explain-chosen" data-node={c.to_string()}>
                                { format!("Chosen: {c}") }
                                { match (a.feasible, a.tied) {
                                    (1, _) => " — the only feasible node, taken without scoring.".to_string(),
                                    (_, t) if t > 1 => format!(" — highest total, tied with {} other node(s): picked at random among them.", t - 1),
                                    _ => " — highest total.".to_string(),
                                } }
                            </p>
                        }
                        if let Some((n, p)) = &a.earlier_preemption { { preemption_html(format!("Preemption (attempt {n})"), p) } }
                        if let Some(p) = &a.preemption { { preemption_html("Preemption".to_string(), p) } }
                        if !a.hints.is_empty() {
                            <section class="explain-hints" data-testid="explain-hints">
                                <h3>{"What would let it schedule"}</h3>
                                <ul>{ for a.hints.iter().map(|h| html! { <li>{ h.clone() }</li> }) }</ul>
                            </section>
                        }
                    }
                </>
            }
        }
    };
    let title = match &*props.view {
        Ok(e) => e.pod.to_string(),
        Err(_) => String::new(),
    };
    html! {
        <aside class="details explain" data-testid="explain" aria-label={format!("Scheduling explanation for {title}")}>
            <header class="details-head">
                <h2><span class="muted">{"why here? "}</span>{ title }</h2>
                <button class="ghost" data-testid="close-explain" onclick={close} aria-label="Close the explanation">{"✕"}</button>
            </header>
            <div class="details-body">
                <p class="muted honest">{"The scheduler's own record of its last attempt (Miniplane shows what kube-scheduler 1.33 computes; it is not a kubectl feature)."}</p>
                { body }
            </div>
        </aside>
    }
}
