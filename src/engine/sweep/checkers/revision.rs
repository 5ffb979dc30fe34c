//! The store's revision never goes backwards, except across an explicit
//! restore from a snapshot, where it goes exactly to the snapshot's
//! revision (plus `--bump-revision`) and carries on from there. (A snapshot
//! saved before an earlier restore may be ahead of the store: restoring it
//! moves the revision forward, to that snapshot's.)

use super::{Checker, Observation};

#[derive(Default)]
pub struct RevisionNeverGoesBack {
    last: Option<i64>,
    restores_seen: usize,
}

impl Checker for RevisionNeverGoesBack {
    fn name(&self) -> &'static str {
        "revision-goes-back"
    }

    fn check(&mut self, obs: &Observation) -> Result<(), String> {
        let store = obs.api().store();
        let now = store.revision();
        let restores = store.restores();
        let mut floor = self.last.unwrap_or(0);
        for restore in restores.iter().skip(self.restores_seen) {
            if restore.revision_before < floor {
                return Err(format!("revision {} before a restore, below the {floor} seen earlier", restore.revision_before));
            }
            // From here on the store counts from the snapshot's revision.
            floor = restore.snapshot_revision + restore.bump;
        }
        self.restores_seen = restores.len();
        if now < floor {
            return Err(format!("store revision {now} after {floor}"));
        }
        self.last = Some(now);
        Ok(())
    }
}
