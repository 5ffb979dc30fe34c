//! `find` as GNU findutils 4.9.0 (Debian) and busybox 1.37 run it: starting
//! points, then an expression of tests, actions and operators, evaluated for
//! every entry below them without following symbolic links (`-P`).
//!
//! A directory's entries are visited in name order, where a real one lists
//! them in the order its file system keeps them (on ext4 and overlayfs, a
//! hash's). Tests on times, sizes, owners and permissions are refused by
//! name rather than ignored.

use super::filesystem::{Errno, Inode, Kind};

/// What `find` needs of the shell that runs it: the files (as the process
/// sees them, relative to its directory), a way to run `-exec`'s commands,
/// and its output.
pub trait FindHost {
    fn busybox(&self) -> bool;
    fn lstat(&mut self, path: &str) -> Result<Inode, Errno>;
    /// A directory's entries by name.
    fn entries(&mut self, path: &str) -> Result<Vec<(String, Inode)>, Errno>;
    /// Removes a file, or an empty directory.
    fn remove(&mut self, path: &str) -> Result<(), Errno>;
    /// Runs a command; its exit status, or `None` when it does not end
    /// (the whole `find` ends with it).
    fn exec(&mut self, argv: &[String]) -> Option<i32>;
    /// Counts `steps` of work against the shell's budget for one line;
    /// `false` once it is spent (the line is then treated as endless).
    fn spend(&mut self, steps: usize) -> bool;
    fn out(&mut self, text: &str);
    fn err(&mut self, text: &str);
}

const BUSYBOX_USAGE: &str = "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: find [-HL] [PATH]... [OPTIONS] [ACTIONS]\n";

/// Tests and actions GNU find has that are not simulated: refused by name.
const NOT_SIMULATED: &[&str] = &[
    "-amin", "-anewer", "-atime", "-cmin", "-cnewer", "-context", "-ctime", "-executable", "-execdir", "-fls", "-fprint", "-fprint0", "-fprintf", "-fstype",
    "-gid", "-group", "-ilname", "-inum", "-iregex", "-links", "-lname", "-ls", "-mmin", "-mtime", "-newer", "-nogroup", "-nouser", "-ok", "-okdir", "-perm",
    "-printf", "-readable", "-regex", "-samefile", "-size", "-uid", "-used", "-user", "-writable", "-xtype", "-follow", "-regextype",
];

#[derive(Debug)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    True,
    False,
    /// `-name`/`-iname` (on the last name), `-path`/`-ipath` (on the whole path).
    Name { pattern: String, fold: bool, whole: bool },
    Type(Vec<char>),
    Empty,
    Print,
    Print0,
    Delete,
    Prune,
    Quit,
    /// `-exec … ;` (once for each entry), or `-exec … {} +` (once for all,
    /// its paths gathered in the walk's batch of this number).
    Exec { argv: Vec<String>, batch: Option<usize> },
}

impl Expr {
    fn has_action(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.has_action() || b.has_action(),
            Expr::Not(a) => a.has_action(),
            Expr::Print | Expr::Print0 | Expr::Delete | Expr::Exec { .. } | Expr::Quit => true,
            _ => false,
        }
    }
    fn has_delete(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.has_delete() || b.has_delete(),
            Expr::Not(a) => a.has_delete(),
            Expr::Delete => true,
            _ => false,
        }
    }
}

/// The global options.
#[derive(Default)]
struct Options {
    max_depth: Option<usize>,
    min_depth: usize,
    depth_first: bool,
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    options: Options,
    busybox: bool,
    /// `-exec … {} +` commands, in the order they were read.
    batched: Vec<Vec<String>>,
    /// How deep in `(` and `!` the parser is.
    nesting: usize,
}

/// Entries visited for one step of the shell's budget (a command is one).
const ENTRIES_PER_STEP: usize = 100;

/// The most tests an expression and the deepest nesting this simulation
/// evaluates (it walks the expression recursively): more is refused, not
/// left to exhaust the page's stack.
const MAX_TERMS: usize = 1000;
const MAX_NESTING: usize = 100;

type Parsed<T> = Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn usage(&self, gnu: String) -> String {
        if self.busybox {
            BUSYBOX_USAGE.to_string()
        } else {
            gnu
        }
    }

    fn or(&mut self) -> Parsed<Expr> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some("-o" | "-or")) {
            let op = self.tokens[self.at].clone();
            self.at += 1;
            if matches!(self.peek(), None | Some(")")) {
                return Err(self.usage(format!("find: expected an expression after '{op}'\n")));
            }
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed<Expr> {
        let mut left = self.unary()?;
        loop {
            match self.peek() {
                None | Some("-o" | "-or" | ")") => return Ok(left),
                Some("-a" | "-and") => {
                    let op = self.tokens[self.at].clone();
                    self.at += 1;
                    if matches!(self.peek(), None | Some(")" | "-o" | "-or")) {
                        return Err(self.usage(format!("find: expected an expression after '{op}'\n")));
                    }
                }
                Some(_) => {}
            }
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Parsed<Expr> {
        if self.nesting > MAX_NESTING || self.at > MAX_TERMS * 4 {
            return Err(format!("find: expression too long for this simulation (at most {MAX_TERMS} tests, nested {MAX_NESTING} deep)\n"));
        }
        self.nesting += 1;
        let parsed = self.unary_within();
        self.nesting -= 1;
        parsed
    }

    fn unary_within(&mut self) -> Parsed<Expr> {
        match self.peek() {
            Some(op @ ("!" | "-not")) => {
                let op = op.to_string();
                self.at += 1;
                if matches!(self.peek(), None | Some(")" | "-o" | "-or" | "-a" | "-and")) {
                    return Err(self.usage(format!("find: expected an expression after '{op}'\n")));
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(")") {
                    return Err(self.usage("find: invalid expression; I was expecting to find a ')' somewhere but did not see one.\n".into()));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(op @ ("-o" | "-or" | "-a" | "-and")) => Err(self.usage(format!("find: invalid expression; you have used a binary operator '{op}' with nothing before it.\n"))),
            Some(")") => Err(self.usage("find: you have too many ')'\n".into())),
            Some(_) => self.primary(),
            None => Ok(Expr::True),
        }
    }

    fn argument(&mut self, name: &str) -> Parsed<String> {
        self.at += 1;
        match self.tokens.get(self.at) {
            Some(v) => {
                self.at += 1;
                Ok(v.clone())
            }
            None => Err(self.usage(format!("find: missing argument to `{name}'\n"))),
        }
    }

    fn depth(&mut self, name: &str) -> Parsed<usize> {
        let value = self.argument(name)?;
        match value.parse::<usize>() {
            Ok(n) if !value.starts_with('+') => Ok(n),
            _ => Err(self.usage(format!("find: Expected a positive decimal integer argument to {name}, but got '{value}'\n"))),
        }
    }

    fn primary(&mut self) -> Parsed<Expr> {
        let token = self.tokens[self.at].clone();
        let simple = |e: Expr, p: &mut Self| {
            p.at += 1;
            Ok(e)
        };
        match token.as_str() {
            "-name" | "-iname" | "-path" | "-ipath" | "-wholename" | "-iwholename" => {
                let pattern = self.argument(&token)?;
                Ok(Expr::Name { pattern, fold: token.starts_with("-i"), whole: !token.ends_with("name") || token.ends_with("wholename") })
            }
            "-type" => {
                let value = self.argument("-type")?;
                parse_types(&value).map(Expr::Type).map_err(|e| self.usage(e))
            }
            "-maxdepth" => {
                self.options.max_depth = Some(self.depth("-maxdepth")?);
                Ok(Expr::True)
            }
            "-mindepth" => {
                self.options.min_depth = self.depth("-mindepth")?;
                Ok(Expr::True)
            }
            "-depth" | "-d" => {
                self.options.depth_first = true;
                simple(Expr::True, self)
            }
            "-xdev" | "-mount" | "-noleaf" | "-ignore_readdir_race" | "-noignore_readdir_race" | "-nowarn" | "-warn" => simple(Expr::True, self),
            "-true" => simple(Expr::True, self),
            "-false" => simple(Expr::False, self),
            "-empty" => simple(Expr::Empty, self),
            "-print" => simple(Expr::Print, self),
            "-print0" => simple(Expr::Print0, self),
            "-delete" => simple(Expr::Delete, self),
            "-prune" => simple(Expr::Prune, self),
            "-quit" => simple(Expr::Quit, self),
            "-exec" => {
                self.at += 1;
                let start = self.at;
                // `;` ends the command; `+` ends it only right after a `{}`
                // of its own, and is an ordinary argument anywhere else.
                let end = (start..self.tokens.len()).find(|&i| self.tokens[i] == ";" || (self.tokens[i] == "+" && i > start && self.tokens[i - 1] == "{}"));
                let Some(end) = end.filter(|e| *e > start) else { return Err(self.usage("find: missing argument to `-exec'\n".into())) };
                let argv = self.tokens[start..end].to_vec();
                let batch = self.tokens[end] == "+";
                if batch && argv.iter().filter(|a| a.contains("{}")).count() > 1 {
                    return Err(self.usage("find: Only one instance of {} is supported with -exec ... +\n".into()));
                }
                self.at = end + 1;
                let batch = batch.then(|| {
                    self.batched.push(argv.clone());
                    self.batched.len() - 1
                });
                Ok(Expr::Exec { argv, batch })
            }
            t if NOT_SIMULATED.contains(&t) => Err(format!("find: {t} is not simulated (times, sizes, owners and permissions are not tested here)\n")),
            t if t.starts_with('-') && t.len() > 1 => Err(if self.busybox { format!("find: unrecognized: {t}\n{BUSYBOX_USAGE}") } else { format!("find: unknown predicate `{t}'\n") }),
            t => Err(self.usage(format!("find: paths must precede expression: `{t}'\n"))),
        }
    }
}

/// `-type`'s letters: one, or several separated by commas.
fn parse_types(value: &str) -> Result<Vec<char>, String> {
    if value.is_empty() {
        return Err("find: Arguments to -type should contain at least one letter\n".into());
    }
    let mut types = Vec::new();
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !"bcdpflsD".contains(c) {
            return Err(format!("find: Unknown argument to -type: {c}\n"));
        }
        types.push(c);
        match chars.get(i + 1) {
            None => break,
            Some(',') if i + 2 == chars.len() => return Err(format!("find: Last file type in list argument to -type is missing, i.e., list is ending on: ','\n")),
            Some(',') => i += 2,
            Some(_) => return Err("find: Must separate multiple arguments to -type using: ','\n".into()),
        }
    }
    Ok(types)
}

/// What evaluating the expression at an entry decided besides true or false.
#[derive(Default)]
struct Visit {
    prune: bool,
    quit: bool,
}

struct Walk<'h> {
    host: &'h mut dyn FindHost,
    status: i32,
    /// `-exec … +`'s paths, for each such command in the expression's order.
    batched: Vec<Vec<String>>,
    /// A command that never ends, or the spent budget, stopped the walk.
    stopped: bool,
    visited: usize,
}

impl Walk<'_> {
    fn eval(&mut self, e: &Expr, path: &str, inode: &Inode, visit: &mut Visit) -> bool {
        if visit.quit || self.stopped {
            return false;
        }
        match e {
            Expr::And(a, b) => self.eval(a, path, inode, visit) && self.eval(b, path, inode, visit),
            Expr::Or(a, b) => self.eval(a, path, inode, visit) || self.eval(b, path, inode, visit),
            Expr::Not(a) => !self.eval(a, path, inode, visit),
            Expr::True => true,
            Expr::False => false,
            Expr::Name { pattern, fold, whole } => {
                let subject = if *whole { path.to_string() } else { last_name(path).to_string() };
                if *fold {
                    super::shell::wildcard(&pattern.to_lowercase(), &subject.to_lowercase())
                } else {
                    super::shell::wildcard(pattern, &subject)
                }
            }
            Expr::Type(types) => types.iter().any(|t| match (t, &inode.kind) {
                ('f', Kind::File(_)) | ('d', Kind::Dir) | ('l', Kind::Symlink(_)) => true,
                _ => false,
            }),
            Expr::Empty => match &inode.kind {
                Kind::File(c) => c.is_empty(),
                Kind::Dir => self.host.entries(path).is_ok_and(|e| e.is_empty()),
                _ => false,
            },
            Expr::Print => {
                self.host.out(&format!("{path}\n"));
                true
            }
            Expr::Print0 => {
                self.host.out(&format!("{path}\0"));
                true
            }
            Expr::Delete => {
                // The starting point `.` is never deleted.
                if path == "." {
                    return true;
                }
                match self.host.remove(path) {
                    Ok(()) => true,
                    Err(e) => {
                        self.status = 1;
                        let line = if self.host.busybox() { format!("find: {path}: {}\n", e.message()) } else { format!("find: cannot delete '{path}': {}\n", e.message()) };
                        self.host.err(&line);
                        false
                    }
                }
            }
            Expr::Prune => {
                visit.prune = true;
                true
            }
            Expr::Quit => {
                visit.quit = true;
                true
            }
            Expr::Exec { argv, batch: None } => {
                if !self.host.spend(1) {
                    self.stopped = true;
                    return false;
                }
                let argv: Vec<String> = argv.iter().map(|a| a.replace("{}", path)).collect();
                match self.host.exec(&argv) {
                    Some(status) => status == 0,
                    None => {
                        self.stopped = true;
                        false
                    }
                }
            }
            Expr::Exec { batch: Some(index), .. } => {
                if let Some(paths) = self.batched.get_mut(*index) {
                    paths.push(path.to_string());
                }
                true
            }
        }
    }
}

/// The last name of a path as `-name` sees it: trailing slashes dropped, `/` itself kept.
fn last_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "" } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `find ARGS…`: its exit status, or `None` when a command it ran did not end.
pub fn run(host: &mut dyn FindHost, args: &[String]) -> Option<i32> {
    let busybox = host.busybox();
    // Options before the starting points: `-P` (the default), `-H`, `-L`.
    let mut rest = args;
    while let Some(first) = rest.first().map(String::as_str) {
        match first {
            "-P" => rest = &rest[1..],
            "-H" | "-L" => {
                host.err(&format!("find: {first} is not simulated: symbolic links are never followed here (-P)\n"));
                return Some(1);
            }
            _ => break,
        }
    }
    let starts_end = rest.iter().position(|a| (a.starts_with('-') && a.len() > 1) || a == "(" || a == "!" || a == ")").unwrap_or(rest.len());
    let starts: Vec<String> = if starts_end == 0 { vec![".".to_string()] } else { rest[..starts_end].to_vec() };
    let mut parser = Parser { tokens: &rest[starts_end..], at: 0, options: Options::default(), busybox, batched: Vec::new(), nesting: 0 };
    let parsed = parser.or();
    let expr = match parsed {
        Ok(_) if parser.at < parser.tokens.len() => {
            let line = if parser.tokens[parser.at] == ")" { parser.usage("find: you have too many ')'\n".into()) } else { parser.usage(format!("find: paths must precede expression: `{}'\n", parser.tokens[parser.at])) };
            host.err(&line);
            return Some(1);
        }
        Ok(e) => e,
        Err(line) => {
            host.err(&line);
            return Some(1);
        }
    };
    let commands = std::mem::take(&mut parser.batched);
    let mut options = parser.options;
    // `-delete` walks depth first, as `-depth` does.
    if expr.has_delete() {
        options.depth_first = true;
    }
    let expr = if expr.has_action() { expr } else { Expr::And(Box::new(expr), Box::new(Expr::Print)) };
    let mut walk = Walk { host, status: 0, batched: vec![Vec::new(); commands.len()], stopped: false, visited: 0 };
    'starts: for start in &starts {
        if start.is_empty() {
            walk.status = 1;
            let line = if busybox { "find: : No such file or directory\n".to_string() } else { "find: '': No such file or directory\n".to_string() };
            walk.host.err(&line);
            continue;
        }
        // Entries to visit; `true` marks a directory's second visit (after its entries, with `-depth`).
        let mut pending: Vec<(String, usize, bool)> = vec![(start.clone(), 0, false)];
        while let Some((path, depth, after)) = pending.pop() {
            walk.visited += 1;
            if walk.visited % ENTRIES_PER_STEP == 0 && !walk.host.spend(1) {
                walk.stopped = true;
                break 'starts;
            }
            let inode = match walk.host.lstat(&path) {
                Ok(i) => i,
                Err(e) => {
                    walk.status = 1;
                    let line = if busybox { format!("find: {path}: {}\n", e.message()) } else { format!("find: '{path}': {}\n", e.message()) };
                    walk.host.err(&line);
                    continue;
                }
            };
            let evaluate = depth >= options.min_depth && options.max_depth.is_none_or(|m| depth <= m);
            let mut visit = Visit::default();
            if (!options.depth_first || after || !inode.is_dir()) && evaluate {
                walk.eval(&expr, &path, &inode, &mut visit);
                if visit.quit || walk.stopped {
                    break 'starts;
                }
            }
            if !inode.is_dir() || after {
                continue;
            }
            if options.depth_first {
                pending.push((path.clone(), depth, true));
            } else if visit.prune {
                continue;
            }
            if options.max_depth.is_some_and(|m| depth >= m) {
                continue;
            }
            match walk.host.entries(&path) {
                Ok(entries) => {
                    for (name, _) in entries.iter().rev() {
                        let child = if path.ends_with('/') { format!("{path}{name}") } else { format!("{path}/{name}") };
                        pending.push((child, depth + 1, false));
                    }
                }
                Err(e) => {
                    walk.status = 1;
                    let line = if busybox { format!("find: {path}: {}\n", e.message()) } else { format!("find: '{path}': {}\n", e.message()) };
                    walk.host.err(&line);
                }
            }
        }
    }
    if walk.stopped {
        return None;
    }
    // `-exec … {} +`: each command once, with every path it was given.
    for (argv, paths) in commands.iter().zip(std::mem::take(&mut walk.batched)) {
        if paths.is_empty() {
            continue;
        }
        let mut full: Vec<String> = argv[..argv.len() - 1].to_vec();
        full.extend(paths);
        match walk.host.exec(&full) {
            Some(0) => {}
            Some(_) => walk.status = 1,
            None => return None,
        }
    }
    Some(walk.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_names_as_name_sees_them() {
        assert_eq!(last_name("."), ".");
        assert_eq!(last_name("etc/config/"), "config");
        assert_eq!(last_name("/"), "/");
        assert_eq!(last_name("./x/y.txt"), "y.txt");
    }

    /// A flat directory of `files` entries, a step budget, and what was printed.
    struct Flat {
        files: usize,
        budget: usize,
        printed: usize,
        ran: usize,
    }

    impl FindHost for Flat {
        fn busybox(&self) -> bool {
            false
        }
        fn lstat(&mut self, path: &str) -> Result<Inode, Errno> {
            Ok(if path == "d" { Inode::dir(0o755, 0) } else { Inode::file("", 0o644, 0) })
        }
        fn entries(&mut self, _: &str) -> Result<Vec<(String, Inode)>, Errno> {
            Ok((0..self.files).map(|i| (format!("f{i:05}"), Inode::file("", 0o644, 0))).collect())
        }
        fn remove(&mut self, _: &str) -> Result<(), Errno> {
            Ok(())
        }
        fn exec(&mut self, _: &[String]) -> Option<i32> {
            self.ran += 1;
            Some(0)
        }
        fn spend(&mut self, steps: usize) -> bool {
            self.budget = self.budget.saturating_sub(steps);
            self.budget > 0
        }
        fn out(&mut self, _: &str) {
            self.printed += 1;
        }
        fn err(&mut self, _: &str) {}
    }

    #[test]
    fn a_walk_or_its_commands_stop_when_the_shells_budget_is_spent() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut host = Flat { files: 50, budget: 10, printed: 0, ran: 0 };
        assert_eq!(run(&mut host, &args(&["d"])), Some(0));
        assert_eq!(host.printed, 51);
        let mut host = Flat { files: 5_000, budget: 10, printed: 0, ran: 0 };
        assert_eq!(run(&mut host, &args(&["d"])), None);
        assert!(host.printed < 1_000, "{}", host.printed);
        let mut host = Flat { files: 50, budget: 10, printed: 0, ran: 0 };
        assert_eq!(run(&mut host, &args(&["d", "-exec", "true", ";"])), None);
        assert!(host.ran < 10, "{}", host.ran);
    }

    #[test]
    fn type_lists_are_read_as_gnu_find_reads_them() {
        assert_eq!(parse_types("f,d").unwrap(), vec!['f', 'd']);
        assert_eq!(parse_types("q").unwrap_err(), "find: Unknown argument to -type: q\n");
        assert!(parse_types("fd").unwrap_err().contains("Must separate"));
        assert!(parse_types("f,").unwrap_err().contains("ending on: ','"));
        assert!(parse_types("").unwrap_err().contains("at least one letter"));
    }
}
