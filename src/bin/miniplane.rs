//! The native command line: run transcript scripts and benchmarks.
//!
//! Flags are few and fixed, so they are parsed by hand rather than pulling a
//! parser crate into a binary that also shares the engine with the browser.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use miniplane::engine::api::{ids, Object};
use miniplane::engine::apiserver::{ApiServer, Query};
use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::DiskFiles;
use miniplane::engine::script;
use miniplane::engine::store::{Entry, Value};
use miniplane::engine::sweep;
use miniplane::lesson;

#[cfg(all(feature = "native-allocator", not(target_arch = "wasm32")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (its `malloc_conf`; the
/// `_RJEM_MALLOC_CONF` variable still overrides them). The engine frees an
/// object version per write: freed pages are kept for the next ones rather
/// than handed back and faulted in again (`dirty_decay_ms`,
/// `muzzy_decay_ms` -1). Its heap, and jemalloc's own records, sit on
/// transparent huge pages (`thp`, `metadata_thp`; the system's setting is
/// `madvise` here): fewer TLB misses over a heap of gigabytes. Blocks of
/// 8 MiB and more (a table of every pod, as it grows) come from the same
/// arena as the rest (`oversize_threshold` 0), not from one of their own,
/// where the space a grown table gave up could serve only another such
/// block: 28 MiB less at the 5,000-node peak.
#[cfg(all(feature = "native-allocator", not(target_arch = "wasm32")))]
#[export_name = "_rjem_malloc_conf"]
pub static JEMALLOC_OPTIONS: &[u8; 88] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1,thp:always,metadata_thp:always,oversize_threshold:0\0";

const USAGE: &str = "\
Miniplane: a Kubernetes 1.33 cluster simulated in one process.

Usage:
  miniplane script [--seed N] [--profile default|minikube] [--check] [FILE|-]
      Run a transcript script (kubectl lines, stop/start/restart COMPONENT,
      partition/heal node/NAME, slow apiserver|etcd DURATION, etcdctl snapshot …,
      sleep DURATION) and print the transcript. Exit 2 if the script is malformed.
      --check runs the sweep's invariant checkers after every command (and the
      convergence check at the end if every fault is over and it ends with a sleep);
      exit 1 on a violation.
  miniplane sweep --seeds N [--steps M] [--profile default|minikube] [--from S] [--jobs J]
      Run seeds S..S+N-1 (S defaults to 1): random workloads under random faults,
      invariants checked all along, then convergence once the faults end. Prints
      each failure with a shrunk script; the last line is JSON. Exit 1 on any failure.
      --print prints each seed's script instead of running it.
  miniplane lesson list
      List the built-in lessons.
  miniplane lesson verify [FILE…]
      Verify lessons (all built-in ones when no FILE is named): run the setup,
      then for each step check that its check fails, run its solution, and
      check that the check then holds. Exit 1 if any lesson fails.
  miniplane bench --nodes N --pods M [--seed N] [--schedule-only]
      Build an N-node cluster, create Deployments totalling M replicas, run until
      every pod is Running, and print the figures; the last line is JSON.
      --schedule-only stops once the scheduler has bound every pod.
  miniplane bench-store [--writes N] [--watchers W]
      Write N Lease renewals and N pod status changes through the API server
      with W watchers draining their watches, and print writes per second;
      the last line is JSON.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("script") => script_command(&args[1..]),
        Some("bench") => bench_command(&args[1..]),
        Some("sweep") => sweep_command(&args[1..]),
        Some("bench-store") => store_bench_command(&args[1..]),
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

struct Options {
    seed: u64,
    profile: ProfileKind,
    nodes: usize,
    pods: usize,
    check: bool,
    print: bool,
    seeds: u64,
    steps: usize,
    from: u64,
    jobs: usize,
    writes: usize,
    watchers: usize,
    schedule_only: bool,
    positional: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut opts = Options { seed: 1, profile: ProfileKind::Default, nodes: 0, pods: 0, check: false, print: false, seeds: 0, steps: 40, from: 1, jobs: 1, writes: 200_000, watchers: 100, schedule_only: false, positional: Vec::new() };
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
            "--check" => opts.check = true,
            "--schedule-only" => opts.schedule_only = true,
            "--print" => opts.print = true,
            "--seeds" => opts.seeds = value("--seeds")?.parse().map_err(|_| "--seeds takes a whole number".to_string())?,
            "--steps" => opts.steps = value("--steps")?.parse().map_err(|_| "--steps takes a whole number".to_string())?,
            "--from" => opts.from = value("--from")?.parse().map_err(|_| "--from takes a whole number".to_string())?,
            "--jobs" => opts.jobs = value("--jobs")?.parse().map_err(|_| "--jobs takes a whole number".to_string())?,
            "--writes" => opts.writes = value("--writes")?.parse().map_err(|_| "--writes takes a whole number".to_string())?,
            "--watchers" => opts.watchers = value("--watchers")?.parse().map_err(|_| "--watchers takes a whole number".to_string())?,
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
    if opts.check {
        return checked_script(&opts, &text, &commands, DiskFiles { base });
    }
    let mut cluster = Cluster::new(Profile::new(opts.profile), opts.seed);
    let files = DiskFiles { base };
    print!("{}", script::run(&mut cluster, &commands, &files));
    ExitCode::SUCCESS
}

/// `script --check`: the transcript, then the first violation if any.
fn checked_script(opts: &Options, text: &str, commands: &[script::Command], files: DiskFiles) -> ExitCode {
    let _ = commands;
    sweep::quiet_panics();
    let (transcript, failure) = sweep::run_checked(opts.profile, opts.seed, text, &files, false);
    print!("{transcript}");
    match failure {
        None => {
            println!("# check: every invariant held");
            ExitCode::SUCCESS
        }
        Some(f) => {
            println!("# check failed at {f}");
            ExitCode::FAILURE
        }
    }
}

fn sweep_command(args: &[String]) -> ExitCode {
    let opts = match parse_options(args) {
        Ok(o) if o.seeds > 0 && o.steps > 0 => o,
        Ok(_) => {
            eprintln!("miniplane: sweep needs --seeds N (and --steps M above 0)");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("miniplane: {e}");
            return ExitCode::from(2);
        }
    };
    if opts.print {
        for seed in opts.from..opts.from.saturating_add(opts.seeds) {
            println!("# seed {seed}\n{}", sweep::script_for(seed, opts.steps, opts.profile));
        }
        return ExitCode::SUCCESS;
    }
    sweep::quiet_panics();
    let sweep_opts = sweep::Options { seeds: opts.seeds, first_seed: opts.from, steps: opts.steps, profile: opts.profile };
    let seeds: Vec<u64> = (opts.from..opts.from.saturating_add(opts.seeds)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel::<(u64, usize, usize, Option<String>, bool, f64)>();
    let started = Instant::now();
    let mut totals = sweep::Totals::default();
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.clamp(1, 64) {
            let (sender, seeds, next, sweep_opts) = (sender.clone(), &seeds, &next, &sweep_opts);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&seed) = seeds.get(i) else { break };
                let t = Instant::now();
                let report = sweep::run_seed(seed, sweep_opts);
                let panicked = matches!(report.failure, Some(sweep::Failure::Panic { .. }));
                let text = report.failure.as_ref().map(|_| sweep::describe(&report));
                if sender.send((seed, report.steps, report.faults, text, panicked, t.elapsed().as_secs_f64())).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        for (seed, steps, faults, failure, panicked, secs) in receiver {
            totals.seeds += 1;
            totals.steps += steps as u64;
            totals.faults += faults as u64;
            match &failure {
                Some(text) => {
                    if panicked {
                        totals.panics += 1;
                    } else {
                        totals.violations += 1;
                    }
                    print!("{text}");
                    eprintln!("seed {seed}: FAILED ({steps} steps, {faults} faults, {secs:.1} s)");
                }
                None => eprintln!("seed {seed}: ok ({steps} steps, {faults} faults, {secs:.1} s)"),
            }
        }
    });
    eprintln!("{} seeds in {:.1} s wall", totals.seeds, started.elapsed().as_secs_f64());
    println!("{}", totals.json());
    if totals.violations + totals.panics > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
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

/// CPU time this process has used (user + system), from the kernel's
/// accounting: on a shared machine it says more than wall time does.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are the 14th and 15th fields; `rest` starts at the 3rd.
    (ticks(11) + ticks(12)) / 100.0
}

/// A count of the bench's pods, taken again only when it could have
/// reached its target. Counting reads every pod in the store (3 % of the
/// 5,000-node run's samples when done every virtual second). Each write
/// moves the store's revision by one and changes one key, so a count can
/// have grown by at most as much as the revision moved since it was taken.
struct PodCount {
    /// Whether a pod counts.
    holds: Counted,
    count: usize,
    revision: i64,
}

impl PodCount {
    fn new(cluster: &Cluster, holds: Counted) -> Self {
        PodCount { holds, count: count_pods_where(cluster, holds, false).unwrap_or(0), revision: cluster.sim.api.store().revision() }
    }

    /// Counts again if the count could now be `target`, or if `anyway`.
    /// A check that is not `anyway` stops at the first pod that does not
    /// count (it cannot be the target then) and keeps the last count: the
    /// pods are in no order, so a check while some are still to come reads
    /// a few of 150,000 where a full count read them all every virtual second.
    fn recount_if(&mut self, cluster: &Cluster, target: usize, anyway: bool) {
        let revision = cluster.sim.api.store().revision();
        let moved = usize::try_from(revision - self.revision).unwrap_or(usize::MAX);
        // (A restore from a snapshot may move the revision back.)
        if anyway || revision < self.revision {
            self.count = count_pods_where(cluster, self.holds, false).unwrap_or(0);
            self.revision = revision;
        } else if self.count.saturating_add(moved) >= target {
            if let Some(all) = count_pods_where(cluster, self.holds, true) {
                self.count = all;
                self.revision = revision;
            }
        }
    }
}

/// What the bench waits for of each pod.
#[derive(Clone, Copy)]
enum Counted {
    Created,
    Bound,
    Running,
}

impl Counted {
    fn holds(self, entry: &Entry) -> bool {
        // A pod created needs only its entry: the pod itself is not read.
        if let Counted::Created = self {
            return true;
        }
        let Value::Object(obj) = &entry.value else { return false };
        match (self, &**obj) {
            (Counted::Bound, Object::Pod(pod)) => pod.node_name().is_some(),
            (Counted::Running, Object::Pod(pod)) => pod.status.as_ref().and_then(|s| s.phase()) == Some("Running"),
            _ => false,
        }
    }
}

/// How many of the bench's pods `holds` is true of; with `all_or_none`,
/// `None` as soon as one is found it is not true of.
fn count_pods_where(cluster: &Cluster, holds: Counted, all_or_none: bool) -> Option<usize> {
    // Read in place from the store (the bench's own reads, not the
    // engine's: a list would copy 150,000 references every virtual second).
    let prefix = ApiServer::key(ids::pods(), "bench", "");
    let mut count = 0;
    for entry in cluster.sim.api.store().scan_unordered(&prefix) {
        if holds.holds(entry) {
            count += 1;
        } else if all_or_none {
            return None;
        }
    }
    Some(count)
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
    match bench(opts.nodes, opts.pods, opts.seed, opts.schedule_only) {
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
/// With `schedule_only` it stops after B.
fn bench(nodes: usize, pods: usize, seed: u64, schedule_only: bool) -> Result<(), String> {
    let boot_start = Instant::now();
    let boot_cpu_start = cpu_s();
    let mut cluster = Cluster::new(Profile::scaled(nodes), seed);
    cluster.sim.activity.enabled = false;
    let boot_s = boot_start.elapsed().as_secs_f64();
    let boot_cpu = cpu_s() - boot_cpu_start;
    eprintln!("booted {nodes} nodes in {boot_s:.2} s wall, {boot_cpu:.2} s of CPU");

    let kubelets: Vec<String> = cluster.sim.node_names().iter().map(|n| format!("kubelet/{n}")).collect();
    cluster.sim.stop("scheduler")?;
    for k in &kubelets {
        cluster.sim.stop(k)?;
    }

    let phase_a = Instant::now();
    let cpu_a = cpu_s();
    let writes_a = cluster.sim.api.writes;
    create_bench_deployments(&mut cluster, pods)?;
    let deadline = cluster.now().plus_secs(30);
    let mut created = PodCount::new(&cluster, Counted::Created);
    loop {
        cluster.sim.run_for_ms(100);
        let at_deadline = cluster.now() >= deadline;
        created.recount_if(&cluster, pods, at_deadline);
        if created.count >= pods {
            break;
        }
        if at_deadline {
            return Err(format!("controllers created {} of {pods} pods in 30 s of virtual time", created.count));
        }
    }
    let a_s = phase_a.elapsed().as_secs_f64();
    let writes_b = cluster.sim.api.writes;
    eprintln!("phase A: {pods} pods created in {a_s:.2} s wall, {} writes", writes_b - writes_a);

    let phase_b = Instant::now();
    let cpu_b = cpu_s();
    cluster.sim.start("scheduler")?;
    cluster.sim.settle();
    let b_s = phase_b.elapsed().as_secs_f64();
    let b_cpu = cpu_s() - cpu_b;
    let writes_c = cluster.sim.api.writes;
    let bound = count_pods_where(&cluster, Counted::Bound, false).unwrap_or(0);
    eprintln!("phase B: {bound} pods bound in {b_s:.2} s wall ({b_cpu:.2} s of CPU), {} writes", writes_c - writes_b);
    if bound < pods {
        return Err(format!("scheduler bound {bound} of {pods} pods"));
    }
    if schedule_only {
        let rate = if b_s > 0.0 { pods as f64 / b_s } else { f64::INFINITY };
        let rate_cpu = if b_cpu > 0.0 { pods as f64 / b_cpu } else { f64::INFINITY };
        println!("nodes: {nodes}, pods: {pods}");
        println!("scheduler: {rate:.0} pods/s ({pods} pods bound in {b_s:.2} s wall), {rate_cpu:.0} pods per CPU second ({b_cpu:.2} s of CPU)");
        println!("{{\"nodes\":{nodes},\"pods\":{pods},\"schedule_pods_per_s\":{rate:.0},\"schedule_pods_per_cpu_s\":{rate_cpu:.0}}}");
        // As below: the system takes the memory back at exit.
        std::mem::forget(cluster);
        return Ok(());
    }

    let phase_c = Instant::now();
    let cpu_c = cpu_s();
    for k in &kubelets {
        cluster.sim.start(k)?;
    }
    let deadline = cluster.now().plus_secs(600);
    let mut running = PodCount::new(&cluster, Counted::Running);
    loop {
        cluster.sim.run_for_ms(1000);
        let progress = cluster.now().as_millis() % 10_000 < 1_000;
        running.recount_if(&cluster, pods, progress || cluster.now() >= deadline);
        if progress {
            eprintln!("  virtual {}: {} running, {:.1} s wall, {:.1} s of CPU", cluster.now(), running.count, phase_c.elapsed().as_secs_f64(), cpu_s() - cpu_c);
        }
        if running.count >= pods || cluster.now() >= deadline {
            break;
        }
    }
    let running = running.count;
    let c_s = phase_c.elapsed().as_secs_f64();
    let writes_end = cluster.sim.api.writes;
    eprintln!("phase C: {running} pods running in {c_s:.2} s wall, {} writes, virtual time {}", writes_end - writes_c, cluster.now());
    if running < pods {
        return Err(format!("{running} of {pods} pods Running after 600 s of virtual time"));
    }
    let rate = if b_s > 0.0 { pods as f64 / b_s } else { f64::INFINITY };
    let all_running = a_s + b_s + c_s;
    let cpu_running = cpu_s() - cpu_a;
    let mem = peak_mem_mib();
    // Everything the process holds at its peak (cluster, nodes, pods, Events), per pod.
    let bytes_per_pod = mem * 1024.0 * 1024.0 / pods as f64;
    let per_s = |writes: u64, s: f64| if s > 0.0 { writes as f64 / s } else { 0.0 };
    let all_writes = writes_end - writes_a;
    println!("nodes: {nodes}, pods: {pods}");
    println!(
        "phases: create {a_s:.2} s ({:.0} pods/s), schedule {b_s:.2} s, start {c_s:.2} s ({:.0} pods/s)",
        per_s(pods as u64, a_s),
        per_s(pods as u64, c_s)
    );
    println!(
        "writes: {all_writes} ({:.0}/s; create {:.0}/s, schedule {:.0}/s, start {:.0}/s), {:.1} per pod",
        per_s(all_writes, all_running),
        per_s(writes_b - writes_a, a_s),
        per_s(writes_c - writes_b, b_s),
        per_s(writes_end - writes_c, c_s),
        all_writes as f64 / pods as f64
    );
    println!("scheduler: {rate:.0} pods/s ({pods} pods bound in {b_s:.2} s)");
    println!("all running: {all_running:.2} s wall (create {a_s:.2} + schedule {b_s:.2} + start {c_s:.2}), {cpu_running:.2} s of CPU; boot {boot_s:.2} s ({boot_cpu:.2} s of CPU)");
    println!("peak memory: {mem:.0} MiB ({bytes_per_pod:.0} bytes per pod)");
    println!(
        "{{\"nodes\":{nodes},\"pods\":{pods},\"schedule_pods_per_s\":{rate:.0},\"all_running_wall_s\":{all_running:.3},\"peak_mem_mib\":{mem:.0},\"bytes_per_pod\":{bytes_per_pod:.0}}}"
    );
    // The process ends here: freeing every object of a 150,000-pod
    // cluster one by one took about a tenth of the run's CPU, and the
    // system takes the memory back at exit anyway.
    std::mem::forget(cluster);
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

fn store_bench_command(args: &[String]) -> ExitCode {
    let opts = match parse_options(args) {
        Ok(o) if o.writes > 0 => o,
        Ok(_) => {
            eprintln!("miniplane: bench-store needs --writes above 0");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("miniplane: {e}");
            return ExitCode::from(2);
        }
    };
    match store_bench(opts.writes, opts.watchers) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miniplane: bench-store failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How many objects the store benchmark spreads its writes over.
const STORE_BENCH_OBJECTS: usize = 1_000;
/// Watchers drain their queues after this many writes, as components run between writes.
const STORE_BENCH_DRAIN_EVERY: usize = 100;

/// The store and its watch fan-out under the write load a cluster makes:
/// Lease renewals (every kubelet, every 10 s) and pod status changes, each
/// through the full API server path (precondition, validation, CAS, fan-out)
/// and seen by every watcher. Also the store alone, without the server.
fn store_bench(writes: usize, watchers: usize) -> Result<(), String> {
    use miniplane::engine::apiserver::ApiServer;
    use miniplane::engine::store::Store;

    let mut api = ApiServer::new(1, "192.168.49.2:8443");
    let err = |e: miniplane::engine::api::ApiError| e.to_string();
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}});
    api.create(Object::from_json(ids::namespaces(), ns).map_err(|e| e.to_string())?).map_err(err)?;
    // No controller manager runs here to make the namespace's default ServiceAccount.
    let sa = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "bench"}});
    api.create(Object::from_json(ids::service_accounts(), sa).map_err(|e| e.to_string())?).map_err(err)?;
    let mut leases = Vec::with_capacity(STORE_BENCH_OBJECTS);
    let mut pods = Vec::with_capacity(STORE_BENCH_OBJECTS);
    for i in 0..STORE_BENCH_OBJECTS {
        let lease = serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": format!("node-{i}"), "namespace": "bench"},
            "spec": {"holderIdentity": format!("node-{i}"), "leaseDurationSeconds": 40}});
        leases.push(api.create(Object::from_json(ids::leases(), lease).map_err(|e| e.to_string())?).map_err(err)?);
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("web-{i}"), "namespace": "bench", "labels": {"app": "web"}},
            "spec": {"nodeName": format!("node-{}", i % 100), "containers": [{"name": "web", "image": "nginx:1.27"}]}});
        pods.push(api.create(Object::from_json(ids::pods(), pod).map_err(|e| e.to_string())?).map_err(err)?);
    }
    let mut watches = Vec::with_capacity(watchers * 2);
    for owner in 0..watchers {
        watches.push(api.watch(owner, Query::all(ids::leases())).map_err(err)?);
        watches.push(api.watch(owner, Query::all(ids::pods())).map_err(err)?);
    }
    let mut delivered = 0usize;
    let mut drain = |api: &mut ApiServer| -> Result<(), String> {
        for id in &watches {
            delivered += api.poll(*id).map_err(err)?.len();
        }
        Ok(())
    };

    let (start, cpu_start) = (Instant::now(), cpu_s());
    for i in 0..writes {
        let slot = i % STORE_BENCH_OBJECTS;
        let mut next = (*leases[slot]).clone();
        if let Object::Lease(l) = &mut next {
            let spec = l.spec.get_or_insert_with(Default::default);
            spec.renew_time = Some(miniplane::engine::api::meta::api_micro_time(miniplane::engine::sim::clock::VirtualTime::from_millis(i as u64)));
        }
        leases[slot] = api.update(next).map_err(err)?;
        if i % STORE_BENCH_DRAIN_EVERY == STORE_BENCH_DRAIN_EVERY - 1 {
            drain(&mut api)?;
        }
    }
    drain(&mut api)?;
    let (lease_s, lease_cpu) = (start.elapsed().as_secs_f64(), cpu_s() - cpu_start);

    let (start, cpu_start) = (Instant::now(), cpu_s());
    for i in 0..writes {
        let slot = i % STORE_BENCH_OBJECTS;
        let mut next = (*pods[slot]).clone();
        if let Object::Pod(p) = &mut next {
            let status = p.status_mut();
            status.phase = Some("Pending".to_string());
            status.message = Some(format!("write {i}"));
        }
        pods[slot] = api.update_status(next).map_err(err)?;
        if i % STORE_BENCH_DRAIN_EVERY == STORE_BENCH_DRAIN_EVERY - 1 {
            drain(&mut api)?;
        }
    }
    drain(&mut api)?;
    let (pod_s, pod_cpu) = (start.elapsed().as_secs_f64(), cpu_s() - cpu_start);
    let expected = 2 * writes * watchers;
    if delivered != expected {
        return Err(format!("watchers saw {delivered} events, expected {expected}"));
    }

    // The store alone: compare-and-swap puts of a shared object, no server around it.
    let mut store = Store::default();
    let template = leases[0].clone();
    let keys: Vec<String> = (0..STORE_BENCH_OBJECTS).map(|i| format!("/registry/leases/bench/node-{i}")).collect();
    let (start, cpu_start) = (Instant::now(), cpu_s());
    for i in 0..writes {
        let key = &keys[i % STORE_BENCH_OBJECTS];
        let expected = store.get(key).map_or(0, |e| e.mod_revision);
        store.put_if(key, Some(expected), |_| (*template).clone()).map_err(|e| format!("{e:?}"))?;
    }
    let (store_s, store_cpu) = (start.elapsed().as_secs_f64(), cpu_s() - cpu_start);

    let rate = |s: f64| if s > 0.0 { writes as f64 / s } else { f64::INFINITY };
    let (lease_rate, pod_rate, store_rate) = (rate(lease_s), rate(pod_s), rate(store_s));
    println!("watchers: {watchers}, writes: {writes} of each kind over {STORE_BENCH_OBJECTS} objects");
    // On a shared machine the rate per CPU second is the steadier figure.
    println!("lease renewals: {lease_rate:.0} writes/s through the API server ({lease_s:.2} s wall; {:.0} per CPU second)", rate(lease_cpu));
    println!("pod status: {pod_rate:.0} writes/s through the API server ({pod_s:.2} s wall; {:.0} per CPU second)", rate(pod_cpu));
    println!("store alone: {store_rate:.0} writes/s ({store_s:.2} s wall; {:.0} per CPU second)", rate(store_cpu));
    println!("events delivered: {delivered}");
    println!(
        "{{\"watchers\":{watchers},\"writes\":{writes},\"lease_writes_per_s\":{lease_rate:.0},\"pod_status_writes_per_s\":{pod_rate:.0},\"store_writes_per_s\":{store_rate:.0}}}"
    );
    Ok(())
}
