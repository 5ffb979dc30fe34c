//! The learner's machine's files: the writable layer over its Debian root,
//! kept with the cluster so a file written at the terminal (`kubectl create
//! … -o yaml > web.yaml`, `cat <<EOF > pod.yaml`) is there for the next
//! line. It is part of the cluster's state and rebuilt as the scene's host
//! lines replay; nothing reaches the real disk (the page has none).
//!
//! [`HomeFiles`] is how kubectl's `-f PATH`, `--from-file` and
//! `--from-env-file` read it: the learner's files first (relative to
//! [`HOME`]), then whatever the caller had (a script's own folder, or
//! nothing in the page); `kubectl cp` writes through it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::engine::kubectl::{FileEntry, FileSource};
use crate::engine::node::container_fs::{self as cfs, Files, Mounts, RootFs, View};
use crate::engine::node::filesystem::{Errno, Fs, Kind};

/// The learner's working directory and `~`: a kind or minikube user who
/// runs kubectl as root on the machine, as the shell line's `$HOME` says.
pub const HOME: &str = "/root";

/// The most the learner's files may hold: a line that leaves more is undone
/// (a loop appending forever must not fill the tab's memory or the link).
pub const MAX_HOME_KB: u64 = 8 * 1024;

/// A fresh terminal's bash on the learner's machine, at `~`: what each
/// line leaves (the directory, variables, functions, `$?`) is there for
/// the next, as in a real terminal.
pub fn fresh_shell() -> crate::engine::node::shell::ShellState {
    use crate::engine::node::shell::{Flavor, ShellState, DEFAULT_PATH};
    let env = indexmap::IndexMap::from([("PATH".to_string(), DEFAULT_PATH.to_string()), ("HOME".to_string(), HOME.to_string())]);
    ShellState::new(Flavor::Bash, HOME, env)
}

/// A fresh machine: the Debian root and nothing written.
pub fn fresh() -> Rc<RootFs> {
    Rc::new(RootFs::new(crate::engine::node::rootfs::learner_root(), false))
}

/// The machine's files as a read-only view (no mounts: the machine's own disk).
pub fn view<'a>(root: &'a RootFs, mounts: &'a Mounts, disk: &'a Fs) -> View<'a> {
    View { root, mounts, disk, user: &crate::engine::node::identity::ROOT }
}

/// kubectl's files on the learner's machine: `files` (its view at `cwd`),
/// then `under` for what it lacks. Writes (`kubectl cp` to a local path)
/// wait in `writes` until the caller can apply them to the machine.
pub struct HomeFiles<'a> {
    pub files: &'a dyn Files,
    pub cwd: &'a str,
    pub under: &'a dyn FileSource,
    pub writes: RefCell<Vec<LocalWrite>>,
}

/// A change `kubectl cp` makes on the learner's machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalWrite {
    Dir(String),
    File(String, String),
}

impl<'a> HomeFiles<'a> {
    pub fn new(files: &'a dyn Files, cwd: &'a str, under: &'a dyn FileSource) -> Self {
        HomeFiles { files, cwd, under, writes: RefCell::new(Vec::new()) }
    }

    /// Whether the machine has an entry at `path` (then it answers, errors included).
    fn has(&self, path: &str) -> bool {
        !path.is_empty() && cfs::stat(self.files, self.cwd, path).is_ok()
    }

    fn walk(&self, dir: &str, at: &str, recursive: bool, found: &mut Vec<String>) {
        let Ok(entries) = cfs::list_dir(self.files, self.cwd, at) else { return };
        // `filepath.Walk`: lexical order; entries are kept by name already.
        for (name, inode) in entries {
            let child = format!("{}/{name}", dir.trim_end_matches('/'));
            let child_at = format!("{}/{name}", at.trim_end_matches('/'));
            if inode.is_dir() {
                if recursive {
                    self.walk(&child, &child_at, recursive, found);
                }
            } else if [".json", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext) && name.len() > ext.len()) {
                found.push(child);
            }
        }
    }
}

impl HomeFiles<'_> {
    /// The entries at and below `at` (`rel` below the copied path).
    fn gather(&self, at: &str, rel: String, inode: &crate::engine::node::filesystem::Inode, found: &mut Vec<(String, Option<String>)>) {
        if found.len() >= 10_000 {
            return;
        }
        match &inode.kind {
            Kind::Dir => {
                found.push((rel.clone(), None));
                for (name, child) in self.files.entries(at) {
                    let child_rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                    self.gather(&format!("{}/{name}", at.trim_end_matches('/')), child_rel, &child, found);
                }
            }
            Kind::File(content) => found.push((rel, Some(content.to_string()))),
            // kubectl's tar keeps links; the simulated copy leaves them out.
            _ => {}
        }
    }
}

impl FileSource for HomeFiles<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if !self.has(path) {
            return self.under.read(path);
        }
        match cfs::read_file(self.files, self.cwd, path) {
            Ok(text) => Ok(text),
            Err(Errno::IsDir) => Err(format!("error reading {path}: is a directory")),
            Err(_) => Err(format!("the path \"{path}\" does not exist")),
        }
    }

    fn entry(&self, path: &str) -> Result<FileEntry, String> {
        if !self.has(path) {
            return self.under.entry(path);
        }
        let errno = |e: Errno| e.message().to_lowercase();
        match cfs::stat(self.files, self.cwd, path) {
            Ok((at, inode)) if inode.is_dir() => {
                let mut files = Vec::new();
                for (name, inode) in self.files.entries(&at) {
                    // `os.ReadDir` lists links too; kubectl reads the regular files.
                    if let Kind::File(content) = &inode.kind {
                        files.push((name, content.to_string().into_bytes()));
                    }
                }
                Ok(FileEntry::Dir(files))
            }
            Ok(_) => cfs::read_file(self.files, self.cwd, path).map(|t| FileEntry::File(t.into_bytes())).map_err(errno),
            Err(e) => Err(errno(e)),
        }
    }

    fn manifests_in(&self, path: &str, recursive: bool) -> Option<Vec<String>> {
        if !self.has(path) {
            return self.under.manifests_in(path, recursive);
        }
        let (at, inode) = cfs::stat(self.files, self.cwd, path).ok()?;
        if !inode.is_dir() {
            return None;
        }
        let mut found = Vec::new();
        self.walk(path, &at, recursive, &mut found);
        Some(found)
    }

    fn tree(&self, path: &str) -> Vec<(String, Option<String>)> {
        if !self.has(path) {
            return self.under.tree(path);
        }
        let mut found = Vec::new();
        if let Ok((at, inode)) = cfs::stat(self.files, self.cwd, path) {
            self.gather(&at, String::new(), &inode, &mut found);
        }
        found
    }

    fn write(&self, change: LocalWrite) -> Result<(), String> {
        let mut writes = self.writes.borrow_mut();
        // A bound on one command's changes, as on the machine's size.
        if writes.len() >= 10_000 {
            return Err("no space left on device".into());
        }
        writes.push(change);
        Ok(())
    }
}

/// Applies `kubectl cp`'s writes to the machine's files; the first failure
/// stops it and is returned as the system words it.
pub fn apply_writes(files: &mut dyn Files, cwd: &str, writes: Vec<LocalWrite>) -> Result<(), String> {
    for change in writes {
        let result = match &change {
            LocalWrite::Dir(path) => match cfs::stat(files, cwd, path) {
                Ok((_, inode)) if inode.is_dir() => Ok(()),
                _ => cfs::make_dir(files, cwd, path, true),
            },
            LocalWrite::File(path, content) => cfs::write_file(files, cwd, path, content, false),
        };
        // Go's `os.MkdirAll` and `os.Create` errors.
        if let Err(e) = result {
            return Err(match &change {
                LocalWrite::Dir(path) => format!("mkdir {path}: {}", e.message().to_lowercase()),
                LocalWrite::File(path, _) => format!("open {path}: {}", e.message().to_lowercase()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kubectl::NoFiles;
    use crate::engine::node::container_fs::ViewMut;

    #[test]
    fn kubectl_reads_the_home_first_then_what_was_below() {
        let mut root = (*fresh()).clone();
        let (mut mounts, mut disk) = (Mounts::default(), Fs::new());
        {
            let mut files = ViewMut { root: &mut root, mounts: &mut mounts, disk: &mut disk, now: 0, user: &crate::engine::node::identity::ROOT };
            cfs::write_file(&mut files, HOME, "pod.yaml", "kind: Pod\n", false).unwrap();
            cfs::make_dir(&mut files, HOME, "m/sub", true).unwrap();
            cfs::write_file(&mut files, HOME, "m/a.yaml", "a\n", false).unwrap();
            cfs::write_file(&mut files, HOME, "m/notes.txt", "n\n", false).unwrap();
            cfs::write_file(&mut files, HOME, "m/sub/b.yml", "b\n", false).unwrap();
        }
        let view = view(&root, &mounts, &disk);
        let home = HomeFiles::new(&view, HOME, &NoFiles);
        assert_eq!(home.read("pod.yaml"), Ok("kind: Pod\n".to_string()));
        assert_eq!(home.read("/root/pod.yaml"), Ok("kind: Pod\n".to_string()));
        assert_eq!(home.read("gone.yaml"), Err("the path \"gone.yaml\" does not exist".to_string()));
        assert_eq!(home.read("m"), Err("error reading m: is a directory".to_string()));
        assert_eq!(home.manifests_in("m", false), Some(vec!["m/a.yaml".to_string()]));
        assert_eq!(home.manifests_in("m/", true), Some(vec!["m/a.yaml".to_string(), "m/sub/b.yml".to_string()]));
        assert!(matches!(home.entry("m"), Ok(FileEntry::Dir(files)) if files.len() == 2));
        assert_eq!(home.tree("m").len(), 5, "m, a.yaml, notes.txt, sub, sub/b.yml");
    }
}
