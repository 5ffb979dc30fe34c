//! A component's list+watch cache that has read every event sent to it
//! holds exactly what the store holds for its query: no lost, duplicated
//! or stale watch event.

use std::collections::BTreeMap;

use super::{Checker, Observation};
use crate::engine::api::ObjectKey;
use crate::engine::informer::Informer;

pub struct CachesMatchStore;

/// The first difference between a caught-up cache and the store, if any.
pub fn differs(obs: &Observation, informer: &Informer) -> Option<String> {
    let (items, _) = obs.api().list(informer.query()).ok()?;
    let stored: BTreeMap<ObjectKey, String> = items.iter().map(|o| (ObjectKey::of(o), o.meta().resource_version.clone().unwrap_or_default())).collect();
    let cached: BTreeMap<ObjectKey, String> = informer.items().map(|o| (ObjectKey::of(o), o.meta().resource_version.clone().unwrap_or_default())).collect();
    if stored == cached {
        return None;
    }
    let kind = crate::engine::api::resource(informer.query().resource).qualified_plural();
    for (key, rv) in &stored {
        match cached.get(key) {
            None => return Some(format!("{kind} {key} (resourceVersion {rv}) is missing from the cache")),
            Some(c) if c != rv => return Some(format!("{kind} {key} is cached at resourceVersion {c}, stored at {rv}")),
            Some(_) => {}
        }
    }
    let extra = cached.keys().find(|k| !stored.contains_key(*k)).map(|k| k.to_string()).unwrap_or_default();
    Some(format!("{kind} {extra} is cached but no longer stored"))
}

impl Checker for CachesMatchStore {
    fn name(&self) -> &'static str {
        "informer-differs-from-store"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let sim = &obs.cluster.sim;
        for component in sim.components() {
            if sim.is_running(component.name()) != Some(true) {
                continue;
            }
            for informer in component.informers() {
                if !informer.caught_up(obs.api()) {
                    continue;
                }
                if let Some(diff) = differs(obs, informer) {
                    return Err(format!("{}: {diff}", component.name()));
                }
            }
        }
        Ok(())
    }
}
