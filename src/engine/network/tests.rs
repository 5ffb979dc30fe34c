//! The network on a booted cluster: each hop's outcome, and what the tools
//! print, against pods, Services, NodePorts, CoreDNS and a dead node.

use super::path::connect;
use super::rules::Proto;
use super::tools::{self, ToolContext};
use super::{ConnectError, Origin};
use crate::engine::api::{ids, Object};
use crate::engine::cluster::{Cluster, Profile, ProfileKind};
use crate::engine::kubectl::{self, NoFiles};
use crate::engine::node::images::{parse_image, Toolkit};

fn kubectl(cluster: &mut Cluster, line: &str, stdin: Option<&str>) -> String {
    let out = kubectl::run(cluster, line, stdin, &NoFiles);
    assert_eq!(out.exit_code, 0, "{line}: {}", out.combined());
    out.combined()
}

fn pod_ip(cluster: &Cluster, name: &str) -> String {
    match cluster.sim.api.get(ids::pods(), "default", name).as_deref() {
        Ok(Object::Pod(p)) => p.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn cluster_ip(cluster: &Cluster, name: &str) -> String {
    match cluster.sim.api.get(ids::services(), "default", name).as_deref() {
        Ok(Object::Service(s)) => s.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn origin(cluster: &Cluster, name: &str) -> Origin {
    for (node, m) in cluster.sim.world.machines() {
        if let Some((uid, s)) = m.runtime.sandboxes().find(|(_, s)| s.pod == name && s.ready) {
            return Origin::Pod { node: node.clone(), uid: uid.clone(), namespace: "default".into(), name: name.into(), ip: s.ip.clone() };
        }
    }
    panic!("pod {name} has no sandbox");
}

fn run_tool(cluster: &mut Cluster, from: &Origin, image: &str, tty: bool, line: &str) -> tools::ToolOutput {
    let image = parse_image(image).unwrap();
    let toolkit = crate::engine::node::images::lookup(&image).map_or(Toolkit::Coreutils, |i| i.toolkit);
    let now = cluster.sim.now();
    let mut ctx = ToolContext { world: &mut cluster.sim.world, origin: from.clone(), now, image, toolkit, tty, stdin: None, loopback: None };
    let argv = shell_words::split(line).unwrap();
    tools::run(&mut ctx, &argv).expect("a network tool")
}

const WEB: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  nodeName: worker-2
  containers:
  - name: nginx
    image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector:
    app: web
  ports:
  - port: 80
    nodePort: 30080
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: worker-1
  containers:
  - name: busybox
    image: busybox
    command: [sleep, \"3600\"]
---
apiVersion: v1
kind: Pod
metadata:
  name: redis
  labels:
    app: redis
spec:
  nodeName: worker-3
  containers:
  - name: redis
    image: redis
---
apiVersion: v1
kind: Service
metadata:
  name: empty
spec:
  selector:
    app: nothing
  ports:
  - port: 80
";

fn booted() -> Cluster {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
    kubectl(&mut cluster, "apply -f -", Some(WEB));
    cluster.sim.run_for_ms(30_000);
    cluster
}

#[test]
fn each_hop_fails_with_the_real_symptom() {
    let mut cluster = booted();
    let now = cluster.sim.now();
    let client = origin(&cluster, "client");
    let (web, web_svc, empty_svc) = (pod_ip(&cluster, "web"), cluster_ip(&cluster, "web"), cluster_ip(&cluster, "empty"));
    let world = &mut cluster.sim.world;
    type Case<'a> = (&'a str, Origin, String, i32, Result<&'a str, ConnectError>);
    let cases: Vec<Case> = vec![
        ("pod to ClusterIP", client.clone(), web_svc.clone(), 80, Ok("web")),
        ("pod to pod IP", client.clone(), web.clone(), 80, Ok("web")),
        ("nothing listens", client.clone(), web.clone(), 81, Err(ConnectError::Refused)),
        ("ClusterIP on a port it does not serve", client.clone(), web_svc.clone(), 81, Err(ConnectError::TimedOut)),
        ("Service without endpoints rejects", client.clone(), empty_svc, 80, Err(ConnectError::Refused)),
        ("NodePort on the endpoint's node", Origin::Host, "172.18.0.4".into(), 30080, Ok("web")),
        ("Local NodePort on another node drops", Origin::Host, "172.18.0.3".into(), 30080, Err(ConnectError::TimedOut)),
        ("no NodePort there", Origin::Host, "172.18.0.4".into(), 30081, Err(ConnectError::Refused)),
        ("the host has no route to pods", Origin::Host, web.clone(), 80, Err(ConnectError::TimedOut)),
        ("a pod IP nobody has", client.clone(), "10.244.2.200".into(), 80, Err(ConnectError::NoRoute)),
        ("outside the cluster", client.clone(), "93.184.216.34".into(), 80, Err(ConnectError::TimedOut)),
        ("from a node to a ClusterIP", Origin::Node("worker-3".into()), web_svc.clone(), 80, Ok("web")),
    ];
    for (what, from, ip, port, want) in cases {
        let got = connect(world, &from, &ip, port, Proto::Tcp, now).map(|l| l.pod);
        assert_eq!(got.as_deref().map_err(|e| *e), want, "{what}");
    }
    // A powered-off node's pods are unreachable.
    world.machine_mut("worker-2").unwrap().set_power(false);
    assert_eq!(connect(world, &client, &web, 80, Proto::Tcp, now).map(|l| l.pod), Err(ConnectError::NoRoute));
}

#[test]
fn tools_print_what_the_real_ones_print() {
    let mut cluster = booted();
    let client = origin(&cluster, "client");
    let web_svc = cluster_ip(&cluster, "web");
    let out = run_tool(&mut cluster, &client, "busybox", false, "nslookup web");
    assert_eq!(
        out.stdout(),
        format!(
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb.default.svc.cluster.local\nAddress: {web_svc}\n\n** server can't find web.svc.cluster.local: NXDOMAIN\n\n** server can't find web.cluster.local: NXDOMAIN\n\n\n** server can't find web.svc.cluster.local: NXDOMAIN\n\n** server can't find web.cluster.local: NXDOMAIN\n\n"
        )
    );
    assert_eq!(out.code, 1);
    let out = run_tool(&mut cluster, &client, "busybox:1.28", false, "nslookup web");
    assert_eq!(
        out.stdout(),
        format!("Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      web\nAddress 1: {web_svc} web.default.svc.cluster.local\n")
    );
    let out = run_tool(&mut cluster, &client, "busybox:1.28", false, "nslookup nope");
    assert_eq!(out.stderr(), "nslookup: can't resolve 'nope'\n");
    let out = run_tool(&mut cluster, &client, "busybox", false, "wget -qO- http://web");
    assert!(out.stdout().starts_with("<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>"), "{}", out.stdout());
    let out = run_tool(&mut cluster, &client, "busybox", false, "wget -O- http://web/missing");
    assert_eq!(out.stderr(), format!("Connecting to web ({web_svc}:80)\nwget: server returned error: HTTP/1.1 404 Not Found\n"));
    let out = run_tool(&mut cluster, &client, "busybox", false, "wget -O- http://empty");
    assert!(out.stderr().ends_with("): Connection refused\n"), "{}", out.stderr());
    let out = run_tool(&mut cluster, &client, "busybox", false, "wget -qO- http://nothere");
    assert_eq!(out.stderr(), "wget: bad address 'nothere'\n");
    let out = run_tool(&mut cluster, &client, "curlimages/curl", true, "curl -sS http://web:81/");
    assert_eq!(out.stderr(), "curl: (7) Failed to connect to web port 81 after 127001 ms: Couldn't connect to server\n");
    let out = run_tool(&mut cluster, &client, "curlimages/curl", true, "curl -s -o /dev/null -w %{http_code} http://web/x");
    assert_eq!(out.stdout(), "404");
    let redis = origin(&cluster, "redis");
    let out = run_tool(&mut cluster, &redis, "redis", true, "redis-cli INCR hits");
    assert_eq!(out.stdout(), "(integer) 1\n");
    let out = run_tool(&mut cluster, &redis, "redis", false, "redis-cli GET hits");
    assert_eq!(out.stdout(), "1\n");
    let out = run_tool(&mut cluster, &redis, "redis", true, "redis-cli -p 6380 PING");
    assert_eq!(out.stderr(), "Could not connect to Redis at 127.0.0.1:6380: Connection refused\n");
    let out = run_tool(&mut cluster, &client, "busybox", false, "nc -zv web 80");
    assert_eq!(out.stderr(), format!("web ({web_svc}:80) open\n"));
    let out = run_tool(&mut cluster, &client, "busybox", false, &format!("ping -c 2 {web_svc}"));
    assert_eq!(out.code, 1, "a ClusterIP does not answer ping");
    assert!(out.stdout().contains("2 packets transmitted, 0 packets received, 100% packet loss"), "{}", out.stdout());
}

#[test]
fn dns_stops_answering_without_coredns() {
    let mut cluster = booted();
    kubectl(&mut cluster, "scale deployment coredns -n kube-system --replicas=0", None);
    cluster.sim.run_for_ms(40_000);
    let client = origin(&cluster, "client");
    let out = run_tool(&mut cluster, &client, "busybox", false, "nslookup web");
    assert_eq!(out.stdout(), ";; connection timed out; no servers could be reached\n\n");
    assert_eq!(out.code, 1);
}

const PHP_APACHE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: php-apache
spec:
  selector:
    matchLabels:
      run: php-apache
  template:
    metadata:
      labels:
        run: php-apache
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        ports:
        - containerPort: 80
        resources:
          limits:
            cpu: 500m
          requests:
            cpu: 200m
---
apiVersion: v1
kind: Service
metadata:
  name: php-apache
spec:
  ports:
  - port: 80
  selector:
    run: php-apache
";

#[test]
fn a_load_loop_in_a_container_makes_real_requests_that_spend_cpu() {
    let mut cluster = Cluster::new(Profile::new(ProfileKind::Default), 1);
    kubectl(&mut cluster, "apply -f -", Some(PHP_APACHE));
    cluster.sim.run_for_ms(20_000);
    kubectl(&mut cluster, "run load-generator --image=busybox:1.28 --restart=Never -- /bin/sh -c \"while sleep 0.01; do wget -q -O- http://php-apache; done\"", None);
    cluster.sim.run_for_ms(10_000);
    let cpu_at = |cluster: &Cluster| -> u64 {
        cluster
            .sim
            .world
            .machines()
            .flat_map(|(_, m)| m.runtime.sandboxes().map(|(_, s)| s.clone()).collect::<Vec<_>>())
            .filter(|s| s.pod.starts_with("php-apache-"))
            .flat_map(|s| s.containers.into_iter().map(|c| c.cpu.work_us))
            .sum()
    };
    let before = cpu_at(&cluster);
    cluster.sim.run_for_ms(60_000);
    let spent_ms = (cpu_at(&cluster) - before) / 1000;
    // One loop against a 500m limit: each request queues 160 ms of wall
    // time, so the pod uses a little under half a core.
    assert!((24_000..=30_000).contains(&spent_ms), "CPU spent in a minute: {spent_ms} ms");
    let logs = kubectl(&mut cluster, "logs load-generator", None);
    assert!(logs.starts_with("OK!OK!OK!"), "{}", &logs[..logs.len().min(40)]);
}
