//! The browser app (wasm only): the engine runs in the page and these Yew
//! components lay out the view models of `crate::view`. All user actions go
//! through `crate::scene::perform`, recorded for links and autosave.
//!
//! One component per file: `topology`, `node_map`, `details`, `explain`, `editor`,
//! `event_log`, `terminal`, `clock`, `share`, `traffic`, `lesson_panel`,
//! `lesson_picker`, `faults` (and `markdown`, which draws lesson text). `App` owns the
//! cluster, the frame loop, and the lesson being followed (its progress lives
//! in the scene).

mod browser;
mod clock;
mod details;
mod editor;
mod event_log;
mod explain;
mod faults;
mod lesson_panel;
mod lesson_picker;
mod markdown;
mod node_map;
mod share;
mod terminal;
mod topology;
mod traffic;

use crate::engine::sort::SortStable;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use gloo::render::{request_animation_frame, AnimationFrame};
use wasm_bindgen::JsValue;
use yew::prelude::*;

use crate::engine::cluster::Cluster;
use crate::engine::script;
use crate::engine::sim::clock::VirtualTime;
use crate::lesson::check::Evaluation;
use crate::lesson::{self, Lesson};
use crate::scene::{self, Action, EditorReport, Outcome, Replay, ReplayProgress, Scene};
use crate::view::log::{Filter, LogModel, Row};
use crate::view::topology::{self as topology_view, SearchResults, TopologyModel, TopologyView};

pub use details::Selection;
use terminal::TermEntry;

/// Component runs per animation frame for a single Step.
const MAX_RUNS_PER_FRAME: usize = 400;
/// While playing, the engine runs one component run at a time (a frame may
/// end inside a busy instant and the next resumes there) until the frame's
/// target time or its budget of wall milliseconds.
const RUNS_PER_SLICE: usize = 1;
const ENGINE_BUDGET_MS: f64 = 6.0;
/// The event log is redrawn at most this often while time runs.
const LOG_INTERVAL_MS: f64 = 250.0;
/// The details drawer re-asks kubectl at most this often.
const DETAILS_INTERVAL_MS: f64 = 1_000.0;
/// How much wall time the clock's achieved speed is averaged over, how
/// much it needs before it says anything, and the share of the asked speed
/// below which the clock says it cannot keep up. A busy cluster moves
/// virtual time in jumps (frames inside one busy instant move it not at
/// all, the frame that ends the instant up to a frame's worth of the asked
/// speed), so a second's average reads 0× between jumps; five seconds'
/// is the rate virtual time actually keeps.
const PACE_WINDOW_MS: f64 = 5_000.0;
const PACE_FIRST_MS: f64 = 500.0;
const PACE_BEHIND: f64 = 0.9;
/// Frames that wait for a user's action to be drawn before running the engine.
const MAX_FRAMES_HELD: u32 = 3;
/// Wall milliseconds of one frame counted at most in the pace.
const MAX_PACE_GAP_MS: f64 = 1_000.0;
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
/// Wall milliseconds between the lines "show me" runs, so each can be read.
const SOLVE_PAUSE_MS: f64 = 700.0;
/// A lesson's check is evaluated at most this often while the cluster changes.
const CHECK_INTERVAL_MS: f64 = 200.0;

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

/// A lesson shared with components; equal when it is the same lesson object.
#[derive(Clone)]
pub struct LessonHandle(pub Rc<Lesson>);

impl PartialEq for LessonHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Lines run one after another across frames: "show me" and `sleep`.
struct Runner {
    queue: VecDeque<script::Command>,
    /// A `sleep` in progress: virtual time runs to here before the next line.
    sleep_until: Option<VirtualTime>,
    /// Wall time of the next line.
    next_at: f64,
    /// Running a step's solution ("show me").
    solving: bool,
}

pub enum Msg {
    Frame(f64),
    TogglePlay,
    SetSpeed(u32),
    Step,
    Switch { component: String, run: bool },
    /// A fault from the page, as a script line (`partition node/worker-1`).
    Fault(String),
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
    OpenLessons,
    CloseLessons,
    PickLesson(String),
    OpenCustomLesson(String),
    CustomLessonError(String),
    LeaveLesson,
    RestartLesson,
    ShowHint,
    ShowMe,
    ResetStep,
    LessonLink,
    ToTerminal(String),
    ToEditor(String),
    Host(browser::HostRequest),
    ToggleLarge,
    /// Embed layout: which of the terminal, editor and traffic panel shows.
    EmbedTab(EmbedTab),
    Search(String),
}

/// The embed layout's tabs beside the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbedTab {
    Terminal,
    Editor,
    Traffic,
}

/// The callbacks the view hands to components, made once: a callback is
/// equal only to itself, so making them in `view` would redraw every
/// component on every frame.
#[derive(Clone)]
struct Handlers {
    switch: Callback<(String, bool)>,
    select: Callback<Selection>,
    explain: Callback<Selection>,
    toggle_play: Callback<()>,
    set_speed: Callback<u32>,
    step: Callback<()>,
    open_lessons: Callback<MouseEvent>,
    toggle_large: Callback<MouseEvent>,
    apply: Callback<String>,
    delete: Callback<String>,
    run_line: Callback<String>,
    interrupt: Callback<()>,
    fault: Callback<String>,
    search: Callback<String>,
    close_explain: Callback<()>,
    embed_tabs: [Callback<MouseEvent>; 3],
    share: Callback<()>,
    reset: Callback<()>,
    toggle_theme: Callback<MouseEvent>,
    set_filter: Callback<Filter>,
    toggle_log_pause: Callback<()>,
    close_details: Callback<()>,
    edit_selected: Callback<()>,
    dismiss_banner: Callback<MouseEvent>,
    lesson_actions: markdown::Actions,
    show_hint: Callback<()>,
    show_me: Callback<()>,
    reset_step: Callback<()>,
    restart_lesson: Callback<()>,
    leave_lesson: Callback<()>,
    pick_lessons: Callback<()>,
    lesson_link: Callback<()>,
    pick_lesson: Callback<String>,
    open_custom_lesson: Callback<String>,
    custom_lesson_error: Callback<String>,
    close_lessons: Callback<()>,
}

impl Handlers {
    fn new(link: &yew::html::Scope<App>) -> Self {
        Handlers {
            switch: link.callback(|(component, run): (String, bool)| Msg::Switch { component, run }),
            select: link.callback(Msg::Select),
            explain: link.callback(Msg::Explain),
            toggle_play: link.callback(|_| Msg::TogglePlay),
            set_speed: link.callback(Msg::SetSpeed),
            step: link.callback(|_| Msg::Step),
            open_lessons: link.callback(|_| Msg::OpenLessons),
            toggle_large: link.callback(|_| Msg::ToggleLarge),
            apply: link.callback(Msg::Apply),
            delete: link.callback(Msg::Delete),
            run_line: link.callback(Msg::RunLine),
            interrupt: link.callback(|_| Msg::Interrupt),
            fault: link.callback(Msg::Fault),
            search: link.callback(Msg::Search),
            close_explain: link.callback(|_| Msg::CloseExplain),
            embed_tabs: [
                link.callback(|_| Msg::EmbedTab(EmbedTab::Terminal)),
                link.callback(|_| Msg::EmbedTab(EmbedTab::Editor)),
                link.callback(|_| Msg::EmbedTab(EmbedTab::Traffic)),
            ],
            share: link.callback(|_| Msg::Share),
            reset: link.callback(|_| Msg::Reset),
            toggle_theme: link.callback(|_| Msg::ToggleTheme),
            set_filter: link.callback(Msg::SetFilter),
            toggle_log_pause: link.callback(|_| Msg::ToggleLogPause),
            close_details: link.callback(|_| Msg::CloseDetails),
            edit_selected: link.callback(|_| Msg::EditSelected),
            dismiss_banner: link.callback(|_| Msg::DismissBanner),
            lesson_actions: markdown::Actions { to_terminal: link.callback(Msg::ToTerminal), to_editor: link.callback(Msg::ToEditor) },
            show_hint: link.callback(|_| Msg::ShowHint),
            show_me: link.callback(|_| Msg::ShowMe),
            reset_step: link.callback(|_| Msg::ResetStep),
            restart_lesson: link.callback(|_| Msg::RestartLesson),
            leave_lesson: link.callback(|_| Msg::LeaveLesson),
            pick_lessons: link.callback(|_| Msg::OpenLessons),
            lesson_link: link.callback(|_| Msg::LessonLink),
            pick_lesson: link.callback(Msg::PickLesson),
            open_custom_lesson: link.callback(Msg::OpenCustomLesson),
            custom_lesson_error: link.callback(Msg::CustomLessonError),
            close_lessons: link.callback(|_| Msg::CloseLessons),
        }
    }
}

/// Measuring frames with `?bench`: a big cluster at 10×.
struct Bench {
    frame_ms: Vec<f64>,
    /// Wall milliseconds since the previous frame began (all the browser's
    /// work for a frame: ours, style, layout and paint).
    interval_ms: Vec<f64>,
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
    /// The longest single component run while measuring, and whose it was.
    slowest_run: (f64, String),
    /// The longest measured frame's engine and view-data milliseconds.
    slowest_frame_parts: (f64, f64),
    /// After the report, while a script clicks: what could hold a click up.
    after: AfterReport,
}

/// The slowest frame, component run and switch since the frame report, on
/// `<html data-bench-after>`, so a click's latency can be told apart.
#[derive(Default)]
struct AfterReport {
    frames: usize,
    slowest_frame: (f64, f64, f64),
    slowest_run: (f64, String),
    slowest_switch: (f64, f64),
    switches: usize,
    /// When the last switch began, until the page is drawn after it.
    switch_started: Option<f64>,
    /// The longest from a switch's message to the page drawn after it.
    slowest_switch_drawn: f64,
    /// The longest wall time between two frames (the browser's style,
    /// layout and paint included).
    slowest_interval: f64,
}

impl AfterReport {
    fn publish(&self) {
        browser::report_bench_after(&format!(
            "{{\"frames\":{},\"slowest_frame_ms\":{:.1},\"slowest_frame_engine_ms\":{:.1},\"slowest_frame_views_ms\":{:.1},\"slowest_interval_ms\":{:.1},\"slowest_run_ms\":{:.1},\"slowest_run\":\"{}\",\"switches\":{},\"slowest_switch_act_ms\":{:.1},\"slowest_switch_views_ms\":{:.1},\"slowest_switch_drawn_ms\":{:.1}}}",
            self.frames,
            self.slowest_frame.0,
            self.slowest_frame.1,
            self.slowest_frame.2,
            self.slowest_interval,
            self.slowest_run.0,
            self.slowest_run.1,
            self.switches,
            self.slowest_switch.0,
            self.slowest_switch.1,
            self.slowest_switch_drawn,
        ));
    }
}

/// How fast virtual time actually ran over the last five seconds of wall time.
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
        (wall >= PACE_FIRST_MS && asked > 0.0 && got < asked * PACE_BEHIND).then(|| got / wall)
    }
}

pub struct App {
    handlers: Handlers,
    cluster: ClusterHandle,
    scene: Scene,
    replay: Option<Replay>,
    replay_progress: f64,
    playing: bool,
    speed: u32,
    last_frame_ts: Option<f64>,
    frame: Option<AnimationFrame>,
    frame_started: Option<f64>,
    /// Wall milliseconds between this frame's start and the previous one's.
    frame_gap: f64,
    /// A user's action is not yet drawn: frames until it is run no engine
    /// work (counted, so a frame loop never stalls), since Yew may hand a
    /// frame its turn between the action and its drawing.
    undrawn_action: Option<u32>,
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
    /// The namespaces the log's filter offers.
    namespaces: Rc<Vec<String>>,
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
    /// The lesson the scene follows (its progress is in `scene.lesson`).
    lesson: Option<LessonHandle>,
    evaluation: Rc<Option<Evaluation>>,
    /// What the check was last evaluated on, and when (wall).
    evaluated_on: (i64, u64, usize, usize),
    evaluated_at: f64,
    picker: bool,
    picker_error: Option<String>,
    done_lessons: Vec<String>,
    runner: Option<Runner>,
    terminal_paste: (u64, Rc<String>),
    embed: bool,
    embed_tab: EmbedTab,
    large: bool,
    /// Where the scene is autosaved (embedded lessons keep their own).
    scene_key: String,
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
        self.undrawn_action = Some(0);
        self.dirty = true;
        self.save();
        Some(outcome)
    }

    fn save(&mut self) {
        if !self.autosave || self.replay.is_some() {
            return;
        }
        self.scene.until_ms = self.scene.until_ms.max(self.now().as_millis());
        browser::store_scene(&self.scene_key, &self.scene.to_fragment());
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
        let namespaces: Vec<String> = topology_view::stored(&cluster, crate::engine::api::ids::namespaces()).iter().filter_map(|o| o.meta().name.clone()).collect();
        if *self.namespaces != namespaces {
            self.namespaces = Rc::new(namespaces);
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
        browser::mark("frame");
        self.schedule_frame(ctx);
        if let Some(held) = self.undrawn_action.as_mut().filter(|held| **held < MAX_FRAMES_HELD) {
            // The wall time passes to the next frame that runs (the gap is
            // measured from the last frame that did).
            *held += 1;
            return false;
        }
        self.frame_started = Some(browser::now_ms());
        let wall_gap = self.last_frame_ts.map_or(0.0, |last| (ts - last).clamp(0.0, MAX_PACE_GAP_MS));
        self.frame_gap = wall_gap;
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
        } else if self.runner.as_ref().is_some_and(|r| r.sleep_until.is_some()) {
            // A `sleep` drives virtual time itself, as fast as the frame allows.
            redraw |= self.step_runner();
        } else if self.runner.is_some() && !(self.playing && gap > 0.0) {
            redraw |= self.step_runner();
        } else if self.playing && gap > 0.0 {
            if self.runner.is_some() {
                self.step_runner();
            }
            let started = browser::now_ms();
            let mut cluster = self.cluster.0.borrow_mut();
            let before = cluster.now();
            let asked = (gap * self.speed as f64) as u64;
            let target = before.plus_millis(asked);
            // Small slices until the target or the frame's budget: a busy
            // cluster makes virtual time lag rather than the page stutter.
            let mut slice_started = started;
            loop {
                let done = cluster.sim.run_until_bounded(target, RUNS_PER_SLICE);
                let now = browser::now_ms();
                if let Some(bench) = self.bench.as_mut() {
                    let slowest = if bench.reported { &mut bench.after.slowest_run } else { &mut bench.slowest_run };
                    if now - slice_started > slowest.0 {
                        *slowest = (now - slice_started, cluster.sim.last_ran().unwrap_or_default().to_string());
                    }
                }
                slice_started = now;
                if done || now - started > ENGINE_BUDGET_MS {
                    break;
                }
            }
            let got = cluster.now().millis_since(before);
            drop(cluster);
            // Asked: the speed times the wall time that passed.
            self.pace.record(wall_gap, wall_gap * self.speed as f64, got as f64);
            self.engine_ms = browser::now_ms() - started;
            browser::mark("frame-engine");
            redraw = true; // the clock moved
        }
        if self.follow_output() {
            redraw = true;
        }
        if self.changed() {
            self.dirty = true;
        }
        if self.replay.is_none() && self.evaluate_lesson(false) {
            redraw = true;
        }
        if self.dirty {
            self.update_views(false);
            browser::mark("frame-views");
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
        if self.replay.is_some() {
            return;
        }
        if bench.reported {
            let total = browser::now_ms() - started;
            let after = &mut bench.after;
            after.frames += 1;
            let mut moved = false;
            if self.frame_gap > after.slowest_interval {
                after.slowest_interval = self.frame_gap;
                moved = true;
            }
            // Taken, as a measured frame's are: a frame without engine work
            // or new view data must not show the last one's.
            let (engine, views) = (std::mem::take(&mut self.engine_ms), std::mem::take(&mut self.views_ms));
            if total > after.slowest_frame.0 {
                after.slowest_frame = (total, engine, views);
                moved = true;
            }
            if moved {
                after.publish();
            }
            return;
        }
        // Warm-up counts frames after the build (the frame that ends the
        // build draws the whole cluster for the first time: boot, not running).
        if bench.build.is_some() {
            return;
        }
        if bench.warmup_frames > 0 {
            bench.warmup_frames -= 1;
            return;
        }
        let total = browser::now_ms() - started;
        bench.frame_ms.push(total);
        bench.interval_ms.push(self.frame_gap);
        let engine = std::mem::take(&mut self.engine_ms);
        let views = std::mem::take(&mut self.views_ms);
        if bench.frame_ms.iter().all(|f| *f <= total) {
            bench.slowest_frame_parts = (engine, views);
        }
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
                sorted.sort_stable_by(|a, b| a.total_cmp(b));
                sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
            };
            let frames = &bench.frame_ms;
            let report = format!(
                "{{\"cluster\":\"{}\",\"pods\":{},\"frames\":{},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"max_ms\":{:.2},\"interval_p50_ms\":{:.2},\"interval_p95_ms\":{:.2},\"interval_max_ms\":{:.2},\"engine_p95_ms\":{:.2},\"views_p95_ms\":{:.2},\"slowest_frame_engine_ms\":{:.1},\"slowest_frame_views_ms\":{:.1},\"slowest_run_ms\":{:.1},\"slowest_run\":\"{}\",\"virtual_s\":{},\"speed\":{},\"achieved_speed\":{:.2},\"built_ms\":{:.0},\"wasm_mib\":{:.1},\"js_heap_mib\":{:.1}}}",
                bench.label,
                pods,
                frames.len(),
                quantile(frames, 0.5),
                quantile(frames, 0.95),
                quantile(frames, 1.0),
                quantile(&bench.interval_ms, 0.5),
                quantile(&bench.interval_ms, 0.95),
                quantile(&bench.interval_ms, 1.0),
                quantile(&bench.engine_ms, 0.95),
                quantile(&bench.views_ms, 0.95),
                bench.slowest_frame_parts.0,
                bench.slowest_frame_parts.1,
                bench.slowest_run.0,
                bench.slowest_run.1,
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
        self.runner = None;
        self.lesson = self.scene.lesson().map(|l| LessonHandle(Rc::new(l)));
        self.evaluation = Rc::new(None);
        self.evaluated_on = Default::default();
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
        let large = browser::initial_large_text();
        browser::apply_large_text(large);
        let embed = browser::embed_request();
        let mut banner = None;
        let mut bench = None;
        let mut autosave = true;
        let query_lesson = browser::lesson_query();
        // An embedded lesson keeps its own autosave, so frames of different lessons do not share one.
        let scene_key = match (&query_lesson, embed) {
            (Some(id), true) => format!("miniplane.scene.embed.{id}"),
            (None, true) => "miniplane.scene.embed".to_string(),
            _ => "miniplane.scene".to_string(),
        };
        let done_lessons = browser::load_done_lessons().unwrap_or_else(|e| {
            banner = Some(e);
            Vec::new()
        });
        // A lesson to start once the app exists: (lesson text or id, from where).
        let mut start: Option<Result<(Lesson, Option<String>), String>> = None;
        // Where the scene comes from: ?bench, the link's fragment, the autosave, or nothing.
        let (scene, cluster) = if let Some(request) = browser::bench_request() {
            autosave = false;
            let build = scene::BenchBuild::new(request.workers, request.pods);
            let cluster = build.boot(scene::DEFAULT_SEED);
            bench = Some(Bench {
                frame_ms: Vec::new(),
                interval_ms: Vec::new(),
                engine_ms: Vec::new(),
                views_ms: Vec::new(),
                warmup_frames: 30,
                wanted_frames: request.frames,
                reported: false,
                label: format!("{}x{}", request.workers, request.pods),
                build: Some(build),
                built_at_ms: 0.0,
                slowest_run: (0.0, String::new()),
                slowest_frame_parts: (0.0, 0.0),
                after: AfterReport::default(),
            });
            let mut scene = Scene::new(scene::DEFAULT_SEED);
            scene.workers = Some(request.workers);
            (scene, cluster)
        } else {
            let fragment = browser::take_fragment();
            let saved = browser::load_scene(&scene_key).map(|s| Scene::from_fragment(&s));
            let from_save = |saved: Option<Result<Scene, scene::SceneError>>, banner: &mut Option<String>| match saved {
                Some(Ok(scene)) => Some(scene),
                Some(Err(e)) => {
                    *banner = Some(format!("The saved scene could not be opened: {e}. Started a fresh cluster instead."));
                    browser::clear_scene(&scene_key);
                    None
                }
                None => None,
            };
            let chosen = match fragment.as_deref() {
                Some(f) if f.starts_with(lesson::LINK_PREFIX) || f.starts_with(lesson::TEXT_LINK_PREFIX) => {
                    start = Some(lesson_from_link(f));
                    None
                }
                Some(f) => match Scene::from_fragment(f) {
                    Ok(scene) => Some(scene),
                    Err(e) => {
                        banner = Some(format!("The link could not be opened: {e}. Started a fresh cluster instead."));
                        None
                    }
                },
                None => {
                    let saved = from_save(saved, &mut banner);
                    match (&query_lesson, saved) {
                        // ?lesson=ID resumes the autosave when it follows that lesson.
                        (Some(id), Some(scene)) if scene.lesson.as_ref().is_some_and(|f| &f.id == id && f.text.is_none()) => Some(scene),
                        (Some(id), _) => {
                            start = Some(builtin_lesson(id));
                            None
                        }
                        (None, saved) => saved,
                    }
                }
            }
            .unwrap_or_else(|| Scene::new(scene::DEFAULT_SEED));
            let cluster = chosen.boot();
            (chosen, cluster)
        };
        let replay = if scene.actions.is_empty() && scene.until_ms <= crate::engine::cluster::BOOT_MS { None } else { Some(Replay::new(scene.clone())) };
        let lesson = scene.lesson().map(|l| LessonHandle(Rc::new(l)));
        let (topology_model, log_model) = (TopologyModel::build(&cluster), LogModel::build(&cluster));
        let mut app = App {
            handlers: Handlers::new(ctx.link()),
            cluster: ClusterHandle(Rc::new(RefCell::new(cluster))),
            replay,
            replay_progress: 0.0,
            playing: true,
            speed: browser::bench_request().map_or(1, |r| r.speed),
            scene,
            last_frame_ts: None,
            frame: None,
            frame_started: None,
            frame_gap: 0.0,
            undrawn_action: None,
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
            namespaces: Rc::new(Vec::new()),
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
            lesson,
            evaluation: Rc::new(None),
            evaluated_on: Default::default(),
            evaluated_at: 0.0,
            picker: false,
            picker_error: None,
            done_lessons,
            runner: None,
            terminal_paste: (0, Rc::new(String::new())),
            embed,
            embed_tab: EmbedTab::Terminal,
            large,
            scene_key,
        };
        if app.replay.is_some() {
            app.playing = false;
        }
        match start {
            Some(Ok((lesson, text))) => app.start_lesson(lesson, text),
            Some(Err(e)) => {
                app.banner = Some(e);
                app.picker = true;
            }
            None => {}
        }
        app.rebuild_views();
        app.schedule_frame(ctx);
        browser::listen_global_keys(ctx.link().callback(Msg::GlobalKey));
        browser::listen_host(ctx.link().callback(Msg::Host));
        let ids: Vec<JsValue> = lesson::builtin_sources().iter().map(|(id, _)| JsValue::from_str(id)).collect();
        browser::post_to_host("miniplane:ready", &[("lessons", js_sys::Array::from_iter(ids).into())]);
        app.post_progress();
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
                let started = browser::now_ms();
                if self.bench.as_ref().is_some_and(|b| b.reported) {
                    browser::trace_start();
                }
                let action = if run { Action::Start { component } } else { Action::Stop { component } };
                if let Some(Outcome::Component(Err(e))) = self.act(action) {
                    self.banner = Some(e);
                }
                let acted = browser::now_ms();
                browser::mark("acted");
                self.rebuild_views();
                browser::mark("views");
                if let Some(bench) = self.bench.as_mut().filter(|b| b.reported) {
                    let (act_ms, views_ms) = (acted - started, browser::now_ms() - acted);
                    let after = &mut bench.after;
                    after.switches += 1;
                    after.switch_started = Some(started);
                    if act_ms + views_ms > after.slowest_switch.0 + after.slowest_switch.1 {
                        after.slowest_switch = (act_ms, views_ms);
                    }
                    after.publish();
                }
            }
            Msg::Fault(line) => {
                if let Some(Outcome::Script(out)) = self.act(Action::Script { line }) {
                    if out.exit_code != 0 {
                        self.banner = Some(out.combined().trim().to_string());
                    }
                }
                self.rebuild_views();
            }
            Msg::Apply(text) | Msg::Delete(text) if text.len() > scene::MAX_TEXT_BYTES => {
                self.banner = Some(format!("The editor holds {} KB; at most {} KB can be applied at once.", text.len() / 1024, scene::MAX_TEXT_BYTES / 1024));
            }
            Msg::Apply(text) => {
                if let Some(Outcome::Editor(report)) = self.act(Action::Apply { text }) {
                    self.record_for_lesson("kubectl apply -f -", &report.output, report.ok);
                    self.editor_report = (self.editor_report.0 + 1, Rc::new(report));
                }
                self.rebuild_views();
            }
            Msg::Delete(text) => {
                if let Some(Outcome::Editor(report)) = self.act(Action::Delete { text }) {
                    self.record_for_lesson("kubectl delete -f -", &report.output, report.ok);
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
                self.run_line(&line);
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
                let address = browser::page_address();
                match self.scene.share_fragment(address.len()) {
                    Ok(fragment) => {
                        self.share_link = format!("{address}#{fragment}");
                        browser::copy_to_clipboard(&self.share_link);
                    }
                    Err(e) => {
                        // No link at all rather than one that would arrive cut.
                        self.share_link.clear();
                        let mut message = e.to_string();
                        if let Some(first) = message.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        self.banner = Some(format!("{message}."));
                    }
                }
                self.save();
            }
            Msg::Reset => {
                browser::clear_scene(&self.scene_key);
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
            Msg::OpenLessons => {
                self.picker = true;
                self.picker_error = None;
            }
            Msg::CloseLessons => self.picker = false,
            Msg::PickLesson(id) => match builtin_lesson(&id) {
                Ok((lesson, text)) => self.start_lesson(lesson, text),
                Err(e) => self.banner = Some(e),
            },
            Msg::OpenCustomLesson(text) => match lesson::parse(&text, None) {
                Ok(lesson) => self.start_lesson(lesson, Some(text)),
                Err(e) => self.picker_error = Some(format!("This lesson cannot be opened: {e}")),
            },
            Msg::CustomLessonError(e) => self.picker_error = Some(e),
            Msg::LeaveLesson => {
                self.scene.lesson = None;
                self.lesson = None;
                self.runner = None;
                self.evaluation = Rc::new(None);
                self.save();
                self.post_progress();
            }
            Msg::RestartLesson => {
                if let (Some(handle), Some(following)) = (self.lesson.clone(), self.scene.lesson.clone()) {
                    self.start_lesson((*handle.0).clone(), following.text);
                }
            }
            Msg::ShowHint => {
                if let (Some(handle), Some(following)) = (&self.lesson, self.scene.lesson.as_mut()) {
                    following.progress.show_hint(&handle.0);
                    self.save();
                }
            }
            Msg::ShowMe => self.show_me(),
            Msg::ResetStep => self.reset_step(),
            Msg::LessonLink => {
                if let Some(following) = &self.scene.lesson {
                    let fragment = match &following.text {
                        Some(text) => lesson::text_link(text),
                        None => format!("{}{}", lesson::LINK_PREFIX, following.id),
                    };
                    self.share_link = format!("{}#{fragment}", browser::page_address());
                    browser::copy_to_clipboard(&self.share_link);
                }
            }
            Msg::ToTerminal(line) => {
                self.embed_tab = EmbedTab::Terminal;
                self.terminal_paste = (self.terminal_paste.0 + 1, Rc::new(line));
            }
            Msg::ToEditor(text) => {
                self.embed_tab = EmbedTab::Editor;
                self.editor_load = (self.editor_load.0 + 1, Rc::new(text));
            }
            Msg::Host(request) => match request {
                browser::HostRequest::Run(line) => {
                    let (output, ok) = self.run_line(&line).unwrap_or_default();
                    browser::post_to_host("miniplane:output", &[("line", JsValue::from_str(&line)), ("output", JsValue::from_str(&output)), ("ok", JsValue::from_bool(ok))]);
                }
                browser::HostRequest::GetProgress => self.post_progress(),
                browser::HostRequest::OpenLesson(id) => ctx.link().send_message(Msg::PickLesson(id)),
            },
            Msg::ToggleLarge => {
                self.large = !self.large;
                browser::apply_large_text(self.large);
            }
            Msg::EmbedTab(tab) => self.embed_tab = tab,
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
        self.undrawn_action = None;
        if first_render {
            browser::report_first_render();
        }
        if let Some(after) = self.bench.as_mut().map(|b| &mut b.after) {
            if let Some(switched) = after.switch_started.take() {
                after.slowest_switch_drawn = after.slowest_switch_drawn.max(browser::now_ms() - switched);
                after.publish();
                browser::mark("app-rendered");
                browser::trace_end();
            }
        }
        self.end_frame();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        browser::mark("app-view");
        let html = self.view_app(ctx);
        browser::mark("app-view-end");
        html
    }
}

impl App {
    fn view_app(&self, _ctx: &Context<Self>) -> Html {
        let h = &self.handlers;
        let now = self.now();
        let on_switch = h.switch.clone();
        let on_select = h.select.clone();
        let on_explain = h.explain.clone();
        let clock = html! {
            <clock::Clock
                now_ms={now.as_millis()}
                playing={self.playing}
                speed={self.speed}
                on_toggle={h.toggle_play.clone()}
                on_speed={h.set_speed.clone()}
                on_step={h.step.clone()}
                behind={self.pace.behind().filter(|_| self.playing).map(|s| (s * 1000.0).round() as u32)}
            />
        };
        let lessons_button = html! {
            <button class="lessons-button" data-testid="lessons" title="Guided lessons that check each step" onclick={h.open_lessons.clone()}>
                {"Lessons"}
            </button>
        };
        let size_button = html! {
            <button class="ghost" data-testid="large-text" title="Larger type, for a projector" aria-pressed={self.large.to_string()} onclick={h.toggle_large.clone()}>
                { if self.large { "A−" } else { "A+" } }
            </button>
        };
        let editor = html! {
            <editor::Editor
                load={self.editor_load.clone()}
                report={self.editor_report.clone()}
                on_apply={h.apply.clone()}
                on_delete={h.delete.clone()}
            />
        };
        let terminal = html! {
            <terminal::Terminal
                entries={self.terminal.clone()}
                cluster={self.cluster.clone()}
                on_run={h.run_line.clone()}
                paste={self.terminal_paste.clone()}
                on_interrupt={h.interrupt.clone()}
                prompt={self.shell_prompt()}
                following={matches!(self.interactive, Some(crate::engine::kubectl::interactive::Interactive::Follow(_)))}
            />
        };
        let topology = html! {
            <section class="pane topology-pane" aria-label="Cluster topology">
                <topology::Topology view={self.topology.clone()} on_switch={on_switch} on_select={on_select} on_explain={on_explain.clone()} selected={self.selected.clone()}
                    on_fault={h.fault.clone()}
                    search={self.search.clone()} on_search={h.search.clone()} />
            </section>
        };
        let explain_panel = html! {
            if let Some(e) = &self.explanation {
                <explain::ExplainPanel view={e.clone()} on_close={h.close_explain.clone()} />
            }
        };
        let lesson_panel = self.view_lesson();
        let with_lesson = self.lesson.is_some();
        if self.embed {
            return html! {
                <div class="app embed">
                    <header class="topbar compact">
                        <div class="brand"><span class="logo" aria-hidden="true">{"⎈"}</span><span class="brand-name">{"Miniplane"}</span></div>
                        { clock }
                        { lessons_button }
                        { size_button }
                    </header>
                    <p class="honest-note">{"A simulated Kubernetes 1.33 cluster: containers are modelled, not run."}</p>
                    { self.view_banner() }
                    { self.view_replay() }
                    <main class={classes!("workspace", "embed-workspace", with_lesson.then_some("with-lesson"))}>
                        { lesson_panel }
                        { topology }
                        <section class="pane side-pane embed-side">
                            <div class="tabs" role="tablist">
                                <button role="tab" class={classes!("tab", (self.embed_tab == EmbedTab::Terminal).then_some("active"))} data-testid="tab-terminal" onclick={h.embed_tabs[0].clone()}>{"Terminal"}</button>
                                <button role="tab" class={classes!("tab", (self.embed_tab == EmbedTab::Editor).then_some("active"))} data-testid="tab-editor" onclick={h.embed_tabs[1].clone()}>{"Editor"}</button>
                                <button role="tab" class={classes!("tab", (self.embed_tab == EmbedTab::Traffic).then_some("active"))} data-testid="tab-traffic" onclick={h.embed_tabs[2].clone()}>{"Traffic"}</button>
                            </div>
                            <div class={classes!("embed-tab", (self.embed_tab != EmbedTab::Terminal).then_some("hidden"))}>{ terminal }</div>
                            <div class={classes!("embed-tab", (self.embed_tab != EmbedTab::Editor).then_some("hidden"))}>{ editor }</div>
                            <div class={classes!("embed-tab", (self.embed_tab != EmbedTab::Traffic).then_some("hidden"))}>
                                <traffic::TrafficPanel view={self.traffic.clone()} on_command={h.run_line.clone()} />
                            </div>
                        </section>
                    </main>
                    { explain_panel }
                    { self.view_picker() }
                </div>
            };
        }
        html! {
            <div class="app">
                <header class="topbar">
                    <div class="brand">
                        <span class="logo" aria-hidden="true">{"⎈"}</span>
                        <span class="brand-name">{"Miniplane"}</span>
                        <span class="brand-sub">{"Kubernetes 1.33 in your browser tab"}</span>
                    </div>
                    { lessons_button }
                    { clock }
                    <share::ShareBar
                        link={self.share_link.clone()}
                        on_share={h.share.clone()}
                        on_reset={h.reset.clone()}
                    />
                    { size_button }
                    <button class="ghost theme-toggle" title="Switch between light and dark themes" onclick={h.toggle_theme.clone()}>
                        { if self.dark { "☀ Light" } else { "☾ Dark" } }
                    </button>
                </header>
                <p class="honest-note">
                    {"Containers are simulated: no image is pulled and no process runs; their commands (and kubectl exec) run in a small shell model over simulated files. The API server, scheduler, controllers and kubelets are a Kubernetes 1.33 model running in this tab on virtual time."}
                </p>
                <markdown::Simplifications actions={h.lesson_actions.clone()} />
                { self.view_banner() }
                { self.view_replay() }
                <main class={classes!("workspace", with_lesson.then_some("with-lesson"))}>
                    { lesson_panel }
                    { topology }
                    <section class="pane side-pane">
                        { editor }
                        { terminal }
                    </section>
                    <section class="pane log-pane">
                        <traffic::TrafficPanel view={self.traffic.clone()} on_command={h.run_line.clone()} />
                        <event_log::EventLog
                            rows={self.log_rows.clone()}
                            hidden={self.log_hidden}
                            now_ms={now.as_millis() / 1000 * 1000}
                            filter={self.filter.clone()}
                            paused={self.log_paused}
                            namespaces={self.namespaces.clone()}
                            on_filter={h.set_filter.clone()}
                            on_toggle_pause={h.toggle_log_pause.clone()}
                        />
                    </section>
                </main>
                if let Some(d) = &self.details {
                    <details::Details
                        view={d.clone()}
                        now_ms={now.as_millis() / 1000 * 1000}
                        on_close={h.close_details.clone()}
                        on_edit={h.edit_selected.clone()}
                        on_explain={on_explain.clone()}
                    />
                }
                { explain_panel }
                { self.view_picker() }
            </div>
        }
    }
}

/// A built-in lesson by id, or why it cannot be opened.
fn builtin_lesson(id: &str) -> Result<(Lesson, Option<String>), String> {
    match lesson::builtin(id) {
        Some(Ok(l)) => Ok((l, None)),
        Some(Err(e)) => Err(format!("The lesson \"{id}\" cannot be opened: {e}")),
        None => Err(format!("There is no lesson \"{id}\"; pick one from the list.")),
    }
}

/// The lesson a `#lesson=ID` or `#lessontext=…` link opens.
fn lesson_from_link(fragment: &str) -> Result<(Lesson, Option<String>), String> {
    if let Some(id) = fragment.strip_prefix(lesson::LINK_PREFIX) {
        return builtin_lesson(id);
    }
    let data = fragment.strip_prefix(lesson::TEXT_LINK_PREFIX).unwrap_or_default();
    let text = lesson::text_from_link(data).map_err(|e| format!("The link could not be opened: {e}."))?;
    let parsed = lesson::parse(&text, None).map_err(|e| format!("The lesson in the link cannot be opened: {e}"))?;
    Ok((parsed, Some(text)))
}

impl App {
    /// A fresh cluster for the lesson, its setup run, the lesson at step 1.
    fn start_lesson(&mut self, lesson: Lesson, text: Option<String>) {
        let (scene, cluster) = scene::start_lesson(&lesson, text);
        *self.cluster.0.borrow_mut() = cluster;
        self.scene = scene;
        self.replay = None;
        self.replay_progress = 1.0;
        self.runner = None;
        self.playing = true;
        self.speed = 1;
        self.selected = None;
        self.details = None;
        self.terminal = Rc::new(Vec::new());
        self.topology_model = TopologyModel::build(&self.cluster.0.borrow());
        self.log_model = LogModel::build(&self.cluster.0.borrow());
        self.interactive = None;
        self.seen_log = Default::default();
        self.pace.clear();
        self.lesson = Some(LessonHandle(Rc::new(lesson)));
        self.evaluation = Rc::new(None);
        self.evaluated_on = Default::default();
        self.picker = false;
        self.picker_error = None;
        self.share_link.clear();
        self.editor_report = (self.editor_report.0 + 1, Rc::new(EditorReport::default()));
        self.dirty = true;
        self.rebuild_views();
        self.save();
        self.evaluate_lesson(true);
        self.post_progress();
    }

    /// Remembers a line for the current step's `ran` checks.
    fn record_for_lesson(&mut self, line: &str, output: &str, ok: bool) {
        if let (Some(handle), Some(following)) = (&self.lesson, self.scene.lesson.as_mut()) {
            if !following.progress.is_done(&handle.0) {
                following.progress.record(line, output, ok);
                self.evaluated_on = Default::default();
            }
        }
    }

    /// Evaluates the current step's check when the cluster (or what was run)
    /// changed since the last time, or when `force`d; passes the step when it
    /// holds. Returns whether anything shown changed.
    fn evaluate_lesson(&mut self, force: bool) -> bool {
        let (Some(handle), Some(_)) = (self.lesson.clone(), self.scene.lesson.as_ref()) else { return false };
        let now_wall = browser::now_ms();
        if !force && now_wall - self.evaluated_at < CHECK_INTERVAL_MS {
            return false;
        }
        let (revision, activity) = {
            let cluster = self.cluster.0.borrow();
            (cluster.sim.api.store().revision(), cluster.sim.activity.total())
        };
        let Some(following) = self.scene.lesson.as_mut() else { return false };
        let on = (revision, activity, following.progress.ran.len(), following.progress.step);
        if !force && on == self.evaluated_on {
            return false;
        }
        self.evaluated_on = on;
        self.evaluated_at = now_wall;
        let now = self.cluster.0.borrow().now().as_millis();
        let actions = self.scene.actions.len();
        let (evaluation, passed) = following.progress.tick(&handle.0, &mut self.cluster.0.borrow_mut(), now, actions);
        let done = following.progress.is_done(&handle.0);
        let summary = following.progress.summary(&handle.0);
        if *self.evaluation != evaluation {
            self.evaluation = Rc::new(evaluation);
        }
        if let Some(step) = passed {
            let title = handle.0.steps.get(step).map(|s| s.title.clone()).unwrap_or_default();
            browser::post_to_host(
                "miniplane:step-passed",
                &[
                    ("lesson", JsValue::from_str(&handle.0.id)),
                    ("step", JsValue::from_f64((step + 1) as f64)),
                    ("title", JsValue::from_str(&title)),
                    ("steps", JsValue::from_f64(handle.0.steps.len() as f64)),
                ],
            );
            if done {
                if self.scene.lesson.as_ref().is_some_and(|f| f.text.is_none()) && !self.done_lessons.contains(&handle.0.id) {
                    self.done_lessons.push(handle.0.id.clone());
                    browser::store_done_lessons(&self.done_lessons);
                }
                browser::post_to_host(
                    "miniplane:lesson-complete",
                    &[
                        ("lesson", JsValue::from_str(&handle.0.id)),
                        ("steps", JsValue::from_f64(summary.steps as f64)),
                        ("shown", JsValue::from_f64(summary.shown as f64)),
                        ("hintsUsed", JsValue::from_f64(summary.hints_used as f64)),
                        ("virtualMs", JsValue::from_f64(summary.virtual_ms as f64)),
                    ],
                );
            }
            self.post_progress();
            self.save();
            // The next step's check at once, rather than after the interval.
            self.evaluated_on = Default::default();
        }
        true
    }

    /// Tells the host page where the learner is (embed API).
    fn post_progress(&self) {
        let (Some(handle), Some(following)) = (&self.lesson, &self.scene.lesson) else {
            browser::post_to_host("miniplane:progress", &[("lesson", JsValue::NULL)]);
            return;
        };
        let steps = handle.0.steps.len();
        let passed: Vec<JsValue> = (0..steps).map(|i| JsValue::from_bool(i < following.progress.step)).collect();
        browser::post_to_host(
            "miniplane:progress",
            &[
                ("lesson", JsValue::from_str(&handle.0.id)),
                ("title", JsValue::from_str(&handle.0.title)),
                ("step", JsValue::from_f64((following.progress.step.min(steps) + 1).min(steps) as f64)),
                ("steps", JsValue::from_f64(steps as f64)),
                ("passed", js_sys::Array::from_iter(passed).into()),
                ("done", JsValue::from_bool(following.progress.is_done(&handle.0))),
            ],
        );
    }

    /// Runs a line typed at the terminal (or sent by the host page): kubectl,
    /// a host command (`traffic`, `curl`, …) or a script line (`stop`,
    /// `start`, `sleep`, `kubectl a && kubectl b`). Returns what it printed
    /// and whether it succeeded.
    fn run_line(&mut self, line: &str) -> Option<(String, bool)> {
        let trimmed = line.trim().to_string();
        if trimmed == "clear" {
            self.terminal = Rc::new(Vec::new());
            return None;
        }
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.len() > scene::MAX_TEXT_BYTES {
            let out = "error: command line too long\n".to_string();
            self.push_line(trimmed, out.clone(), false);
            return Some((out, false));
        }
        let first = trimmed.split_whitespace().next().unwrap_or("");
        if scene::is_script_line(&trimmed) && !matches!(first, "stop" | "start") {
            // Faults and etcdctl typed into the terminal are recorded like kubectl lines.
            let output = match self.act(Action::Script { line: trimmed.clone() }) {
                Some(Outcome::Script(out)) => out,
                _ => return None,
            };
            let (out, ok) = (output.combined(), output.exit_code == 0);
            self.record_for_lesson(&trimmed, &out, ok);
            self.push_line(trimmed, out.clone(), ok);
            self.dirty = true;
            self.rebuild_views();
            return Some((out, ok));
        }
        // A call of a function defined at the prompt (`greet you`) is the shell's.
        let calls_function = crate::engine::host::calls_function(&trimmed, |name| self.cluster.0.borrow().learner_shell.functions.defines(name));
        if calls_function {
            let command = script::Command { line: 1, text: trimmed.clone(), step: script::Step::Pipeline(trimmed.clone()) };
            return Some(self.run_command(&command));
        }
        if matches!(first, "kubectl" | "stop" | "start" | "sleep") || crate::engine::host::COMMANDS.contains(&first) || script::is_explain_line(&trimmed) || crate::engine::host::needs_shell(&trimmed) {
            return match script::parse(&trimmed) {
                Ok(commands) => match commands.into_iter().next() {
                    Some(command) => Some(self.run_command(&command)),
                    None => None,
                },
                Err(e) => {
                    let out = format!("error: {}\n", e.message);
                    self.record_for_lesson(&trimmed, &out, false);
                    self.push_line(trimmed, out.clone(), false);
                    Some((out, false))
                }
            };
        }
        // A kubectl line without `kubectl`, as before.
        Some(self.run_kubectl_line(trimmed.clone(), trimmed))
    }

    /// One kubectl command as the terminal runs it: a read is not recorded
    /// and lets no time pass; anything else is recorded, and `-it` or `-f`
    /// may keep the terminal.
    fn run_kubectl_line(&mut self, line: String, shown: String) -> (String, bool) {
        let output = if scene::is_read_only(&line) && self.replay.is_none() && !line.contains(" -f") && !line.contains("--follow") {
            let mut cluster = self.cluster.0.borrow_mut();
            let output = crate::engine::kubectl::run_read_only(&mut cluster, &line);
            // The shell's `$?` (a read is not kept in the scene, so neither is this).
            cluster.learner_shell.last_status = output.exit_code;
            output
        } else {
            match self.act(Action::Kubectl { line: line.clone(), stdin: None }) {
                Some(Outcome::Kubectl(out)) => out,
                _ => return (String::new(), false),
            }
        };
        self.interactive = output.interactive.clone();
        let (out, ok) = (output.combined(), output.exit_code == 0);
        self.record_for_lesson(&line, &out, ok);
        self.push_line(shown, out.clone(), ok);
        self.dirty = true;
        self.rebuild_views();
        self.evaluate_lesson(true);
        (out, ok)
    }

    /// Runs one script line as the terminal shows it.
    fn run_command(&mut self, command: &script::Command) -> (String, bool) {
        let shown = match &command.step {
            script::Step::Kubectl { stdin: Some(body), .. } => {
                let marker = command.text.split("<<").nth(1).map(|m| m.trim().trim_start_matches('-').trim_matches(|c| c == '\'' || c == '"')).unwrap_or("EOF");
                format!("{}\n{body}{marker}", command.text)
            }
            // A shell line's here-document is shown with it.
            script::Step::Pipeline(text) => text.clone(),
            _ => command.text.clone(),
        };
        if self.replay.is_some() {
            self.banner = Some("The scene is still being rebuilt; try again in a moment.".into());
            return (String::new(), false);
        }
        // `kubectl exec -ti $POD_NAME -- bash`: the shell's words, run as a
        // kubectl line typed in full is (the shell hands kubectl its terminal).
        if let script::Step::Pipeline(text) = &command.step {
            let words = crate::engine::host::kubectl_words_after_variables(&mut self.cluster.0.borrow_mut(), text);
            if let Some(words) = words {
                return self.run_kubectl_line(shell_words::join(&words[1..]), shown);
            }
        }
        let (out, ok) = match &command.step {
            script::Step::Sleep(ms) => {
                let until = self.now().plus_millis(*ms);
                let runner = self.runner.get_or_insert_with(|| Runner { queue: VecDeque::new(), sleep_until: None, next_at: 0.0, solving: false });
                runner.sleep_until = Some(until);
                (String::new(), true)
            }
            // One kubectl command runs as typed, where `-it` gets a terminal.
            script::Step::Kubectl { chain, stdin: None } if chain.len() == 1 => {
                let line = command.text.trim().strip_prefix("kubectl").map_or(command.text.clone(), |rest| rest.trim().to_string());
                return self.run_kubectl_line(line, shown);
            }
            // Miniplane's own `explain pod/NAME` reads the scheduler's memory and changes nothing.
            script::Step::Explain { .. } => script::run_step_status(&mut self.cluster.0.borrow_mut(), &command.step, &crate::engine::kubectl::NoFiles),
            script::Step::Host(words) if crate::engine::host::is_read_only(words) => {
                let mut cluster = self.cluster.0.borrow_mut();
                let output = scene::run_host(&mut cluster, &command.text);
                cluster.learner_shell.last_status = output.exit_code;
                (output.combined(), output.exit_code == 0)
            }
            step => {
                if self.scene.actions.len() >= scene::MAX_ACTIONS {
                    self.banner = Some(format!("This step is not kept in the scene's link: the scene has too many steps ({}).", self.scene.actions.len()));
                }
                let result = scene::run_script_step(&mut self.scene, &mut self.cluster.0.borrow_mut(), &command.text, step);
                self.save();
                result
            }
        };
        self.record_for_lesson(&command.text, &out, ok);
        self.push_line(shown, out.clone(), ok);
        self.dirty = true;
        self.rebuild_views();
        self.evaluate_lesson(true);
        (out, ok)
    }

    fn push_line(&mut self, line: String, output: String, ok: bool) {
        let masked = crate::view::secrets::mask_output(&line, &output);
        self.push_entry(TermEntry { prompt: "$ ".into(), line, output, masked, ok });
    }

    /// One frame of the runner: virtual time toward a `sleep`'s end (within
    /// the frame's budget), or the next line when its pause is over.
    fn step_runner(&mut self) -> bool {
        let Some(runner) = &mut self.runner else { return false };
        if let Some(until) = runner.sleep_until {
            let started = browser::now_ms();
            let mut cluster = self.cluster.0.borrow_mut();
            let mut reached = false;
            while !reached && browser::now_ms() - started < REPLAY_BUDGET_MS {
                reached = cluster.sim.run_until_bounded(until, 200);
            }
            drop(cluster);
            if reached {
                if let Some(runner) = &mut self.runner {
                    runner.sleep_until = None;
                    runner.next_at = browser::now_ms() + SOLVE_PAUSE_MS;
                }
            }
            return true;
        }
        if browser::now_ms() < runner.next_at {
            return false;
        }
        match runner.queue.pop_front() {
            Some(command) => {
                runner.next_at = browser::now_ms() + SOLVE_PAUSE_MS;
                self.run_command(&command);
            }
            None => self.runner = None,
        }
        true
    }

    /// "Show me": the current step's solution, line by line, in the terminal.
    fn show_me(&mut self) {
        if self.runner.as_ref().is_some_and(|r| r.solving) || self.replay.is_some() {
            return;
        }
        let (Some(handle), Some(following)) = (self.lesson.clone(), self.scene.lesson.as_mut()) else { return };
        let Some(step) = handle.0.steps.get(following.progress.step) else { return };
        following.progress.mark_shown();
        self.runner = Some(Runner { queue: step.solution.iter().cloned().collect(), sleep_until: None, next_at: 0.0, solving: true });
        self.embed_tab = EmbedTab::Terminal;
        self.save();
    }

    /// Puts the cluster back as it was when the current step began.
    fn reset_step(&mut self) {
        let Some(following) = self.scene.lesson.as_mut() else { return };
        following.progress.reset_step();
        let (actions, until) = (following.progress.step_actions, following.progress.step_ms);
        let mut scene = self.scene.clone();
        scene.actions.truncate(actions);
        scene.until_ms = until;
        if self.autosave {
            browser::store_scene(&self.scene_key, &scene.to_fragment());
        }
        self.boot_from(scene);
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
                if let Some(masked) = last.masked.as_mut() {
                    masked.push_str(text);
                }
                last.ok &= ok;
            }
            None => entries.push(TermEntry { prompt: String::new(), line: String::new(), output: text.to_string(), masked: None, ok }),
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
        self.push_entry(TermEntry { prompt, line, output: step.output.clone(), masked: None, ok: step.exit_code == 0 });
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

    fn view_banner(&self) -> Html {
        match &self.banner {
            Some(text) => html! {
                <div class="banner" role="alert" data-testid="banner">
                    <span>{ text }</span>
                    <button class="ghost" onclick={self.handlers.dismiss_banner.clone()} aria-label="Dismiss">{"✕"}</button>
                </div>
            },
            None => html! {},
        }
    }

    fn view_lesson(&self) -> Html {
        let (Some(handle), Some(following)) = (&self.lesson, &self.scene.lesson) else { return html! {} };
        let h = &self.handlers;
        let actions = h.lesson_actions.clone();
        html! {
            <lesson_panel::LessonPanel
                lesson={handle.clone()}
                progress={Rc::new(following.progress.clone())}
                evaluation={self.evaluation.clone()}
                solving={self.runner.as_ref().is_some_and(|r| r.solving)}
                actions={actions}
                on_hint={h.show_hint.clone()}
                on_solve={h.show_me.clone()}
                on_reset_step={h.reset_step.clone()}
                on_restart={h.restart_lesson.clone()}
                on_leave={h.leave_lesson.clone()}
                on_pick={h.pick_lessons.clone()}
                on_link={h.lesson_link.clone()}
            />
        }
    }

    fn view_picker(&self) -> Html {
        if !self.picker {
            return html! {};
        }
        let cards: Vec<lesson_picker::Card> = lesson::builtin_sources()
            .iter()
            .filter_map(|(id, text)| lesson::parse(text, Some(id)).ok())
            .map(|l| lesson_picker::Card {
                done: self.done_lessons.contains(&l.id),
                id: l.id,
                title: l.title,
                summary: l.summary,
                steps: l.steps.len(),
                profile: lesson::profile_name(l.profile),
            })
            .collect();
        let h = &self.handlers;
        html! {
            <lesson_picker::LessonPicker
                cards={Rc::new(cards)}
                error={self.picker_error.clone()}
                on_pick={h.pick_lesson.clone()}
                on_custom={h.open_custom_lesson.clone()}
                on_error={h.custom_lesson_error.clone()}
                on_close={h.close_lessons.clone()}
            />
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
