//! Scenes: a seed and the timed list of what the user did, enough to rebuild
//! the same cluster (events included) because the engine is deterministic.
//! A scene travels in a link's fragment (`#scene=…`, deflated and written in
//! URL-safe base64) and is autosaved in the browser the same way.
//!
//! Everything the user does goes through [`perform`], live and on replay
//! alike, so a replay takes the same path through the API server.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::engine::api::{ids, Object};
use crate::engine::cluster::{Cluster, Profile, ProfileKind, BOOT_MS};
use crate::engine::kubectl::{self, NoFiles, Output};
use crate::engine::script;
use crate::engine::sim::clock::VirtualTime;
use crate::engine::sim::Position;
use crate::lesson::progress::{Following, Progress};
use crate::lesson::{self, Lesson};
use crate::view::yaml::{self, Marker, Severity};

pub const SCENE_VERSION: u32 = 1;
/// The seed a fresh page boots with.
pub const DEFAULT_SEED: u64 = 1;
/// What the fragment starts with.
pub const FRAGMENT_PREFIX: &str = "scene=";
/// Longer links are refused: chat tools and browsers cut them anyway.
pub const MAX_LINK_CHARS: usize = 120_000;
/// A deflated scene may not inflate beyond this (a zip bomb stays small).
pub const MAX_SCENE_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_ACTIONS: usize = 5_000;
/// One applied text or command line at most.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// A week of virtual time: replaying more would keep a tab busy too long.
pub const MAX_SCENE_MS: u64 = 7 * 24 * 3600 * 1000;
/// The most worker nodes a scene may ask for.
pub const MAX_NODES: usize = 500;

/// One thing the user did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "a", rename_all = "snake_case")]
pub enum Action {
    /// The editor's Apply: every document of `text`, as `kubectl apply -f -`.
    Apply { text: String },
    /// The editor's Delete, as `kubectl delete -f -`.
    Delete { text: String },
    /// A terminal line; `stdin` is a here-document's text ("show me" runs them).
    Kubectl {
        line: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stdin: Option<String>,
    },
    /// A terminal line run on the learner's machine rather than by kubectl:
    /// `traffic start|stop|report`, `curl`, `wget`, `minikube service`.
    Host { line: String },
    /// A component switch: `scheduler`, `kubelet/worker-1`, `node/worker-2`.
    Stop { component: String },
    Start { component: String },
    /// The clock's play/pause and speed, so a replay resumes as it was.
    Clock { playing: bool, speed: u32 },
    /// A script line that is not kubectl: `partition node/worker-1`,
    /// `heal node/worker-1`, `slow etcd 2s`, `restart kubelet/worker-2`,
    /// `etcdctl snapshot save snap.db`.
    Script { line: String },
    /// A line typed at a shell inside a container (`exec -it`, `run -it`),
    /// with the shell's state before it.
    ShellLine { session: kubectl::interactive::ShellSession, line: String },
    /// The end of followed output that deletes its pod (`run -i --rm`), or Ctrl-C on it.
    FollowEnd { follow: kubectl::interactive::Follow, interrupted: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timed {
    /// Virtual milliseconds when it happened.
    pub t: u64,
    /// Component runs already made at that instant when it happened (the
    /// page may act in the middle of a busy instant); absent in older links,
    /// which acted once the instant was settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<u64>,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scene {
    pub v: u32,
    pub seed: u64,
    /// Worker count of a scaled cluster; absent for the default profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// `minikube` for that profile; absent for the default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The lesson being followed, with the learner's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<Following>,
    pub actions: Vec<Timed>,
    /// Virtual milliseconds the scene was saved at; a replay runs to here.
    pub until_ms: u64,
}

impl Scene {
    pub fn new(seed: u64) -> Self {
        Scene { v: SCENE_VERSION, seed, workers: None, profile: None, lesson: None, actions: Vec::new(), until_ms: BOOT_MS }
    }

    pub fn profile(&self) -> Profile {
        match (self.workers, self.profile.as_deref().and_then(ProfileKind::parse)) {
            (Some(n), _) => Profile::scaled(n),
            (None, Some(kind)) => Profile::new(kind),
            (None, None) => Profile::new(ProfileKind::Default),
        }
    }

    /// A booted cluster for this scene, before any action.
    pub fn boot(&self) -> Cluster {
        Cluster::new(self.profile(), self.seed)
    }

    /// Records an action taken at `at` (see [`Sim::position`]); refuses once the scene is full.
    pub fn record(&mut self, at: Position, action: Action) -> Result<(), SceneError> {
        if self.actions.len() >= MAX_ACTIONS {
            return Err(SceneError::TooManyActions(self.actions.len()));
        }
        let last = self.actions.last().map_or(0, |a| a.t);
        let t = at.time.as_millis().max(last);
        let r = (t == at.time.as_millis()).then_some(at.runs);
        self.actions.push(Timed { t, r, action });
        self.until_ms = self.until_ms.max(t);
        Ok(())
    }

    /// The clock state the last recorded Clock action left.
    pub fn last_clock(&self) -> Option<(bool, u32)> {
        self.actions.iter().rev().find_map(|a| match a.action {
            Action::Clock { playing, speed } => Some((playing, speed)),
            _ => None,
        })
    }

    /// The fragment text (without `#`) that carries this scene.
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let deflated = miniz_oxide::deflate::compress_to_vec(&json, 9);
        format!("{FRAGMENT_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(deflated))
    }

    /// The fragment for a share link, refused with a clear message when the
    /// link would be longer than a link may be (the page then offers none).
    pub fn share_fragment(&self, address_len: usize) -> Result<String, SceneError> {
        let fragment = self.to_fragment();
        let total = address_len + 1 + fragment.len();
        if fragment.len() > MAX_LINK_CHARS || total > MAX_LINK_CHARS {
            return Err(SceneError::TooBigToShare(total));
        }
        Ok(fragment)
    }

    /// Reads a fragment (with or without `#`). Every failure is a message
    /// the page can show; nothing here panics on any input.
    pub fn from_fragment(fragment: &str) -> Result<Scene, SceneError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.len() > MAX_LINK_CHARS {
            return Err(SceneError::TooLong(fragment.len()));
        }
        let Some(data) = fragment.strip_prefix(FRAGMENT_PREFIX) else {
            return Err(SceneError::NotAScene);
        };
        let deflated = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(data.trim_end_matches('=').as_bytes())
            .map_err(|e| SceneError::Mangled(format!("not base64 ({e})")))?;
        let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_SCENE_BYTES).map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => SceneError::TooBig,
            _ => SceneError::Mangled("not compressed data".into()),
        })?;
        let scene: Scene = serde_json::from_slice(&json).map_err(|e| SceneError::Mangled(format!("unreadable scene ({e})")))?;
        scene.validate()?;
        Ok(scene)
    }

    fn validate(&self) -> Result<(), SceneError> {
        if self.v != SCENE_VERSION {
            return Err(SceneError::Version(self.v));
        }
        if self.actions.len() > MAX_ACTIONS {
            return Err(SceneError::TooManyActions(self.actions.len()));
        }
        if self.until_ms > MAX_SCENE_MS {
            return Err(SceneError::TooLongInTime(self.until_ms));
        }
        if let Some(p) = self.profile.as_deref().filter(|p| ProfileKind::parse(p).is_none()) {
            return Err(SceneError::Mangled(format!("there is no cluster profile \"{p}\"")));
        }
        if self.workers.is_some_and(|n| n == 0 || n > MAX_NODES) {
            return Err(SceneError::Mangled(format!("a cluster of {} workers is not offered", self.workers.unwrap_or(0))));
        }
        let mut last = 0;
        for a in &self.actions {
            if a.t < last || a.t > self.until_ms {
                return Err(SceneError::Mangled("actions are out of order".into()));
            }
            last = a.t;
            let text_len = match &a.action {
                Action::Apply { text } | Action::Delete { text } => text.len(),
                Action::Kubectl { line, stdin } => line.len() + stdin.as_ref().map_or(0, String::len),
                Action::Host { line } | Action::ShellLine { line, .. } | Action::Script { line } => line.len(),
                Action::FollowEnd { .. } => 0,
                Action::Stop { component } | Action::Start { component } => component.len(),
                Action::Clock { .. } => 0,
            };
            if text_len > MAX_TEXT_BYTES {
                return Err(SceneError::TooBig);
            }
        }
        if let Some(following) = &self.lesson {
            self.validate_lesson(following)?;
        }
        Ok(())
    }

    fn validate_lesson(&self, following: &Following) -> Result<(), SceneError> {
        if following.text.as_ref().is_some_and(|t| t.len() > lesson::parse::MAX_LESSON_BYTES) {
            return Err(SceneError::TooBig);
        }
        let lesson = following.lesson().map_err(|e| SceneError::Lesson(e.to_string()))?;
        if self.profile().kind != lesson.profile || self.seed != lesson.seed || self.workers.is_some() {
            return Err(SceneError::Lesson("the cluster is not the one the lesson is written for".into()));
        }
        following.progress.validate(&lesson, self.actions.len(), self.until_ms).map_err(|e| SceneError::Lesson(format!("its progress does not fit: {e}")))
    }

    /// The lesson this scene follows, if any (already validated when the scene was read).
    pub fn lesson(&self) -> Option<Lesson> {
        self.lesson.as_ref().and_then(|f| f.lesson().ok())
    }
}

/// Why a link or saved scene could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SceneError {
    NotAScene,
    TooLong(usize),
    TooBig,
    Mangled(String),
    Version(u32),
    TooManyActions(usize),
    TooLongInTime(u64),
    /// A link of this many characters would be needed.
    TooBigToShare(usize),
    /// The lesson in it cannot be used.
    Lesson(String),
}

impl std::fmt::Display for SceneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SceneError::NotAScene => write!(f, "the link does not hold a Miniplane scene"),
            SceneError::TooLong(n) => write!(f, "the link is too long ({n} characters; at most {MAX_LINK_CHARS})"),
            SceneError::TooBig => write!(f, "the scene in the link is too big"),
            SceneError::Mangled(why) => write!(f, "the link is damaged: {why}"),
            SceneError::Version(v) => write!(f, "the link was made by another version of Miniplane (scene format {v})"),
            SceneError::TooManyActions(n) => write!(f, "the scene has too many steps ({n}; at most {MAX_ACTIONS})"),
            SceneError::TooBigToShare(n) => write!(
                f,
                "this scene is too big to share as a link: it needs {n} characters, and a link holds at most {MAX_LINK_CHARS}. Large manifests and many steps make it long; Reset and rebuild a shorter scene to share it"
            ),
            SceneError::Lesson(why) => write!(f, "the lesson in the link cannot be opened: {why}"),
            SceneError::TooLongInTime(ms) => {
                write!(f, "the scene runs {} of virtual time; at most {} can be rebuilt", VirtualTime::from_millis(*ms), VirtualTime::from_millis(MAX_SCENE_MS))
            }
        }
    }
}

/// A fresh cluster for a lesson, with its setup run as recorded actions
/// (sleeps let virtual time pass), and a scene that follows the lesson from
/// its first step. `text` is the lesson file for a lesson not built in.
pub fn start_lesson(lesson: &Lesson, text: Option<String>) -> (Scene, Cluster) {
    let mut scene = Scene::new(lesson.seed);
    if lesson.profile != ProfileKind::Default {
        scene.profile = Some(lesson::profile_name(lesson.profile).to_string());
    }
    let mut cluster = scene.boot();
    for command in &lesson.setup {
        run_script_step(&mut scene, &mut cluster, &command.text, &command.step);
    }
    scene.until_ms = cluster.now().as_millis();
    let progress = Progress::start(scene.until_ms, scene.actions.len());
    scene.lesson = Some(Following { id: lesson.id.clone(), text, progress });
    (scene, cluster)
}

/// Carries out one script line (as the terminal or "show me" runs it),
/// recording the actions it stands for: each kubectl command of a `&&`
/// chain until one fails, a stop or a start. A sleep lets virtual time
/// pass here at once. Returns what it printed and whether it succeeded.
pub fn run_script_step(scene: &mut Scene, cluster: &mut Cluster, text: &str, step: &script::Step) -> (String, bool) {
    let act = |scene: &mut Scene, cluster: &mut Cluster, action: Action| {
        let _ = scene.record(cluster.sim.position(), action.clone());
        perform(cluster, &action)
    };
    match step {
        script::Step::Kubectl { chain, stdin } => {
            let mut printed = String::new();
            for words in chain {
                // One command keeps the line as typed; a chain's parts are rejoined.
                let line = if chain.len() == 1 && stdin.is_none() { text.to_string() } else { format!("kubectl {}", shell_words::join(words)) };
                let output = match act(scene, cluster, Action::Kubectl { line, stdin: stdin.clone() }) {
                    Outcome::Kubectl(o) => o,
                    _ => kubectl::Output::default(),
                };
                printed.push_str(&output.combined());
                if output.exit_code != 0 {
                    return (printed, false);
                }
            }
            (printed, true)
        }
        script::Step::Stop(component) | script::Step::Start(component) => {
            let action = if matches!(step, script::Step::Stop(_)) { Action::Stop { component: component.clone() } } else { Action::Start { component: component.clone() } };
            match act(scene, cluster, action) {
                Outcome::Component(Err(e)) => (format!("error: {e}\n"), false),
                _ => (String::new(), true),
            }
        }
        script::Step::Sleep(ms) => {
            cluster.sim.run_for_ms(*ms);
            (String::new(), true)
        }
        // Reads the scheduler's memory and changes nothing: not recorded.
        script::Step::Explain { .. } => script::run_step_status(cluster, step, &NoFiles),
        // Faults and etcdctl: recorded as the line, as the terminal does.
        script::Step::Restart(_) | script::Step::Partition(_) | script::Step::Heal(_) | script::Step::Slow { .. } | script::Step::Etcd(_) | script::Step::EtcdRefused(_) => {
            match act(scene, cluster, Action::Script { line: text.to_string() }) {
                Outcome::Script(o) => (o.combined(), o.exit_code == 0),
                _ => (String::new(), true),
            }
        }
        // What a pipe's commands do to the cluster is the line's to replay.
        script::Step::Pipeline(line) => match act(scene, cluster, Action::Host { line: line.clone() }) {
            Outcome::Kubectl(o) => (o.combined(), o.exit_code == 0),
            _ => (String::new(), true),
        },
        script::Step::Host(words) => {
            match act(scene, cluster, Action::Host { line: shell_words::join(words) }) {
                Outcome::Kubectl(o) => (o.combined(), o.exit_code == 0),
                _ => (String::new(), true),
            }
        }
        // `$(…)` is expanded now, as the shell would, and the line it gives
        // is what the scene records.
        script::Step::Substituted(_) => match script::expand_line(cluster, step, &NoFiles) {
            Ok(expanded) => match script::parse(&expanded) {
                Ok(commands) => match commands.as_slice() {
                    [command] if !matches!(command.step, script::Step::Substituted(_)) => run_script_step(scene, cluster, &command.text, &command.step),
                    _ => (format!("error: cannot run \"{expanded}\"\n"), false),
                },
                Err(e) => (format!("error: {}\n", e.message), false),
            },
            Err(printed) => (printed, false),
        },
    }
}

/// What an action printed or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Kubectl(Output),
    /// What a line typed at a container's shell printed, and the shell's state after it.
    Shell(kubectl::interactive::Step, kubectl::interactive::ShellSession),
    Editor(EditorReport),
    Component(Result<(), String>),
    Clock,
    /// What a script line printed (empty when a fault took effect quietly).
    Script(Output),
}

/// The editor's Apply or Delete: one line per document and markers at the
/// lines the errors are about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditorReport {
    pub markers: Vec<Marker>,
    /// What kubectl printed for each document, in order.
    pub output: String,
    pub ok: bool,
}

/// A terminal line's exit status, kept as the shell's `$?` for the next line.
fn kept_status(cluster: &mut Cluster, output: kubectl::Output) -> kubectl::Output {
    cluster.learner_shell.last_status = output.exit_code;
    output
}

/// Carries out one action on the cluster. The only way user actions reach
/// the engine, so live sessions and replays are the same.
pub fn perform(cluster: &mut Cluster, action: &Action) -> Outcome {
    match action {
        Action::Apply { text } => Outcome::Editor(apply_text(cluster, text, false)),
        Action::Delete { text } => Outcome::Editor(apply_text(cluster, text, true)),
        // Lines come from the page's terminal, where `-it` gets a terminal; a
        // here-document's text comes from a lesson's "show me".
        Action::Kubectl { line, stdin: Some(stdin) } => {
            let output = kubectl::run(cluster, line, Some(stdin), &NoFiles);
            Outcome::Kubectl(kept_status(cluster, output))
        }
        Action::Kubectl { line, stdin: None } => {
            let output = kubectl::run_in_terminal(cluster, line);
            Outcome::Kubectl(kept_status(cluster, output))
        }
        Action::ShellLine { session, line } => {
            let mut session = session.clone();
            let step = kubectl::interactive::shell_line(cluster, &mut session, line);
            Outcome::Shell(step, session)
        }
        Action::FollowEnd { follow, interrupted } => {
            let mut follow = follow.clone();
            if *interrupted {
                let _ = kubectl::interactive::interrupt(cluster, &mut kubectl::interactive::Interactive::Follow(follow));
            } else {
                let _ = kubectl::interactive::follow(cluster, &mut follow);
            }
            Outcome::Clock
        }
        Action::Host { line } => {
            let output = run_host(cluster, line);
            Outcome::Kubectl(kept_status(cluster, output))
        }
        Action::Stop { component } => Outcome::Component(cluster.sim.stop(component)),
        Action::Start { component } => Outcome::Component(cluster.sim.start(component)),
        Action::Clock { .. } => Outcome::Clock,
        Action::Script { line } => Outcome::Script(run_script_line(cluster, line)),
    }
}

/// Runs one script line that is not kubectl, as a terminal would.
pub fn run_script_line(cluster: &mut Cluster, line: &str) -> Output {
    match crate::engine::script::parse_line(line) {
        Ok(crate::engine::script::Step::Kubectl { .. }) | Ok(crate::engine::script::Step::Sleep(_)) => {
            Output { stderr: "error: only faults and etcdctl run here\n".into(), exit_code: 1, ..Default::default() }
        }
        Ok(crate::engine::script::Step::Host(_)) => run_host(cluster, line),
        Ok(crate::engine::script::Step::Etcd(command)) => crate::engine::etcdctl::run(cluster, &command),
        Ok(crate::engine::script::Step::EtcdRefused(message)) => Output { stderr: format!("{message}\n"), exit_code: 1, ..Default::default() },
        Ok(step) => {
            // The other commands print only their errors.
            let text = crate::engine::script::run_step(cluster, &step, &NoFiles);
            if text.is_empty() {
                Output::default()
            } else {
                Output { stderr: text, exit_code: 1, ..Default::default() }
            }
        }
        Err(e) => Output { stderr: format!("error: {e}\n"), exit_code: 1, ..Default::default() },
    }
}

/// Whether a terminal line is a script command rather than kubectl.
pub fn is_script_line(line: &str) -> bool {
    let first = line.split_whitespace().find(|w| !w.contains('=') || w.starts_with("etcd")).unwrap_or("");
    crate::engine::script::COMMANDS.contains(&first) && first != "sleep"
}

/// Runs a host command line, with its output in kubectl's shape.
pub fn run_host(cluster: &mut Cluster, line: &str) -> Output {
    let calls_function = crate::engine::host::calls_function(line, |name| cluster.learner_shell.functions.defines(name));
    if calls_function || crate::engine::host::needs_shell(line) {
        return crate::engine::host::run_pipeline(cluster, line, &NoFiles);
    }
    let words = match shell_words::split(line) {
        Ok(w) => w,
        Err(_) => return Output { stderr: "error: unterminated quote\n".into(), exit_code: 1, ..Default::default() },
    };
    let out = crate::engine::host::run(cluster, &words);
    if out.code == 0 {
        Output { stdout: out.text, exit_code: 0, ..Default::default() }
    } else {
        Output { stderr: out.text, exit_code: out.code, ..Default::default() }
    }
}

/// Whether a terminal line only reads: it changes nothing, so a scene need
/// not keep it (links stay short).
pub fn is_read_only(line: &str) -> bool {
    // A line for the learner's shell may write its files (`> pods.txt`).
    if crate::engine::host::needs_shell(line) {
        return false;
    }
    if crate::engine::host::is_host_command(line) {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        return crate::engine::host::is_read_only(&words);
    }
    let mut words = line.split_whitespace();
    let mut verb = words.next().unwrap_or("");
    if verb == "kubectl" {
        verb = words.next().unwrap_or("");
    }
    matches!(
        verb,
        "" | "get" | "describe" | "logs" | "events" | "version" | "cluster-info" | "api-resources" | "api-versions" | "explain" | "help" | "top"
    )
}

/// Applies or deletes each document of `text` through `kubectl apply|delete -f -`,
/// marking YAML errors where they are and API field errors at their field.
pub fn apply_text(cluster: &mut Cluster, text: &str, delete: bool) -> EditorReport {
    let mut report = EditorReport { ok: true, ..Default::default() };
    let verb = if delete { "delete" } else { "apply" };
    let docs: Vec<yaml::Document> = yaml::split_documents(text).into_iter().filter(|d| !d.is_blank()).collect();
    if docs.is_empty() {
        report.ok = false;
        report.output = "error: no objects passed to apply\n".into();
        report.markers.push(Marker { line: 0, column: None, message: "Nothing to apply: write a manifest or pick a template".into(), severity: Severity::Error });
        return report;
    }
    for doc in docs {
        let head = doc.text.lines().position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
        let head_line = doc.first_line + head.unwrap_or(0);
        if let Some((line, column, message)) = yaml::syntax_error(&doc.text) {
            report.ok = false;
            report.output.push_str(&format!("error: line {}: {message}\n", doc.first_line + line + 1));
            report.markers.push(Marker { line: doc.first_line + line, column, message, severity: Severity::Error });
            continue;
        }
        let out = kubectl::run(cluster, &format!("{verb} -f -"), Some(&doc.text), &NoFiles);
        report.output.push_str(&out.combined());
        if out.exit_code == 0 {
            let summary = out.stdout.lines().next().unwrap_or("").to_string();
            report.markers.push(Marker { line: head_line, column: None, message: summary, severity: Severity::Ok });
            continue;
        }
        report.ok = false;
        let stderr = out.stderr.trim_end().to_string();
        let causes = yaml::invalid_causes(&stderr);
        if !causes.is_empty() {
            for (path, message) in causes {
                let line = yaml::locate_field(&doc.text, &path).map(|l| doc.first_line + l).unwrap_or(head_line);
                report.markers.push(Marker { line, column: None, message: format!("{path}: {message}"), severity: Severity::Error });
            }
        } else if let Some((line, column)) = yaml::line_in_message(&stderr) {
            let line = doc.first_line + line.saturating_sub(1);
            report.markers.push(Marker { line, column: column.map(|c| c.saturating_sub(1)), message: stderr, severity: Severity::Error });
        } else {
            report.markers.push(Marker { line: head_line, column: None, message: stderr, severity: Severity::Error });
        }
    }
    report
}

/// Rebuilds a scene a few steps at a time, so the page stays responsive.
pub struct Replay {
    scene: Scene,
    next: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReplayProgress {
    /// Fraction of the scene's virtual time rebuilt.
    Working(f64),
    Done,
}

impl Replay {
    pub fn new(scene: Scene) -> Self {
        Replay { scene, next: 0 }
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    /// Runs at most about `max_runs` component runs toward the scene's end.
    pub fn step(&mut self, cluster: &mut Cluster, max_runs: usize) -> ReplayProgress {
        loop {
            let (target, runs) = self.scene.actions.get(self.next).map_or((self.scene.until_ms, None), |a| (a.t, a.r));
            let target = VirtualTime::from_millis(target);
            if !cluster.sim.run_to_position(target, runs, max_runs) {
                let done = cluster.now().as_millis() as f64 / self.scene.until_ms.max(1) as f64;
                return ReplayProgress::Working(done.min(1.0));
            }
            match self.scene.actions.get(self.next) {
                Some(timed) => {
                    let action = timed.action.clone();
                    perform(cluster, &action);
                    self.next += 1;
                }
                None => return ReplayProgress::Done,
            }
        }
    }

    /// Replays the whole scene at once (scripts and tests).
    pub fn run_to_end(mut self, cluster: &mut Cluster) {
        while self.step(cluster, usize::MAX) != ReplayProgress::Done {}
    }
}

/// The most worker nodes and pods a bench cluster (`?bench=`) may ask for.
pub const MAX_BENCH_NODES: usize = 5_000;
pub const MAX_BENCH_PODS: usize = 150_000;

/// A big cluster for measuring the page: `workers` nodes and `pods` pods
/// spread over them, created through the API server already bound (as a
/// DaemonSet's would be), so the measure does not wait for the scheduler.
pub fn bench_cluster(workers: usize, pods: usize, seed: u64) -> Cluster {
    let mut build = BenchBuild::new(workers, pods);
    let mut cluster = build.boot(seed);
    while !build.step(&mut cluster, usize::MAX) {}
    cluster.sim.settle();
    cluster
}

/// A bench cluster built a few pods at a time, so the page stays drawn
/// while tens of thousands are created.
#[derive(Clone, Debug)]
pub struct BenchBuild {
    workers: usize,
    pods: usize,
    next: usize,
}

impl BenchBuild {
    pub fn new(workers: usize, pods: usize) -> Self {
        BenchBuild { workers: workers.clamp(1, MAX_BENCH_NODES), pods: pods.min(MAX_BENCH_PODS), next: 0 }
    }

    /// The booted cluster, before any pod.
    pub fn boot(&self, seed: u64) -> Cluster {
        Cluster::new(Profile::scaled(self.workers), seed)
    }

    pub fn created(&self) -> usize {
        self.next
    }

    pub fn total(&self) -> usize {
        self.pods
    }

    /// Creates up to `max` more pods; true once all exist (the cluster reacts
    /// as it runs).
    pub fn step(&mut self, cluster: &mut Cluster, max: usize) -> bool {
        let end = self.pods.min(self.next.saturating_add(max));
        for i in self.next..end {
            let node = format!("worker-{}", i % self.workers + 1);
            let pod = serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("load-{i:05}"), "namespace": "default", "labels": {"app": "load"}},
                "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx:1.27",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]},
            });
            if let Ok(obj) = Object::from_json(ids::pods(), pod) {
                let _ = cluster.sim.api.create(obj);
            }
        }
        self.next = end;
        self.next >= self.pods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(cluster: &Cluster) -> String {
        // Every stored object, in key order, with its revision: equal
        // transcripts mean byte-identical clusters.
        let mut out = String::new();
        for (key, entry) in cluster.sim.api.store().range("/") {
            out.push_str(&format!("{key} {} {}\n", entry.mod_revision, serde_json::to_string(&entry.value.object().to_json()).unwrap_or_default()));
        }
        for line in cluster.sim.activity.lines() {
            out.push_str(&format!("{} {} {}\n", line.time, line.component, line.message));
        }
        out
    }

    fn sample_scene() -> (Scene, Cluster) {
        let mut scene = Scene::new(7);
        let mut cluster = scene.boot();
        let act = |scene: &mut Scene, cluster: &mut Cluster, action: Action| {
            scene.record(cluster.sim.position(), action.clone()).unwrap();
            perform(cluster, &action);
        };
        act(&mut scene, &mut cluster, Action::Stop { component: "scheduler".into() });
        cluster.sim.run_for_ms(1500);
        act(&mut scene, &mut cluster, Action::Apply { text: crate::view::templates::DEPLOYMENT.into() });
        cluster.sim.run_for_ms(20_000);
        act(&mut scene, &mut cluster, Action::Start { component: "scheduler".into() });
        act(&mut scene, &mut cluster, Action::Kubectl { line: "kubectl scale deployment web --replicas=2".into(), stdin: None });
        cluster.sim.run_for_ms(30_000);
        scene.until_ms = cluster.now().as_millis();
        (scene, cluster)
    }

    #[test]
    fn files_written_on_the_learners_machine_are_replayed() {
        let mut scene = Scene::new(7);
        let mut cluster = scene.boot();
        let text = "kubectl create deployment web --image=nginx --dry-run=client -o yaml > web.yaml\ncat <<EOF > cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\nEOF\nmkdir out && cp cm.yaml out/\nkubectl apply -f web.yaml\nkubectl get pods > pods.txt\nexport APP=web\ncd out\ncd ..\n";
        for command in script::parse(text).expect("parses") {
            let (printed, ok) = run_script_step(&mut scene, &mut cluster, &command.text, &command.step);
            assert!(ok, "{}: {printed}", command.text);
        }
        // A read whose output is written to a file is kept in the scene.
        assert!(!is_read_only("kubectl get pods > pods.txt"));
        let decoded = Scene::from_fragment(&format!("#{}", scene.to_fragment())).expect("decodes");
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        assert_eq!(rebuilt.learner, cluster.learner);
        // The terminal's shell too: its variables and directory.
        assert_eq!(rebuilt.learner_shell, cluster.learner_shell);
        assert_eq!(run_host(&mut rebuilt, "echo $APP $PWD").stdout, "web /root\n");
        assert_eq!(transcript(&rebuilt), transcript(&cluster));
        let listed = run_host(&mut rebuilt, "ls -R");
        assert_eq!(listed.stdout, ".:\ncm.yaml\nout\npods.txt\nweb.yaml\n\n./out:\ncm.yaml\n");
        // The page's kubectl reads them too.
        let applied = perform(&mut rebuilt, &Action::Kubectl { line: "apply -f out/cm.yaml".into(), stdin: None });
        assert!(matches!(&applied, Outcome::Kubectl(o) if o.stdout == "configmap/notes created\n"), "{applied:?}");
    }

    #[test]
    fn a_function_defined_at_the_prompt_is_called_and_replayed() {
        let mut scene = Scene::new(7);
        let mut cluster = scene.boot();
        let text = "greet() { echo \"hello $1\"; }\ngreet you\nfunction bye { echo bye; }\nbye\n";
        let printed: Vec<String> = script::parse(text).expect("parses").iter().map(|c| run_script_step(&mut scene, &mut cluster, &c.text, &c.step).0).collect();
        assert_eq!(printed, ["", "hello you\n", "", "bye\n"]);
        let decoded = Scene::from_fragment(&format!("#{}", scene.to_fragment())).expect("decodes");
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        assert_eq!(run_host(&mut rebuilt, "greet again").stdout, "hello again\n");
        // A name no line defined is still not the shell's.
        assert_ne!(run_host(&mut rebuilt, "hello there").exit_code, 0);
    }

    #[test]
    fn bad_host_lines_in_a_link_do_not_panic() {
        let mut scene = Scene::new(3);
        for line in ["cat <<", "cat <<EOF", "cat <<'' > x", "> /", "rm -rf / ; ls /", "mkdir -p a/b/c && cp -r a a/b", "echo x > /dev/fd/0", "kubectl cp web:/x .", "kubectl cp ./nope web:/x", "x=$(printf 'a%.0s' $(seq 1 100000)); while true; do echo $x >> big; done", "cat <<EOF | \nEOF"] {
            scene.actions.push(Timed { t: BOOT_MS, r: None, action: Action::Host { line: line.to_string() } });
        }
        let mut cluster = scene.boot();
        Replay::new(scene).run_to_end(&mut cluster);
        assert!(cluster.learner.upper_used_kb() <= crate::engine::learner_home::MAX_HOME_KB);
    }

    #[test]
    fn a_link_rebuilds_the_same_cluster() {
        let (scene, cluster) = sample_scene();
        let fragment = scene.to_fragment();
        let decoded = Scene::from_fragment(&format!("#{fragment}")).expect("decodes");
        assert_eq!(decoded, scene);
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        assert_eq!(rebuilt.now(), cluster.now());
        assert_eq!(transcript(&rebuilt), transcript(&cluster));
        // The scene did what it says: two web pods, scheduled and running.
        let view = crate::view::topology::build(&rebuilt);
        let web: Vec<&crate::view::topology::PodView> = view.nodes.iter().flat_map(|n| n.pods.iter()).filter(|p| p.name.starts_with("web-")).collect();
        assert_eq!(web.len(), 2, "{view:?}");
        assert!(web.iter().all(|p| p.status == "Running" && p.owner.starts_with("Deployment/web › ReplicaSet/web-")), "{web:?}");
        assert!(view.unscheduled.is_empty());
    }

    #[test]
    fn lines_typed_at_a_container_shell_are_replayed() {
        let mut scene = Scene::new(3);
        let mut cluster = scene.boot();
        let act = |scene: &mut Scene, cluster: &mut Cluster, action: Action| {
            scene.record(cluster.sim.position(), action.clone()).unwrap();
            perform(cluster, &action)
        };
        act(&mut scene, &mut cluster, Action::Kubectl { line: "kubectl run shell --image=busybox:1.37 -- sleep 3600".into(), stdin: None });
        cluster.sim.run_for_ms(10_000);
        let Outcome::Kubectl(out) = act(&mut scene, &mut cluster, Action::Kubectl { line: "kubectl exec -it shell -- sh".into(), stdin: None }) else { panic!("kubectl") };
        let Some(kubectl::interactive::Interactive::Shell(mut session)) = out.interactive else { panic!("a shell: {out:?}") };
        assert_eq!(session.prompt(), "/ # ");
        for line in ["cd /tmp", "echo typed > note", "exit"] {
            let Outcome::Shell(step, after) = act(&mut scene, &mut cluster, Action::ShellLine { session: session.clone(), line: line.into() }) else { panic!("shell") };
            assert_eq!(step.ended, line == "exit");
            session = after;
        }
        cluster.sim.run_for_ms(1_000);
        scene.until_ms = cluster.now().as_millis();
        let decoded = Scene::from_fragment(&scene.to_fragment()).expect("decodes");
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        let read = kubectl::run(&mut rebuilt, "kubectl exec shell -- cat /tmp/note", None, &NoFiles);
        assert_eq!(read.stdout, "typed\n", "{read:?}");
        assert_eq!(transcript(&rebuilt), transcript(&cluster));
    }

    #[test]
    fn bounded_replay_matches_a_whole_one() {
        let (scene, cluster) = sample_scene();
        let mut rebuilt = scene.boot();
        let mut replay = Replay::new(scene);
        let mut steps = 0;
        while replay.step(&mut rebuilt, 3) != ReplayProgress::Done {
            steps += 1;
            assert!(steps < 1_000_000);
        }
        assert_eq!(transcript(&rebuilt), transcript(&cluster));
    }

    #[test]
    fn actions_taken_inside_a_busy_instant_replay_exactly() {
        let mut scene = Scene::new(5);
        let mut live = scene.boot();
        let act = |scene: &mut Scene, cluster: &mut Cluster, action: Action| {
            let at = cluster.sim.position();
            scene.record(at, action.clone()).unwrap();
            perform(cluster, &action);
            at
        };
        act(&mut scene, &mut live, Action::Apply { text: crate::view::templates::DEPLOYMENT.into() });
        // The page's frames with one component run per call; act whenever a
        // call stops inside a busy instant, until three such actions are taken.
        let actions = [
            Action::Kubectl { line: "kubectl scale deployment web --replicas=6".into(), stdin: None },
            Action::Stop { component: "kubelet/worker-2".into() },
            Action::Kubectl { line: "kubectl delete pod -l app=web --wait=false".into(), stdin: None },
        ];
        let mut inside = Vec::new();
        let end = live.now().plus_secs(120);
        while live.now() < end {
            let target = live.now().plus_millis(160);
            if !live.sim.run_until_bounded(target, 1) && inside.len() < actions.len() {
                let p = live.sim.position();
                if !p.quiet && p.runs > 0 {
                    inside.push(act(&mut scene, &mut live, actions[inside.len()].clone()));
                }
            }
        }
        assert_eq!(inside.len(), actions.len(), "every action landed inside an instant");
        // A replay ends with its last instant settled; so does the live one here.
        live.sim.settle();
        scene.until_ms = live.now().as_millis();
        let decoded = Scene::from_fragment(&scene.to_fragment()).expect("decodes");
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        let (want, got) = (transcript(&live), transcript(&rebuilt));
        let first_difference = want.lines().zip(got.lines()).find(|(a, b)| a != b);
        assert_eq!(first_difference, None);
        assert_eq!(want, got);
        assert_eq!(rebuilt.sim.trace(), live.sim.trace());
    }

    #[test]
    fn bad_links_become_messages() {
        assert_eq!(Scene::from_fragment("#nothing"), Err(SceneError::NotAScene));
        assert!(matches!(Scene::from_fragment("#scene=%%%"), Err(SceneError::Mangled(_))));
        assert!(matches!(Scene::from_fragment("#scene=AAAA"), Err(SceneError::Mangled(_))));
        let long = format!("scene={}", "A".repeat(MAX_LINK_CHARS));
        assert!(matches!(Scene::from_fragment(&long), Err(SceneError::TooLong(_))));
        // Valid deflate of something that is not a scene.
        let junk = miniz_oxide::deflate::compress_to_vec(b"{\"hello\":1}", 6);
        let frag = format!("scene={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(junk));
        assert!(matches!(Scene::from_fragment(&frag), Err(SceneError::Mangled(_))));
        // A zip bomb stays a message.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; MAX_SCENE_BYTES + 10], 9);
        let frag = format!("scene={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bomb));
        assert_eq!(Scene::from_fragment(&frag), Err(SceneError::TooBig));
        // Out of order, too long in time, wrong version.
        let mut s = Scene::new(1);
        s.actions.push(Timed { t: 90_000, r: None, action: Action::Kubectl { line: "get pods".into(), stdin: None } });
        s.actions.push(Timed { t: 80_000, r: None, action: Action::Kubectl { line: "get pods".into(), stdin: None } });
        s.until_ms = 100_000;
        assert!(matches!(Scene::from_fragment(&s.to_fragment()), Err(SceneError::Mangled(_))));
        let mut s = Scene::new(1);
        s.until_ms = MAX_SCENE_MS + 1;
        assert!(matches!(Scene::from_fragment(&s.to_fragment()), Err(SceneError::TooLongInTime(_))));
        let mut s = Scene::new(1);
        s.v = 99;
        assert_eq!(Scene::from_fragment(&s.to_fragment()), Err(SceneError::Version(99)));
        for e in [SceneError::NotAScene, SceneError::TooBig, SceneError::TooLongInTime(1)] {
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn a_scene_too_big_for_a_link_is_refused_with_its_size() {
        let mut scene = Scene::new(1);
        assert!(scene.share_fragment(40).is_ok());
        // Text that does not compress: every action a different random line.
        let mut rng = fastrand::Rng::with_seed(5);
        for i in 0..400 {
            let line: String = (0..400).map(|_| rng.alphanumeric()).collect();
            scene.actions.push(Timed { t: 60_000 + i, r: None, action: Action::Kubectl { line, stdin: None } });
        }
        scene.until_ms = 70_000;
        match scene.share_fragment(40) {
            Err(SceneError::TooBigToShare(n)) => {
                assert!(n > MAX_LINK_CHARS);
                let message = SceneError::TooBigToShare(n).to_string();
                assert!(message.contains("too big to share") && message.contains(&n.to_string()), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn editor_marks_yaml_errors_without_touching_the_cluster() {
        let mut cluster = Scene::new(1).boot();
        let before = cluster.sim.api.store().revision();
        let report = apply_text(&mut cluster, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n", false);
        assert!(!report.ok);
        assert_eq!(report.markers.len(), 1);
        assert!(report.markers[0].line >= 3, "{:?}", report.markers);
        assert_eq!(cluster.sim.api.store().revision(), before);
        let empty = apply_text(&mut cluster, "# nothing\n", false);
        assert!(!empty.ok);
    }

    #[test]
    fn reads_are_not_recorded() {
        assert!(is_read_only("kubectl get pods -A"));
        assert!(is_read_only("describe pod x"));
        assert!(!is_read_only("kubectl scale deploy web --replicas=3"));
        assert!(!is_read_only("delete pod x"));
        assert!(!is_read_only("wait --for=condition=Ready pod/x"));
    }

    #[test]
    fn bench_cluster_spreads_pods_over_nodes() {
        let cluster = bench_cluster(10, 50, 1);
        let view = crate::view::topology::build(&cluster);
        let load = |pods: &[crate::view::topology::PodView]| pods.iter().filter(|p| p.name.starts_with("load-")).count();
        assert_eq!(view.nodes.len(), 11);
        assert_eq!(view.nodes.iter().map(|n| load(&n.pods)).sum::<usize>(), 50);
        assert_eq!(load(&view.nodes[1].pods), 5);
    }
}

#[cfg(test)]
mod lesson_tests {
    use super::*;

    #[test]
    fn a_lesson_link_rebuilds_the_cluster_and_the_learners_place() {
        let lesson = lesson::builtin("pod-life-cycle").expect("built in").expect("parses");
        let (mut scene, mut cluster) = start_lesson(&lesson, None);
        assert_eq!(scene.profile.as_deref(), Some("minikube"));
        // The learner does the first step and the progress moves on.
        let step = &lesson.steps[0].solution;
        let mut following = scene.lesson.clone().expect("following");
        for c in step {
            let (out, ok) = run_script_step(&mut scene, &mut cluster, &c.text, &c.step);
            following.progress.record(&c.text, &out, ok);
        }
        let now = cluster.now().as_millis();
        let (_, passed) = following.progress.tick(&lesson, &mut cluster, now, scene.actions.len());
        assert_eq!(passed, Some(0));
        scene.lesson = Some(following.clone());
        scene.until_ms = now;
        let decoded = Scene::from_fragment(&scene.to_fragment()).expect("decodes");
        assert_eq!(decoded.lesson.as_ref().map(|f| f.progress.step), Some(1));
        let mut rebuilt = decoded.boot();
        Replay::new(decoded).run_to_end(&mut rebuilt);
        assert_eq!(rebuilt.now(), cluster.now());
        assert_eq!(rebuilt.sim.is_running("kubelet/minikube"), Some(false));
        assert_eq!(rebuilt.sim.api.store().revision(), cluster.sim.api.store().revision());
    }

    #[test]
    fn a_custom_lesson_travels_in_the_link() {
        let text = "---\ntitle: Mine\nsummary: S\n---\n```setup\nkubectl create deployment web --image=nginx && kubectl scale deployment web --replicas=2\nsleep 5s\n```\n## Stop it\n```solution\nstop scheduler\n```\n```check\ncomponent scheduler stopped\n```\n";
        let lesson = lesson::parse(text, None).expect("parses");
        let (scene, cluster) = start_lesson(&lesson, Some(text.into()));
        assert_eq!(scene.actions.len(), 2, "a && chain is two actions: {:?}", scene.actions);
        assert_eq!(cluster.now().as_millis(), BOOT_MS + 5_000);
        let decoded = Scene::from_fragment(&scene.to_fragment()).expect("decodes");
        assert_eq!(decoded.lesson().map(|l| l.title), Some("Mine".to_string()));
    }

    #[test]
    fn a_link_whose_lesson_does_not_fit_is_refused_with_a_message() {
        let lesson = lesson::builtin("replicaset-heals").expect("built in").expect("parses");
        let (scene, _) = start_lesson(&lesson, None);
        let mut unknown = scene.clone();
        unknown.lesson.as_mut().expect("following").id = "no-such-lesson".into();
        assert!(matches!(Scene::from_fragment(&unknown.to_fragment()), Err(SceneError::Lesson(m)) if m.contains("no-such-lesson")));
        let mut ahead = scene.clone();
        ahead.lesson.as_mut().expect("following").progress.step = 99;
        assert!(matches!(Scene::from_fragment(&ahead.to_fragment()), Err(SceneError::Lesson(_))));
        let mut other_seed = scene.clone();
        other_seed.seed = 2;
        assert!(matches!(Scene::from_fragment(&other_seed.to_fragment()), Err(SceneError::Lesson(_))));
        let mut broken = scene.clone();
        broken.lesson.as_mut().expect("following").text = Some("---\ntitle: x\n".into());
        assert!(matches!(Scene::from_fragment(&broken.to_fragment()), Err(SceneError::Lesson(m)) if m.contains("line")));
        let mut bad_profile = scene;
        bad_profile.profile = Some("kind".into());
        assert!(Scene::from_fragment(&bad_profile.to_fragment()).is_err());
    }
}

#[cfg(test)]
mod editor_tests {
    use super::*;

    #[test]
    fn api_validation_errors_are_marked_at_their_field() {
        let mut cluster = Scene::new(1).boot();
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: 1\n  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - name: c\n        image: nginx\n";
        let report = apply_text(&mut cluster, text, false);
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.markers[0].severity, Severity::Ok, "{report:?}");
        assert_eq!(report.markers[0].line, 0);
        let error = report.markers.iter().find(|m| m.severity == Severity::Error).expect("an error marker");
        assert!(error.message.contains("spec.selector"), "{report:?}");
        // `spec.selector` is missing: the marker sits at `spec:` (line 10 of the text, from 1).
        assert_eq!(error.line, 9, "{report:?}");
    }
}
