//! The browser app (wasm only): the engine runs in the page and these Yew
//! components lay out the view models of `crate::view`. All user actions go
//! through `crate::scene::perform`, recorded for links and autosave.
//!
//! One component per file: `topology`, `node_map`, `details`, `explain`, `editor`,
//! `event_log`, `terminal`, `clock`, `share`, `traffic`. `App` owns the cluster and the frame loop.

mod browser;
mod clock;
mod details;
mod editor;
mod event_log;
mod explain;
mod node_map;
mod share;
mod terminal;
mod topology;
mod traffic;

use std::cell::RefCell;
use std::rc::Rc;

use gloo::render::{request_animation_frame, AnimationFrame};
use yew::prelude::*;

use crate::engine::cluster::Cluster;
use crate::engine::sim::clock::VirtualTime;
use crate::scene::{self, Action, EditorReport, Outcome, Replay, ReplayProgress, Scene};
use crate::view::log::{Filter, LogModel, Row};
use crate::view::topology::{self as topology_view, SearchResults, TopologyModel, TopologyView};

pub use details::Selection;
use terminal::TermEntry;

/// Component runs per animation frame for a single Step.
const MAX_RUNS_PER_FRAME: usize = 400;
/// While playing, the engine runs in slices of this many component runs
/// (a slice may end inside a busy instant and the next resumes there) until
/// the frame's target time or its budget of wall milliseconds.
const RUNS_PER_SLICE: usize = 4;
const ENGINE_BUDGET_MS: f64 = 6.0;
/// The event log is redrawn at most this often while time runs.
const LOG_INTERVAL_MS: f64 = 250.0;
/// The details drawer re-asks kubectl at most this often.
const DETAILS_INTERVAL_MS: f64 = 1_000.0;
/// How much wall time the clock's achieved speed is averaged over, and the
/// share of the asked speed below which the clock says it cannot keep up.
const PACE_WINDOW_MS: f64 = 1_000.0;
const PACE_BEHIND: f64 = 0.9;
/// Pods of a bench cluster created per frame while it is built.
const BENCH_BUILD_BUDGET_MS: f64 = 12.0;
/// Search results listed.
const SEARCH_LIMIT: usize = 50;
/// Wall milliseconds a frame may spend rebuilding a scene.
const REPLAY_BUDGET_MS: f64 = 10.0;
/// Wall milliseconds of one frame counted at most (a background tab resumes
/// without a jump of hours).
const MAX_FRAME_GAP_MS: f64 = 100.0;
/// How often the scene is autosaved while time runs.
const AUTOSAVE_INTERVAL_MS: f64 = 2_000.0;
const TERMINAL_KEEP: usize = 200;
pub const SPEEDS: &[u32] = &[1, 2, 5, 10, 60];

/// Mounts the app on the page's body.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// The cluster shared with components that read it on demand (completion).
#[derive(Clone)]
pub struct ClusterHandle(pub Rc<RefCell<Cluster>>);

impl PartialEq for ClusterHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

pub enum Msg {
    Frame(f64),
    TogglePlay,
    SetSpeed(u32),
    Step,
    Switch { component: String, run: bool },
    Apply(String),
    Delete(String),
    RunLine(String),
    /// Ctrl-C in the terminal.
    Interrupt,
    Select(Selection),
    CloseDetails,
    Explain(Selection),
    CloseExplain,
    EditSelected,
    Share,
    Reset,
    ToggleTheme,
    SetFilter(Filter),
    ToggleLogPause,
    DismissBanner,
    GlobalKey(KeyboardEvent),
    Search(String),
}

/// Measuring frames with `?bench`: a big cluster at 10×.
struct Bench {
    frame_ms: Vec<f64>,
    engine_ms: Vec<f64>,
    views_ms: Vec<f64>,
    warmup_frames: usize,
    wanted_frames: usize,
    reported: bool,
    label: String,
    /// Pods still to create, a frame's budget at a time, before measuring.
    build: Option<scene::BenchBuild>,
    /// Wall milliseconds from navigation start until the cluster was built.
    built_at_ms: f64,
}

/// How fast virtual time actually ran over the last second of wall time.
#[derive(Default)]
struct Pace {
    window: std::collections::VecDeque<(f64, f64, f64)>,
}

impl Pace {
    /// Records a frame: wall milliseconds, virtual milliseconds asked and got.
    fn record(&mut self, wall_ms: f64, asked_ms: f64, got_ms: f64) {
        self.window.push_back((wall_ms, asked_ms, got_ms));
        let mut total: f64 = self.window.iter().map(|w| w.0).sum();
        while self.window.len() > 1 && total - self.window.front().map_or(0.0, |w| w.0) > PACE_WINDOW_MS {
            total -= self.window.pop_front().map_or(0.0, |w| w.0);
        }
    }
    fn clear(&mut self) {
        self.window.clear();
    }
    /// The speed achieved, when it is clearly below the speed asked.
    fn behind(&self) -> Option<f64> {
        let (wall, asked, got) = self.window.iter().fold((0.0, 0.0, 0.0), |a, w| (a.0 + w.0, a.1 + w.1, a.2 + w.2));
        (wall >= PACE_WINDOW_MS * 0.5 && asked > 0.0 && got < asked * PACE_BEHIND).then(|| got / wall)
    }
}

pub struct App {
    cluster: ClusterHandle,
    scene: Scene,
    replay: Option<Replay>,
    replay_progress: f64,
    playing: bool,
    speed: u32,
    last_frame_ts: Option<f64>,
    frame: Option<AnimationFrame>,
    frame_started: Option<f64>,
    topology: Rc<TopologyView>,
    /// The topology and the log, kept current from the store's change log.
    topology_model: TopologyModel,
    log_model: LogModel,
    log_rows: Rc<Vec<Row>>,
    log_hidden: usize,
    filter: Filter,
    log_paused: bool,
    /// What the log was last drawn from (activity lines, store revision).
    seen_log: (u64, i64),
    log_built_at: f64,
    details_built_at: f64,
    seen_revision: i64,
    search: Rc<SearchResults>,
    pace: Pace,
    traffic: Rc<crate::view::traffic::TrafficView>,
    seen_traffic: (u64, bool, u64),
    dirty: bool,
    selected: Option<Selection>,
    details: Option<Rc<details::DetailsView>>,
    /// The pod whose scheduling explanation is open, and the explanation.
    explaining: Option<Selection>,
    explanation: Option<Rc<Result<crate::engine::scheduler::explain::Explanation, String>>>,
    editor_load: (u64, Rc<String>),
    editor_report: (u64, Rc<EditorReport>),
    terminal: Rc<Vec<TermEntry>>,
    /// A command keeping the terminal (a container shell, followed output).
    interactive: Option<crate::engine::kubectl::interactive::Interactive>,
    banner: Option<String>,
    share_link: String,
    dark: bool,
    bench: Option<Bench>,
    autosaved_at: f64,
    autosave: bool,
    /// Wall milliseconds the engine took in this frame (for `?bench`).
    engine_ms: f64,
    /// Wall milliseconds building view data in this frame (for `?bench`).
    views_ms: f64,
}

impl App {
    fn now(&self) -> VirtualTime {
        self.cluster.0.borrow().now()
    }

    /// Records and performs a user action; refused while a scene is rebuilt.
    fn act(&mut self, action: Action) -> Option<Outcome> {
        if self.replay.is_some() {
            self.banner = Some("The scene is still being rebuilt; try again in a moment.".into());
            return None;
        }
        let at = self.cluster.0.borrow_mut().sim.position();
        if let Err(e) = self.scene.record(at, action.clone()) {
            self.banner = Some(format!("This step is not kept in the scene's link: {e}."));
        }
        let outcome = scene::perform(&mut self.cluster.0.borrow_mut(), &action);
        self.dirty = true;
        self.save();
        Some(outcome)
    }

    fn save(&mut self) {
        if !self.autosave || self.replay.is_some() {
            return;
        }
        self.scene.until_ms = self.scene.until_ms.max(self.now().as_millis());
        browser::store_scene(&self.scene.to_fragment());
        self.autosaved_at = browser::now_ms();
    }

    /// Brings the view data up to date with what changed since the last
    /// update; `force` redraws the log and the drawer now (after a user action).
    fn rebuild_views(&mut self) {
        self.update_views(true);
    }

    fn update_views(&mut self, force: bool) {
        let started = browser::now_ms();
        let cluster = self.cluster.0.borrow();
        self.topology_model.update(&cluster);
        let topology = self.topology_model.view();
        if !Rc::ptr_eq(&topology, &self.topology) {
            self.topology = topology;
        }
        let log_print = (cluster.sim.activity.total(), cluster.sim.api.store().revision());
        if !self.log_paused && log_print != self.seen_log && (force || started - self.log_built_at >= LOG_INTERVAL_MS) {
            self.log_model.update(&cluster);
            let (rows, hidden) = self.log_model.rows(&cluster, &self.filter);
            if *self.log_rows != rows {
                self.log_rows = Rc::new(rows);
            }
            self.log_hidden = hidden;
            self.seen_log = log_print;
            self.log_built_at = started;
        }
        self.seen_traffic = crate::view::traffic::fingerprint(&cluster);
        let suggestions = crate::view::traffic::suggestions(&cluster);
        let traffic = crate::view::traffic::build(&cluster.sim.world.net.traffic, cluster.sim.now(), suggestions);
        if *self.traffic != traffic {
            self.traffic = Rc::new(traffic);
        }
        drop(cluster);
        if force || started - self.details_built_at >= DETAILS_INTERVAL_MS {
            self.refresh_details();
            self.refresh_explanation();
        }
        self.views_ms = browser::now_ms() - started;
        self.dirty = false;
    }

    fn refresh_explanation(&mut self) {
        let Some(sel) = self.explaining.clone() else { return };
        self.details_built_at = browser::now_ms();
        let cluster = self.cluster.0.borrow();
        let view = crate::engine::script::explanation(&cluster, sel.namespace.as_deref().unwrap_or("default"), &sel.name);
        if self.explanation.as_deref() != Some(&view) {
            self.explanation = Some(Rc::new(view));
        }
    }

    fn refresh_details(&mut self) {
        if let Some(sel) = &self.selected {
            self.details_built_at = browser::now_ms();
            let view = details::DetailsView::build(&mut self.cluster.0.borrow_mut(), sel, &self.filter);
            if self.details.as_deref() != Some(&view) {
                self.details = Some(Rc::new(view));
            }
        }
    }

    /// Whether anything was written since the views were built.
    fn changed(&mut self) -> bool {
        let cluster = self.cluster.0.borrow();
        let seen = cluster.sim.api.store().revision() + cluster.sim.activity.total() as i64;
        let traffic_moved = crate::view::traffic::fingerprint(&cluster) != self.seen_traffic;
        drop(cluster);
        std::mem::replace(&mut self.seen_revision, seen) != seen || traffic_moved
    }

    fn schedule_frame(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.frame = Some(request_animation_frame(move |ts| link.send_message(Msg::Frame(ts))));
    }

    fn on_frame(&mut self, ctx: &Context<Self>, ts: f64) -> bool {
        self.schedule_frame(ctx);
        self.frame_started = Some(browser::now_ms());
        let wall_gap = self.last_frame_ts.map_or(0.0, |last| (ts - last).clamp(0.0, PACE_WINDOW_MS));
        let gap = wall_gap.min(MAX_FRAME_GAP_MS);
        self.last_frame_ts = Some(ts);
        let mut redraw = false;
        if self.build_bench() {
            return true;
        }
        if let Some(replay) = &mut self.replay {
            let started = browser::now_ms();
            let mut cluster = self.cluster.0.borrow_mut();
            loop {
                match replay.step(&mut cluster, 200) {
                    ReplayProgress::Done => {
                        self.replay_progress = 1.0;
                        break;
                    }
                    ReplayProgress::Working(f) => self.replay_progress = f,
                }
                if browser::now_ms() - started > REPLAY_BUDGET_MS {
                    break;
                }
            }
            drop(cluster);
            if self.replay_progress >= 1.0 {
                let (playing, speed) = self.scene.last_clock().unwrap_or((true, 1));
                self.playing = playing;
                self.speed = speed;
                self.replay = None;
                self.dirty = true;
            }
            redraw = true;
        } else if self.playing && gap > 0.0 {
            let started = browser::now_ms();
            let mut cluster = self.cluster.0.borrow_mut();
            let before = cluster.now();
            let asked = (gap * self.speed as f64) as u64;
            let target = before.plus_millis(asked);
            // Small slices until the target or the frame's budget: a busy
            // cluster makes virtual time lag rather than the page stutter.
            while !cluster.sim.run_until_bounded(target, RUNS_PER_SLICE) {
                if browser::now_ms() - started > ENGINE_BUDGET_MS {
                    break;
                }
            }
            let got = cluster.now().millis_since(before);
            drop(cluster);
            // Asked: the speed times the wall time that passed.
            self.pace.record(wall_gap, wall_gap * self.speed as f64, got as f64);
            self.engine_ms = browser::now_ms() - started;
            redraw = true; // the clock moved
        }
        if self.follow_output() {
            redraw = true;
        }
        if self.changed() {
            self.dirty = true;
        }
        if self.dirty {
            self.update_views(false);
            redraw = true;
        }
        if self.playing && browser::now_ms() - self.autosaved_at > AUTOSAVE_INTERVAL_MS {
            self.save();
        }
        if !redraw {
            self.end_frame();
        }
        redraw
    }

    /// Creates a frame's share of a bench cluster's pods; true while building.
    fn build_bench(&mut self) -> bool {
        let Some(bench) = &mut self.bench else { return false };
        let Some(build) = &mut bench.build else { return false };
        let started = browser::now_ms();
        let mut cluster = self.cluster.0.borrow_mut();
        while !build.step(&mut cluster, 100) {
            if browser::now_ms() - started > BENCH_BUILD_BUDGET_MS {
                let progress = format!("Building the bench cluster: {} of {} pods created…", build.created(), build.total());
                drop(cluster);
                self.banner = Some(progress);
                return true;
            }
        }
        drop(cluster);
        bench.build = None;
        bench.built_at_ms = browser::now_ms();
        self.banner = None;
        self.topology_model = TopologyModel::build(&self.cluster.0.borrow());
        self.log_model = LogModel::build(&self.cluster.0.borrow());
        self.rebuild_views();
        true
    }

    /// Counts a frame's cost (engine work and drawing) for `?bench`.
    fn end_frame(&mut self) {
        let Some(started) = self.frame_started.take() else { return };
        let (virtual_s, pods) = (self.now().as_secs(), self.topology.pod_count);
        let Some(bench) = &mut self.bench else { return };
        if self.replay.is_some() || bench.reported {
            return;
        }
        if bench.warmup_frames > 0 {
            bench.warmup_frames -= 1;
            return;
        }
        if bench.build.is_some() {
            return;
        }
        let total = browser::now_ms() - started;
        bench.frame_ms.push(total);
        let engine = std::mem::take(&mut self.engine_ms);
        let views = std::mem::take(&mut self.views_ms);
        bench.engine_ms.push(engine);
        bench.views_ms.push(views);
        if bench.frame_ms.len() % 30 == 0 || total > 100.0 {
            // Progress for whoever waits on the report: frames so far and the last frame's parts.
            browser::report_bench_progress(&format!(
                "frames={} last: total={total:.1}ms engine={engine:.1}ms views={views:.1}ms render={:.1}ms",
                bench.frame_ms.len(),
                total - engine - views
            ));
        }
        if bench.frame_ms.len() >= bench.wanted_frames {
            bench.reported = true;
            let quantile = |values: &[f64], q: f64| {
                let mut sorted = values.to_vec();
                sorted.sort_by(|a, b| a.total_cmp(b));
                sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
            };
            let frames = &bench.frame_ms;
            let report = format!(
                "{{\"cluster\":\"{}\",\"pods\":{},\"frames\":{},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"max_ms\":{:.2},\"engine_p95_ms\":{:.2},\"views_p95_ms\":{:.2},\"virtual_s\":{},\"speed\":{},\"achieved_speed\":{:.2},\"built_ms\":{:.0},\"wasm_mib\":{:.1},\"js_heap_mib\":{:.1}}}",
                bench.label,
                pods,
                frames.len(),
                quantile(frames, 0.5),
                quantile(frames, 0.95),
                quantile(frames, 1.0),
                quantile(&bench.engine_ms, 0.95),
                quantile(&bench.views_ms, 0.95),
                virtual_s,
                self.speed,
                self.pace.behind().unwrap_or(self.speed as f64),
                bench.built_at_ms,
                browser::wasm_memory_bytes() as f64 / 1048576.0,
                browser::js_heap_bytes() as f64 / 1048576.0,
            );
            browser::report_bench(&report);
        }
    }

    fn boot_from(&mut self, scene: Scene) {
        *self.cluster.0.borrow_mut() = scene.boot();
        self.replay = if scene.actions.is_empty() && scene.until_ms <= crate::engine::cluster::BOOT_MS {
            None
        } else {
            self.playing = false;
            Some(Replay::new(scene.clone()))
        };
        self.replay_progress = 0.0;
        self.scene = scene;
        self.selected = None;
        self.details = None;
        self.explaining = None;
        self.explanation = None;
        self.terminal = Rc::new(Vec::new());
        self.topology_model = TopologyModel::build(&self.cluster.0.borrow());
        self.log_model = LogModel::build(&self.cluster.0.borrow());
        self.interactive = None;
        self.seen_log = Default::default();
        self.pace.clear();
        self.dirty = true;
        self.rebuild_views();
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let dark = browser::initial_dark_theme();
        browser::apply_theme(dark);
        let mut banner = None;
        let mut bench = None;
        let mut autosave = true;
        // Where the scene comes from: ?bench, the link's fragment, the autosave, or nothing.
        let (scene, cluster) = if let Some(request) = browser::bench_request() {
            autosave = false;
            let build = scene::BenchBuild::new(request.workers, request.pods);
            let cluster = build.boot(scene::DEFAULT_SEED);
            bench = Some(Bench {
                frame_ms: Vec::new(),
                engine_ms: Vec::new(),
                views_ms: Vec::new(),
                warmup_frames: 30,
                wanted_frames: request.frames,
                reported: false,
                label: format!("{}x{}", request.workers, request.pods),
                build: Some(build),
                built_at_ms: 0.0,
            });
            let mut scene = Scene::new(scene::DEFAULT_SEED);
            scene.workers = Some(request.workers);
            (scene, cluster)
        } else {
            let from_link = browser::take_fragment().map(|f| (Scene::from_fragment(&f), "link"));
            let from_save = || browser::load_scene().map(|s| (Scene::from_fragment(&s), "saved scene"));
            let chosen = match from_link.or_else(from_save) {
                Some((Ok(scene), _)) => scene,
                Some((Err(e), source)) => {
                    banner = Some(format!("The {source} could not be opened: {e}. Started a fresh cluster instead."));
                    if source == "saved scene" {
                        browser::clear_scene();
                    }
                    Scene::new(scene::DEFAULT_SEED)
                }
                None => Scene::new(scene::DEFAULT_SEED),
            };
            let cluster = chosen.boot();
            (chosen, cluster)
        };
        let replay = if scene.actions.is_empty() && scene.until_ms <= crate::engine::cluster::BOOT_MS { None } else { Some(Replay::new(scene.clone())) };
        let (topology_model, log_model) = (TopologyModel::build(&cluster), LogModel::build(&cluster));
        let mut app = App {
            cluster: ClusterHandle(Rc::new(RefCell::new(cluster))),
            replay,
            replay_progress: 0.0,
            playing: true,
            speed: browser::bench_request().map_or(1, |r| r.speed),
            scene,
            last_frame_ts: None,
            frame: None,
            frame_started: None,
            topology: Rc::new(TopologyView::default()),
            topology_model,
            log_model,
            log_rows: Rc::new(Vec::new()),
            log_hidden: 0,
            filter: Filter::everything(),
            log_paused: false,
            seen_log: Default::default(),
            log_built_at: 0.0,
            details_built_at: 0.0,
            seen_revision: 0,
            search: Rc::new(SearchResults::default()),
            pace: Pace::default(),
            traffic: Rc::new(Default::default()),
            seen_traffic: (0, false, 0),
            dirty: true,
            selected: None,
            details: None,
            explaining: None,
            explanation: None,
            editor_load: (1, Rc::new(crate::view::templates::DEPLOYMENT.to_string())),
            editor_report: (0, Rc::new(EditorReport::default())),
            terminal: Rc::new(Vec::new()),
            interactive: None,
            banner,
            share_link: String::new(),
            dark,
            bench,
            autosaved_at: 0.0,
            autosave,
            engine_ms: 0.0,
            views_ms: 0.0,
        };
        if app.replay.is_some() {
            app.playing = false;
        }
        app.rebuild_views();
        app.schedule_frame(ctx);
        browser::listen_global_keys(ctx.link().callback(Msg::GlobalKey));
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Frame(ts) => return self.on_frame(ctx, ts),
            Msg::TogglePlay => {
                self.playing = !self.playing;
                let (playing, speed) = (self.playing, self.speed);
                self.act(Action::Clock { playing, speed });
            }
            Msg::SetSpeed(speed) => {
                self.speed = speed;
                self.pace.clear();
                let (playing, speed) = (self.playing, self.speed);
                self.act(Action::Clock { playing, speed });
            }
            Msg::Step => {
                if self.replay.is_none() {
                    let mut cluster = self.cluster.0.borrow_mut();
                    // One step: to the next instant anything is due, or a second on.
                    let target = cluster.sim.next_timer().unwrap_or(cluster.now().plus_secs(1)).max(cluster.now().plus_millis(1));
                    cluster.sim.run_until_bounded(target, MAX_RUNS_PER_FRAME);
                    drop(cluster);
                    self.playing = false;
                    self.dirty = true;
                    self.rebuild_views();
                }
            }
            Msg::Switch { component, run } => {
                let action = if run { Action::Start { component } } else { Action::Stop { component } };
                if let Some(Outcome::Component(Err(e))) = self.act(action) {
                    self.banner = Some(e);
                }
                self.rebuild_views();
            }
            Msg::Apply(text) | Msg::Delete(text) if text.len() > scene::MAX_TEXT_BYTES => {
                self.banner = Some(format!("The editor holds {} KB; at most {} KB can be applied at once.", text.len() / 1024, scene::MAX_TEXT_BYTES / 1024));
            }
            Msg::Apply(text) => {
                if let Some(Outcome::Editor(report)) = self.act(Action::Apply { text }) {
                    self.editor_report = (self.editor_report.0 + 1, Rc::new(report));
                }
                self.rebuild_views();
            }
            Msg::Delete(text) => {
                if let Some(Outcome::Editor(report)) = self.act(Action::Delete { text }) {
                    self.editor_report = (self.editor_report.0 + 1, Rc::new(report));
                }
                self.rebuild_views();
            }
            Msg::RunLine(line) => {
                if let Some(crate::engine::kubectl::interactive::Interactive::Shell(session)) = self.interactive.clone() {
                    return self.shell_line(session, line);
                }
                if matches!(self.interactive, Some(crate::engine::kubectl::interactive::Interactive::Follow(_))) {
                    // Typed while output is followed: the terminal shows it, nothing reads it.
                    return false;
                }
                let trimmed = line.trim().to_string();
                if trimmed == "clear" {
                    self.terminal = Rc::new(Vec::new());
                    return true;
                }
                if trimmed.is_empty() {
                    return false;
                }
                let too_long = trimmed.len() > scene::MAX_TEXT_BYTES;
                // Miniplane's own `explain pod/NAME`: reads the scheduler's memory, changes nothing.
                let explained = if too_long { None } else { crate::engine::script::run_explain_line(&self.cluster.0.borrow(), &trimmed) };
                let output = if too_long {
                    crate::engine::kubectl::Output { stderr: "error: command line too long\n".into(), exit_code: 1, ..Default::default() }
                } else if let Some((text, ok)) = explained {
                    if ok {
                        crate::engine::kubectl::Output { stdout: text, ..Default::default() }
                    } else {
                        crate::engine::kubectl::Output { stderr: text, exit_code: 1, ..Default::default() }
                    }
                } else if scene::is_read_only(&trimmed) && self.replay.is_none() && !trimmed.contains(" -f") && !trimmed.contains("--follow") {
                    // Reads change nothing: run them without recording.
                    if crate::engine::host::is_host_command(&trimmed) {
                        scene::run_host(&mut self.cluster.0.borrow_mut(), &trimmed)
                    } else {
                        crate::engine::kubectl::run_read_only(&mut self.cluster.0.borrow_mut(), &trimmed)
                    }
                } else {
                    let action = if crate::engine::host::is_host_command(&trimmed) { Action::Host { line: trimmed.clone() } } else { Action::Kubectl { line: trimmed.clone() } };
                    match self.act(action) {
                        Some(Outcome::Kubectl(out)) => out,
                        _ => return true,
                    }
                };
                self.interactive = output.interactive.clone();
                self.push_entry(TermEntry { prompt: "$ ".into(), line: trimmed, output: output.combined(), ok: output.exit_code == 0 });
                self.dirty = true;
                self.rebuild_views();
            }
            Msg::Interrupt => {
                let Some(mut interactive) = self.interactive.clone() else { return false };
                let follow = match &interactive {
                    crate::engine::kubectl::interactive::Interactive::Follow(f) => Some(f.clone()),
                    _ => None,
                };
                let step = match follow {
                    // Stopping a `run --rm` deletes its pod: a step the scene keeps.
                    Some(f) if f.remove.is_some() => {
                        let at = self.cluster.0.borrow_mut().sim.position();
                        let _ = self.scene.record(at, Action::FollowEnd { follow: f, interrupted: true });
                        crate::engine::kubectl::interactive::interrupt(&mut self.cluster.0.borrow_mut(), &mut interactive)
                    }
                    _ => crate::engine::kubectl::interactive::interrupt(&mut self.cluster.0.borrow_mut(), &mut interactive),
                };
                self.append_output(&step.output, step.exit_code == 0);
                if step.ended {
                    self.interactive = None;
                }
                self.dirty = true;
            }
            Msg::Select(sel) => {
                self.selected = Some(sel);
                self.details = None;
                self.refresh_details();
            }
            Msg::CloseDetails => {
                self.selected = None;
                self.details = None;
            }
            Msg::Explain(sel) => {
                self.explaining = Some(sel);
                self.explanation = None;
                self.refresh_explanation();
            }
            Msg::CloseExplain => {
                self.explaining = None;
                self.explanation = None;
            }
            Msg::EditSelected => {
                if let Some(d) = &self.details {
                    self.editor_load = (self.editor_load.0 + 1, Rc::new(d.editable_yaml()));
                    browser::focus_test_id("yaml-editor");
                }
            }
            Msg::Share => {
                self.scene.until_ms = self.scene.until_ms.max(self.now().as_millis());
                let fragment = self.scene.to_fragment();
                self.share_link = format!("{}#{}", browser::page_address(), fragment);
                if self.share_link.len() > scene::MAX_LINK_CHARS {
                    self.banner = Some(format!("This scene makes a link of {} characters, more than the {} a link may hold; Reset and build a shorter scene to share it.", self.share_link.len(), scene::MAX_LINK_CHARS));
                }
                browser::copy_to_clipboard(&self.share_link);
                self.save();
            }
            Msg::Reset => {
                browser::clear_scene();
                self.boot_from(Scene::new(scene::DEFAULT_SEED));
                self.playing = true;
                self.speed = 1;
                self.share_link.clear();
                self.banner = None;
                self.editor_report = (self.editor_report.0 + 1, Rc::new(EditorReport::default()));
            }
            Msg::ToggleTheme => {
                self.dark = !self.dark;
                browser::apply_theme(self.dark);
                browser::store_theme(self.dark);
            }
            Msg::SetFilter(filter) => {
                self.filter = filter;
                self.dirty = true;
                self.seen_log = Default::default();
                let paused = std::mem::replace(&mut self.log_paused, false);
                self.rebuild_views();
                self.log_paused = paused;
            }
            Msg::ToggleLogPause => {
                self.log_paused = !self.log_paused;
                if !self.log_paused {
                    self.rebuild_views();
                }
            }
            Msg::DismissBanner => self.banner = None,
            Msg::Search(query) => {
                self.search = Rc::new(self.topology_model.search(&query, SEARCH_LIMIT));
            }
            Msg::GlobalKey(e) => match e.key().as_str() {
                " " | "k" => ctx.link().send_message(Msg::TogglePlay),
                "." => ctx.link().send_message(Msg::Step),
                "Escape" if self.explaining.is_some() => ctx.link().send_message(Msg::CloseExplain),
                "Escape" => ctx.link().send_message(Msg::CloseDetails),
                _ => return false,
            },
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if first_render {
            browser::report_first_render();
        }
        self.end_frame();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let now = self.now();
        let on_switch = link.callback(|(component, run): (String, bool)| Msg::Switch { component, run });
        let on_select = link.callback(Msg::Select);
        let on_explain = link.callback(Msg::Explain);
        html! {
            <div class="app">
                <header class="topbar">
                    <div class="brand">
                        <span class="logo" aria-hidden="true">{"⎈"}</span>
                        <span class="brand-name">{"Miniplane"}</span>
                        <span class="brand-sub">{"Kubernetes 1.33 in your browser tab"}</span>
                    </div>
                    <clock::Clock
                        now_ms={now.as_millis()}
                        playing={self.playing}
                        speed={self.speed}
                        on_toggle={link.callback(|_| Msg::TogglePlay)}
                        on_speed={link.callback(Msg::SetSpeed)}
                        on_step={link.callback(|_| Msg::Step)}
                        behind={self.pace.behind().filter(|_| self.playing).map(|s| (s * 10.0).round() as u32)}
                    />
                    <share::ShareBar
                        link={self.share_link.clone()}
                        on_share={link.callback(|_| Msg::Share)}
                        on_reset={link.callback(|_| Msg::Reset)}
                    />
                    <button class="ghost theme-toggle" title="Switch between light and dark themes" onclick={link.callback(|_| Msg::ToggleTheme)}>
                        { if self.dark { "☀ Light" } else { "☾ Dark" } }
                    </button>
                </header>
                <p class="honest-note">
                    {"Containers are simulated: no image is pulled and no process runs; their commands (and kubectl exec) run in a small shell model over simulated files. The API server, scheduler, controllers and kubelets are a Kubernetes 1.33 model running in this tab on virtual time."}
                </p>
                { self.view_banner(ctx) }
                { self.view_replay() }
                <main class="workspace">
                    <section class="pane topology-pane" aria-label="Cluster topology">
                        <topology::Topology view={self.topology.clone()} on_switch={on_switch} on_select={on_select} on_explain={on_explain.clone()} selected={self.selected.clone()}
                            search={self.search.clone()} on_search={link.callback(Msg::Search)} />
                    </section>
                    <section class="pane side-pane">
                        <editor::Editor
                            load={self.editor_load.clone()}
                            report={self.editor_report.clone()}
                            on_apply={link.callback(Msg::Apply)}
                            on_delete={link.callback(Msg::Delete)}
                        />
                        <terminal::Terminal
                            entries={self.terminal.clone()}
                            cluster={self.cluster.clone()}
                            on_run={link.callback(Msg::RunLine)}
                            on_interrupt={link.callback(|_| Msg::Interrupt)}
                            prompt={self.shell_prompt()}
                            following={matches!(self.interactive, Some(crate::engine::kubectl::interactive::Interactive::Follow(_)))}
                        />
                    </section>
                    <section class="pane log-pane">
                        <traffic::TrafficPanel view={self.traffic.clone()} on_command={link.callback(Msg::RunLine)} />
                        <event_log::EventLog
                            rows={self.log_rows.clone()}
                            hidden={self.log_hidden}
                            now_ms={now.as_millis() / 1000 * 1000}
                            filter={self.filter.clone()}
                            paused={self.log_paused}
                            namespaces={Rc::new(self.namespaces())}
                            on_filter={link.callback(Msg::SetFilter)}
                            on_toggle_pause={link.callback(|_| Msg::ToggleLogPause)}
                        />
                    </section>
                </main>
                if let Some(d) = &self.details {
                    <details::Details
                        view={d.clone()}
                        now_ms={now.as_millis() / 1000 * 1000}
                        on_close={link.callback(|_| Msg::CloseDetails)}
                        on_edit={link.callback(|_| Msg::EditSelected)}
                        on_explain={on_explain.clone()}
                    />
                }
                if let Some(e) = &self.explanation {
                    <explain::ExplainPanel view={e.clone()} on_close={link.callback(|_| Msg::CloseExplain)} />
                }
            </div>
        }
    }
}

impl App {
    fn push_entry(&mut self, entry: TermEntry) {
        let mut entries: Vec<TermEntry> = (*self.terminal).clone();
        entries.push(entry);
        let excess = entries.len().saturating_sub(TERMINAL_KEEP);
        entries.drain(..excess);
        self.terminal = Rc::new(entries);
    }

    /// Adds output to the last terminal entry (followed output, Ctrl-C).
    fn append_output(&mut self, text: &str, ok: bool) {
        if text.is_empty() {
            return;
        }
        let mut entries: Vec<TermEntry> = (*self.terminal).clone();
        match entries.last_mut() {
            Some(last) => {
                last.output.push_str(text);
                last.ok &= ok;
            }
            None => entries.push(TermEntry { prompt: String::new(), line: String::new(), output: text.to_string(), ok }),
        }
        self.terminal = Rc::new(entries);
    }

    fn shell_prompt(&self) -> Option<String> {
        match &self.interactive {
            Some(crate::engine::kubectl::interactive::Interactive::Shell(s)) => Some(s.prompt()),
            _ => None,
        }
    }

    /// A line typed at a container's shell: recorded, run, shown after its prompt.
    fn shell_line(&mut self, session: crate::engine::kubectl::interactive::ShellSession, line: String) -> bool {
        let prompt = session.prompt();
        let Some(Outcome::Shell(step, after)) = self.act(Action::ShellLine { session, line: line.clone() }) else { return true };
        self.push_entry(TermEntry { prompt, line, output: step.output.clone(), ok: step.exit_code == 0 });
        self.interactive = if step.ended { None } else { Some(crate::engine::kubectl::interactive::Interactive::Shell(after)) };
        self.dirty = true;
        self.rebuild_views();
        true
    }

    /// Followed output: what is new since the last frame.
    fn follow_output(&mut self) -> bool {
        let Some(crate::engine::kubectl::interactive::Interactive::Follow(follow)) = self.interactive.clone() else { return false };
        let mut next = follow.clone();
        let step = crate::engine::kubectl::interactive::follow(&mut self.cluster.0.borrow_mut(), &mut next);
        if step.ended && follow.remove.is_some() {
            // Its end deletes the pod (`run --rm`): a step the scene keeps.
            let at = self.cluster.0.borrow_mut().sim.position();
            let _ = self.scene.record(at, Action::FollowEnd { follow, interrupted: false });
            self.dirty = true;
        }
        let changed = !step.output.is_empty() || step.ended;
        self.append_output(&step.output, step.exit_code == 0);
        self.interactive = if step.ended { None } else { Some(crate::engine::kubectl::interactive::Interactive::Follow(next)) };
        changed
    }

    fn namespaces(&self) -> Vec<String> {
        let cluster = self.cluster.0.borrow();
        topology_view::stored(&cluster, crate::engine::api::ids::namespaces()).iter().filter_map(|o| o.meta().name.clone()).collect()
    }

    fn view_banner(&self, ctx: &Context<Self>) -> Html {
        match &self.banner {
            Some(text) => html! {
                <div class="banner" role="alert" data-testid="banner">
                    <span>{ text }</span>
                    <button class="ghost" onclick={ctx.link().callback(|_| Msg::DismissBanner)} aria-label="Dismiss">{"✕"}</button>
                </div>
            },
            None => html! {},
        }
    }

    fn view_replay(&self) -> Html {
        if self.replay.is_none() {
            return html! {};
        }
        let percent = (self.replay_progress * 100.0).round();
        html! {
            <div class="replay" role="status" data-testid="replay-progress">
                <span>{ format!("Rebuilding the scene: {percent}% of its virtual time replayed…") }</span>
                <div class="meter"><div class="meter-fill" style={format!("width: {percent}%")}></div></div>
            </div>
        }
    }
}
