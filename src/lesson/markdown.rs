//! The Markdown that lesson text is written in: a documented subset of
//! CommonMark, parsed into plain data the page draws (and tests read).
//!
//! Hand-written rather than `pulldown-cmark` because that crate costs about
//! 80 KB of gzipped wasm (measured) for features lessons do not use; this
//! subset costs a few KB. What it understands:
//!
//! - blocks: paragraphs; `#`…`######` headings; fenced code (```` ``` ```` or
//!   `~~~`, with a language word); `-`, `*`, `+` and `1.` lists (one level;
//!   indented lines continue an item); `>` quotes;
//! - inline: `` `code` ``, `**strong**`, `*emphasis*` and `_emphasis_`,
//!   `[text](https://…)` links, and `\` escapes.
//!
//! Anything else is shown as the text it is, so nothing an author writes is lost.

/// A block of lesson text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    /// A fenced block: its language word (may be empty) and its text.
    Code { lang: String, text: String },
    List { ordered: bool, start: u32, items: Vec<Vec<Inline>> },
    Quote(Vec<Block>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    /// Only `http(s)://` targets become links; others stay text.
    Link { href: String, children: Vec<Inline> },
}

/// Parses Markdown text into blocks. Never fails: what is not understood stays text.
pub fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    parse_lines(&lines)
}

fn parse_lines(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some((fence, lang)) = fence_open(trimmed) {
            let indent = line.len() - trimmed.len();
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !is_fence_close(lines[i], fence) {
                body.push(strip_indent(lines[i], indent));
                i += 1;
            }
            i += 1; // the closing fence (or the end)
            let mut text = body.join("\n");
            if !body.is_empty() {
                text.push('\n');
            }
            blocks.push(Block::Code { lang, text });
            continue;
        }
        if let Some((level, title)) = heading(trimmed) {
            blocks.push(Block::Heading(level, inline(title)));
            i += 1;
            continue;
        }
        if trimmed.starts_with('>') {
            let mut inner = Vec::new();
            while i < lines.len() {
                let t = lines[i].trim_start();
                let Some(rest) = t.strip_prefix('>') else { break };
                inner.push(rest.strip_prefix(' ').unwrap_or(rest));
                i += 1;
            }
            blocks.push(Block::Quote(parse_lines(&inner)));
            continue;
        }
        if let Some((ordered, start, _)) = list_marker(trimmed) {
            let mut items: Vec<String> = Vec::new();
            while i < lines.len() {
                let l = lines[i];
                let t = l.trim_start();
                if t.is_empty() {
                    // A blank line ends the list unless an item or an indented continuation follows.
                    let next = lines.get(i + 1).copied().unwrap_or("");
                    let next_t = next.trim_start();
                    if list_marker(next_t).is_some_and(|(o, _, _)| o == ordered) || (!next_t.is_empty() && next.len() - next_t.len() >= 2 && !items.is_empty()) {
                        i += 1;
                        continue;
                    }
                    break;
                }
                match list_marker(t) {
                    Some((o, _, content)) if o == ordered => items.push(content.to_string()),
                    _ if !items.is_empty() && (l.len() - t.len() >= 2 || !starts_block(t)) => {
                        if let Some(last) = items.last_mut() {
                            last.push(' ');
                            last.push_str(t);
                        }
                    }
                    _ => break,
                }
                i += 1;
            }
            blocks.push(Block::List { ordered, start, items: items.iter().map(|t| inline(t)).collect() });
            continue;
        }
        let mut para = Vec::new();
        while i < lines.len() {
            let t = lines[i].trim_start();
            if t.is_empty() || (!para.is_empty() && starts_block(t)) {
                break;
            }
            para.push(t.trim_end());
            i += 1;
        }
        blocks.push(Block::Paragraph(inline(&para.join("\n"))));
    }
    blocks
}

/// Whether a line begins a block other than a paragraph (so it ends one).
fn starts_block(t: &str) -> bool {
    fence_open(t).is_some() || heading(t).is_some() || t.starts_with('>') || list_marker(t).is_some()
}

/// ```` ```lang ```` or `~~~lang` → (fence characters, language word).
fn fence_open(t: &str) -> Option<(&'static str, String)> {
    let fence = if t.starts_with("```") {
        "```"
    } else if t.starts_with("~~~") {
        "~~~"
    } else {
        return None;
    };
    let info = t.trim_start_matches(fence.chars().next().unwrap_or('`')).trim();
    if fence == "```" && info.contains('`') {
        return None;
    }
    Some((fence, info.split_whitespace().next().unwrap_or("").to_string()))
}

fn is_fence_close(line: &str, fence: &str) -> bool {
    let t = line.trim();
    t.starts_with(fence) && t.chars().all(|c| Some(c) == fence.chars().next())
}

fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    &line[spaces.min(indent)..]
}

fn heading(t: &str) -> Option<(u8, &str)> {
    let hashes = t.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &t[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((hashes as u8, rest.trim().trim_end_matches('#').trim_end()))
}

/// `- item`, `* item`, `+ item`, `3. item`, `3) item` → (ordered, start, content).
fn list_marker(t: &str) -> Option<(bool, u32, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some((false, 1, rest.trim_start()));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = &t[digits..];
    let rest = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") "))?;
    let start = t[..digits].parse().ok()?;
    Some((true, start, rest.trim_start()))
}

/// Parses inline markup of one paragraph or item.
pub fn inline(text: &str) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    parse_inline(&chars, &mut out);
    out
}

fn push_text(out: &mut Vec<Inline>, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Inline::Text(last)) = out.last_mut() {
        last.push_str(s);
    } else {
        out.push(Inline::Text(s.to_string()));
    }
}

fn parse_inline(chars: &[char], out: &mut Vec<Inline>) {
    let mut text = String::new();
    let mut i = 0;
    let flush = |text: &mut String, out: &mut Vec<Inline>| {
        push_text(out, text);
        text.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                text.push(chars[i + 1]);
                i += 2;
            }
            '\n' => {
                text.push(' ');
                i += 1;
            }
            '`' => {
                let run = count_run(chars, i, '`');
                match find_run(chars, i + run, '`', run) {
                    Some(end) => {
                        flush(&mut text, out);
                        let code: String = chars[i + run..end].iter().collect();
                        let code = code.replace('\n', " ");
                        let trimmed = if code.len() > 2 && code.starts_with(' ') && code.ends_with(' ') { code[1..code.len() - 1].to_string() } else { code };
                        out.push(Inline::Code(trimmed));
                        i = end + run;
                    }
                    None => {
                        text.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
            }
            '*' | '_' => {
                let run = count_run(chars, i, c).min(2);
                let opens = chars.get(i + run).is_some_and(|n| !n.is_whitespace());
                // `_` inside a word (snake_case) is text.
                let inside_word = c == '_' && i > 0 && chars[i - 1].is_alphanumeric();
                match (opens && !inside_word).then(|| find_closing(chars, i + run, c, run)).flatten() {
                    Some(end) => {
                        flush(&mut text, out);
                        let mut children = Vec::new();
                        parse_inline(&chars[i + run..end], &mut children);
                        out.push(if run == 2 { Inline::Strong(children) } else { Inline::Emphasis(children) });
                        i = end + run;
                    }
                    None => {
                        text.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
            }
            '[' => match link_at(chars, i) {
                Some((label_end, href, end)) => {
                    flush(&mut text, out);
                    let mut children = Vec::new();
                    parse_inline(&chars[i + 1..label_end], &mut children);
                    if href.starts_with("https://") || href.starts_with("http://") {
                        out.push(Inline::Link { href, children });
                    } else {
                        out.extend(children);
                    }
                    i = end;
                }
                None => {
                    text.push(c);
                    i += 1;
                }
            },
            _ => {
                text.push(c);
                i += 1;
            }
        }
    }
    flush(&mut text, out);
}

fn count_run(chars: &[char], at: usize, c: char) -> usize {
    chars[at..].iter().take_while(|&&x| x == c).count()
}

/// The start of the next run of exactly `len` × `c` from `from`.
fn find_run(chars: &[char], from: usize, c: char, len: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == c {
            let run = count_run(chars, j, c);
            if run == len {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// Where an emphasis run of `len` × `c` opened before `from` closes: a run of
/// at least `len` not preceded by white space, skipping code spans.
fn find_closing(chars: &[char], from: usize, c: char, len: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '`' => {
                let run = count_run(chars, j, '`');
                j = find_run(chars, j + run, '`', run).map_or(j + run, |e| e + run);
            }
            x if x == c => {
                let run = count_run(chars, j, c);
                let after_word = c == '_' && chars.get(j + run).is_some_and(|n| n.is_alphanumeric());
                if run >= len && j > from && !chars[j - 1].is_whitespace() && !after_word {
                    return Some(j);
                }
                j += run;
            }
            _ => j += 1,
        }
    }
    None
}

/// `[label](href)` at `at` → (index of `]`, href, index after `)`).
fn link_at(chars: &[char], at: usize) -> Option<(usize, String, usize)> {
    let mut depth = 0;
    let mut j = at;
    let label_end = loop {
        match chars.get(j)? {
            '\\' => j += 1,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
            }
            _ => {}
        }
        j += 1;
    };
    if chars.get(label_end + 1) != Some(&'(') {
        return None;
    }
    let close = chars[label_end + 2..].iter().position(|&c| c == ')')? + label_end + 2;
    let href: String = chars[label_end + 2..close].iter().collect();
    let href = href.trim();
    if href.is_empty() || href.contains(char::is_whitespace) {
        return None;
    }
    Some((label_end, href.to_string(), close + 1))
}

/// The plain text of inline content (for titles and tests).
pub fn plain(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text(t) | Inline::Code(t) => s.push_str(t),
            Inline::Strong(c) | Inline::Emphasis(c) | Inline::Link { children: c, .. } => s.push_str(&plain(c)),
        }
    }
    s
}

/// Whether a line of code is something the terminal runs (so the page
/// offers to copy it there): a kubectl command or a script line.
pub fn is_terminal_line(line: &str) -> bool {
    let line = line.trim();
    let first = line.split_whitespace().next().unwrap_or("");
    matches!(first, "kubectl" | "stop" | "start" | "sleep") && line.len() > first.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Inline {
        Inline::Text(s.into())
    }

    #[test]
    fn blocks() {
        let md = "# Title\n\nA *first* paragraph\nwith two lines.\n\n```sh\nkubectl get pods\n```\n\n- one\n- two `x`\n  continued\n\n1. a\n2. b\n\n> Note: **this**\n";
        let blocks = parse(md);
        assert_eq!(blocks[0], Block::Heading(1, vec![t("Title")]));
        assert_eq!(blocks[1], Block::Paragraph(vec![t("A "), Inline::Emphasis(vec![t("first")]), t(" paragraph with two lines.")]));
        assert_eq!(blocks[2], Block::Code { lang: "sh".into(), text: "kubectl get pods\n".into() });
        assert_eq!(blocks[3], Block::List { ordered: false, start: 1, items: vec![vec![t("one")], vec![t("two "), Inline::Code("x".into()), t(" continued")]] });
        assert_eq!(blocks[4], Block::List { ordered: true, start: 1, items: vec![vec![t("a")], vec![t("b")]] });
        assert_eq!(blocks[5], Block::Quote(vec![Block::Paragraph(vec![t("Note: "), Inline::Strong(vec![t("this")])])]));
        assert_eq!(blocks.len(), 6);
    }

    #[test]
    fn inlines() {
        assert_eq!(inline("see [the docs](https://kubernetes.io/docs/) now"), vec![t("see "), Inline::Link { href: "https://kubernetes.io/docs/".into(), children: vec![t("the docs")] }, t(" now")]);
        // Only web links become links.
        assert_eq!(inline("[x](javascript:alert(1))"), vec![t("x"), t(")")].into_iter().fold(Vec::new(), |mut v, i| {
            if let Inline::Text(s) = i {
                push_text(&mut v, &s);
            }
            v
        }));
        assert_eq!(inline("a snake_case_name and 2 * 3 * 4"), vec![t("a snake_case_name and 2 * 3 * 4")]);
        assert_eq!(inline("``a `b` c``"), vec![Inline::Code("a `b` c".into())]);
        assert_eq!(inline(r"\*not emphasis\*"), vec![t("*not emphasis*")]);
        assert_eq!(inline("**bold with `code`**"), vec![Inline::Strong(vec![t("bold with "), Inline::Code("code".into())])]);
        assert_eq!(inline("unclosed `tick and *star"), vec![t("unclosed `tick and *star")]);
    }

    #[test]
    fn any_text_parses_without_panicking() {
        let samples = ["", "`", "**", "[", "[a](", "[a]()", "> ", "```", "~~~\nx", "1.", "- ", "#", "####### seven", "é*ü*", "*\u{1F600}*", "\\", "_a_b_", "[[a](https://x)](y)"];
        for s in samples {
            let _ = parse(s);
            let _ = inline(s);
        }
        // Every prefix of a rich text parses too.
        let md = "# T\n- *a* `b` [c](https://d)\n> q\n```yaml\nk: v\n```\n1) x\n";
        for end in (0..=md.len()).filter(|&e| md.is_char_boundary(e)) {
            let _ = parse(&md[..end]);
        }
    }

    #[test]
    fn terminal_lines() {
        assert!(is_terminal_line("kubectl get pods"));
        assert!(is_terminal_line("stop scheduler"));
        assert!(!is_terminal_line("kubectl"));
        assert!(!is_terminal_line("apiVersion: v1"));
    }
}
