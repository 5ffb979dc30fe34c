//! A StatefulSet's at-most-one guarantee: the pod of one ordinal never
//! runs twice at once on machines the control plane can reach. A
//! partitioned or powered-off machine may still run an old copy (the
//! control plane cannot know), which is exactly why the StatefulSet
//! controller waits for the old pod to be gone before it makes a new one.

use std::collections::{BTreeMap, BTreeSet};

use super::{Checker, Observation};
use crate::engine::api::{ids, Object};

pub struct AtMostOnePerOrdinal;

/// `web-3` → Some(("web", 3)).
fn ordinal_of(pod: &str) -> Option<(&str, u64)> {
    let (set, ordinal) = pod.rsplit_once('-')?;
    let n = ordinal.parse().ok()?;
    (!ordinal.starts_with('+')).then_some((set, n))
}

impl Checker for AtMostOnePerOrdinal {
    fn name(&self) -> &'static str {
        "statefulset-ordinal-twice"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let sets: BTreeSet<(String, String)> = obs
            .stored(ids::stateful_sets())
            .iter()
            .filter_map(|o| if let Object::StatefulSet(s) = &**o { Some((s.metadata.namespace.clone()?, s.metadata.name.clone()?)) } else { None })
            .collect();
        if sets.is_empty() {
            return Ok(());
        }
        let mut copies: BTreeMap<(String, String), BTreeSet<(String, String)>> = BTreeMap::new();
        for r in obs.running_pods() {
            if !obs.reachable(&r.node) {
                continue;
            }
            let Some((set, _)) = ordinal_of(&r.name) else { continue };
            if sets.contains(&(r.namespace.clone(), set.to_string())) {
                copies.entry((r.namespace.clone(), r.name.clone())).or_default().insert((r.node.clone(), r.uid.clone()));
            }
        }
        for ((namespace, name), running) in copies {
            if running.len() > 1 {
                let nodes: Vec<String> = running.iter().map(|(n, uid)| format!("{n} (uid {uid})")).collect();
                return Err(format!("pod {namespace}/{name} runs {} times at once: on {}", running.len(), nodes.join(", ")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ordinals() {
        assert_eq!(ordinal_of("web-0"), Some(("web", 0)));
        assert_eq!(ordinal_of("my-db-12"), Some(("my-db", 12)));
        assert_eq!(ordinal_of("web-7957885594-7fh6m"), None);
        assert_eq!(ordinal_of("web"), None);
    }
}
