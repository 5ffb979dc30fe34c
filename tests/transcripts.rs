//! Transcript tests: each `tests/transcripts/NAME.script` runs on a fresh
//! cluster and must print exactly `NAME.expected`. A script's header may set
//! `# profile: minikube` and `# seed: N` (defaults: default profile, seed 1).
//! `UPDATE_TRANSCRIPTS=1 cargo test --test transcripts` rewrites the expected
//! files; review every diff against real kubectl 1.33 before committing it.

use std::path::{Path, PathBuf};

use miniplane::engine::cluster::{Cluster, Profile, ProfileKind};
use miniplane::engine::kubectl::DiskFiles;
use miniplane::engine::script;

fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().take_while(|l| l.starts_with('#')).find_map(|l| l.strip_prefix('#')?.trim().strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

fn run_script(path: &Path, seed_override: Option<u64>) -> String {
    let text = std::fs::read_to_string(path).expect("script readable");
    let profile = header_value(&text, "profile").and_then(ProfileKind::parse).unwrap_or(ProfileKind::Default);
    let seed = seed_override.or_else(|| header_value(&text, "seed").and_then(|s| s.parse().ok())).unwrap_or(1);
    let commands = script::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cluster = Cluster::new(Profile::new(profile), seed);
    let dir = DiskFiles { base: path.parent().expect("script has a folder").to_path_buf() };
    script::run(&mut cluster, &commands, &dir)
}

fn scripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/transcripts exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "script"))
        .collect();
    out.sort();
    out
}

#[test]
fn transcripts_match_expected_output() {
    let update = std::env::var_os("UPDATE_TRANSCRIPTS").is_some();
    let mut failures = Vec::new();
    for path in scripts() {
        let actual = run_script(&path, None);
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            let first_diff = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e)
                .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
            failures.push(format!(
                "{}: first difference at line {}\n--- expected\n{}\n--- actual\n{}",
                path.display(),
                first_diff + 1,
                expected.lines().skip(first_diff).take(5).collect::<Vec<_>>().join("\n"),
                actual.lines().skip(first_diff).take(5).collect::<Vec<_>>().join("\n"),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn same_seed_same_transcript_other_seed_other_names() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/determinism.script");
    let first = run_script(&path, Some(7));
    let second = run_script(&path, Some(7));
    assert_eq!(first, second, "same seed must give a byte-identical transcript");
    let other = run_script(&path, Some(8));
    assert_ne!(first, other, "another seed must give other random names");
}

#[test]
fn traffic_is_deterministic() {
    // Traffic's endpoint choices come from the network's own seeded RNG:
    // the same seed gives the same report, another seed another spread.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/services-dns.script");
    let first = run_script(&path, Some(3));
    assert_eq!(first, run_script(&path, Some(3)), "same seed must give a byte-identical transcript, traffic included");
    assert_ne!(first, run_script(&path, Some(4)));
}
