//! Leader election through a Lease in `kube-system`, as client-go's
//! `tools/leaderelection` runs it for kube-scheduler and
//! kube-controller-manager with `--leader-elect=true` (kubeadm's default;
//! minikube turns it off).
//!
//! A process starts as a candidate named `<hostname>_<uuid>` and does no
//! work until it leads. Every `retryPeriod` (2 s) it tries to acquire or
//! renew (`tryAcquireOrRenew`): a Lease held by another identity counts as
//! valid until `leaseDurationSeconds` (15 s) have passed since this
//! candidate last saw the record change, on its own clock, not the record's
//! `renewTime`; then it takes the Lease (`leaseTransitions` + 1,
//! `acquireTime` now) and records a `LeaderElection` Event, "<identity>
//! became leader". The leader writes `renewTime` every 2 s. The scheduler
//! releases the Lease when it is stopped (`ReleaseOnCancel`: no holder,
//! `leaseDurationSeconds` 1), so its next start leads at once; the
//! controller manager does not, so its next start waits out the 15 s.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

use crate::engine::api::{ids, meta, Object, Reason};
use crate::engine::apiserver::events::{EventRecorder, NORMAL};
use crate::engine::apiserver::events_api::EventsApiRecorder;
use crate::engine::apiserver::ApiServer;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Ctx;

pub const LEASE_NAMESPACE: &str = "kube-system";
/// component-base's `LeaderElectionConfiguration` defaults.
pub const LEASE_DURATION_SECONDS: i32 = 15;
pub const RETRY_PERIOD_MS: u64 = 2_000;
pub const RENEW_DEADLINE_MS: u64 = 10_000;

/// What a candidate last saw of the Lease, and when it saw it change.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    holder: String,
    duration_seconds: i32,
    acquire: Option<MicroTime>,
    renew: Option<MicroTime>,
    transitions: i32,
}

/// Where the `LeaderElection` Event is written: kube-controller-manager's
/// `tools/record` recorder, or kube-scheduler's `tools/events` broadcaster
/// through `DeprecatedNewLegacyRecorder` (an events.k8s.io Event whose
/// action is `NoteLess`).
pub enum Recorder {
    Core(EventRecorder),
    EventsApi(EventsApiRecorder),
}

impl Recorder {
    fn record(&mut self, api: &mut ApiServer, regarding: ObjectReference, note: String) {
        match self {
            Recorder::Core(r) => r.record_ref(api, regarding, NORMAL, "LeaderElection", note),
            Recorder::EventsApi(r) => r.event_ref(api, regarding, None, NORMAL, "LeaderElection", "NoteLess", note),
        }
    }

    fn reset(&mut self) {
        match self {
            Recorder::Core(r) => r.reset(),
            Recorder::EventsApi(r) => r.reset(),
        }
    }
}

pub struct LeaderElector {
    lease: &'static str,
    host: String,
    /// Seeds the streams of the identity's and the Lease's random draws,
    /// so electing leaves the API server's other draws (every later uid and
    /// generated name) as they were.
    stream: u64,
    draws: u64,
    release_on_cancel: bool,
    recorder: Recorder,
    identity: Option<String>,
    leading: bool,
    observed: Option<(Observed, VirtualTime)>,
    next_try: VirtualTime,
}

impl LeaderElector {
    pub fn new(lease: &'static str, host: &str, recorder: Recorder, stream: u64, release_on_cancel: bool) -> Self {
        LeaderElector {
            lease,
            host: host.to_string(),
            stream,
            draws: 0,
            release_on_cancel,
            recorder,
            identity: None,
            leading: false,
            observed: None,
            next_try: VirtualTime::ZERO,
        }
    }

    fn next_stream(&mut self) -> u64 {
        self.draws += 1;
        self.stream ^ (self.draws << 8)
    }

    /// Whether this process leads now; tries to acquire or renew when a
    /// retry period has passed, and asks to run at the next try.
    pub fn lead(&mut self, ctx: &mut Ctx) -> bool {
        if ctx.now >= self.next_try {
            self.next_try = ctx.now.plus_millis(RETRY_PERIOD_MS);
            let renewed = self.try_acquire_or_renew(ctx.api, ctx.now);
            // `renewDeadline` (10 s) without a renewal: the leader steps
            // down (the real process exits and its container is started
            // again, a new candidate).
            if !renewed && self.leading && self.observed.as_ref().is_some_and(|(_, at)| ctx.now.millis_since(*at) > RENEW_DEADLINE_MS) {
                self.leading = false;
                self.identity = None;
                self.observed = None;
            }
        }
        ctx.wake_at(self.next_try);
        self.leading
    }

    fn identity(&mut self, api: &mut ApiServer) -> String {
        if let Some(id) = &self.identity {
            return id.clone();
        }
        let stream = self.next_stream();
        let uid = api.uid_of_stream(stream);
        let id = format!("{}_{uid}", self.host);
        self.identity = Some(id.clone());
        id
    }

    /// Whether the Lease is held by this process after the try.
    fn try_acquire_or_renew(&mut self, api: &mut ApiServer, now: VirtualTime) -> bool {
        let identity = self.identity(api);
        let current = match api.get(ids::leases(), LEASE_NAMESPACE, self.lease) {
            Ok(object) => match &*object {
                Object::Lease(lease) => Some(observe(lease)),
                _ => return false,
            },
            Err(e) if e.reason == Reason::NotFound => None,
            Err(_) => return false,
        };
        let Some(record) = current else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.lease.to_string()), namespace: Some(LEASE_NAMESPACE.to_string()), ..Default::default() },
                spec: Some(spec(&identity, LEASE_DURATION_SECONDS, now, now, 0)),
            };
            let stream = self.next_stream();
            if let Ok(created) = api.with_own_draws(stream, |api| api.create(Object::Lease(Box::new(lease)))) {
                self.observed = Some((observe_object(&created), now));
                self.became_leader(api, &created, &identity);
                return true;
            }
            return false;
        };
        if self.observed.as_ref().map(|(o, _)| o) != Some(&record) {
            self.observed = Some((record.clone(), now));
        }
        let observed_at = self.observed.as_ref().map_or(now, |(_, at)| *at);
        let valid = !record.holder.is_empty() && observed_at.plus_millis(record.duration_seconds.max(0) as u64 * 1000) > now;
        if valid && !self.leading {
            return false;
        }
        let (acquire, transitions) = if self.leading { (record.acquire.clone(), record.transitions) } else { (Some(meta::api_micro_time(now)), record.transitions + 1) };
        let renew = meta::api_micro_time(now);
        let updated = api.modify(ids::leases(), LEASE_NAMESPACE, self.lease, false, |obj| {
            let Object::Lease(lease) = obj else { return false };
            lease.spec = Some(LeaseSpec {
                holder_identity: Some(identity.clone()),
                lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
                acquire_time: acquire.clone(),
                renew_time: Some(renew.clone()),
                lease_transitions: Some(transitions),
                ..Default::default()
            });
            true
        });
        match updated {
            Ok(written) => {
                self.observed = Some((observe_object(&written), now));
                if !self.leading {
                    self.became_leader(api, &written, &identity);
                }
                true
            }
            Err(_) => false,
        }
    }

    fn became_leader(&mut self, api: &mut ApiServer, lease: &Object, identity: &str) {
        self.leading = true;
        let m = lease.meta();
        let reference = ObjectReference {
            api_version: Some("coordination.k8s.io/v1".into()),
            kind: Some("Lease".into()),
            namespace: m.namespace.clone(),
            name: m.name.clone(),
            uid: m.uid.clone(),
            resource_version: m.resource_version.clone(),
            ..Default::default()
        };
        let stream = self.next_stream();
        let recorder = &mut self.recorder;
        api.with_own_draws(stream, |api| recorder.record(api, reference, format!("{identity} became leader")));
    }

    /// The process stopped: a leader with `ReleaseOnCancel` gives the Lease
    /// up (`release`); the next start is a new candidate with a new identity.
    pub fn stopped(&mut self, api: &mut ApiServer, now: VirtualTime) {
        if self.leading && self.release_on_cancel {
            let transitions = self.observed.as_ref().map_or(0, |(o, _)| o.transitions);
            let _ = api.modify(ids::leases(), LEASE_NAMESPACE, self.lease, false, |obj| {
                let Object::Lease(lease) = obj else { return false };
                lease.spec = Some(spec("", 1, now, now, transitions));
                true
            });
        }
        self.identity = None;
        self.leading = false;
        self.observed = None;
        self.next_try = VirtualTime::ZERO;
        self.recorder.reset();
    }
}

fn spec(holder: &str, duration_seconds: i32, acquire: VirtualTime, renew: VirtualTime, transitions: i32) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.to_string()),
        lease_duration_seconds: Some(duration_seconds),
        acquire_time: Some(meta::api_micro_time(acquire)),
        renew_time: Some(meta::api_micro_time(renew)),
        lease_transitions: Some(transitions),
        ..Default::default()
    }
}

fn observe(lease: &Lease) -> Observed {
    let spec = lease.spec.as_ref();
    Observed {
        holder: spec.and_then(|s| s.holder_identity.clone()).unwrap_or_default(),
        duration_seconds: spec.and_then(|s| s.lease_duration_seconds).unwrap_or(0),
        acquire: spec.and_then(|s| s.acquire_time.clone()),
        renew: spec.and_then(|s| s.renew_time.clone()),
        transitions: spec.and_then(|s| s.lease_transitions).unwrap_or(0),
    }
}

fn observe_object(object: &Object) -> Observed {
    match object {
        Object::Lease(lease) => observe(lease),
        _ => Observed { holder: String::new(), duration_seconds: 0, acquire: None, renew: None, transitions: 0 },
    }
}
