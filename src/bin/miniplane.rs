//! The native command line: run transcript scripts and benchmarks.
//!
//! Flags are few and fixed, so they are parsed by hand rather than pulling a
//! parser crate into a binary that also shares the engine with the browser.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use miniplane::engine::api::{ids, Object};
use miniplane::engine::apiserver::Query;
use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::FileSource;
use miniplane::engine::script;
use miniplane::lesson;

const USAGE: &str = "\
Miniplane: a Kubernetes 1.33 cluster simulated in one process.

Usage:
  miniplane script [--seed N] [--profile default|minikube] [FILE|-]
      Run a transcript script (kubectl lines, stop/start COMPONENT, sleep DURATION)
      and print the transcript. Exit 2 if the script is malformed.
  miniplane lesson list
      List the built-in lessons.
  miniplane lesson verify [FILE…]
      Verify lessons (all built-in ones when no FILE is named): run the setup,
      then for each step check that its check fails, run its solution, and
      check that the check then holds. Exit 1 if any lesson fails.
  miniplane bench --nodes N --pods M [--seed N]
      Build an N-node cluster, create Deployments totalling M replicas, run until
      every pod is Running, and print the figures; the last line is JSON.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("script") => script_command(&args[1..]),
        Some("bench") => bench_command(&args[1..]),
        Some("lesson") => lesson_command(&args[1..]),
        Some("-h") | Some("--help") | Some("help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Reads `-f PATH` relative to the script's folder (or the working folder for stdin).
struct LocalFiles {
    base: PathBuf,
}

impl FileSource for LocalFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        let full = self.base.join(path);
        if full.is_dir() {
            return Err(format!("error reading {path}: is a directory"));
        }
        std::fs::read_to_string(&full).map_err(|_| format!("the path \"{path}\" does not exist"))
    }
}

struct Options {
    seed: u64,
    profile: ProfileKind,
    nodes: usize,
    pods: usize,
    positional: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut opts = Options { seed: 1, profile: ProfileKind::Default, nodes: 0, pods: 0, positional: Vec::new() };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |flag: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{flag} needs a value"))
        };
        match name {
            "--seed" => opts.seed = value("--seed")?.parse().map_err(|_| "--seed takes a whole number".to_string())?,
            "--profile" => {
                let p = value("--profile")?;
                opts.profile = ProfileKind::parse(&p).ok_or_else(|| format!("unknown profile \"{p}\" (default or minikube)"))?;
            }
            "--nodes" => opts.nodes = value("--nodes")?.parse().map_err(|_| "--nodes takes a whole number".to_string())?,
            "--pods" => opts.pods = value("--pods")?.parse().map_err(|_| "--pods takes a whole number".to_string())?,
            "-" => opts.positional.push(arg.clone()),
            other if other.starts_with('-') => return Err(format!("unknown flag {other}")),
            _ => opts.positional.push(arg.clone()),
        }
    }
    Ok(opts)
}

fn script_command(args: &[String]) -> ExitCode {
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("miniplane: {e}");
            return ExitCode::from(2);
        }
    };
    let (text, base) = match opts.positional.first().map(String::as_str) {
        None | Some("-") => {
            let mut text = String::new();
            if std::io::stdin().read_to_string(&mut text).is_err() {
                eprintln!("miniplane: standard input is not text");
                return ExitCode::from(2);
            }
            (text, PathBuf::from("."))
        }
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (text, Path::new(path).parent().map(Path::to_path_buf).unwrap_or_default()),
            Err(e) => {
                eprintln!("miniplane: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let commands = match script::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("miniplane: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cluster = Cluster::new(Profile::new(opts.profile), opts.seed);
    let files = LocalFiles { base };
    print!("{}", script::run(&mut cluster, &commands, &files));
    ExitCode::SUCCESS
}

fn lesson_command(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("list") if args.len() == 1 => {
            println!("{:<28} {:>5}  {:<9} TITLE", "ID", "STEPS", "PROFILE");
            for (id, text) in lesson::builtin_sources() {
                match lesson::parse(text, Some(id)) {
                    Ok(l) => println!("{:<28} {:>5}  {:<9} {}", l.id, l.steps.len(), lesson::profile_name(l.profile), l.title),
                    Err(e) => println!("{id:<28} {:>5}  {:<9} (does not parse: {e})", "-", "-"),
                }
            }
            ExitCode::SUCCESS
        }
        Some("verify") => {
            let mut lessons: Vec<(String, Result<lesson::Lesson, String>)> = Vec::new();
            if args.len() == 1 {
                for (id, text) in lesson::builtin_sources() {
                    lessons.push((format!("lessons/{id}"), lesson::parse(text, Some(id)).map_err(|e| e.to_string())));
                }
            }
            for path in &args[1..] {
                let parsed = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}")).and_then(|text| {
                    let stem = Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                    let id = match stem.split_once('-') {
                        Some((n, rest)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => rest,
                        _ => stem,
                    };
                    let id = Some(id).filter(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
                    lesson::parse(&text, id).map_err(|e| e.to_string())
                });
                lessons.push((path.clone(), parsed));
            }
            let mut failed = 0;
            for (name, parsed) in &lessons {
                let result = parsed.clone().and_then(|l| lesson::verify::verify(&l).map_err(|f| f.message));
                match result {
                    Ok(report) => {
                        println!("ok    {name}: {} steps, {} of virtual time", report.steps.len(), lesson::human_duration(report.virtual_ms));
                        for (i, step) in report.steps.iter().enumerate() {
                            println!("        {}. {} (check held {} after the solution)", i + 1, step.title, lesson::human_duration(step.held_after_ms));
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        println!("FAIL  {name}: {e}");
                    }
                }
            }
            println!("{} lessons verified, {failed} failed", lessons.len() - failed);
            if failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Peak resident memory of this process, from the kernel's accounting.
fn peak_mem_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn count_pods(cluster: &Cluster) -> (usize, usize, usize) {
    let Ok((pods, _)) = cluster.sim.api.list(&Query::in_namespace(ids::pods(), "bench")) else {
        return (0, 0, 0);
    };
    let mut bound = 0;
    let mut running = 0;
    for p in &pods {
        if let Object::Pod(pod) = &**p {
            if pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                bound += 1;
            }
            if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                running += 1;
            }
        }
    }
    (pods.len(), bound, running)
}

fn bench_command(args: &[String]) -> ExitCode {
    let opts = match parse_options(args) {
        Ok(o) if o.nodes > 0 && o.pods > 0 => o,
        Ok(_) => {
            eprintln!("miniplane: bench needs --nodes N and --pods M");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("miniplane: {e}");
            return ExitCode::from(2);
        }
    };
    match bench(opts.nodes, opts.pods, opts.seed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miniplane: bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Three phases, so the scheduler's rate is measured on its own:
/// A. scheduler and kubelets stopped: Deployments are created and the
///    controllers create every pod; B. the scheduler starts and binds them
///    all at one virtual instant; C. the kubelets start and run virtual time
///    until every pod is Running. "All running" is A + B + C in wall time.
fn bench(nodes: usize, pods: usize, seed: u64) -> Result<(), String> {
    let boot_start = Instant::now();
    let mut cluster = Cluster::new(Profile::scaled(nodes), seed);
    cluster.sim.activity.enabled = false;
    let boot_s = boot_start.elapsed().as_secs_f64();
    eprintln!("booted {nodes} nodes in {boot_s:.2} s wall");

    let kubelets: Vec<String> = cluster.sim.node_names().iter().map(|n| format!("kubelet/{n}")).collect();
    cluster.sim.stop("scheduler")?;
    for k in &kubelets {
        cluster.sim.stop(k)?;
    }

    let phase_a = Instant::now();
    create_bench_deployments(&mut cluster, pods)?;
    let deadline = cluster.now().plus_secs(30);
    loop {
        cluster.sim.run_for_ms(100);
        let (created, _, _) = count_pods(&cluster);
        if created >= pods {
            break;
        }
        if cluster.now() >= deadline {
            return Err(format!("controllers created {created} of {pods} pods in 30 s of virtual time"));
        }
    }
    let a_s = phase_a.elapsed().as_secs_f64();
    eprintln!("phase A: {pods} pods created in {a_s:.2} s wall");

    let phase_b = Instant::now();
    cluster.sim.start("scheduler")?;
    cluster.sim.settle();
    let b_s = phase_b.elapsed().as_secs_f64();
    let (_, bound, _) = count_pods(&cluster);
    eprintln!("phase B: {bound} pods bound in {b_s:.2} s wall");
    if bound < pods {
        return Err(format!("scheduler bound {bound} of {pods} pods"));
    }

    let phase_c = Instant::now();
    for k in &kubelets {
        cluster.sim.start(k)?;
    }
    let deadline = cluster.now().plus_secs(600);
    let mut running;
    loop {
        cluster.sim.run_for_ms(1000);
        (_, _, running) = count_pods(&cluster);
        if cluster.now().as_millis() % 10_000 < 1_000 {
            eprintln!("  virtual {}: {running} running, {:.1} s wall", cluster.now(), phase_c.elapsed().as_secs_f64());
        }
        if running >= pods || cluster.now() >= deadline {
            break;
        }
    }
    let c_s = phase_c.elapsed().as_secs_f64();
    eprintln!("phase C: {running} pods running in {c_s:.2} s wall, virtual time {}", cluster.now());
    if running < pods {
        return Err(format!("{running} of {pods} pods Running after 600 s of virtual time"));
    }
    let rate = if b_s > 0.0 { pods as f64 / b_s } else { f64::INFINITY };
    let all_running = a_s + b_s + c_s;
    let mem = peak_mem_mib();
    println!("nodes: {nodes}, pods: {pods}");
    println!("scheduler: {rate:.0} pods/s ({pods} pods bound in {b_s:.2} s)");
    println!("all running: {all_running:.2} s wall (create {a_s:.2} + schedule {b_s:.2} + start {c_s:.2}); boot {boot_s:.2} s");
    println!("peak memory: {mem:.0} MiB");
    println!(
        "{{\"nodes\":{nodes},\"pods\":{pods},\"schedule_pods_per_s\":{rate:.0},\"all_running_wall_s\":{all_running:.3},\"peak_mem_mib\":{mem:.0}}}"
    );
    Ok(())
}

/// Deployments of at most 100 replicas each (a typical size) in namespace `bench`, with
/// small requests so capacity never limits the run.
fn create_bench_deployments(cluster: &mut Cluster, pods: usize) -> Result<(), String> {
    let api = &mut cluster.sim.api;
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}});
    let ns = Object::from_json(ids::namespaces(), ns).map_err(|e| e.to_string())?;
    api.create(ns).map_err(|e| e.to_string())?;
    let mut remaining = pods;
    let mut index = 0;
    while remaining > 0 {
        let replicas = remaining.min(100);
        remaining -= replicas;
        index += 1;
        let name = format!("app-{index}");
        let deployment = serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}
                    }]}
                }
            }
        });
        let obj = Object::from_json(ids::deployments(), deployment).map_err(|e| e.to_string())?;
        api.create(obj).map_err(|e| e.to_string())?;
    }
    Ok(())
}
