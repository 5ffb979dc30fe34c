//! The load generators the Kubernetes docs' resource walkthroughs run:
//! `stress` 1.0.4 (the polinux/stress image: `--vm N --vm-bytes B`,
//! `--cpu N`, `--io`, `--hdd`, `--timeout`) and vish/stress (`-cpus N`,
//! `-mem-total Q` allocated `-mem-alloc-size` at a time). What their
//! workers allocate and burn is the process's hog; an allocation past the
//! container's memory limit gets the cgroup's OOM killer, which ends the
//! whole container (cgroup v2 kills the group) with exit code 137.

use std::rc::Rc;

use k8s_openapi::api::core::v1::Container;

use super::runtime::{Hog, ProcessSpec};
use super::shell::{Effect, End, Program, Timed};
use crate::engine::quantity::{milli_value_of, value_of, Quantity};

/// How long a `stress` vm worker takes to allocate and touch its bytes.
const VM_TOUCH_MS: u64 = 200;

/// A run's demand before the container's limits are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Load {
    pub memory_bytes: u64,
    /// CPUs its workers keep busy, in millicores.
    pub cpu_millis: u64,
    /// When the allocation is whole, after the start.
    pub allocated_after_ms: u64,
    pub program: Program,
}

/// `stress` 1.0.4's arguments (after the program name), or `None` for
/// arguments it would refuse.
pub fn polinux(args: &[String]) -> Option<Load> {
    let (mut cpu, mut io, mut vm, mut hdd) = (0u64, 0u64, 0u64, 0u64);
    let mut vm_bytes: u64 = 256 * 1024 * 1024;
    let mut vm_hang = false;
    let mut timeout_s: Option<u64> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        // Short options may carry their value: `-m1`.
        let (flag, inline) = match (flag.len() > 2 && !flag.starts_with("--") && flag.starts_with('-') && flag.is_char_boundary(2), inline) {
            (true, None) => (&flag[..2], Some(flag[2..].to_string())),
            (_, inline) => (flag, inline),
        };
        let takes_value = matches!(
            flag,
            "-c" | "--cpu" | "-i" | "--io" | "-m" | "--vm" | "--vm-bytes" | "--vm-stride" | "--vm-hang" | "-d" | "--hdd" | "--hdd-bytes" | "-t" | "--timeout" | "--backoff"
        );
        let value = if takes_value {
            match inline {
                Some(v) => Some(v),
                None => {
                    i += 1;
                    Some(args.get(i)?.clone())
                }
            }
        } else {
            None
        };
        match (flag, value) {
            ("-c" | "--cpu", Some(v)) => cpu = v.parse().ok()?,
            ("-i" | "--io", Some(v)) => io = v.parse().ok()?,
            ("-m" | "--vm", Some(v)) => vm = v.parse().ok()?,
            ("-d" | "--hdd", Some(v)) => hdd = v.parse().ok()?,
            ("--vm-bytes", Some(v)) => vm_bytes = stress_bytes(&v)?,
            ("--vm-hang", Some(v)) => vm_hang = v.parse::<u64>().ok()? > 0,
            ("-t" | "--timeout", Some(v)) => timeout_s = Some(stress_seconds(&v)?),
            ("--vm-stride" | "--hdd-bytes" | "--backoff", Some(_)) => {}
            ("--vm-keep" | "-q" | "--quiet" | "-v" | "--verbose", None) => {}
            _ => return None,
        }
        i += 1;
    }
    let mut timeline = vec![Timed { at_ms: 0, effect: Effect::Log(Rc::from(format!("stress: info: [1] dispatching hogs: {cpu} cpu, {io} io, {vm} vm, {hdd} hdd"))) }];
    let end = match timeout_s {
        Some(secs) => {
            timeline.push(Timed { at_ms: secs * 1000, effect: Effect::Log(Rc::from(format!("stress: info: [1] successful run completed in {secs}s"))) });
            End::Exit { at_ms: secs * 1000, code: 0 }
        }
        None => End::Never,
    };
    // A vm worker that hangs between rounds sleeps; one that does not
    // keeps its CPU busy, as the cpu and io workers do.
    let busy = cpu + io + hdd + if vm_hang { 0 } else { vm };
    Some(Load {
        memory_bytes: vm.saturating_mul(vm_bytes),
        cpu_millis: busy.saturating_mul(1000),
        allocated_after_ms: VM_TOUCH_MS,
        program: Program { timeline, repeat: None, resume: None, end },
    })
}

/// vish/stress's flags (Go's flag package: `-cpus 2`, `--cpus=2`), or
/// `None` for a flag it does not define.
pub fn vish(args: &[String]) -> Option<Load> {
    let mut cpus: u64 = 0;
    let mut total = Quantity::zero();
    let mut step = Quantity::parse("4Ki").ok()?;
    let mut sleep_ms: u64 = 1;
    let mut i = 0;
    while i < args.len() {
        let name = args[i].trim_start_matches('-');
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        if matches!(name, "logtostderr" | "alsologtostderr") {
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)?.clone()
            }
        };
        match name {
            "cpus" => cpus = value.parse().ok()?,
            "mem-total" => total = Quantity::parse(&value).ok()?,
            "mem-alloc-size" => step = Quantity::parse(&value).ok()?,
            "mem-alloc-sleep" => sleep_ms = go_duration_ms(&value)?,
            "v" | "vmodule" | "log_dir" | "stderrthreshold" => {}
            _ => return None,
        }
        i += 1;
    }
    let total_bytes = u64::try_from(total.value()).ok()?;
    let step_bytes = u64::try_from(step.value()).ok()?.max(1);
    let steps = total_bytes.div_ceil(step_bytes);
    Some(Load {
        memory_bytes: total_bytes,
        cpu_millis: cpus.saturating_mul(1000),
        allocated_after_ms: steps.saturating_mul(sleep_ms),
        program: Program { timeline: Vec::new(), repeat: None, resume: None, end: End::Never },
    })
}

/// The process a run is in a container with these limits: CPU throttled
/// to the CPU limit; an allocation that would pass the memory limit (with
/// the image's resting use, `resting_bytes`) is OOM-killed when it gets
/// there, unless the run ended first.
pub fn process(load: Load, c: &Container, resting_bytes: u64) -> ProcessSpec {
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let memory_limit = limits.and_then(|l| l.get("memory")).map(value_of).and_then(|v| u64::try_from(v).ok());
    let cpu_limit = limits.and_then(|l| l.get("cpu")).map(milli_value_of).and_then(|v| u64::try_from(v).ok());
    let mut program = load.program;
    let mut oom_killed = false;
    if let Some(limit) = memory_limit {
        let room = limit.saturating_sub(resting_bytes);
        if load.memory_bytes > room {
            // Allocation at an even pace: the limit is reached part-way.
            let at_ms = if load.memory_bytes == 0 { 0 } else { (u128::from(load.allocated_after_ms) * u128::from(room) / u128::from(load.memory_bytes)) as u64 };
            let ends_first = matches!(program.end, End::Exit { at_ms: end, .. } if end <= at_ms);
            if !ends_first {
                program.timeline.retain(|t| t.at_ms <= at_ms);
                program.end = End::Exit { at_ms, code: 137 };
                oom_killed = true;
            }
        }
    }
    let cpu_millis = cpu_limit.map_or(load.cpu_millis, |l| load.cpu_millis.min(l));
    ProcessSpec {
        program,
        serves: vec![],
        stops_on_sigterm: true,
        fails_after_requests: None,
        deferred: None,
        hog: Some(Box::new(Hog { memory_bytes: load.memory_bytes, cpu_millis, oom_killed })),
    }
}

/// stress's byte counts: a number with `b`, `k`, `m` or `g` (powers of 1024).
fn stress_bytes(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], Some(c.to_ascii_lowercase())),
        _ => (text, None),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        None | Some('b') => 1,
        Some('k') => 1 << 10,
        Some('m') => 1 << 20,
        Some('g') => 1 << 30,
        Some(_) => return None,
    };
    n.checked_mul(scale)
}

/// stress's `--timeout`: seconds, or with `s`, `m`, `h`, `d` or `y`.
fn stress_seconds(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], Some(c)),
        _ => (text, None),
    };
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        None | Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        Some('y') => 31_536_000,
        Some(_) => return None,
    };
    n.checked_mul(scale)
}

/// A Go duration (`1s`, `500ms`, `1m30s`) in milliseconds.
fn go_duration_ms(text: &str) -> Option<u64> {
    let mut total = 0f64;
    let mut rest = text;
    if rest == "0" {
        return Some(0);
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 6e4,
            "h" => 3.6e6,
            _ => return None,
        };
        total += number * ms;
        rest = &rest[unit_len..];
    }
    Some(total.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn limited(memory: Option<&str>, cpu: Option<&str>) -> Container {
        let mut limits = std::collections::BTreeMap::new();
        if let Some(m) = memory {
            limits.insert("memory".to_string(), ApiQuantity(m.to_string()));
        }
        if let Some(c) = cpu {
            limits.insert("cpu".to_string(), ApiQuantity(c.to_string()));
        }
        Container { name: "c".into(), resources: Some(ResourceRequirements { limits: Some(limits), ..Default::default() }), ..Default::default() }
    }

    #[test]
    fn the_docs_memory_walkthrough_runs_within_its_limit_and_is_oom_killed_past_it() {
        let within = polinux(&args("--vm 1 --vm-bytes 150M --vm-hang 1")).expect("stress parses");
        assert_eq!(within.memory_bytes, 150 << 20);
        let spec = process(within, &limited(Some("200Mi"), None), 4 << 20);
        assert_eq!(spec.program.end, End::Never);
        assert!(!spec.hog.as_ref().is_some_and(|h| h.oom_killed));

        let past = polinux(&args("--vm 1 --vm-bytes 250M --vm-hang 1")).expect("stress parses");
        let spec = process(past, &limited(Some("100Mi"), None), 4 << 20);
        let End::Exit { at_ms, code } = spec.program.end else { panic!("killed") };
        assert_eq!(code, 137);
        assert!(at_ms < VM_TOUCH_MS, "{at_ms}");
        assert!(spec.hog.as_ref().is_some_and(|h| h.oom_killed));
        assert_eq!(spec.program.timeline.len(), 1, "the start line only");
    }

    #[test]
    fn cpu_is_throttled_to_the_limit_and_a_timeout_ends_the_run() {
        let load = vish(&args("-cpus 2")).expect("flags parse");
        let spec = process(load, &limited(None, Some("1")), 0);
        assert_eq!(spec.hog.as_ref().map(|h| h.cpu_millis), Some(1000));
        let load = polinux(&args("--cpu 2 --timeout 10s")).expect("stress parses");
        assert_eq!(load.cpu_millis, 2000);
        assert_eq!(load.program.end, End::Exit { at_ms: 10_000, code: 0 });
        let spec = process(load, &limited(Some("1Mi"), None), 4 << 20);
        assert!(spec.hog.as_ref().is_some_and(|h| !h.oom_killed), "no memory asked for, none to pass the limit with");
    }

    #[test]
    fn arguments_stress_would_refuse_are_not_guessed_at() {
        assert!(polinux(&args("--vm")).is_none());
        assert!(polinux(&args("--vm 1 --vm-bytes 10X")).is_none());
        assert!(polinux(&args("--bogus")).is_none());
        assert!(vish(&args("-memtotal 1Gi")).is_none());
        assert_eq!(polinux(&args("-m1 --vm-bytes=1g")).map(|l| l.memory_bytes), Some(1 << 30));
        assert_eq!(vish(&args("-mem-total 100Mi -mem-alloc-size 10Mi -mem-alloc-sleep 1s")).map(|l| l.allocated_after_ms), Some(10_000));
    }
}
