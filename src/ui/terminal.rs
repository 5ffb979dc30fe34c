//! The kubectl terminal: a line in (with or without `kubectl`), its output
//! below; ↑/↓ walk the history, Tab completes verbs, kinds, flags and names.
//! It also takes the script lines `stop`/`start COMPONENT` and `sleep DURATION`,
//! as `miniplane script` does, and lesson text can put a line at its prompt.
//!
//! A command can keep the terminal: a shell in a container (`exec -it`,
//! `run -it`) shows its prompt and takes the lines typed until `exit`
//! (Ctrl-D too); followed output (`logs -f`) keeps coming until Ctrl-C.
//! The app holds that state; this component only shows it.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::ClusterHandle;
use crate::view::complete;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermEntry {
    /// What was shown before the line: `$ `, or a container shell's prompt.
    pub prompt: String,
    pub line: String,
    pub output: String,
    /// The output with Secret values hidden, shown until revealed.
    pub masked: Option<String>,
    pub ok: bool,
}

#[derive(Properties, PartialEq)]
struct EntryProps {
    entry: TermEntry,
}

/// One command and its output; Secret values stay hidden until Reveal.
#[function_component]
fn Entry(props: &EntryProps) -> Html {
    let revealed = use_state(|| false);
    let e = &props.entry;
    let shown = match (&e.masked, *revealed) {
        (Some(masked), false) => masked.clone(),
        _ => e.output.clone(),
    };
    let toggle = {
        let revealed = revealed.clone();
        Callback::from(move |ev: MouseEvent| {
            ev.stop_propagation();
            revealed.set(!*revealed)
        })
    };
    html! {
        <div class={classes!("term-entry", (!e.ok).then_some("failed"))}>
            <div class="term-line"><span class="prompt">{ e.prompt.clone() }</span>{ e.line.clone() }
                if e.masked.is_some() {
                    <button class="ghost reveal" data-testid="reveal-secret" onclick={toggle}
                        title="Secret values are hidden so a shared screen does not show them">
                        { if *revealed { "Hide secrets" } else { "Reveal secrets" } }
                    </button>
                }
            </div>
            <pre class="term-out">{ shown }</pre>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub entries: Rc<Vec<TermEntry>>,
    pub cluster: ClusterHandle,
    pub on_run: Callback<String>,
    /// (generation, line): a new generation puts the line at the prompt.
    #[prop_or_default]
    pub paste: (u64, Rc<String>),
    /// Ctrl-C.
    pub on_interrupt: Callback<()>,
    /// A container shell's prompt while one is open.
    #[prop_or_default]
    pub prompt: Option<String>,
    /// Output is being followed: typing waits for Ctrl-C.
    #[prop_or_default]
    pub following: bool,
}

#[function_component]
pub fn Terminal(props: &Props) -> Html {
    super::browser::mark("terminal");
    let input = use_state(String::new);
    // Lines run, oldest first, and the position while walking them.
    let history = use_mut_ref(Vec::<String>::new);
    let cursor = use_mut_ref(|| None::<usize>);
    let choices = use_state(Vec::<String>::new);
    let output_ref = use_node_ref();
    let input_ref = use_node_ref();
    let pasted = use_mut_ref(|| props.paste.0);
    if *pasted.borrow() != props.paste.0 {
        *pasted.borrow_mut() = props.paste.0;
        input.set((*props.paste.1).clone());
    }
    {
        let input_ref = input_ref.clone();
        use_effect_with(props.paste.0, move |generation| {
            if *generation > 0 {
                if let Some(el) = input_ref.cast::<HtmlInputElement>() {
                    let _ = el.focus();
                }
            }
        });
    }
    {
        let output_ref = output_ref.clone();
        use_effect_with(props.entries.clone(), move |_| {
            if let Some(el) = output_ref.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let on_input = {
        let input = input.clone();
        Callback::from(move |e: InputEvent| {
            let field: HtmlInputElement = e.target_unchecked_into();
            input.set(field.value());
        })
    };
    let on_keydown = {
        let (input, history, cursor, choices) = (input.clone(), history.clone(), cursor.clone(), choices.clone());
        let (on_run, cluster, on_interrupt) = (props.on_run.clone(), props.cluster.clone(), props.on_interrupt.clone());
        let in_shell = props.prompt.is_some();
        Callback::from(move |e: KeyboardEvent| {
            let field: HtmlInputElement = e.target_unchecked_into();
            let value = field.value();
            match e.key().as_str() {
                "c" if e.ctrl_key() => {
                    e.prevent_default();
                    input.set(String::new());
                    field.set_value("");
                    on_interrupt.emit(());
                }
                "d" if e.ctrl_key() && in_shell && value.is_empty() => {
                    e.prevent_default();
                    on_run.emit("exit".into());
                }
                "Tab" if in_shell => {
                    e.prevent_default();
                }
                "Enter" => {
                    e.prevent_default();
                    if !value.trim().is_empty() {
                        let mut h = history.borrow_mut();
                        if h.last() != Some(&value) {
                            h.push(value.clone());
                        }
                    }
                    *cursor.borrow_mut() = None;
                    choices.set(Vec::new());
                    input.set(String::new());
                    field.set_value("");
                    on_run.emit(value);
                }
                "ArrowUp" | "ArrowDown" => {
                    e.prevent_default();
                    let h = history.borrow();
                    if h.is_empty() {
                        return;
                    }
                    let mut c = cursor.borrow_mut();
                    let next = match (e.key().as_str(), *c) {
                        ("ArrowUp", None) => Some(h.len() - 1),
                        ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                        ("ArrowDown", Some(i)) if i + 1 < h.len() => Some(i + 1),
                        _ => None,
                    };
                    *c = next;
                    let line = next.map(|i| h[i].clone()).unwrap_or_default();
                    field.set_value(&line);
                    input.set(line);
                }
                "Tab" => {
                    e.prevent_default();
                    let completion = complete::complete(&cluster.0.borrow(), &value);
                    field.set_value(&completion.line);
                    input.set(completion.line);
                    choices.set(completion.choices);
                }
                "l" if e.ctrl_key() => {
                    e.prevent_default();
                    on_run.emit("clear".into());
                }
                _ => {
                    if !choices.is_empty() {
                        choices.set(Vec::new());
                    }
                }
            }
        })
    };
    let focus_input = {
        let input_ref = input_ref.clone();
        Callback::from(move |_: MouseEvent| {
            // Clicking the pane types into the prompt, unless text is being selected.
            let selecting = web_sys::window()
                .and_then(|w| w.get_selection().ok().flatten())
                .map(|s| !s.is_collapsed())
                .unwrap_or(false);
            if !selecting {
                if let Some(el) = input_ref.cast::<HtmlInputElement>() {
                    let _ = el.focus();
                }
            }
        })
    };
    html! {
        <div class="terminal" onclick={focus_input}>
            <div class="pane-title">
                <h2>{"Terminal"}</h2>
                <span class="muted">{
                    if props.following { "following output · Ctrl-C stops" }
                    else if props.prompt.is_some() { "a shell in a container · exit or Ctrl-D leaves" }
                    else { "kubectl 1.33 · stop/start · partition/heal · slow · etcdctl · sleep · traffic · curl · explain pod/NAME · Tab · ↑↓" }
                }</span>
            </div>
            <div class="terminal-output mono" data-testid="terminal-output" ref={output_ref} aria-live="polite">
                if props.entries.is_empty() {
                    <div class="muted">{"Try: kubectl get nodes   ·   get pods -A   ·   create deployment web --image=nginx --replicas=3"}</div>
                }
                { for props.entries.iter().enumerate().map(|(i, e)| html! {
                    <Entry key={format!("{}-{i}", props.entries.len())} entry={e.clone()} />
                }) }
            </div>
            if !choices.is_empty() {
                <div class="completions mono" aria-live="polite">{ choices.iter().take(60).cloned().collect::<Vec<_>>().join("  ") }</div>
            }
            <div class="terminal-input-row mono">
                <span class="prompt" data-testid="terminal-prompt">{ props.prompt.clone().unwrap_or_else(|| "$".to_string()) }</span>
                <input data-testid="terminal-input" ref={input_ref} class="terminal-input mono" type="text" value={(*input).clone()}
                    autocomplete="off" autocapitalize="off" spellcheck="false"
                    aria-label={ if props.prompt.is_some() { "shell command in the container" } else { "kubectl command" } }
                    placeholder={ if props.following { "Ctrl-C to stop following" } else if props.prompt.is_some() { "" } else { "kubectl get pods" } }
                    oninput={on_input} onkeydown={on_keydown} />
            </div>
        </div>
    }
}
