//! Compiles the lessons in `lessons/` into the program: writes
//! `builtin_lessons.rs`, a list of (id, include_str!(file)) in file-name
//! order. A file `07-node-power-off.md` is the lesson `node-power-off`.
//! Also writes `simplifications.md`, the README's list of where the
//! simulation simplifies, for the page.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=lessons");
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&root).join("lessons");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "md")).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let id = match stem.split_once('-') {
            Some((number, rest)) if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) => rest,
            _ => stem,
        };
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!("    ({id:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    out.push_str("]\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("builtin_lessons.rs"), out).expect("OUT_DIR is writable");
    // The page shows the README's list of where the simulation simplifies,
    // so the two cannot drift apart.
    println!("cargo:rerun-if-changed=README.md");
    let readme = std::fs::read_to_string(Path::new(&root).join("README.md")).unwrap_or_default();
    std::fs::write(Path::new(&out_dir).join("simplifications.md"), simplifications(&readme)).expect("OUT_DIR is writable");
}

/// The bullets after README's `Where the simulation simplifies:` line, up
/// to its next heading.
fn simplifications(readme: &str) -> String {
    let mut lines = readme.lines().skip_while(|l| l.trim() != "Where the simulation simplifies:").skip(1);
    let mut out = String::new();
    for line in lines.by_ref() {
        if line.starts_with('#') {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string() + "\n"
}
