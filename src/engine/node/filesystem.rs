//! Files: a node's disk and a container's writable layer, as a map from
//! absolute path to inode.
//!
//! An [`Fs`] stores entries as they are; it never follows symbolic links
//! (views such as the container's mount namespace resolve them). Parents
//! are created as directories when an entry is written beneath them.
//! Everything that lives on a node's disk is an `Fs` path there: pods'
//! volumes under `/var/lib/kubelet/pods/<uid>/volumes/…`, hostPath and
//! local PersistentVolume data at their own paths.

use std::collections::BTreeMap;
use std::rc::Rc;

/// Where the simulation's clock starts, in Unix seconds (2026-01-01).
pub use crate::engine::api::meta::EPOCH_SECONDS;

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// File contents are shared: copies (snapshots, image layers) are cheap.
    File(Rc<str>),
    Dir,
    Symlink(String),
    /// In a container's writable layer: the image's entry here was deleted.
    Whiteout,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub kind: Kind,
    /// Permission bits (`0o644`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Last modification, Unix seconds.
    pub mtime: i64,
}

impl Inode {
    pub fn file(content: &str, mode: u32, mtime: i64) -> Self {
        Inode { kind: Kind::File(Rc::from(content)), mode, uid: 0, gid: 0, mtime }
    }
    pub fn dir(mode: u32, mtime: i64) -> Self {
        Inode { kind: Kind::Dir, mode, uid: 0, gid: 0, mtime }
    }
    pub fn symlink(target: &str, mtime: i64) -> Self {
        Inode { kind: Kind::Symlink(target.to_string()), mode: 0o777, uid: 0, gid: 0, mtime }
    }
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }
    pub fn content(&self) -> Option<&str> {
        match &self.kind {
            Kind::File(c) => Some(c),
            _ => None,
        }
    }
    /// Size as `ls -l` shows it.
    pub fn size(&self) -> u64 {
        match &self.kind {
            Kind::File(c) => c.len() as u64,
            Kind::Dir => 4096,
            Kind::Symlink(t) => t.len() as u64,
            Kind::Whiteout => 0,
        }
    }
}

/// Why a file operation failed, as the C library names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    NoEnt,
    NotDir,
    IsDir,
    Exists,
    NotEmpty,
    ReadOnly,
    Loop,
    Access,
}

impl Errno {
    /// `strerror`.
    pub fn message(self) -> &'static str {
        match self {
            Errno::NoEnt => "No such file or directory",
            Errno::NotDir => "Not a directory",
            Errno::IsDir => "Is a directory",
            Errno::Exists => "File exists",
            Errno::NotEmpty => "Directory not empty",
            Errno::ReadOnly => "Read-only file system",
            Errno::Loop => "Symbolic link loop",
            Errno::Access => "Permission denied",
        }
    }
}

/// A tree of entries by absolute path. `/` always exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fs {
    /// `/` itself, apart from the map: a container's many small private
    /// mounts (`/dev/shm`, `/dev/pts`, …) hold only their root, and a map
    /// with one entry would cost a whole B-tree node each.
    root: Option<Inode>,
    /// Every other entry.
    nodes: BTreeMap<String, Inode>,
}

impl Fs {
    pub fn new() -> Self {
        Fs::default()
    }

    pub fn get(&self, path: &str) -> Option<&Inode> {
        if path == "/" {
            return self.root.as_ref();
        }
        self.nodes.get(path)
    }

    pub fn contains(&self, path: &str) -> bool {
        path == "/" || self.nodes.contains_key(path)
    }

    pub fn len(&self) -> usize {
        self.nodes.len() + usize::from(self.root.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.nodes.is_empty()
    }

    /// Stores an entry, creating missing parents as `0755` directories.
    pub fn insert(&mut self, path: &str, inode: Inode) {
        if path == "/" {
            self.root = Some(inode);
            return;
        }
        let mtime = inode.mtime;
        self.ensure_parents(path, mtime);
        self.nodes.insert(path.to_string(), inode);
    }

    /// Stores an entry at exactly `path`, parents untouched.
    fn put(&mut self, path: String, inode: Inode) {
        if path == "/" {
            self.root = Some(inode);
        } else {
            self.nodes.insert(path, inode);
        }
    }

    fn ensure_parents(&mut self, path: &str, mtime: i64) {
        let mut at = parent(path);
        let mut missing = Vec::new();
        while at != "/" && !self.nodes.contains_key(at) {
            missing.push(at.to_string());
            at = parent(at);
        }
        for dir in missing {
            self.nodes.insert(dir, Inode::dir(0o755, mtime));
        }
    }

    /// `mkdir -p`.
    pub fn mkdir_all(&mut self, path: &str, mode: u32, mtime: i64) {
        if path == "/" || self.nodes.get(path).is_some_and(Inode::is_dir) {
            return;
        }
        self.insert(path, Inode::dir(mode, mtime));
    }

    /// Writes a file's contents (creating it with `mode` if new).
    pub fn write(&mut self, path: &str, content: &str, mode: u32, mtime: i64) {
        let mode = self.get(path).filter(|n| matches!(n.kind, Kind::File(_))).map_or(mode, |n| n.mode);
        self.insert(path, Inode::file(content, mode, mtime));
    }

    pub fn remove(&mut self, path: &str) -> Option<Inode> {
        if path == "/" {
            return self.root.take();
        }
        self.nodes.remove(path)
    }

    /// Removes an entry and everything beneath it; returns how many went.
    pub fn remove_tree(&mut self, path: &str) -> usize {
        let keys: Vec<String> = self.subtree_keys(path);
        for k in &keys {
            self.remove(k);
        }
        keys.len()
    }

    fn subtree_keys(&self, path: &str) -> Vec<String> {
        let mut keys = Vec::new();
        if self.get(path).is_some() {
            keys.push(path.to_string());
        }
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        keys.extend(self.nodes.range(prefix.clone()..).map(|(k, _)| k).take_while(|k| k.starts_with(&prefix)).filter(|k| k.as_str() != "/").cloned());
        keys
    }

    /// Direct children of a directory, by name.
    pub fn children(&self, dir: &str) -> Vec<(String, &Inode)> {
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        let mut out = Vec::new();
        let mut iter = self.nodes.range(prefix.clone()..).peekable();
        while let Some((k, v)) = iter.next() {
            if !k.starts_with(&prefix) {
                break;
            }
            let rest = &k[prefix.len()..];
            if rest.is_empty() {
                continue;
            }
            match rest.find('/') {
                None => out.push((rest.to_string(), v)),
                // A deeper entry: its ancestor is listed on its own.
                Some(_) => {}
            }
        }
        out
    }

    /// A copy of the subtree at `path`, re-rooted at `/`.
    pub fn copy_tree(&self, path: &str) -> Fs {
        let mut out = Fs::new();
        for key in self.subtree_keys(path) {
            if let Some(inode) = self.get(&key) {
                let rel = if key == path { "/".to_string() } else { key[path.len()..].to_string() };
                let rel = if path == "/" { key.clone() } else { rel };
                out.put(rel, inode.clone());
            }
        }
        out
    }

    /// Copies `tree` (rooted at `/`) into this one under `at`.
    pub fn graft(&mut self, at: &str, tree: &Fs) {
        for (key, inode) in tree.iter() {
            let dest = if key == "/" { at.to_string() } else { join(at, key) };
            self.insert(&dest, inode.clone());
        }
    }

    /// Total bytes held in files, for `df`.
    pub fn used_bytes(&self, path: &str) -> u64 {
        self.subtree_keys(path).iter().filter_map(|k| self.get(k)).map(|n| if let Kind::File(c) = &n.kind { c.len() as u64 } else { 0 }).sum()
    }

    /// Kilobytes the files under `path` take on a disk of 4 KiB blocks.
    pub fn used_kb(&self, path: &str) -> u64 {
        self.subtree_keys(path).iter().filter_map(|k| self.get(k)).map(|n| if let Kind::File(c) = &n.kind { (c.len() as u64).div_ceil(4096) * 4 } else { 0 }).sum()
    }

    /// Every entry in path order (`/` first).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Inode)> {
        self.root.iter().map(|i| ("/", i)).chain(self.nodes.iter().map(|(k, v)| (k.as_str(), v)))
    }
}

/// The directory holding `path` (`/` for `/x` and `/`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of `path`.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir` + `/` + `name`, for an absolute `dir`.
pub fn join(dir: &str, name: &str) -> String {
    let name = name.trim_start_matches('/');
    if name.is_empty() {
        return dir.to_string();
    }
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Resolves `.` and `..` lexically: `path` relative to `cwd` unless absolute.
pub fn normalize(cwd: &str, path: &str) -> String {
    let full = if path.starts_with('/') { path.to_string() } else { join(if cwd.is_empty() { "/" } else { cwd }, path) };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}", parts.join("/"))
    }
}

/// Whether `path` is `prefix` or beneath it.
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix == "/" || path == prefix || path.strip_prefix(prefix).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_like_the_kernel() {
        assert_eq!(normalize("/", "etc/../tmp/./x"), "/tmp/x");
        assert_eq!(normalize("/usr/share", "../../.."), "/");
        assert_eq!(normalize("/a", "/b//c/"), "/b/c");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert!(is_within("/data/x", "/data"));
        assert!(!is_within("/database", "/data"));
    }

    #[test]
    fn trees_create_parents_list_children_and_remove_subtrees() {
        let mut fs = Fs::new();
        fs.write("/var/lib/x/a.txt", "hello\n", 0o644, 0);
        fs.write("/var/lib/x/sub/b.txt", "b", 0o644, 0);
        assert!(fs.get("/var/lib").is_some_and(Inode::is_dir));
        let names: Vec<String> = fs.children("/var/lib/x").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["a.txt", "sub"]);
        let copy = fs.copy_tree("/var/lib/x");
        assert_eq!(copy.get("/sub/b.txt").and_then(Inode::content), Some("b"));
        assert_eq!(fs.used_bytes("/var"), 7);
        assert_eq!(fs.remove_tree("/var/lib/x"), 4);
        assert!(fs.get("/var/lib/x/a.txt").is_none());
        assert!(fs.get("/var/lib").is_some());
    }
}
