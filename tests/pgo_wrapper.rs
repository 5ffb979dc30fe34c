//! The rustc wrapper (`tools/rustc-pgo.sh`, `.cargo/config.toml`) gives the
//! run profile in `pgo/` to optimised native builds and to nothing else.
//! Each case runs the wrapper over a stand-in rustc that prints the
//! arguments it was given.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of this test's own, made anew.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("miniplane-pgo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stand-in rustc in `dir` that reports `llvm` as its LLVM version (or,
/// for an empty one, fails to say) and otherwise prints its arguments, one
/// a line.
fn fake_rustc(dir: &Path, llvm: &str) -> PathBuf {
    let path = dir.join("rustc");
    let version = if llvm.is_empty() { "exit 1".to_string() } else { format!("echo 'rustc 1.0.0'; echo 'LLVM version: {llvm}'; exit 0") };
    let script = format!("#!/usr/bin/env bash\nif [[ \"$1\" == -vV ]]; then {version}; fi\nprintf '%s\\n' \"$@\"\n");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    path
}

/// The arguments the wrapper hands rustc for `args`.
fn handed(name: &str, llvm: &str, args: &[&str]) -> Vec<String> {
    let dir = scratch(name);
    let rustc = fake_rustc(&dir, llvm);
    let out = Command::new("bash").arg(root().join("tools/rustc-pgo.sh")).arg(&rustc).args(args).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

fn profile_flag() -> String {
    format!("-Cprofile-use={}", root().join("pgo/miniplane.profdata").display())
}

/// The LLVM major version the profile was written with, as a full version.
fn profile_llvm() -> String {
    let major = std::fs::read_to_string(root().join("pgo/llvm-major")).unwrap();
    format!("{}.1.2", major.trim())
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn an_optimised_native_build_gets_the_profile() {
    let args = ["--crate-name", "miniplane", "--edition=2021", "src/lib.rs", "-C", "opt-level=3", "-C", "lto=fat"];
    let mut expected = owned(&args);
    expected.push(profile_flag());
    assert_eq!(handed("release", &profile_llvm(), &args), expected);
    let joined = ["--crate-name", "serde", "-Copt-level=3"];
    let mut expected = owned(&joined);
    expected.push(profile_flag());
    assert_eq!(handed("joined", &profile_llvm(), &joined), expected);
}

#[test]
fn every_other_build_runs_as_asked() {
    let llvm = profile_llvm();
    let cases: [&[&str]; 5] = [
        // The page.
        &["--crate-name", "miniplane", "--target", "wasm32-unknown-unknown", "-C", "opt-level=z"],
        &["--crate-name", "miniplane", "-C", "opt-level=3", "--target=wasm32-unknown-unknown"],
        // Debug builds and tests; dependencies of a debug build.
        &["--crate-name", "miniplane", "-C", "debuginfo=2"],
        &["--crate-name", "serde", "-C", "opt-level=2"],
        // An instrumented build (scripts/pgo.sh).
        &["--crate-name", "miniplane", "-C", "opt-level=3", "-Cprofile-generate=/tmp/raw"],
    ];
    for (i, args) in cases.iter().enumerate() {
        assert_eq!(handed(&format!("other-{i}"), &llvm, args), owned(args), "{args:?}");
    }
    // `opt-level=3` as the value of another option is not the build's level.
    let args = ["--crate-name", "x", "--cfg", "opt-level=3"];
    assert_eq!(handed("cfg", &llvm, &args), owned(&args));
}

#[test]
fn a_rustc_with_another_llvm_builds_without_the_profile() {
    let args = ["--crate-name", "miniplane", "-C", "opt-level=3"];
    assert_eq!(handed("other-llvm", "1.0.0", &args), owned(&args));
    // One that cannot say which LLVM it has.
    assert_eq!(handed("no-llvm", "", &args), owned(&args));
}
