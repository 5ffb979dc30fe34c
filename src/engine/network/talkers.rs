//! Requests made by container processes themselves (a `while true; do wget
//! …; done` load generator): the network delivers them at their instants,
//! with the whole world at hand, since no single machine's kubelet could.

use crate::engine::sim::clock::VirtualTime;

#[derive(Clone, Debug, Default)]
pub struct Talkers {}

impl Talkers {
    pub fn next_event(&self) -> Option<VirtualTime> {
        None
    }
}
