//! Shaped scenes (terminal lines, editor manifests, switches, faults)
//! through a link and replayed on a fresh cluster.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;
use miniplane::scene::{Action, Replay, Scene, Timed};

const COMPONENTS: &[&str] = &["scheduler", "controller-manager", "apiserver", "etcd", "kubelet/worker-1", "kube-proxy/worker-2", "node/worker-3", "x"];
const LINES: &[&str] = &[
    "partition node/worker-1", "heal node/worker-1", "slow etcd 2s", "slow apiserver 0s", "restart kubelet/worker-2",
    "etcdctl snapshot save a.db", "etcdctl snapshot restore a.db", "etcdutl snapshot restore a.db --bump-revision 9 --mark-compacted",
    "etcdutl snapshot status a.db -w table", "partition x",
];
const HOST_LINES: &[&str] = &["traffic start http://172.18.0.3:30080/ --rate 5/s", "traffic stop", "curl http://172.18.0.3:30080/", "wget -qO- x", "minikube service web"];

fn action(u: &mut arbitrary::Unstructured) -> arbitrary::Result<Action> {
    Ok(match u.int_in_range(0..=6)? {
        0 => Action::Kubectl { line: shell_words::join(common::kubectl_words(u)?), stdin: None },
        6 => Action::Host { line: u.choose(HOST_LINES)?.to_string() },
        1 => Action::Apply { text: serde_yaml::to_string(&common::object(u)?).unwrap_or_default() },
        2 => Action::Delete { text: serde_yaml::to_string(&common::object(u)?).unwrap_or_default() },
        3 => Action::Stop { component: u.choose(COMPONENTS)?.to_string() },
        4 => Action::Start { component: u.choose(COMPONENTS)?.to_string() },
        _ => Action::Script { line: u.choose(LINES)?.to_string() },
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let mut scene = Scene::new(u.arbitrary().unwrap_or(1));
    let mut t = 60_000u64;
    for _ in 0..u.int_in_range(0..=6).unwrap_or(0) {
        t += u.int_in_range(0..=90_000u64).unwrap_or(0);
        let r = if u.arbitrary().unwrap_or(false) { Some(u.int_in_range(0..=200u64).unwrap_or(0)) } else { None };
        let Ok(action) = action(&mut u) else { break };
        scene.actions.push(Timed { t, r, action });
    }
    scene.until_ms = t + 1_000;
    let read = Scene::from_fragment(&scene.to_fragment()).expect("a scene reads back from its own link");
    let mut cluster = read.boot();
    Replay::new(read).run_to_end(&mut cluster);
});
