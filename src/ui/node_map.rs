//! A big cluster's nodes as a dense map on a canvas: one square per node,
//! coloured by its state, filled from the bottom as its requests fill it,
//! marked when a pod on it is failing or it is cordoned. Clicking a square
//! opens that node's card. Drawing 5,000 squares costs a few milliseconds;
//! a frame redraws only the squares of the nodes whose view data changed.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

use crate::view::topology::{NodeView, Readiness, TopologyView};

/// Widest the map is drawn, in CSS pixels.
const MAP_WIDTH: f64 = 640.0;
const GAP: f64 = 2.0;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: Rc<TopologyView>,
    /// The node whose card is open.
    pub zoomed: Option<String>,
    pub on_zoom: Callback<Option<String>>,
}

/// Square size and columns for `count` nodes.
fn layout(count: usize) -> (f64, usize) {
    let cell = match count {
        0..=200 => 18.0,
        201..=800 => 12.0,
        801..=2_500 => 8.0,
        _ => 6.0,
    };
    let columns = ((MAP_WIDTH / (cell + GAP)).floor() as usize).max(1);
    (cell, columns)
}

/// How full a node is: the larger of its CPU and memory requests' share.
fn fullness(n: &NodeView) -> f64 {
    let share = |used: i64, total: i64| if total > 0 { used as f64 / total as f64 } else { 0.0 };
    share(n.cpu_requested_millis, n.cpu_allocatable_millis).max(share(n.memory_requested_bytes, n.memory_allocatable_bytes)).clamp(0.0, 1.0)
}

fn state_class(n: &NodeView) -> &'static str {
    if !n.powered() {
        return "off";
    }
    match n.readiness {
        Readiness::Ready => "ready",
        Readiness::NotReady => "notready",
        Readiness::Unknown => "unknown",
        Readiness::NotRegistered => "unregistered",
    }
}

/// One line about a node, for the hover line and the canvas's title.
pub fn describe(n: &NodeView) -> String {
    let percent = |used: i64, total: i64| if total > 0 { used * 100 / total } else { 0 };
    let failing = n.pods.iter().filter(|p| p.tone() == "bad").count();
    format!(
        "{} · {}{}{} · {} pods{} · cpu {}% · memory {}%",
        n.name,
        n.readiness.label(),
        if n.powered() { "" } else { " (powered off)" },
        if n.cordoned { " · SchedulingDisabled" } else { "" },
        n.pods.len(),
        if failing > 0 { format!(" ({failing} failing)") } else { String::new() },
        percent(n.cpu_requested_millis, n.cpu_allocatable_millis),
        percent(n.memory_requested_bytes, n.memory_allocatable_bytes),
    )
}

struct Palette {
    ready: String,
    bad: String,
    wait: String,
    unknown: String,
    muted: String,
    text: String,
    accent: String,
    panel: String,
}

thread_local! {
    /// The palette read for a theme: reading computed styles forces the
    /// browser to recompute them, too costly for every frame.
    static PALETTE: std::cell::RefCell<Option<(String, Rc<Palette>)>> = const { std::cell::RefCell::new(None) };
}

fn palette(canvas: &HtmlCanvasElement) -> Rc<Palette> {
    let theme = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("data-theme"))
        .unwrap_or_default();
    if let Some(cached) = PALETTE.with(|p| p.borrow().as_ref().filter(|(t, _)| *t == theme).map(|(_, p)| p.clone())) {
        return cached;
    }
    let read = Rc::new(read_palette(canvas));
    PALETTE.with(|p| *p.borrow_mut() = Some((theme, read.clone())));
    read
}

fn read_palette(canvas: &HtmlCanvasElement) -> Palette {
    let style = web_sys::window().and_then(|w| w.get_computed_style(canvas).ok().flatten());
    let var = |name: &str, fallback: &str| {
        style.as_ref().and_then(|s| s.get_property_value(name).ok()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).unwrap_or_else(|| fallback.to_string())
    };
    Palette {
        ready: var("--ok", "#1f8f4e"),
        bad: var("--bad", "#c9302c"),
        wait: var("--wait", "#a86b00"),
        unknown: var("--unknown", "#6b6f80"),
        muted: var("--muted", "#5d6b80"),
        text: var("--text", "#1b2330"),
        accent: var("--accent", "#326ce5"),
        panel: var("--panel-2", "#eef1f6"),
    }
}

/// What the canvas shows now: the node views drawn (by `Rc`), the node
/// zoomed into and the palette.
type Drawn = Option<(Vec<Rc<NodeView>>, Option<String>, Rc<Palette>)>;

/// Draws the map; with what was drawn before on the same layout, only the
/// squares whose node changed (most frames touch a few nodes of thousands).
fn draw(canvas: &HtmlCanvasElement, nodes: &[Rc<NodeView>], zoomed: Option<&str>, drawn: &mut Drawn) {
    let Some(ctx) = canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok()) else { return };
    let colors = palette(canvas);
    let (cell, columns) = layout(nodes.len());
    let previous = match drawn.take() {
        Some((prev, z, p)) if prev.len() == nodes.len() && Rc::ptr_eq(&p, &colors) => Some((prev, z)),
        _ => None,
    };
    if previous.is_none() {
        ctx.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    }
    let changed: Vec<usize> = (0..nodes.len())
        .filter(|&i| {
            let n = &nodes[i];
            !previous.as_ref().is_some_and(|(prev, z)| {
                let was_zoomed = z.as_deref() == Some(n.name.as_str());
                Rc::ptr_eq(&prev[i], n) && was_zoomed == (zoomed == Some(n.name.as_str()))
            })
        })
        .collect();
    draw_squares(&ctx, &colors, nodes, &changed, cell, columns, zoomed);
    *drawn = Some((nodes.to_vec(), zoomed.map(str::to_string), colors));
}

/// A square's colour: its node's state.
fn state_color<'a>(colors: &'a Palette, n: &NodeView) -> &'a str {
    match state_class(n) {
        "ready" => &colors.ready,
        "notready" => &colors.bad,
        "off" => &colors.text,
        "unknown" => &colors.unknown,
        _ => &colors.muted,
    }
}

/// The marker in a square's corner: a failing pod on the node, else one waiting.
fn marker_color<'a>(colors: &'a Palette, n: &NodeView) -> Option<&'a str> {
    if n.pods.iter().any(|p| p.tone() == "bad") {
        Some(&colors.bad)
    } else if n.pods.iter().any(|p| p.tone() == "wait") {
        Some(&colors.wait)
    } else {
        None
    }
}

/// The squares `which` of `nodes` grouped by the colour `color_of` gives
/// each (none: not drawn), in the order of each colour's first square.
fn by_color<'p>(nodes: &[Rc<NodeView>], which: &[usize], color_of: impl Fn(&NodeView) -> Option<&'p str>) -> Vec<(&'p str, Vec<usize>)> {
    let mut groups: Vec<(&'p str, Vec<usize>)> = Vec::new();
    for &i in which {
        let Some(color) = color_of(&nodes[i]) else { continue };
        match groups.iter_mut().find(|(c, _)| *c == color) {
            Some((_, members)) => members.push(i),
            None => groups.push((color, vec![i])),
        }
    }
    groups
}

/// Draws the squares `which` of `nodes`. Squares do not overlap, so each
/// layer (background, state tint, fullness bar, marker, strokes) is drawn
/// for all of them before the next, one colour at a time: a square ends as
/// if drawn alone, and the canvas's colour, a text each call turns into a
/// JavaScript string, is set a few times a redraw rather than two or three
/// times a square (redrawing 1,000 squares was a third of a click's answer).
fn draw_squares(ctx: &CanvasRenderingContext2d, colors: &Palette, nodes: &[Rc<NodeView>], which: &[usize], cell: f64, columns: usize, zoomed: Option<&str>) {
    if which.is_empty() {
        return;
    }
    let pitch = cell + GAP;
    let at = |i: usize| ((i % columns) as f64 * pitch, (i / columns) as f64 * pitch);
    ctx.set_fill_style_str(&colors.panel);
    for &i in which {
        let (x, y) = at(i);
        ctx.clear_rect(x, y, cell, cell);
        ctx.fill_rect(x, y, cell, cell);
    }
    let states = by_color(nodes, which, |n| Some(state_color(colors, n)));
    ctx.set_global_alpha(0.3);
    for (color, members) in &states {
        ctx.set_fill_style_str(color);
        for &i in members {
            let (x, y) = at(i);
            ctx.fill_rect(x, y, cell, cell);
        }
    }
    ctx.set_global_alpha(1.0);
    for (color, members) in &states {
        ctx.set_fill_style_str(color);
        for &i in members {
            let filled = (cell * fullness(&nodes[i])).round();
            if filled > 0.0 {
                let (x, y) = at(i);
                ctx.fill_rect(x, y + cell - filled, cell, filled);
            }
        }
    }
    let marker = (cell / 3.0).max(2.0);
    for (color, members) in by_color(nodes, which, |n| marker_color(colors, n)) {
        ctx.set_fill_style_str(color);
        for i in members {
            let (x, y) = at(i);
            ctx.fill_rect(x + cell - marker, y, marker, marker);
        }
    }
    for &i in which {
        let n = &nodes[i];
        let (x, y) = at(i);
        if n.cordoned {
            ctx.set_stroke_style_str(&colors.text);
            ctx.set_line_width(1.0);
            ctx.begin_path();
            ctx.move_to(x, y + cell);
            ctx.line_to(x + cell, y);
            ctx.stroke();
        }
        if zoomed == Some(n.name.as_str()) {
            ctx.set_stroke_style_str(&colors.accent);
            ctx.set_line_width(2.0);
            ctx.stroke_rect(x + 1.0, y + 1.0, cell - 2.0, cell - 2.0);
        }
    }
}

/// The map's nodes, equal when every node view is the same one: the map is
/// not redrawn when only the control plane or the Pending lane changed.
#[derive(Clone)]
struct Nodes(Rc<TopologyView>);

impl PartialEq for Nodes {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0) || (self.0.nodes.len() == other.0.nodes.len() && self.0.nodes.iter().zip(&other.0.nodes).all(|(a, b)| Rc::ptr_eq(a, b)))
    }
}

#[function_component]
pub fn NodeMap(props: &Props) -> Html {
    super::browser::mark("node-map");
    let canvas = use_node_ref();
    let hovered = use_state(|| None::<usize>);
    let nodes = &props.view.nodes;
    let (cell, columns) = layout(nodes.len());
    let pitch = cell + GAP;
    let rows = nodes.len().div_ceil(columns).max(1);
    let (width, height) = ((columns.min(nodes.len().max(1))) as f64 * pitch, rows as f64 * pitch);
    let drawn = use_mut_ref(|| None as Drawn);
    {
        let canvas = canvas.clone();
        use_effect_with((Nodes(props.view.clone()), props.zoomed.clone()), move |(view, zoomed)| {
            super::browser::mark("map-draw");
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                draw(&c, &view.0.nodes, zoomed.as_deref(), &mut drawn.borrow_mut());
            }
        });
    }
    // Which square a pointer event is over, from where it is on the canvas.
    let index_at = {
        let canvas = canvas.clone();
        let count = nodes.len();
        move |e: &MouseEvent| -> Option<usize> {
            let c = canvas.cast::<HtmlCanvasElement>()?;
            let scale = if c.client_width() > 0 { c.width() as f64 / c.client_width() as f64 } else { 1.0 };
            let (x, y) = (e.offset_x() as f64 * scale, e.offset_y() as f64 * scale);
            let (col, row) = ((x / pitch).floor(), (y / pitch).floor());
            if col < 0.0 || row < 0.0 || col as usize >= columns {
                return None;
            }
            let i = row as usize * columns + col as usize;
            (i < count).then_some(i)
        }
    };
    let onclick = {
        let (index_at, on_zoom, view) = (index_at.clone(), props.on_zoom.clone(), props.view.clone());
        Callback::from(move |e: MouseEvent| {
            if let Some(n) = index_at(&e).and_then(|i| view.nodes.get(i)) {
                on_zoom.emit(Some(n.name.clone()));
            }
        })
    };
    let onmousemove = {
        let hovered = hovered.clone();
        Callback::from(move |e: MouseEvent| {
            let i = index_at(&e);
            if *hovered != i {
                hovered.set(i);
            }
        })
    };
    let onmouseleave = {
        let hovered = hovered.clone();
        Callback::from(move |_: MouseEvent| hovered.set(None))
    };
    let line = hovered.and_then(|i| nodes.get(i)).map(|n| describe(n)).unwrap_or_else(|| "Point at a node to see it; click to open it.".to_string());
    let counts = |state: &str| nodes.iter().filter(|n| state_class(n) == state).count();
    html! {
        <div class="node-map" aria-label="Node map">
            <canvas ref={canvas} data-testid="node-map" data-nodes={nodes.len().to_string()} data-columns={columns.to_string()}
                data-pitch={pitch.to_string()} width={width.to_string()} height={height.to_string()}
                role="img" aria-label={format!("Map of {} nodes", nodes.len())}
                {onclick} {onmousemove} {onmouseleave}></canvas>
            <p class="map-line small" data-testid="map-line">{ line }</p>
            <p class="map-legend small muted">
                <span class="swatch ready"></span>{ format!("Ready {} ", counts("ready")) }
                <span class="swatch notready"></span>{ format!("NotReady {} ", counts("notready")) }
                <span class="swatch unknown"></span>{ format!("Unknown {} ", counts("unknown")) }
                <span class="swatch off"></span>{ format!("powered off {} ", counts("off")) }
                {" · fill: requested share · corner: a pod failing (red) or starting (amber) · slash: cordoned"}
            </p>
        </div>
    }
}
