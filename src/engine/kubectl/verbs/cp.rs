//! `kubectl cp [[NAMESPACE/]POD:]SRC [[NAMESPACE/]POD:]DEST [-c CONTAINER]`
//! between the learner's machine and a container, as kubectl 1.33's
//! `pkg/cmd/cp` does it: through `tar` in the container (an image without
//! it fails as an exec of a missing program does), `tar cf - SRC` to copy
//! out (its stderr printed on kubectl's stdout, `Removing leading `/'`
//! included; a missing source is only tar's complaint, exit 0) and `tar
//! -xmf - -C DIR` to copy in (into DEST/BASE when DEST is a directory).

use crate::engine::api::ids;
use crate::engine::kubectl::interactive;
use crate::engine::kubectl::{Error, Result, Session};
use crate::engine::learner_home::LocalWrite;
use crate::engine::node::container_fs::{self as cfs, Files};
use crate::engine::node::exec as node_exec;
use crate::engine::node::filesystem::{Errno, Inode, Kind};
use crate::engine::node::images::Base;

/// One side of the copy: a pod's path or a local one.
struct FileSpec {
    namespace: Option<String>,
    pod: Option<String>,
    file: String,
}

const FORMAT: &str = "error: filespec must match the canonical format: [[namespace/]pod:]file/path";

/// `extractFileSpec`: the first `:` splits pod from path.
fn file_spec(arg: &str) -> std::result::Result<FileSpec, Error> {
    let Some(at) = arg.find(':') else { return Ok(FileSpec { namespace: None, pod: None, file: arg.to_string() }) };
    if at == 0 {
        return Err(Error::Message(FORMAT.into()));
    }
    let (pod, file) = (&arg[..at], &arg[at + 1..]);
    let pieces: Vec<&str> = pod.split('/').collect();
    match pieces.as_slice() {
        [pod] => Ok(FileSpec { namespace: None, pod: Some(pod.to_string()), file: file.to_string() }),
        [namespace, pod] => Ok(FileSpec { namespace: Some(namespace.to_string()), pod: Some(pod.to_string()), file: file.to_string() }),
        _ => Err(Error::Message(FORMAT.into())),
    }
}

/// Go's `path.Clean`.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `path.Dir` and `path.Base` of a cleaned path.
fn dir_and_base(path: &str) -> (String, String) {
    let path = clean(path);
    match path.rfind('/') {
        Some(0) => ("/".to_string(), path[1..].to_string()),
        Some(i) => (path[..i].to_string(), path[i + 1..].to_string()),
        None => (".".to_string(), path),
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        clean(a)
    } else {
        clean(&format!("{a}/{b}"))
    }
}

pub fn run(s: &mut Session) -> Result {
    let args = s.args.positionals.clone();
    let [src, dest] = args.as_slice() else {
        return Err(Error::Message("error: source and destination are required".into()));
    };
    let (src, dest) = (file_spec(src)?, file_spec(dest)?);
    if src.pod.is_some() && dest.pod.is_some() {
        return Err(Error::Message("error: one of src or dest must be a local file specification".into()));
    }
    if src.file.is_empty() || dest.file.is_empty() {
        return Err(Error::Message("error: filepath can not be empty".into()));
    }
    if src.pod.is_some() {
        return copy_from_pod(s, &src, &dest.file);
    }
    if dest.pod.is_some() {
        return copy_to_pod(s, &src.file, &dest);
    }
    Err(Error::Message("error: one of src or dest must be a remote file specification".into()))
}

/// What a container the copy reaches is: its node, pod UID and container.
struct Target {
    node: String,
    uid: String,
    container: String,
}

/// The exec kubectl cp makes: the pod, its container, the kubelet.
fn reach(s: &mut Session, spec: &FileSpec) -> Result<Target> {
    let namespace = spec.namespace.clone().unwrap_or_else(|| s.namespace());
    let name = spec.pod.clone().unwrap_or_default();
    let pod = super::logs::find_pod(s, &namespace, &name, false)?;
    let phase = pod.status.as_ref().and_then(|st| st.phase.clone()).unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return Err(Error::Message(format!("error: cannot exec into a container in a completed pod; current phase is {phase}")));
    }
    let container = super::exec::choose_container(s, &pod, false)?;
    s.cluster.sim.api.authorize_client_on("create", ids::pods(), "exec", &namespace, &name)?;
    let (uid, node) = super::exec::reach_kubelet(s, &pod, &container)?;
    Ok(Target { node, uid, container })
}

/// What tar found or did in the container.
enum TarRun<T> {
    Ran(T),
    /// The image has no `tar` (distroless): the exec cannot start it.
    NoTar,
    NotRunning,
}

/// Runs `work` on the container's files (at its working directory) as an
/// exec of `argv` would, if its image has `tar`.
fn with_container<T>(s: &mut Session, target: &Target, argv: &[String], work: impl FnOnce(&mut dyn Files, &str, Base) -> T) -> TarRun<T> {
    let now = s.cluster.now();
    let ran = interactive::with_machine(s.cluster, &target.node, |machine| {
        let prepared = match node_exec::prepare_exec(machine, &target.uid, &target.container, argv, false, now) {
            Ok(p) => p,
            Err(_) => return TarRun::NotRunning,
        };
        // busybox has a tar applet and Debian's tar is essential; distroless has no tar.
        if prepared.info.base == Base::Distroless {
            return TarRun::NoTar;
        }
        let crate::engine::world::Machine { runtime, disk, .. } = machine;
        let Some(c) = runtime.sandbox_mut(&target.uid).and_then(|sb| sb.latest_mut(&target.container)) else { return TarRun::NotRunning };
        let mut files = c.view_mut(disk, now);
        TarRun::Ran(work(&mut files, &prepared.workdir, prepared.info.base))
    });
    ran.unwrap_or(TarRun::NotRunning)
}

fn not_ran<T>(s: &mut Session, target: &Target, run: TarRun<T>) -> Result<T> {
    match run {
        TarRun::Ran(t) => Ok(t),
        TarRun::NoTar => Err(super::exec::start_failure(s, &target.node, &crate::engine::node::shell::StartError::NotFound("tar".into()).message())),
        TarRun::NotRunning => Err(Error::Message(format!("error: unable to upgrade connection: container not found ({:?})", target.container))),
    }
}

/// A member of the archive: its path below the source ("" for the source
/// itself) and what it is.
enum Member {
    Dir,
    File(String),
    Link(String),
}

/// `tar cf - SRC` in the container, read back: the members, and what tar printed.
fn archive(files: &dyn Files, cwd: &str, src: &str, base: Base) -> (Vec<(String, Member)>, String) {
    let busybox = matches!(base, Base::Busybox | Base::Alpine);
    let mut said = String::new();
    let mut members = Vec::new();
    let removing = src.starts_with('/');
    if removing && !busybox {
        said.push_str("tar: Removing leading `/' from member names\n");
    }
    match cfs::lstat(files, cwd, src) {
        Err(e) => {
            if busybox {
                said.push_str(&format!("tar: {src}: {}\ntar: error exit delayed from previous errors\n", e.message()));
            } else {
                said.push_str(&format!("tar: {src}: Cannot stat: {}\ntar: Exiting with failure status due to previous errors\n", e.message()));
            }
        }
        Ok((at, inode)) => {
            if removing && busybox {
                said.push_str("tar: removing leading '/' from member names\n");
            }
            collect(files, &at, String::new(), &inode, &mut members);
        }
    }
    (members, said)
}

/// The archive's members at and below `at`, a directory before what it holds.
fn collect(files: &dyn Files, at: &str, rel: String, inode: &Inode, members: &mut Vec<(String, Member)>) {
    // A bound on one copy, as on what the page can hold.
    if members.len() >= 10_000 {
        return;
    }
    match &inode.kind {
        Kind::Dir => {
            members.push((rel.clone(), Member::Dir));
            for (name, child) in files.entries(at) {
                let child_rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                collect(files, &format!("{}/{name}", at.trim_end_matches('/')), child_rel, &child, members);
            }
        }
        Kind::File(content) => members.push((rel, Member::File(content.to_string()))),
        Kind::Symlink(target) => members.push((rel, Member::Link(target.to_string()))),
        _ => {}
    }
}

fn copy_from_pod(s: &mut Session, src: &FileSpec, dest: &str) -> Result {
    let target = reach(s, src)?;
    let argv: Vec<String> = ["tar", "cf", "-", src.file.as_str()].iter().map(|a| a.to_string()).collect();
    let run = with_container(s, &target, &argv, |files, cwd, base| archive(files, cwd, &src.file, base));
    let (members, said) = not_ran(s, &target, run)?;
    // tar's stderr is kubectl's stdout here.
    s.say(false, &said);
    let namespace = src.namespace.clone().unwrap_or_else(|| s.namespace());
    let mut warned = false;
    for (rel, member) in members {
        let local = join(dest, &rel);
        let (parent, _) = dir_and_base(&local);
        s.files.write(LocalWrite::Dir(parent)).map_err(|e| Error::Message(format!("error: {e}")))?;
        match member {
            Member::Dir => s.files.write(LocalWrite::Dir(local)),
            Member::File(content) => s.files.write(LocalWrite::File(local, content)),
            Member::Link(to) => {
                let hint = if warned {
                    String::new()
                } else {
                    format!(" (consider using \"kubectl exec -n {namespace:?} {:?} -- tar cf - {:?} | tar xf -\")", src.pod.clone().unwrap_or_default(), src.file)
                };
                warned = true;
                s.say(true, &format!("warning: skipping symlink: {local:?} -> {to:?}{hint}\n"));
                Ok(())
            }
        }
        .map_err(|e| Error::Message(format!("error: {e}")))?;
    }
    Ok(())
}

/// The local files below `path` as tar members, a directory before what it holds.
fn local_members(s: &Session, path: &str) -> Option<Vec<(String, Member)>> {
    match s.files.entry(path).ok()? {
        crate::engine::kubectl::FileEntry::File(bytes) => Some(vec![(String::new(), Member::File(String::from_utf8_lossy(&bytes).into_owned()))]),
        crate::engine::kubectl::FileEntry::Dir(_) => {
            Some(s.files.tree(path).into_iter().map(|(rel, content)| (rel, content.map_or(Member::Dir, Member::File))).collect())
        }
    }
}

fn copy_to_pod(s: &mut Session, src: &str, dest: &FileSpec) -> Result {
    let Some(members) = local_members(s, src) else {
        return Err(Error::Message(format!("error: {src} doesn't exist in local filesystem")));
    };
    let target = reach(s, dest)?;
    let (_, src_base) = dir_and_base(src);
    let argv: Vec<String> = ["tar", "-xmf", "-"].iter().map(|a| a.to_string()).collect();
    let dest_file = dest.file.clone();
    let run = with_container(s, &target, &argv, |files, cwd, base| extract(files, cwd, base, &dest_file, &src_base, members));
    let (said, failed) = not_ran(s, &target, run)?;
    s.say(true, &said);
    if failed {
        return Err(Error::Exit(2, "command terminated with exit code 2".into()));
    }
    Ok(())
}

/// `test -d DEST`, then `tar -xmf - -C DIR` of the members named
/// DEST_BASE/…: what tar printed and whether it failed.
fn extract(files: &mut dyn Files, cwd: &str, base: Base, dest: &str, src_base: &str, members: Vec<(String, Member)>) -> (String, bool) {
    let busybox = matches!(base, Base::Busybox | Base::Alpine);
    let into_dir = cfs::stat(files, cwd, dest).is_ok_and(|(_, i)| i.is_dir());
    let dest = if into_dir { join(dest, src_base) } else { clean(dest) };
    let (dir, name) = dir_and_base(&dest);
    if !cfs::stat(files, cwd, &dir).is_ok_and(|(_, i)| i.is_dir()) {
        let why = cfs::stat(files, cwd, &dir).err().unwrap_or(Errno::NotDir).message();
        let said = if busybox { format!("tar: can't change directory to '{dir}': {why}\n") } else { format!("tar: {dir}: Cannot open: {why}\ntar: Error is not recoverable: exiting now\n") };
        return (said, true);
    }
    let mut said = String::new();
    let mut failed = false;
    for (rel, member) in members {
        let member_name = join(&name, &rel);
        let at = join(&dir, &member_name);
        // tar makes the directories a member's path needs.
        let (parent, _) = dir_and_base(&at);
        let _ = cfs::make_dir(files, cwd, &parent, true);
        let result = match member {
            Member::Dir => match cfs::stat(files, cwd, &at) {
                Ok((_, i)) if i.is_dir() => Ok(()),
                _ => cfs::make_dir(files, cwd, &at, false),
            },
            Member::File(content) => cfs::write_file(files, cwd, &at, &content, false),
            Member::Link(_) => Ok(()),
        };
        if let Err(e) = result {
            failed = true;
            if busybox {
                said.push_str(&format!("tar: can't open '{member_name}': {}\n", e.message()));
                break;
            }
            said.push_str(&format!("tar: {member_name}: Cannot open: {}\n", e.message()));
        }
    }
    if failed && !busybox {
        said.push_str("tar: Exiting with failure status due to previous errors\n");
    }
    (said, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean(""), ".");
        assert_eq!(dir_and_base("/etc/hosts"), ("/etc".to_string(), "hosts".to_string()));
        assert_eq!(dir_and_base("hosts"), (".".to_string(), "hosts".to_string()));
        assert_eq!(join(".", ""), ".");
        assert_eq!(join("out", "a/b"), "out/a/b");
        assert!(file_spec(":x").is_err());
        assert!(file_spec("a/b/c:x").is_err());
        assert_eq!(file_spec("ns/web:/etc").ok().and_then(|f| f.namespace), Some("ns".to_string()));
    }
}
