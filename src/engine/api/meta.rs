//! Small helpers over `ObjectMeta` and API times shared by every component.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;

use crate::engine::sim::clock::VirtualTime;

/// Wall-clock instant at virtual time zero. Fixed, so transcripts never
/// depend on when they ran.
pub const EPOCH_SECONDS: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// An API timestamp (second precision, as `metav1.Time` is) for a virtual instant.
pub fn api_time(t: VirtualTime) -> Time {
    let secs = EPOCH_SECONDS + (t.as_millis() / 1000) as i64;
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// A `MicroTime`-precision timestamp, as Leases and events.k8s.io use.
pub fn api_micro_time(t: VirtualTime) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime {
    let micros = EPOCH_SECONDS as i128 * 1_000_000 + t.as_millis() as i128 * 1000;
    let ts = Timestamp::from_nanosecond(micros * 1000).unwrap_or(Timestamp::UNIX_EPOCH);
    k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(ts)
}

/// The virtual instant an API timestamp stands for (clamped at zero).
pub fn virtual_of(time: &Time) -> VirtualTime {
    let secs = time.0.as_second() - EPOCH_SECONDS;
    VirtualTime::from_millis(secs.max(0) as u64 * 1000)
}

/// The controller owner reference of an object, if any.
pub fn controller_of(owners: Option<&Vec<OwnerReference>>) -> Option<&OwnerReference> {
    owners?.iter().find(|o| o.controller == Some(true))
}
