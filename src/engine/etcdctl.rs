//! `etcdctl snapshot save|restore|status` and `etcdutl snapshot
//! restore|status`, as etcd 3.5 (the etcd of Kubernetes 1.33) has them,
//! run against the cluster's etcd model.
//!
//! A real restore writes a new data directory (`--data-dir`, `default.etcd`
//! if none) and the operator then points etcd at it and restarts it. Here a
//! restore does both at once: etcd comes back on the snapshot's data. As
//! etcdutl's defaults have it, the revision goes back to the snapshot's;
//! `--bump-revision N --mark-compacted` moves it N past the snapshot's
//! instead and compacts there, so no client can read a revision twice.
//! Either way the API server's watch cache starts over, every watch ends,
//! and every component lists again and reconciles with what it finds.
//!
//! Simplification: etcdctl's own log lines (zap, on stderr) are not printed.

use crate::engine::cluster::Cluster;
use crate::engine::kubectl::Output;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Etcdctl,
    Etcdutl,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Etcdctl => "etcdctl",
            Tool::Etcdutl => "etcdutl",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Save { file: String },
    Restore { file: String, bump: u64, mark_compacted: bool },
    Status { file: String, write_out: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Etcdctl {
    pub tool: Tool,
    pub action: Action,
}

/// Flags that take a value: etcdctl's connection flags (accepted and not
/// needed: there is one etcd, on the control plane) and restore's.
const VALUE_FLAGS: &[&str] = &[
    "endpoints", "cacert", "cert", "key", "dial-timeout", "command-timeout", "keepalive-time", "keepalive-timeout", "user",
    "password", "discovery-srv", "discovery-srv-name", "write-out", "data-dir", "wal-dir", "initial-cluster",
    "initial-cluster-token", "initial-advertise-peer-urls", "name", "bump-revision", "initial-memory-map-size",
];
const BOOL_FLAGS: &[&str] = &["insecure-skip-tls-verify", "insecure-transport", "debug", "hex", "skip-hash-check", "mark-compacted", "insecure-discovery"];
/// Flags only etcdctl knows (etcdutl works on files, not on a server).
const CLIENT_ONLY: &[&str] = &[
    "endpoints", "cacert", "cert", "key", "dial-timeout", "command-timeout", "keepalive-time", "keepalive-timeout", "user",
    "password", "discovery-srv", "discovery-srv-name", "insecure-skip-tls-verify", "insecure-transport", "insecure-discovery",
];
const RESTORE_ONLY: &[&str] = &[
    "data-dir", "wal-dir", "initial-cluster", "initial-cluster-token", "initial-advertise-peer-urls", "name", "bump-revision",
    "initial-memory-map-size", "skip-hash-check", "mark-compacted",
];

/// Parses `etcdctl [flags] snapshot save|restore|status FILE [flags]`
/// (leading `ETCDCTL_API=3`-style assignments allowed). Errors read as
/// etcdctl prints them.
pub fn parse(words: &[String]) -> Result<Etcdctl, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).skip_while(|w| is_assignment(w)).collect();
    let tool = match words.first() {
        Some(&"etcdctl") => Tool::Etcdctl,
        Some(&"etcdutl") => Tool::Etcdutl,
        _ => return Err("usage: etcdctl snapshot save|restore|status FILE".into()),
    };
    let mut positional: Vec<&str> = Vec::new();
    let mut values: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    let mut bools: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let Some(flag) = word.strip_prefix("--").or_else(|| word.strip_prefix('-').filter(|f| *f == "w")) else {
            positional.push(word);
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let name = if name == "w" { "write-out" } else { name };
        let known = VALUE_FLAGS.iter().chain(BOOL_FLAGS).find(|f| **f == name).copied();
        let Some(name) = known.filter(|n| tool == Tool::Etcdctl || !CLIENT_ONLY.contains(n)) else {
            return Err(format!("Error: unknown flag: --{name}"));
        };
        if VALUE_FLAGS.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => rest.next().map(|v| v.to_string()).ok_or_else(|| format!("Error: flag needs an argument: --{name}"))?,
            };
            values.insert(name, value);
        } else {
            match inline.as_deref() {
                None | Some("true") => {
                    bools.insert(name);
                }
                Some("false") => {
                    bools.remove(name);
                }
                Some(v) => return Err(format!("Error: invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax")),
            }
        }
    }
    let [group, verb, args @ ..] = positional.as_slice() else {
        return Err(format!("usage: {} snapshot save|restore|status FILE", tool.name()));
    };
    if *group != "snapshot" {
        return Err(format!("Error: unknown command \"{group}\" for \"{}\"", tool.name()));
    }
    let restore = *verb == "restore";
    if let Some(flag) = values.keys().chain(bools.iter()).find(|f| RESTORE_ONLY.contains(*f) && !restore) {
        return Err(format!("Error: unknown flag: --{flag}"));
    }
    let file = |what: &str| -> Result<String, String> {
        match args {
            [file] => Ok(file.to_string()),
            _ => Err(format!("Error: {what}")),
        }
    };
    let action = match (*verb, tool) {
        ("save", Tool::Etcdctl) => Action::Save { file: file("snapshot save expects one argument")? },
        ("restore", _) => {
            let bump = match values.get("bump-revision") {
                Some(v) => v.parse::<u64>().map_err(|_| format!("Error: invalid argument \"{v}\" for \"--bump-revision\" flag: strconv.ParseUint: parsing \"{v}\": invalid syntax"))?,
                None => 0,
            };
            Action::Restore { file: file("snapshot restore requires exactly one argument")?, bump, mark_compacted: bools.contains("mark-compacted") }
        }
        ("status", _) => {
            let write_out = values.get("write-out").cloned().unwrap_or_else(|| "simple".into());
            if !matches!(write_out.as_str(), "simple" | "table" | "json") {
                return Err(format!("Error: unsupported output format {write_out:?}"));
            }
            Action::Status { file: file("snapshot status requires exactly one argument")?, write_out }
        }
        (other, _) => return Err(format!("Error: unknown command \"{other}\" for \"{} snapshot\"", tool.name())),
    };
    Ok(Etcdctl { tool, action })
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
}

/// Runs a parsed command against the cluster's etcd.
pub fn run(cluster: &mut Cluster, command: &Etcdctl) -> Output {
    let mut out = Output::default();
    let fail = |out: &mut Output, msg: String| {
        out.stderr.push_str(&format!("Error: {msg}\n"));
        out.exit_code = 1;
    };
    match &command.action {
        Action::Save { file } => match cluster.sim.api.save_snapshot(file) {
            Ok(revision) => {
                out.stdout = format!("Snapshot saved at {file}\n");
                cluster.sim.activity.push(cluster.sim.now(), "etcd", format!("snapshot of revision {revision} saved at {file}"));
            }
            Err(e) => fail(&mut out, e),
        },
        Action::Restore { file, bump, mark_compacted } => {
            if command.tool == Tool::Etcdctl {
                out.stderr.push_str("Deprecated: Use `etcdutl snapshot restore` instead.\n\n");
            }
            if (*bump == 0 && *mark_compacted) || (*bump > 0 && !*mark_compacted) {
                fail(&mut out, "--mark-compacted required if --revision-bump > 0".into());
                return out;
            }
            let before = cluster.sim.api.store().revision();
            let bump = i64::try_from(*bump).unwrap_or(i64::MAX / 2).min(i64::MAX / 2);
            match cluster.sim.api.restore_snapshot(file, bump) {
                Ok(after) => {
                    cluster.sim.activity.push(cluster.sim.now(), "etcd", format!("etcd restored from {file}: revision {before} → {after}; every watch ends"));
                    cluster.sim.settle();
                }
                Err(e) => fail(&mut out, e),
            }
        }
        Action::Status { file, write_out } => {
            if command.tool == Tool::Etcdctl {
                out.stderr.push_str("Deprecated: Use `etcdutl snapshot status` instead.\n\n");
            }
            let Some(snapshot) = cluster.sim.api.snapshot_file(file) else {
                fail(&mut out, format!("stat {file}: no such file or directory"));
                return out;
            };
            let (hash, size) = snapshot.digest();
            let row = [format!("{hash:x}"), snapshot.revision().to_string(), snapshot.len().to_string(), human_bytes(size)];
            out.stdout = match write_out.as_str() {
                "table" => table(&["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"], &row),
                "json" => format!("{{\"hash\":{hash},\"revision\":{},\"totalKey\":{},\"totalSize\":{size}}}\n", snapshot.revision(), snapshot.len()),
                _ => format!("{}\n", row.join(", ")),
            };
        }
    }
    out
}

/// go-humanize's `Bytes`: SI units, one decimal below 10.
pub fn human_bytes(size: u64) -> String {
    if size < 10 {
        return format!("{size} B");
    }
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let exponent = ((size as f64).ln() / 1000f64.ln()).floor() as usize;
    let exponent = exponent.min(SIZES.len() - 1);
    let value = ((size as f64) / 1000f64.powi(exponent as i32) * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", SIZES[exponent])
    } else {
        format!("{value:.0} {}", SIZES[exponent])
    }
}

/// tablewriter with centred headers and right-aligned cells, as etcdutl prints.
fn table(headers: &[&str], row: &[String]) -> String {
    let widths: Vec<usize> = headers.iter().zip(row).map(|(h, c)| h.chars().count().max(c.chars().count())).collect();
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+\n";
    let mut out = rule.clone();
    for (h, w) in headers.iter().zip(&widths) {
        let pad = w - h.chars().count();
        out.push_str(&format!("| {}{}{} ", " ".repeat(pad / 2), h, " ".repeat(pad - pad / 2)));
    }
    out.push_str("|\n");
    out.push_str(&rule);
    for (c, w) in row.iter().zip(&widths) {
        out.push_str(&format!("| {c:>w$} "));
    }
    out.push_str("|\n");
    out.push_str(&rule);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn parses_what_tutorials_type() {
        let save = parse(&words("ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert /x --key /y snapshot save /tmp/snap.db")).unwrap();
        assert_eq!(save, Etcdctl { tool: Tool::Etcdctl, action: Action::Save { file: "/tmp/snap.db".into() } });
        let restore = parse(&words("etcdutl snapshot restore snap.db --data-dir /var/lib/etcd-restore --bump-revision 1000000000 --mark-compacted")).unwrap();
        assert_eq!(restore.action, Action::Restore { file: "snap.db".into(), bump: 1_000_000_000, mark_compacted: true });
        let status = parse(&words("etcdutl snapshot status snap.db -w table")).unwrap();
        assert_eq!(status.action, Action::Status { file: "snap.db".into(), write_out: "table".into() });
    }

    #[test]
    fn refuses_what_etcd_refuses() {
        assert_eq!(parse(&words("etcdutl --endpoints=x snapshot restore a")).unwrap_err(), "Error: unknown flag: --endpoints");
        assert_eq!(parse(&words("etcdctl snapshot save")).unwrap_err(), "Error: snapshot save expects one argument");
        assert_eq!(parse(&words("etcdctl snapshot save a --data-dir x")).unwrap_err(), "Error: unknown flag: --data-dir");
        assert!(parse(&words("etcdutl snapshot save a")).is_err());
        assert!(parse(&words("etcdctl member list")).is_err());
        assert!(parse(&words("etcdctl snapshot restore a --bump-revision=x")).is_err());
        assert!(parse(&words("etcdctl snapshot status a -w yaml")).is_err());
    }

    #[test]
    fn humanizes_bytes_as_go_humanize() {
        assert_eq!(human_bytes(7), "7 B");
        assert_eq!(human_bytes(82_854), "83 kB");
        assert_eq!(human_bytes(2_100_000), "2.1 MB");
    }

    #[test]
    fn tables_as_tablewriter() {
        let t = table(&["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"], &["fe01cf57".into(), "10".into(), "7".into(), "2.1 MB".into()]);
        assert_eq!(
            t,
            "+----------+----------+------------+------------+\n\
             |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n\
             +----------+----------+------------+------------+\n\
             | fe01cf57 |       10 |          7 |     2.1 MB |\n\
             +----------+----------+------------+------------+\n"
        );
    }
}
