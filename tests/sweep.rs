//! The fault sweep in CI: a short sweep over fixed seeds, and the scripts
//! of failures it once found (`tests/sweep/*.script`, each with `# seed:`
//! and optionally `# profile:` in its header), replayed with every checker.
//! Native only, as the sweep is.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use miniplane::engine::cluster::ProfileKind;
use miniplane::engine::kubectl::NoFiles;
use miniplane::engine::sweep;

fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().take_while(|l| l.starts_with('#')).find_map(|l| l.strip_prefix('#')?.trim().strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

#[test]
fn short_sweep_finds_nothing() {
    let opts = sweep::Options { seeds: 6, first_seed: 1000, steps: 40, profile: ProfileKind::Default };
    let mut totals = sweep::Totals::default();
    let mut failures = String::new();
    for seed in opts.first_seed..opts.first_seed + opts.seeds {
        let report = sweep::run_seed(seed, &opts);
        totals.add(&report);
        failures.push_str(&sweep::describe(&report));
    }
    println!("{}", totals.json());
    assert!(failures.is_empty(), "{failures}");
    assert_eq!(totals.seeds, 6);
}

#[test]
fn minikube_sweep_finds_nothing() {
    let opts = sweep::Options { seeds: 2, first_seed: 2000, steps: 30, profile: ProfileKind::Minikube };
    for seed in opts.first_seed..opts.first_seed + opts.seeds {
        let report = sweep::run_seed(seed, &opts);
        assert!(report.failure.is_none(), "{}", sweep::describe(&report));
    }
}

#[test]
fn past_failures_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sweep");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir).expect("tests/sweep").filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "script")).collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    for path in scripts {
        let text = std::fs::read_to_string(&path).expect("readable");
        let seed = header_value(&text, "seed").and_then(|s| s.parse().ok()).unwrap_or(1);
        let profile = header_value(&text, "profile").and_then(ProfileKind::parse).unwrap_or(ProfileKind::Default);
        let (_, failure) = sweep::run_checked(profile, seed, &text, &NoFiles, true);
        assert!(failure.is_none(), "{}: {}", path.display(), failure.map(|f| f.to_string()).unwrap_or_default());
    }
}
