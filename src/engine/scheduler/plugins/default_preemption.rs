//! DefaultPreemption (PostFilter): when no node fits a pod, find nodes
//! where evicting lower-priority pods would let it fit, pick the best one
//! and nominate it.
//!
//! - Eligibility: `preemptionPolicy: Never` pods never preempt; a pod whose
//!   nominated node still has a victim terminating waits for it.
//! - Candidates: only nodes whose filters said Unschedulable (not
//!   UnschedulableAndUnresolvable). On each, every lower-priority pod is
//!   removed; if the pod still does not fit, the node is no candidate.
//!   Otherwise victims are reprieved one by one, most important first —
//!   first those whose eviction would break a PodDisruptionBudget, then
//!   the rest — keeping each one the pod can fit beside.
//! - Choice: fewest budget violations, then the lowest highest-victim
//!   priority, the smallest sum of priorities, the fewest victims, the
//!   latest start among the most important victims; then the first node.

use crate::engine::sort::SortStable;
use std::collections::BTreeSet;
use std::rc::Rc;

use crate::engine::api::pod::Pod;

use super::{CycleState, Handle};
use crate::engine::api::meta::virtual_of;
use crate::engine::api::{Object, ObjectKey};
use crate::engine::scheduler::framework::{pod_labels, pod_priority, Code, NodeInfo, PodInfo, Status};
use crate::engine::selector::Selector;
use crate::engine::sim::clock::VirtualTime;

pub const NAME: &str = "DefaultPreemption";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const NOT_ELIGIBLE_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
pub const NOT_ELIGIBLE_TERMINATING: &str = "not eligible due to a terminating pod on the nominated node.";
/// `minCandidateNodesPercentage` and `minCandidateNodesAbsolute`.
const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;
/// The condition reason the scheduler gives its victims.
pub const REASON_PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";

/// A pod chosen for eviction.
#[derive(Clone, Debug)]
pub struct Victim {
    pub key: ObjectKey,
    pub object: Rc<Object>,
    pub priority: i32,
    /// `status.startTime`; unset counts as "now" (the latest).
    pub start: Option<VirtualTime>,
}

impl Victim {
    pub fn new(key: ObjectKey, object: Rc<Object>) -> Self {
        let (priority, start) = match &*object {
            Object::Pod(p) => (pod_priority(p), p.status.as_ref().and_then(|s| s.start_time.as_ref()).map(virtual_of)),
            _ => (0, None),
        };
        Victim { key, object, priority, start }
    }

    fn labels(&self) -> Option<&std::collections::BTreeMap<String, String>> {
        match &*self.object {
            Object::Pod(p) => Some(pod_labels(p)),
            _ => None,
        }
    }
}

/// `MoreImportantPod`: higher priority, then started earlier.
fn more_important(a: &Victim, b: &Victim) -> std::cmp::Ordering {
    b.priority.cmp(&a.priority).then_with(|| match (a.start, b.start) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    })
}

/// A node where preemption would make room, with its victims.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub node: Rc<str>,
    /// Most important first.
    pub victims: Vec<Victim>,
    pub pdb_violations: usize,
}

/// A PodDisruptionBudget as preemption reads it.
#[derive(Clone, Debug)]
pub struct Budget {
    pub namespace: String,
    pub selector: Selector,
    pub disruptions_allowed: i32,
    pub disrupted: BTreeSet<String>,
}

pub fn budgets(h: &Handle) -> Vec<Budget> {
    h.listers
        .disruption_budgets()
        .map(|p| Budget {
            namespace: p.metadata.namespace.clone().unwrap_or_default(),
            // A budget without a selector selects nothing here.
            selector: p.spec.as_ref().and_then(|s| s.selector.as_ref()).map(Selector::from_api).unwrap_or(Selector { requirements: Vec::new(), selects_nothing: true }),
            disruptions_allowed: p.status.as_ref().map_or(0, |s| s.disruptions_allowed),
            disrupted: p.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()).map(|d| d.keys().cloned().collect()).unwrap_or_default(),
        })
        .collect()
}

/// `filterPodsWithPDBViolation`: victims whose eviction would take a
/// matching budget below zero allowed disruptions, and the others (each
/// keeping its order).
pub fn split_by_budget(victims: Vec<Victim>, budgets: &[Budget]) -> (Vec<Victim>, Vec<Victim>) {
    let mut allowed: Vec<i32> = budgets.iter().map(|b| b.disruptions_allowed).collect();
    let (mut violating, mut fine) = (Vec::new(), Vec::new());
    for v in victims {
        let mut violated = false;
        if let Some(labels) = v.labels().filter(|l| !l.is_empty()) {
            for (i, b) in budgets.iter().enumerate() {
                if *b.namespace != *v.key.namespace || b.selector.is_empty() || !b.selector.matches(Some(labels)) || b.disrupted.contains(&*v.key.name) {
                    continue;
                }
                allowed[i] -= 1;
                if allowed[i] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(v);
        } else {
            fine.push(v);
        }
    }
    (violating, fine)
}

/// `PodEligibleToPreemptOthers`. `nominated_status` is this attempt's
/// verdict on the pod's nominated node, if it has one.
pub fn eligible(h: &Handle, pod: &PodInfo, nominated_status: Option<Code>) -> Result<(), &'static str> {
    let spec = pod.pod.spec.as_ref();
    if spec.and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Err(NOT_ELIGIBLE_NEVER);
    }
    let nominated = pod.pod.status.as_ref().and_then(|s| s.nominated_node_name()).filter(|n| !n.is_empty());
    if let Some(node) = nominated {
        if nominated_status == Some(Code::UnschedulableAndUnresolvable) {
            return Ok(());
        }
        let terminating_victim = h.cache.pods_on(node).any(|(_, p)| p.priority < pod.priority && terminating_by_preemption(p.pod()));
        if terminating_victim {
            return Err(NOT_ELIGIBLE_TERMINATING);
        }
    }
    Ok(())
}

/// Deleting, with the `DisruptionTarget` condition the scheduler sets.
pub fn terminating_by_preemption(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        && pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
            cs.iter().any(|c| c.type_ == "DisruptionTarget" && c.status == "True" && c.reason.as_deref() == Some(REASON_PREEMPTION_BY_SCHEDULER))
        })
}

/// The filter run used to ask "does the pod fit now?" (with nominated pods).
pub type Fits<'f> = dyn Fn(&CycleState, &NodeInfo) -> Status + 'f;

/// `SelectVictimsOnNode`: the fewest lower-priority pods to evict, and how
/// many of them break a budget; the node's status when preemption cannot help.
pub fn select_victims_on_node(h: &Handle, state: &mut CycleState, pod: &PodInfo, node: &mut NodeInfo, budgets: &[Budget], fits: &Fits) -> Result<(Vec<Victim>, usize), Status> {
    let mut potential: Vec<Victim> = h
        .cache
        .pods_seen_by(node)
        .filter(|(_, o)| matches!(&***o, Object::Pod(p) if pod_priority(p) < pod.priority))
        .map(|(k, o)| Victim::new(k.clone(), o.clone()))
        .collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    for v in &potential {
        node.remove_pod(&v.key, &v.object);
        state.remove_pod(h, pod, &v.object, node);
    }
    let status = fits(state, node);
    if !status.is_success() {
        return Err(status);
    }
    potential.sort_stable_by(more_important);
    let (violating, fine) = split_by_budget(potential, budgets);
    let mut victims = Vec::new();
    let mut violations = 0;
    let mut reprieve = |v: Victim, state: &mut CycleState, node: &mut NodeInfo, counts: bool| {
        node.add_pod(&v.key, &v.object);
        state.add_pod(h, pod, &v.object, node);
        if !fits(state, node).is_success() {
            node.remove_pod(&v.key, &v.object);
            state.remove_pod(h, pod, &v.object, node);
            if counts {
                violations += 1;
            }
            victims.push(v);
        }
    };
    let mixed = !violating.is_empty() && !fine.is_empty();
    for v in violating {
        reprieve(v, state, node, true);
    }
    for v in fine {
        reprieve(v, state, node, false);
    }
    if mixed {
        victims.sort_stable_by(more_important);
    }
    Ok((victims, violations))
}

/// `GetOffsetAndNumCandidates`'s count: 10% of the nodes, at least 100.
pub fn candidate_count(potential: usize) -> usize {
    (potential * MIN_CANDIDATE_NODES_PERCENTAGE / 100).max(MIN_CANDIDATE_NODES_ABSOLUTE).min(potential)
}

/// `DryRunPreemption` over the potential nodes, from `offset`: candidates
/// (those without budget violations first) and the status of every node
/// that is none.
pub fn dry_run(
    h: &Handle,
    state: &CycleState,
    pod: &PodInfo,
    potential: &[&NodeInfo],
    offset: usize,
    budgets: &[Budget],
    fits: &Fits,
) -> (Vec<Candidate>, Vec<(Rc<str>, Status)>) {
    let wanted = candidate_count(potential.len());
    let (mut fine, mut violating, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..potential.len() {
        let node = potential[(offset + i) % potential.len()];
        let mut copy = node.clone();
        let mut state_copy = state.clone();
        match select_victims_on_node(h, &mut state_copy, pod, &mut copy, budgets, fits) {
            Ok((victims, violations)) if !victims.is_empty() => {
                let c = Candidate { node: node.name.clone(), victims, pdb_violations: violations };
                if violations == 0 {
                    fine.push(c);
                } else {
                    violating.push(c);
                }
                if !fine.is_empty() && fine.len() + violating.len() >= wanted {
                    break;
                }
            }
            Ok(_) => statuses.push((node.name.clone(), Status::error(format!("expected at least one victim pod on node \"{}\"", node.name)))),
            Err(s) => statuses.push((node.name.clone(), s)),
        }
    }
    fine.extend(violating);
    (fine, statuses)
}

/// `pickOneNodeForPreemption`: the index of the best candidate.
pub fn pick_one(candidates: &[Candidate]) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let earliest_of_most_important = |c: &Candidate| -> i64 {
        let top = c.victims.iter().map(|v| v.priority).max().unwrap_or(0);
        // An unset start time is "now": later than any real one.
        c.victims.iter().filter(|v| v.priority == top).map(|v| v.start.map_or(i64::MAX, |t| t.as_millis() as i64)).min().unwrap_or(i64::MAX)
    };
    let scores: [&dyn Fn(&Candidate) -> i64; 5] = [
        &|c| -(c.pdb_violations as i64),
        &|c| -(c.victims.first().map_or(0, |v| v.priority) as i64),
        &|c| -c.victims.iter().map(|v| v.priority as i64 + i32::MAX as i64 + 1).sum::<i64>(),
        &|c| -(c.victims.len() as i64),
        &|c| earliest_of_most_important(c),
    ];
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    for f in scores {
        let best = remaining.iter().map(|&i| f(&candidates[i])).max().unwrap_or(0);
        remaining.retain(|&i| f(&candidates[i]) == best);
        if remaining.len() == 1 {
            break;
        }
    }
    remaining.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scheduler::plugins::testing::pod_object;
    use serde_json::json;

    fn victim(name: &str, priority: i32, start_s: Option<u64>, labels: serde_json::Value) -> Victim {
        let mut status = json!({});
        if let Some(s) = start_s {
            status["startTime"] = json!(crate::engine::api::meta::api_time(VirtualTime::from_secs(s)));
        }
        let o = pod_object(json!({"metadata": {"name": name, "labels": labels}, "spec": {"containers": [{"name": "c"}], "priority": priority}, "status": status}));
        Victim::new(ObjectKey::new("default", name), o)
    }

    fn candidate(node: &str, victims: Vec<Victim>, violations: usize) -> Candidate {
        Candidate { node: Rc::from(node), victims, pdb_violations: violations }
    }

    #[test]
    fn picks_the_cheapest_candidate() {
        let v = |n: &str, p: i32, s: u64| victim(n, p, Some(s), json!({}));
        let cases = vec![
            ("fewest budget violations", vec![candidate("a", vec![v("x", 1, 0)], 1), candidate("b", vec![v("y", 5, 0), v("z", 5, 0)], 0)], "b"),
            ("lowest top priority", vec![candidate("a", vec![v("x", 10, 0)], 0), candidate("b", vec![v("y", 5, 0), v("z", 5, 0)], 0)], "b"),
            ("smallest sum", vec![candidate("a", vec![v("x", 5, 0), v("y", 1, 0)], 0), candidate("b", vec![v("z", 5, 0)], 0)], "b"),
            ("fewest victims", vec![candidate("a", vec![v("x", 5, 0), v("y", -1, 0)], 0), candidate("b", vec![v("z", 5, 0)], 0)], "b"),
            ("latest start", vec![candidate("a", vec![v("x", 5, 10)], 0), candidate("b", vec![v("z", 5, 20)], 0)], "b"),
            ("first on a full tie", vec![candidate("a", vec![v("x", 5, 10)], 0), candidate("b", vec![v("z", 5, 10)], 0)], "a"),
        ];
        for (name, cs, want) in cases {
            assert_eq!(pick_one(&cs).map(|i| &*cs[i].node), Some(want), "{name}");
        }
        assert_eq!(pick_one(&[]), None);
    }

    #[test]
    fn budgets_mark_violating_victims() {
        let b = Budget { namespace: "default".into(), selector: Selector::parse("app=web").unwrap(), disruptions_allowed: 1, disrupted: BTreeSet::new() };
        let victims = vec![victim("w1", 0, None, json!({"app": "web"})), victim("w2", 0, None, json!({"app": "web"})), victim("db", 0, None, json!({"app": "db"}))];
        let (violating, fine) = split_by_budget(victims, &[b]);
        assert_eq!(violating.iter().map(|v| &*v.key.name).collect::<Vec<_>>(), vec!["w2"]);
        assert_eq!(fine.iter().map(|v| &*v.key.name).collect::<Vec<_>>(), vec!["w1", "db"]);
    }

    #[test]
    fn candidate_count_table() {
        assert_eq!(candidate_count(3), 3);
        assert_eq!(candidate_count(100), 100);
        assert_eq!(candidate_count(5000), 500);
    }
}
