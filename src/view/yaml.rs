//! The YAML editor's logic, free of the browser: syntax highlighting,
//! splitting into documents, indentation on Enter, and placing error markers
//! at the line (and column) a YAML or API error is about.

/// What a highlighted piece of text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    Plain,
    Key,
    String,
    Number,
    /// `true`, `false`, `null`, `~`.
    Literal,
    Comment,
    /// `---` and `...` between documents.
    Separator,
    /// The `- ` of a list item, `|`, `>`, `&anchor`, `*alias`.
    Punctuation,
}

impl Token {
    /// The CSS class the editor overlay styles it with.
    pub fn class(self) -> &'static str {
        match self {
            Token::Plain => "tok-plain",
            Token::Key => "tok-key",
            Token::String => "tok-string",
            Token::Number => "tok-number",
            Token::Literal => "tok-literal",
            Token::Comment => "tok-comment",
            Token::Separator => "tok-separator",
            Token::Punctuation => "tok-punct",
        }
    }
}

/// One line of highlighted text; the spans put together are the line.
pub type Spans = Vec<(Token, String)>;

/// Highlights every line of `text` (a trailing newline yields a last empty line).
pub fn highlight(text: &str) -> Vec<Spans> {
    text.split('\n').map(highlight_line).collect()
}

/// Highlights one line. Block scalars are not tracked across lines: their
/// content reads as plain values, which is what a learner expects to see.
pub fn highlight_line(line: &str) -> Spans {
    let mut spans: Spans = Vec::new();
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    if !indent.is_empty() {
        spans.push((Token::Plain, indent.to_string()));
    }
    if trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "..." {
        spans.push((Token::Separator, trimmed.to_string()));
        return spans;
    }
    let mut rest = trimmed;
    while let Some(after) = rest.strip_prefix("- ").or_else(|| if rest == "-" { Some("") } else { None }) {
        spans.push((Token::Punctuation, rest[..rest.len() - after.len()].to_string()));
        rest = after;
    }
    if rest.starts_with('#') {
        spans.push((Token::Comment, rest.to_string()));
        return spans;
    }
    // A key is text up to the first `: ` (or a final `:`) outside quotes.
    if let Some(colon) = key_colon(rest) {
        spans.push((Token::Key, rest[..colon].to_string()));
        spans.push((Token::Punctuation, ":".to_string()));
        rest = &rest[colon + 1..];
        let value = rest.trim_start();
        let gap = &rest[..rest.len() - value.len()];
        if !gap.is_empty() {
            spans.push((Token::Plain, gap.to_string()));
        }
        rest = value;
    }
    push_value(&mut spans, rest);
    spans
}

fn key_colon(text: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && i == 0 => quote = Some(c),
            None if c == '#' && i > 0 && bytes[i - 1] == b' ' => return None,
            None if c == ':' && (i + 1 == text.len() || bytes[i + 1] == b' ') => return Some(i),
            None if c == '{' || c == '[' => return None,
            None => {}
        }
    }
    None
}

fn push_value(spans: &mut Spans, value: &str) {
    if value.is_empty() {
        return;
    }
    // A trailing comment: ` #` outside quotes.
    let (body, comment) = split_comment(value);
    let trimmed = body.trim_end();
    let trailing = &body[trimmed.len()..];
    if !trimmed.is_empty() {
        spans.push((classify_scalar(trimmed), trimmed.to_string()));
    }
    if !trailing.is_empty() {
        spans.push((Token::Plain, trailing.to_string()));
    }
    if let Some(comment) = comment {
        spans.push((Token::Comment, comment.to_string()));
    }
}

fn split_comment(value: &str) -> (&str, Option<&str>) {
    let mut quote: Option<char> = None;
    let bytes = value.as_bytes();
    for (i, c) in value.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && (i == 0 || bytes[i - 1] == b' ') => return (&value[..i], Some(&value[i..])),
            None => {}
        }
    }
    (value, None)
}

fn classify_scalar(value: &str) -> Token {
    match value {
        "true" | "false" | "True" | "False" | "null" | "Null" | "~" => return Token::Literal,
        "|" | ">" | "|-" | ">-" | "|+" | ">+" => return Token::Punctuation,
        _ => {}
    }
    if value.starts_with('&') || value.starts_with('*') {
        return Token::Punctuation;
    }
    if value.starts_with('"') || value.starts_with('\'') {
        return Token::String;
    }
    let numeric = value.strip_prefix('-').unwrap_or(value);
    if !numeric.is_empty() && numeric.chars().all(|c| c.is_ascii_digit() || c == '.') && numeric.chars().filter(|c| *c == '.').count() <= 1 {
        return Token::Number;
    }
    Token::String
}

/// One YAML document of the editor's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The document's first line in the whole text, from 0.
    pub first_line: usize,
    pub text: String,
}

impl Document {
    /// Whether the document holds anything but blank lines and comments.
    pub fn is_blank(&self) -> bool {
        self.text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
    }
}

/// Splits at `---` lines, as kubectl does, keeping each document's position.
pub fn split_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut first_line = 0;
    for (i, line) in text.split('\n').enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push(Document { first_line, text: std::mem::take(&mut current) });
            first_line = i + 1;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push(Document { first_line, text: current });
    docs
}

/// The text to insert when Enter is pressed with `line_before_cursor` on
/// the current line: a newline, the same indentation, two more spaces after
/// a `key:` that opens a block, and a new `- ` after a list item that has
/// a value.
pub fn newline_insertion(line_before_cursor: &str) -> String {
    let indent_len = line_before_cursor.len() - line_before_cursor.trim_start_matches(' ').len();
    let mut indent = " ".repeat(indent_len);
    let content = line_before_cursor.trim();
    let (_, comment) = split_comment(content);
    let content = match comment {
        Some(c) => content[..content.len() - c.len()].trim_end(),
        None => content,
    };
    let opens_block = |c: &str| c.ends_with(':') || c.ends_with('|') || c.ends_with('>') || c.ends_with("|-");
    if let Some(item) = content.strip_prefix("- ") {
        // Keys of a list item line up after its `- `.
        indent.push_str("  ");
        if opens_block(item) {
            indent.push_str("  ");
        }
    } else if opens_block(content) {
        indent.push_str("  ");
    }
    format!("\n{indent}")
}

/// A marker the editor draws at a line: a YAML error or an API error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// From 0, in the whole text.
    pub line: usize,
    /// From 0, when the error names one.
    pub column: Option<usize>,
    pub message: String,
    pub severity: Severity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    /// The document applied: `deployment.apps/web created`.
    Ok,
}

/// Checks a document's YAML syntax; on error, the (line, column) from 0
/// within the document and the parser's message.
pub fn syntax_error(doc: &str) -> Option<(usize, Option<usize>, String)> {
    match serde_yaml::from_str::<serde_yaml::Value>(doc) {
        Ok(_) => None,
        Err(e) => {
            let (line, column) = match e.location() {
                Some(loc) => (loc.line().saturating_sub(1), Some(loc.column().saturating_sub(1))),
                None => (0, None),
            };
            let message = e.to_string();
            // serde_yaml appends " at line X column Y"; the marker says it already.
            let message = match message.find(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            Some((line, column, format!("YAML: {message}")))
        }
    }
}

/// Where an API error's field path (`spec.template.spec.containers[0].image`)
/// is written in a document: the line of the deepest part of the path that
/// the document has (a missing field is reported at its parent), from 0.
pub fn locate_field(doc: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = doc.split('\n').collect();
    let mut range = (0, lines.len());
    // Keys inside the current node sit right of this column.
    let mut parent_column: Option<usize> = None;
    let mut found: Option<usize> = None;
    for segment in parse_path(path) {
        let step = match &segment {
            Segment::Key(key) => find_key(&lines, range, parent_column, key),
            Segment::Index(index) => find_item(&lines, range, parent_column, *index),
        };
        let Some((line, column, end)) = step else { break };
        found = Some(line);
        range = (line, end);
        parent_column = Some(column);
        if let Segment::Key(_) = segment {
            // The key's own line is not part of its value's range, unless
            // the value is a list item starting with `- key:` on that line.
            range.0 = line + 1;
        }
    }
    found
}

enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut part = part;
        let name_end = part.find('[').unwrap_or(part.len());
        if name_end > 0 {
            out.push(Segment::Key(part[..name_end].to_string()));
        }
        part = &part[name_end..];
        while let Some(rest) = part.strip_prefix('[') {
            let Some(close) = rest.find(']') else { break };
            let inside = &rest[..close];
            match inside.parse::<usize>() {
                Ok(i) => out.push(Segment::Index(i)),
                // `metadata.labels[app]`-style map keys.
                Err(_) => out.push(Segment::Key(inside.trim_matches('"').to_string())),
            }
            part = &rest[close + 1..];
        }
    }
    out
}

/// A line's content column, skipping `- ` list markers; None for blank lines and comments.
fn content_column(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let mut column = line.len() - trimmed.len();
    let mut rest = trimmed;
    while let Some(after) = rest.strip_prefix("- ") {
        let after_trim = after.trim_start();
        column += rest.len() - after_trim.len();
        rest = after_trim;
    }
    Some(column)
}

fn indent_of(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Some(line.len() - trimmed.len())
}

/// Finds `key:` right of `parent` in `range`, at the shallowest column.
/// Returns the line, the key's column and where its block ends.
fn find_key(lines: &[&str], range: (usize, usize), parent: Option<usize>, key: &str) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate().take(range.1).skip(range.0) {
        let Some(column) = content_column(line) else { continue };
        if parent.is_some_and(|p| column <= p) {
            continue;
        }
        let text = &line[column..];
        let matches = text.strip_prefix(key).is_some_and(|after| after.starts_with(':'))
            || text.strip_prefix(&format!("\"{key}\"")).is_some_and(|after| after.starts_with(':'));
        if matches && best.is_none_or(|(_, c)| column < c) {
            best = Some((i, column));
        }
    }
    let (line, column) = best?;
    Some((line, column, block_end(lines, line, column, range.1)))
}

/// Finds the `index`-th `- ` item right of (or at) `parent` in `range`.
fn find_item(lines: &[&str], range: (usize, usize), parent: Option<usize>, index: usize) -> Option<(usize, usize, usize)> {
    let mut dash_column: Option<usize> = None;
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate().take(range.1).skip(range.0) {
        let Some(indent) = indent_of(line) else { continue };
        let is_item = line[indent..].starts_with("- ") || line[indent..].trim_end() == "-";
        if !is_item || parent.is_some_and(|p| indent < p) {
            continue;
        }
        let column = *dash_column.get_or_insert(indent);
        if indent != column {
            continue;
        }
        if seen == index {
            // The item's keys sit right of its dash.
            let mut end = range.1;
            for (j, next) in lines.iter().enumerate().take(range.1).skip(i + 1) {
                if let Some(ind) = indent_of(next) {
                    if ind < column || (ind == column && next[ind..].starts_with('-')) {
                        end = j;
                        break;
                    }
                }
            }
            return Some((i, column, end));
        }
        seen += 1;
    }
    None
}

fn block_end(lines: &[&str], start: usize, column: usize, limit: usize) -> usize {
    for (j, next) in lines.iter().enumerate().take(limit).skip(start + 1) {
        if let Some(ind) = indent_of(next) {
            let content = content_column(next).unwrap_or(ind);
            // A sibling key, or a list at the key's own column (`- ` items
            // may sit at the parent key's indent) that is not ours.
            if content <= column && !(ind == column && next[ind..].starts_with("- ")) {
                return j;
            }
            if ind < column {
                return j;
            }
        }
    }
    limit
}

/// The field causes of an `is invalid:` message: (field path, message).
pub fn invalid_causes(stderr: &str) -> Vec<(String, String)> {
    let Some(i) = stderr.find(" is invalid: ") else { return Vec::new() };
    let rest = &stderr[i + " is invalid: ".len()..];
    rest.split("\n* ")
        .map(|s| s.trim().trim_start_matches("* "))
        .filter(|s| !s.is_empty())
        .filter_map(|cause| {
            let line = cause.lines().next().unwrap_or("");
            let (path, message) = line.split_once(": ")?;
            if path.contains(' ') {
                return None;
            }
            Some((path.to_string(), message.to_string()))
        })
        .collect()
}

/// A `line N` (and `column M`) an error message names, from 1 as printed.
pub fn line_in_message(message: &str) -> Option<(usize, Option<usize>)> {
    let i = message.find("line ")?;
    let digits: String = message[i + 5..].chars().take_while(|c| c.is_ascii_digit()).collect();
    let line = digits.parse().ok()?;
    let column = message[i..].find("column ").and_then(|j| {
        let d: String = message[i + j + 7..].chars().take_while(|c| c.is_ascii_digit()).collect();
        d.parse().ok()
    });
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(line: &str) -> Vec<(Token, &str)> {
        // Leak-free comparison helper: owned strings compared as &str.
        let spans = highlight_line(line);
        spans.into_iter().map(|(t, s)| (t, &*Box::leak(s.into_boxed_str()))).collect()
    }

    #[test]
    fn highlights_keys_values_and_comments() {
        assert_eq!(classes("  replicas: 3"), vec![(Token::Plain, "  "), (Token::Key, "replicas"), (Token::Punctuation, ":"), (Token::Plain, " "), (Token::Number, "3")]);
        assert_eq!(classes("- name: web # main"), vec![
            (Token::Punctuation, "- "), (Token::Key, "name"), (Token::Punctuation, ":"), (Token::Plain, " "), (Token::String, "web"), (Token::Plain, " "), (Token::Comment, "# main")
        ]);
        assert_eq!(classes("---"), vec![(Token::Separator, "---")]);
        assert_eq!(classes("image: \"nginx:1.27\""), vec![(Token::Key, "image"), (Token::Punctuation, ":"), (Token::Plain, " "), (Token::String, "\"nginx:1.27\"")]);
        assert_eq!(classes("x: true")[3], (Token::Literal, "true"));
        // The spans always rebuild the line exactly.
        for line in ["a: b: c", "  - - x", "'q: r': s", "url: http://x:80/y", "#c", "key:", "ünï: cödé"] {
            let joined: String = highlight_line(line).into_iter().map(|(_, s)| s).collect();
            assert_eq!(joined, line);
        }
    }

    #[test]
    fn splits_documents_keeping_line_numbers() {
        let docs = split_documents("a: 1\n---\nb: 2\nc: 3\n---\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].first_line, 2);
        assert_eq!(docs[1].text, "b: 2\nc: 3\n");
        assert!(docs[2].is_blank());
    }

    #[test]
    fn indents_after_enter() {
        assert_eq!(newline_insertion("spec:"), "\n  ");
        assert_eq!(newline_insertion("  replicas: 3"), "\n  ");
        assert_eq!(newline_insertion("  - name: web"), "\n    ");
        assert_eq!(newline_insertion("  - ports:"), "\n      ");
        assert_eq!(newline_insertion("    containers: # list"), "\n      ");
    }

    #[test]
    fn reports_yaml_syntax_errors_with_position() {
        let (line, column, message) = syntax_error("a: 1\nb: [\n").expect("error");
        assert!(line >= 1, "{line}");
        assert!(column.is_some());
        assert!(message.starts_with("YAML: "), "{message}");
        assert!(syntax_error("a: 1\n").is_none());
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx\n      - name: side\n        ports:\n        - containerPort: 80\n";

    #[test]
    fn finds_field_paths_in_a_document() {
        assert_eq!(locate_field(DEPLOYMENT, "metadata.name"), Some(3));
        assert_eq!(locate_field(DEPLOYMENT, "spec.replicas"), Some(5));
        assert_eq!(locate_field(DEPLOYMENT, "spec.template.spec.containers[0].image"), Some(13));
        assert_eq!(locate_field(DEPLOYMENT, "spec.template.spec.containers[1].name"), Some(14));
        assert_eq!(locate_field(DEPLOYMENT, "spec.template.spec.containers[1].ports[0].containerPort"), Some(16));
        // A missing field is reported at its parent.
        assert_eq!(locate_field(DEPLOYMENT, "spec.selector"), Some(4));
        assert_eq!(locate_field(DEPLOYMENT, "spec.template.metadata.labels[app]"), Some(9));
        assert_eq!(locate_field("", "spec"), None);
    }

    #[test]
    fn reads_causes_of_invalid_errors() {
        let one = "The Deployment \"x\" is invalid: spec.selector: Required value\n";
        assert_eq!(invalid_causes(one), vec![("spec.selector".to_string(), "Required value".to_string())]);
        let many = "The Pod \"p\" is invalid: \n* spec.containers[0].image: Required value\n* metadata.name: Invalid value: \"A\": a lowercase RFC 1123 subdomain\n";
        let causes = invalid_causes(many);
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[1].0, "metadata.name");
        assert_eq!(line_in_message("error converting YAML to JSON: yaml: line 7: mapping values"), Some((7, None)));
        assert_eq!(line_in_message("at line 3 column 9"), Some((3, Some(9))));
    }
}
