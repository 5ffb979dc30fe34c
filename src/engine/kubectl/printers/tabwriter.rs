//! Go's `text/tabwriter`, which every kubectl table and `describe` goes
//! through. Written here rather than taken from a crate because output must
//! match Go's exactly: cells are tab-terminated, the text after a line's last
//! tab belongs to no column, and a column's width is set per block of
//! consecutive lines that have a cell in it (that is what lines up
//! `QoS Class:` with the volume fields above it in `describe pod`).

/// Settings of one writer: `get` uses minwidth 6, padding 3; `describe`
/// uses minwidth 0, padding 2.
#[derive(Clone, Copy, Debug)]
pub struct TabWriter {
    pub min_width: usize,
    pub padding: usize,
}

/// kubectl's table printer (`printers.GetNewTabWriter`).
pub const TABLE: TabWriter = TabWriter { min_width: 6, padding: 3 };
/// kubectl describe's `tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)`.
pub const DESCRIBE: TabWriter = TabWriter { min_width: 0, padding: 2 };

impl TabWriter {
    /// Aligns `text` (lines of tab-terminated cells) and returns it.
    pub fn format(&self, text: &str) -> String {
        let mut lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
        // A trailing newline ends the last line; it does not start another.
        if text.ends_with('\n') {
            lines.pop();
        }
        let mut out = String::with_capacity(text.len() * 2);
        let mut widths = Vec::new();
        self.format_block(&lines, 0, lines.len(), &mut widths, &mut out);
        if !text.ends_with('\n') && out.ends_with('\n') {
            out.pop();
        }
        out
    }

    fn format_block(&self, lines: &[Vec<&str>], mut line0: usize, line1: usize, widths: &mut Vec<usize>, out: &mut String) {
        let column = widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            // A cell in this column: lines before it are complete.
            write_lines(lines, line0, this, widths, out);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(cell_width(lines[this][column]) + self.padding);
                this += 1;
            }
            widths.push(width);
            self.format_block(lines, line0, this, widths, out);
            widths.pop();
            line0 = this;
        }
        write_lines(lines, line0, line1, widths, out);
    }
}

impl TabWriter {
    /// The text of several flushes of kubectl's tabwriter, which is Go's
    /// with `RememberWidths` (what a watch prints through): each flush is
    /// aligned alone, but a column never narrows below the width an earlier
    /// flush gave it. For tables whose lines all have the same cells.
    pub fn format_remembering_widths(&self, flushes: &[String]) -> String {
        let mut remembered: Vec<usize> = Vec::new();
        let mut out = String::new();
        for text in flushes {
            let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
            let columns = lines.iter().map(|l| l.len().saturating_sub(1)).max().unwrap_or(0);
            for column in 0..columns {
                let width = lines.iter().filter(|l| column + 1 < l.len()).map(|l| cell_width(l[column]) + self.padding).max().unwrap_or(0).max(self.min_width);
                match remembered.get_mut(column) {
                    Some(w) => *w = (*w).max(width),
                    None => remembered.push(width),
                }
            }
            write_lines(&lines, 0, lines.len(), &remembered, &mut out);
        }
        out
    }
}

fn cell_width(cell: &str) -> usize {
    cell.chars().count()
}

fn write_lines(lines: &[Vec<&str>], line0: usize, line1: usize, widths: &[usize], out: &mut String) {
    for line in &lines[line0..line1] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() {
                if let Some(&w) = widths.get(j) {
                    for _ in cell_width(cell)..w {
                        out.push(' ');
                    }
                }
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_like_kubectl_tables() {
        let text = "NAME\tSTATUS\tAGE\ndefault\tActive\t1m\nkube-node-lease\tActive\t1m\n";
        assert_eq!(
            TABLE.format(text),
            "NAME              STATUS   AGE\ndefault           Active   1m\nkube-node-lease   Active   1m\n"
        );
    }

    #[test]
    fn narrow_columns_keep_the_minimum_width() {
        assert_eq!(TABLE.format("A\tB\nx\ty\n"), "A     B\nx     y\n");
    }

    #[test]
    fn a_watch_widens_columns_and_never_narrows_them() {
        // kubectl 1.33's `events -w` against a stub server printed these.
        let flushes = ["LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE\n42m\tNormal\tPulled\tPod/a\tSuccessfully pulled image\n", "24h\tWarning\tBackOff\tPod/zzzzzzzzzzzzzzzzzz\tx\n", "42m\tNormal\tStarted\tPod/a\tok\n"].map(String::from);
        assert_eq!(
            TABLE.format_remembering_widths(&flushes),
            "LAST SEEN   TYPE     REASON   OBJECT   MESSAGE\n42m         Normal   Pulled   Pod/a    Successfully pulled image\n24h         Warning   BackOff   Pod/zzzzzzzzzzzzzzzzzz   x\n42m         Normal    Started   Pod/a                    ok\n"
        );
    }

    #[test]
    fn lines_without_tabs_end_a_column_block() {
        let text = "Name:\tx\nIPs:\n  IP:\t10.0.0.1\nControlled By:\tReplicaSet/x\n";
        assert_eq!(DESCRIBE.format(text), "Name:  x\nIPs:\n  IP:           10.0.0.1\nControlled By:  ReplicaSet/x\n");
    }
}
