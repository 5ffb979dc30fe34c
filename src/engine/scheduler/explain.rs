//! "Why is my pod here / why is it not scheduled?": the scheduler's last
//! attempt for a pod as plain data for the page, and as text for the
//! `explain pod/NAME` command of scripts and the terminal.
//!
//! Every node is a row with each filter plugin's verdict; nodes that fail
//! for the same reasons are grouped so that 100 nodes stay readable.
//! Feasible nodes show each score plugin's raw, normalised and weighted
//! score. Then the choice (and ties), preemption, and what would let a
//! pending pod schedule.

use crate::engine::sort::SortStable;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::decision::{self, Decision, FilterVerdict, PluginScore, PreemptionNote, Rejection};
use super::plugins::{scheduling_gates, FILTERS};
use super::{Scheduler, SCHEDULER_NAME};
use crate::engine::api::{ids, ApiError, Object, ObjectKey};
use crate::engine::apiserver::ApiServer;
use crate::engine::kubectl::printers::human_duration;
use crate::engine::sim::clock::VirtualTime;

/// One filter plugin's verdict on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Passed,
    /// The filter rejected the node (the scheduler stopped here).
    Failed(Vec<String>),
    /// Not run by the scheduler (an earlier filter rejected the node), but
    /// it would reject it too.
    WouldFail(Vec<String>),
    /// Not run (an earlier filter rejected the node); it would pass.
    NotRun,
    /// PreFilter said nothing concerns this pod: passes every node.
    Skipped,
}

impl Cell {
    /// A short mark for tables.
    pub fn mark(&self) -> &'static str {
        match self {
            Cell::Passed => "✓",
            Cell::Failed(_) => "✗",
            Cell::WouldFail(_) => "(✗)",
            Cell::NotRun => "·",
            Cell::Skipped => "–",
        }
    }
}

/// One node (or a group of nodes with the same verdicts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub nodes: Vec<Rc<str>>,
    /// One per filter plugin, in [`FILTERS`] order.
    pub cells: Vec<Cell>,
    /// Passed every filter.
    pub feasible: bool,
    /// Why the node was not filtered at all (PreFilter narrowed the nodes).
    pub not_considered: Option<String>,
    pub scores: Vec<PluginScore>,
    pub total: Option<i64>,
    pub chosen: bool,
}

impl Row {
    /// The verdict in words: "passed every filter" or the rejecting filter's reasons.
    pub fn summary(&self) -> String {
        if let Some(r) = &self.not_considered {
            return format!("not considered: {r}");
        }
        if self.feasible {
            return "passed every filter".to_string();
        }
        let mut parts = Vec::new();
        for (cell, f) in self.cells.iter().zip(FILTERS) {
            match cell {
                Cell::Failed(r) => parts.push(format!("{}: {}", f.name, r.join(", "))),
                Cell::WouldFail(r) => parts.push(format!("also {}: {}", f.name, r.join(", "))),
                _ => {}
            }
        }
        parts.join("; ")
    }

    pub fn label(&self) -> String {
        match self.nodes.len() {
            0 => String::new(),
            1 => self.nodes[0].to_string(),
            n if n <= 3 => self.nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
            n => format!("{}, {} … {} ({n} nodes)", self.nodes[0], self.nodes[1], self.nodes[n - 1]),
        }
    }
}

/// What the explanation says about one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub number: u32,
    pub ago: String,
    pub result: decision::Result,
    pub message: String,
    pub nodes_total: usize,
    pub evaluated: usize,
    pub feasible: usize,
    pub omitted: usize,
    pub pre_filter_rejection: Option<(&'static str, String)>,
    pub skipped_filters: Vec<&'static str>,
    pub score_plugins: Vec<&'static str>,
    pub skipped_scores: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub chosen: Option<Rc<str>>,
    pub tied: usize,
    pub nominated_node_first: bool,
    pub preemption: Option<PreemptionNote>,
    /// The attempt that preempted for this pod earlier, and what it did.
    pub earlier_preemption: Option<(u32, PreemptionNote)>,
    pub hints: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub pod: ObjectKey,
    /// One sentence: where the pod is, or why it is not scheduled.
    pub headline: String,
    pub notes: Vec<String>,
    pub attempt: Option<Attempt>,
}

/// The filter plugin names, as table columns.
pub fn filter_names() -> Vec<&'static str> {
    FILTERS.iter().map(|f| f.name).collect()
}

fn cells_for(d: &Decision, verdict: &FilterVerdict) -> Vec<Cell> {
    let skipped_list = d.skipped_filters();
    let skipped = |name: &str| skipped_list.contains(&name);
    match verdict {
        FilterVerdict::Passed => FILTERS.iter().map(|f| if skipped(f.name) { Cell::Skipped } else { Cell::Passed }).collect(),
        FilterVerdict::NotConsidered { .. } => FILTERS.iter().map(|_| Cell::NotRun).collect(),
        FilterVerdict::Failed(rejection) => {
            let Rejection { plugin, reasons, also_failing: also, .. } = &**rejection;
            let at = FILTERS.iter().position(|f| f.name == *plugin).unwrap_or(FILTERS.len());
            FILTERS
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if skipped(f.name) {
                        Cell::Skipped
                    } else if i < at {
                        Cell::Passed
                    } else if i == at {
                        Cell::Failed(reasons.clone())
                    } else {
                        match also.iter().find(|(p, _)| *p == f.name) {
                            Some((_, r)) => Cell::WouldFail(r.clone()),
                            None => Cell::NotRun,
                        }
                    }
                })
                .collect()
        }
    }
}

/// The attempt's rows: feasible nodes one by one (best total first), the
/// rest grouped by identical verdicts.
pub fn rows(d: &Decision) -> Vec<Row> {
    let mut out = Vec::new();
    let mut groups: Vec<Row> = Vec::new();
    for (i, v) in d.nodes.iter().enumerate() {
        let cells = cells_for(d, &v.filter);
        let not_considered = match &v.filter {
            FilterVerdict::NotConsidered { reason } => Some(reason.to_string()),
            _ => None,
        };
        let feasible = v.filter == FilterVerdict::Passed;
        if feasible {
            out.push(Row {
                nodes: vec![v.node.clone()],
                cells,
                feasible,
                not_considered,
                scores: d.node_scores(i).collect(),
                total: v.total,
                chosen: d.chosen.as_deref() == Some(&*v.node),
            });
            continue;
        }
        match groups.iter_mut().find(|g| g.cells == cells && g.not_considered == not_considered) {
            Some(g) => g.nodes.push(v.node.clone()),
            None => groups.push(Row { nodes: vec![v.node.clone()], cells, feasible, not_considered, scores: Vec::new(), total: None, chosen: false }),
        }
    }
    // Unscored feasible nodes (a single one, or none scored) keep their order.
    out.sort_stable_by_key(|r| (!r.chosen, std::cmp::Reverse(r.total)));
    groups.sort_stable_by_key(|g| std::cmp::Reverse(g.nodes.len()));
    out.extend(groups);
    out
}

fn attempt_of(d: &Decision, now: VirtualTime) -> Attempt {
    let mut score_plugins: Vec<&'static str> = Vec::new();
    for i in 0..d.nodes.len() {
        for s in d.node_scores(i) {
            if !score_plugins.contains(&s.plugin) {
                score_plugins.push(s.plugin);
            }
        }
    }
    Attempt {
        number: d.attempt,
        ago: human_duration(now.millis_since(d.time)),
        result: d.result,
        message: d.message.clone(),
        nodes_total: d.nodes_total,
        evaluated: d.evaluated,
        feasible: d.feasible,
        omitted: d.omitted,
        pre_filter_rejection: d.pre_filter_rejection.clone(),
        skipped_filters: d.skipped_filters(),
        score_plugins,
        skipped_scores: d.skipped_plugins.clone(),
        rows: rows(d),
        chosen: d.chosen.clone(),
        tied: d.tied,
        nominated_node_first: d.nominated_node_first,
        preemption: d.preemption.clone(),
        earlier_preemption: d.earlier_preemption.clone(),
        hints: d.hints.clone(),
    }
}

/// The explanation for a pod, from the API's view of it and the
/// scheduler's memory (`None` when the scheduler is stopped).
pub fn explain(api: &ApiServer, scheduler: Option<&Scheduler>, namespace: &str, name: &str) -> Result<Explanation, ApiError> {
    let obj = api.get(ids::pods(), namespace, name)?;
    let Object::Pod(pod) = &*obj else { return Err(ApiError::not_found("pods", name)) };
    let key = ObjectKey::new(namespace, name);
    let now = api.now();
    let node = pod.bound_node();
    let scheduler_name = pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).filter(|s| !s.is_empty()).unwrap_or(SCHEDULER_NAME);
    let decision = scheduler.and_then(|s| s.decision(&key));
    let mut notes = Vec::new();
    let headline = match (node, decision) {
        (Some(n), Some(d)) if d.chosen.as_deref() == Some(n) => format!("Scheduled on {n}: {}.", d.message),
        (Some(n), _) => {
            notes.push(if scheduler.is_none() {
                "The scheduler is stopped: it keeps no record of its decisions while stopped, and forgets them when it stops.".to_string()
            } else {
                "The scheduler has no record of this pod's placement: it was bound before the scheduler last started, or it named its node itself (spec.nodeName).".to_string()
            });
            format!("Running on {n}.")
        }
        (None, _) if scheduler_name != SCHEDULER_NAME => format!("Pending: it asks for scheduler \"{scheduler_name}\", and only {SCHEDULER_NAME} runs here."),
        (None, _) if !scheduling_gates::gates(pod).is_empty() => {
            let gates = scheduling_gates::gates(pod);
            notes.push(format!("What would let it schedule: remove its scheduling gates ({}); until then it is not even tried.", gates.join(", ")));
            format!("SchedulingGated: {} ({}).", scheduling_gates::MESSAGE, scheduling_gates::pre_enqueue(pod).unwrap_or_default())
        }
        (None, _) if scheduler.is_none() => "Pending: the scheduler is stopped, so nothing places this pod.".to_string(),
        (None, Some(d)) => match d.result {
            decision::Result::WaitingForVolumes => format!("Pending: assigned to {} once its volumes are bound (waiting in PreBind).", d.chosen.as_deref().unwrap_or("")),
            decision::Result::Scheduled => format!("Binding to {}.", d.chosen.as_deref().unwrap_or("")),
            _ => format!("Pending: {}", d.message),
        },
        (None, None) => "Pending: the scheduler has not tried it yet.".to_string(),
    };
    if terminating(pod) {
        notes.push("The pod is terminating.".into());
    }
    let attempt = match (node, decision) {
        (Some(n), Some(d)) if d.chosen.as_deref() != Some(n) => None,
        (_, d) => d.map(|d| attempt_of(d, now)),
    };
    Ok(Explanation { pod: key, headline, notes, attempt })
}

fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Left-aligned columns separated by three spaces (as kubectl's tables).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 < r.len() {
                line.push_str(&format!("{cell}{}", " ".repeat(widths[c] - cell.chars().count() + 3)));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The explanation as the `explain` command prints it.
pub fn to_text(e: &Explanation) -> String {
    let mut out = format!("Scheduling explanation for pod {} (Miniplane's scheduler; not a kubectl command)\n", e.pod);
    out.push_str(&format!("{}\n", e.headline));
    for n in &e.notes {
        out.push_str(&format!("{n}\n"));
    }
    let Some(a) = &e.attempt else { return out };
    out.push_str(&format!(
        "\nAttempt {} ({} ago): {} of {} nodes filtered, {} feasible.\n",
        a.number, a.ago, a.evaluated, a.nodes_total, a.feasible
    ));
    if let Some((plugin, reason)) = &a.pre_filter_rejection {
        out.push_str(&format!("PreFilter {plugin} rejected the pod before any node was tried: {reason}\n"));
    }
    if a.nominated_node_first {
        out.push_str("Its nominated node (from an earlier preemption) was tried first and fit.\n");
    }
    if !a.rows.is_empty() {
        out.push_str("\nFilters (in order; the first that rejects a node decides):\n");
        let mut lines = vec![vec!["NODE".to_string(), "VERDICT".to_string()]];
        for r in &a.rows {
            lines.push(vec![r.label(), r.summary()]);
        }
        out.push_str(&table(&lines));
        if !a.skipped_filters.is_empty() {
            out.push_str(&format!("Skipped (nothing about this pod concerns them): {}.\n", a.skipped_filters.join(", ")));
        }
    }
    if a.omitted > 0 {
        out.push_str(&format!("({} more nodes were filtered and are not shown.)\n", a.omitted));
    }
    let scored: Vec<&Row> = a.rows.iter().filter(|r| r.total.is_some()).collect();
    if !scored.is_empty() {
        out.push_str("\nScores (raw / normalised / weighted):\n");
        let mut header = vec!["NODE".to_string()];
        header.extend(a.score_plugins.iter().map(|p| p.to_string()));
        header.push("TOTAL".into());
        let mut lines = vec![header];
        for r in &scored {
            let mut line = vec![if r.chosen { format!("{} *", r.label()) } else { r.label() }];
            for p in &a.score_plugins {
                line.push(r.scores.iter().find(|s| s.plugin == *p).map(|s| format!("{}/{}/{}", s.raw, s.normalized, s.weighted)).unwrap_or_default());
            }
            line.push(r.total.map(|t| t.to_string()).unwrap_or_default());
            lines.push(line);
        }
        out.push_str(&table(&lines));
        if !a.skipped_scores.is_empty() {
            out.push_str(&format!("Not scoring (nothing to say about this pod): {}.\n", a.skipped_scores.join(", ")));
        }
    }
    if let Some(c) = &a.chosen {
        let how = match (a.feasible, a.tied) {
            (1, _) => "the only feasible node, taken without scoring".to_string(),
            (_, t) if t > 1 => format!("highest total, tied with {} other node(s): picked at random among them", t - 1),
            _ => "highest total".to_string(),
        };
        out.push_str(&format!("\nChosen: {c} ({how}).\n"));
    }
    if let Some((n, p)) = &a.earlier_preemption {
        out.push_str(&format!("\nPreemption (attempt {n}):\n"));
        preemption_text(&mut out, p);
    }
    if let Some(p) = &a.preemption {
        out.push_str("\nPreemption:\n");
        preemption_text(&mut out, p);
    }
    if !a.hints.is_empty() {
        out.push_str("\nWhat would let it schedule:\n");
        for h in &a.hints {
            out.push_str(&format!("  - {h}\n"));
        }
    }
    out
}

fn preemption_text(out: &mut String, p: &PreemptionNote) {
    {
        if let Some(r) = &p.not_eligible {
            out.push_str(&format!("  not attempted: {r}\n"));
        }
        for c in &p.candidates {
            let victims: Vec<String> = c.victims.iter().map(|(k, prio)| format!("{k} (priority {prio})")).collect();
            let mark = if p.nominated.as_deref() == Some(&*c.node) { " <- nominated" } else { "" };
            let budget = if c.pdb_violations > 0 { format!(", breaking {} PodDisruptionBudget(s)", c.pdb_violations) } else { String::new() };
            out.push_str(&format!("  candidate {}: evict {}{budget}{mark}\n", c.node, victims.join(", ")));
        }
        if p.not_eligible.is_none() && p.candidates.is_empty() {
            out.push_str("  no node where evicting lower-priority pods would make room\n");
        }
        let mut rejected: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, r) in &p.rejected {
            rejected.entry(r.as_str()).or_default().push(n);
        }
        for (reason, mut nodes) in rejected {
            nodes.sort_stable();
            out.push_str(&format!("  {}: {reason}\n", nodes.join(", ")));
        }
    }
}
