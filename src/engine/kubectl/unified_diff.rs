//! GNU diff's `diff -u` (diffutils 3.8) of two texts, line by line, for
//! `kubectl diff`: the same choice of changed lines (analyze.c: the
//! confusing lines discarded, gnulib's diffseq.h bisection, then
//! `shift_boundaries`), the same hunks (3 lines of context, changes at
//! most 6 unchanged lines apart in one hunk) and the same `@@` ranges.

use std::collections::BTreeMap;

/// diff's default context (`-u` is `-U 3`).
const CONTEXT: usize = 3;

/// The hunks of `diff -u` from `old` to `new` (no `---`/`+++` lines), or
/// `None` when the texts are equal. Both texts end their lines with `\n`
/// (YAML printers always do); a last line without one is compared as a line.
pub fn unified_hunks(old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    // Lines as equivalence classes, numbered as diff numbers them.
    let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut old_eq = Vec::with_capacity(old_lines.len());
    let mut new_eq = Vec::with_capacity(new_lines.len());
    for (lines, eq) in [(&old_lines, &mut old_eq), (&new_lines, &mut new_eq)] {
        for line in lines.iter() {
            let next = classes.len() + 1;
            eq.push(*classes.entry(*line).or_insert(next));
        }
    }
    let (old_changed, new_changed) = changed_lines(&old_eq, &new_eq);
    let changes = changes_from(&old_changed, &new_changed);
    if changes.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut first = 0;
    while first < changes.len() {
        // find_hunk: the next change joins while it starts within
        // 2 * CONTEXT lines of the end of the one before.
        let mut last = first;
        while last + 1 < changes.len() && changes[last].old_end() + 2 * CONTEXT + 1 > changes[last + 1].old_start {
            last += 1;
        }
        print_hunk(&mut out, &changes[first..=last], &old_lines, &new_lines);
        first = last + 1;
    }
    Some(out)
}

/// One change: `deleted` lines of the old text at `old_start` replaced by
/// `inserted` lines of the new one at `new_start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Change {
    old_start: usize,
    new_start: usize,
    deleted: usize,
    inserted: usize,
}

impl Change {
    fn old_end(&self) -> usize {
        self.old_start + self.deleted
    }
}

/// build_script: each run of changed lines in either text, paired by
/// walking both in step.
fn changes_from(old_changed: &[bool], new_changed: &[bool]) -> Vec<Change> {
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old_changed.len() || j < new_changed.len() {
        let old_run = old_changed[i..].iter().take_while(|c| **c).count();
        let new_run = new_changed[j..].iter().take_while(|c| **c).count();
        if old_run > 0 || new_run > 0 {
            changes.push(Change { old_start: i, new_start: j, deleted: old_run, inserted: new_run });
            i += old_run;
            j += new_run;
        } else {
            i += 1;
            j += 1;
        }
    }
    changes
}

fn print_hunk(out: &mut String, changes: &[Change], old_lines: &[&str], new_lines: &[&str]) {
    let (Some(head), Some(tail)) = (changes.first(), changes.last()) else { return };
    let old_first = head.old_start.saturating_sub(CONTEXT);
    let new_first = head.new_start.saturating_sub(CONTEXT);
    let old_last = (tail.old_end() + CONTEXT).min(old_lines.len());
    let new_last = (tail.new_start + tail.inserted + CONTEXT).min(new_lines.len());
    out.push_str(&format!("@@ -{} +{} @@\n", range(old_first, old_last), range(new_first, new_last)));
    let mut i = old_first;
    for change in changes {
        for line in old_lines.get(i..change.old_start).unwrap_or_default() {
            push_line(out, ' ', line);
        }
        for line in old_lines.get(change.old_start..change.old_end()).unwrap_or_default() {
            push_line(out, '-', line);
        }
        for line in new_lines.get(change.new_start..change.new_start + change.inserted).unwrap_or_default() {
            push_line(out, '+', line);
        }
        i = change.old_end();
    }
    for line in old_lines.get(i..old_last).unwrap_or_default() {
        push_line(out, ' ', line);
    }
}

/// print_unidiff_number_range: `first,count`, the line alone for one
/// line, the line before and `,0` for none.
fn range(first: usize, end: usize) -> String {
    match end - first.min(end) {
        0 => format!("{first},0"),
        1 => format!("{}", first + 1),
        count => format!("{},{count}", first + 1),
    }
}

fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// Which lines of each text diff marks changed.
fn changed_lines(old_eq: &[usize], new_eq: &[usize]) -> (Vec<bool>, Vec<bool>) {
    let mut old_changed = vec![false; old_eq.len()];
    let mut new_changed = vec![false; new_eq.len()];
    // io.c's find_identical_ends: diff reads past the lines both texts
    // begin and end with but for HORIZON of each, and compares (and
    // counts matches for discarding) only between them.
    const HORIZON: usize = CONTEXT;
    let prefix = old_eq.iter().zip(new_eq).take_while(|(a, b)| a == b).count();
    let most_suffix = old_eq.len().min(new_eq.len()) - prefix;
    let suffix = old_eq.iter().rev().zip(new_eq.iter().rev()).take(most_suffix).take_while(|(a, b)| a == b).count();
    let skip_front = prefix.saturating_sub(HORIZON);
    let skip_back = suffix.saturating_sub(HORIZON);
    let (Some(old_eq), Some(new_eq)) = (
        old_eq.get(skip_front..old_eq.len() - skip_back),
        new_eq.get(skip_front..new_eq.len() - skip_back),
    ) else {
        return (old_changed, new_changed);
    };
    let (old_region, new_region) = region_changes(old_eq, new_eq);
    for (all, region) in [(&mut old_changed, old_region), (&mut new_changed, new_region)] {
        for (k, c) in region.into_iter().enumerate() {
            if let Some(slot) = all.get_mut(skip_front + k) {
                *slot = c;
            }
        }
    }
    (old_changed, new_changed)
}

/// analyze.c's diff_2_files on the lines diff compares.
fn region_changes(old_eq: &[usize], new_eq: &[usize]) -> (Vec<bool>, Vec<bool>) {
    let mut old_changed = vec![false; old_eq.len()];
    let mut new_changed = vec![false; new_eq.len()];
    let old_kept = discard_confusing_lines(old_eq, new_eq, &mut old_changed);
    let new_kept = discard_confusing_lines(new_eq, old_eq, &mut new_changed);
    let old_undiscarded: Vec<usize> = old_kept.iter().filter_map(|&i| old_eq.get(i).copied()).collect();
    let new_undiscarded: Vec<usize> = new_kept.iter().filter_map(|&i| new_eq.get(i).copied()).collect();
    let mut seq = Bisection::new(&old_undiscarded, &new_undiscarded);
    seq.compare(0, old_undiscarded.len(), 0, new_undiscarded.len());
    for (k, &real) in old_kept.iter().enumerate() {
        if seq.old_changed.get(k).copied().unwrap_or(false) {
            if let Some(c) = old_changed.get_mut(real) {
                *c = true;
            }
        }
    }
    for (k, &real) in new_kept.iter().enumerate() {
        if seq.new_changed.get(k).copied().unwrap_or(false) {
            if let Some(c) = new_changed.get_mut(real) {
                *c = true;
            }
        }
    }
    shift_boundaries(old_eq, &mut old_changed, &new_changed);
    shift_boundaries(new_eq, &mut new_changed, &old_changed);
    (old_changed, new_changed)
}

/// analyze.c's discard_confusing_lines for one text: a line matching no
/// line of the other text is left out of the comparison (and changed); a
/// line matching many is left out only inside a run of such lines. Returns
/// the indexes of the lines kept.
fn discard_confusing_lines(eq: &[usize], other: &[usize], changed: &mut [bool]) -> Vec<usize> {
    const NONE: u8 = 0;
    const SURE: u8 = 1;
    const PROVISIONAL: u8 = 2;
    let mut other_count: BTreeMap<usize, usize> = BTreeMap::new();
    for class in other {
        *other_count.entry(*class).or_default() += 1;
    }
    let end = eq.len();
    let mut many = 5usize;
    let mut tem = end / 64;
    loop {
        tem >>= 2;
        if tem == 0 {
            break;
        }
        many *= 2;
    }
    let mut discards: Vec<u8> = eq
        .iter()
        .map(|class| match other_count.get(class).copied().unwrap_or(0) {
            0 => SURE,
            n if n > many => PROVISIONAL,
            _ => NONE,
        })
        .collect();
    let at = |d: &Vec<u8>, k: usize| d.get(k).copied().unwrap_or(NONE);
    let mut i = 0;
    while i < end {
        if at(&discards, i) == PROVISIONAL {
            discards[i] = NONE;
        } else if at(&discards, i) != NONE {
            let mut j = i;
            let mut provisional = 0usize;
            while j < end && at(&discards, j) != NONE {
                if at(&discards, j) == PROVISIONAL {
                    provisional += 1;
                }
                j += 1;
            }
            while j > i && at(&discards, j - 1) == PROVISIONAL {
                j -= 1;
                discards[j] = NONE;
                provisional -= 1;
            }
            let length = j - i;
            if provisional * 4 > length {
                while j > i {
                    j -= 1;
                    if at(&discards, j) == PROVISIONAL {
                        discards[j] = NONE;
                    }
                }
            } else {
                let mut minimum = 1usize;
                let mut tem = length >> 2;
                loop {
                    tem >>= 2;
                    if tem == 0 {
                        break;
                    }
                    minimum <<= 1;
                }
                minimum += 1;
                // Cancel any subrun of `minimum` or more provisionals.
                let mut consec = 0usize;
                let mut k = 0usize;
                while k < length {
                    if at(&discards, i + k) != PROVISIONAL {
                        consec = 0;
                    } else {
                        consec += 1;
                        if consec == minimum {
                            // Back to the subrun's start, to cancel it all
                            // (a run begins with a sure discard, so k >= consec).
                            k = k.saturating_sub(consec);
                        } else if minimum < consec {
                            discards[i + k] = NONE;
                        }
                    }
                    k += 1;
                }
                // From the run's start until 3 sure discards in a row (or
                // the first sure one 8 lines in), no provisional stands.
                consec = 0;
                for k in 0..length {
                    let d = at(&discards, i + k);
                    if k >= 8 && d == SURE {
                        break;
                    }
                    if d == PROVISIONAL {
                        consec = 0;
                        discards[i + k] = NONE;
                    } else if d == NONE {
                        consec = 0;
                    } else {
                        consec += 1;
                    }
                    if consec == 3 {
                        break;
                    }
                }
                i += length - 1;
                consec = 0;
                for k in 0..length {
                    let d = at(&discards, i - k);
                    if k >= 8 && d == SURE {
                        break;
                    }
                    if d == PROVISIONAL {
                        consec = 0;
                        discards[i - k] = NONE;
                    } else if d == NONE {
                        consec = 0;
                    } else {
                        consec += 1;
                    }
                    if consec == 3 {
                        break;
                    }
                }
            }
        }
        i += 1;
    }
    let mut kept = Vec::with_capacity(end);
    for (k, d) in discards.iter().enumerate() {
        if *d == NONE {
            kept.push(k);
        } else if let Some(c) = changed.get_mut(k) {
            *c = true;
        }
    }
    kept
}

/// gnulib diffseq.h's `compareseq` and `diag`: Myers' O(ND) search from
/// both ends for the middle snake, then each half, with no heuristics (GNU
/// diff turns them on only past 4096 edits).
struct Bisection<'a> {
    old: &'a [usize],
    new: &'a [usize],
    forward: Vec<isize>,
    backward: Vec<isize>,
    /// Diagonal `d` is at index `d + offset`.
    offset: isize,
    old_changed: Vec<bool>,
    new_changed: Vec<bool>,
}

impl<'a> Bisection<'a> {
    fn new(old: &'a [usize], new: &'a [usize]) -> Self {
        let size = old.len() + new.len() + 3;
        Bisection {
            old,
            new,
            forward: vec![0; size],
            backward: vec![0; size],
            offset: new.len() as isize + 1,
            old_changed: vec![false; old.len()],
            new_changed: vec![false; new.len()],
        }
    }

    fn same(&self, x: isize, y: isize) -> bool {
        match (self.old.get(x as usize), self.new.get(y as usize)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }

    fn fd(&self, d: isize) -> isize {
        self.forward.get((d + self.offset) as usize).copied().unwrap_or(-1)
    }
    fn bd(&self, d: isize) -> isize {
        self.backward.get((d + self.offset) as usize).copied().unwrap_or(isize::MAX)
    }
    fn set_fd(&mut self, d: isize, v: isize) {
        if let Some(slot) = self.forward.get_mut((d + self.offset) as usize) {
            *slot = v;
        }
    }
    fn set_bd(&mut self, d: isize, v: isize) {
        if let Some(slot) = self.backward.get_mut((d + self.offset) as usize) {
            *slot = v;
        }
    }

    fn compare(&mut self, xoff: usize, xlim: usize, yoff: usize, ylim: usize) {
        let (mut xoff, mut xlim, mut yoff, mut ylim) = (xoff as isize, xlim as isize, yoff as isize, ylim as isize);
        while xoff < xlim && yoff < ylim && self.same(xoff, yoff) {
            xoff += 1;
            yoff += 1;
        }
        while xoff < xlim && yoff < ylim && self.same(xlim - 1, ylim - 1) {
            xlim -= 1;
            ylim -= 1;
        }
        if xoff == xlim {
            for y in yoff..ylim {
                if let Some(c) = self.new_changed.get_mut(y as usize) {
                    *c = true;
                }
            }
        } else if yoff == ylim {
            for x in xoff..xlim {
                if let Some(c) = self.old_changed.get_mut(x as usize) {
                    *c = true;
                }
            }
        } else {
            let (xmid, ymid) = self.middle_snake(xoff, xlim, yoff, ylim);
            self.compare(xoff as usize, xmid as usize, yoff as usize, ymid as usize);
            self.compare(xmid as usize, xlim as usize, ymid as usize, ylim as usize);
        }
    }

    /// diffseq.h's `diag`: where the forward and backward searches meet.
    fn middle_snake(&mut self, xoff: isize, xlim: isize, yoff: isize, ylim: isize) -> (isize, isize) {
        let dmin = xoff - ylim;
        let dmax = xlim - yoff;
        let fmid = xoff - yoff;
        let bmid = xlim - ylim;
        let (mut fmin, mut fmax, mut bmin, mut bmax) = (fmid, fmid, bmid, bmid);
        let odd = (fmid - bmid) & 1 != 0;
        self.set_fd(fmid, xoff);
        self.set_bd(bmid, xlim);
        // At most xlim - xoff + ylim - yoff edits; the bound only keeps a
        // mistake from looping.
        for _ in 0..=(xlim - xoff + ylim - yoff + 1) {
            if fmin > dmin {
                fmin -= 1;
                self.set_fd(fmin - 1, -1);
            } else {
                fmin += 1;
            }
            if fmax < dmax {
                fmax += 1;
                self.set_fd(fmax + 1, -1);
            } else {
                fmax -= 1;
            }
            let mut d = fmax;
            while d >= fmin {
                let (tlo, thi) = (self.fd(d - 1), self.fd(d + 1));
                let x0 = if tlo < thi { thi } else { tlo + 1 };
                let (mut x, mut y) = (x0, x0 - d);
                while x < xlim && y < ylim && self.same(x, y) {
                    x += 1;
                    y += 1;
                }
                self.set_fd(d, x);
                if odd && bmin <= d && d <= bmax && self.bd(d) <= x {
                    return (x, y);
                }
                d -= 2;
            }
            if bmin > dmin {
                bmin -= 1;
                self.set_bd(bmin - 1, isize::MAX);
            } else {
                bmin += 1;
            }
            if bmax < dmax {
                bmax += 1;
                self.set_bd(bmax + 1, isize::MAX);
            } else {
                bmax -= 1;
            }
            let mut d = bmax;
            while d >= bmin {
                let (tlo, thi) = (self.bd(d - 1), self.bd(d + 1));
                let x0 = if tlo < thi { tlo } else { thi - 1 };
                let (mut x, mut y) = (x0, x0 - d);
                while xoff < x && yoff < y && self.same(x - 1, y - 1) {
                    x -= 1;
                    y -= 1;
                }
                self.set_bd(d, x);
                if !odd && fmin <= d && d <= fmax && x <= self.fd(d) {
                    return (x, y);
                }
                d -= 2;
            }
        }
        // Unreachable for consistent input; split anywhere rather than panic.
        (xoff, yoff)
    }
}

/// analyze.c's shift_boundaries for one text: each run of changed lines
/// slides back to merge with the runs before, then forward as far as it
/// goes, then back to end where a run of the other text ends if it can.
fn shift_boundaries(eq: &[usize], changed: &mut [bool], other_changed: &[bool]) {
    let end = eq.len() as isize;
    // Out of range reads as unchanged, as diff's sentinels do.
    let is = |c: &[bool], k: isize| k >= 0 && c.get(k as usize).copied().unwrap_or(false);
    let class = |k: isize| eq.get(k as usize).copied().unwrap_or(0);
    let set = |c: &mut [bool], k: isize, v: bool| {
        if let Some(slot) = c.get_mut(k as usize) {
            *slot = v;
        }
    };
    let (mut i, mut j): (isize, isize) = (0, 0);
    loop {
        while i < end && !is(changed, i) {
            while is(other_changed, j) {
                j += 1;
            }
            j += 1;
            i += 1;
        }
        if i == end {
            break;
        }
        let mut start = i;
        i += 1;
        while is(changed, i) {
            i += 1;
        }
        while is(other_changed, j) {
            j += 1;
        }
        let mut corresponding;
        loop {
            let runlength = i - start;
            while start > 0 && class(start - 1) == class(i - 1) {
                start -= 1;
                set(changed, start, true);
                i -= 1;
                set(changed, i, false);
                while is(changed, start - 1) {
                    start -= 1;
                }
                j -= 1;
                while is(other_changed, j) {
                    j -= 1;
                }
            }
            corresponding = if is(other_changed, j - 1) { i } else { end };
            while i != end && class(start) == class(i) {
                set(changed, start, false);
                start += 1;
                set(changed, i, true);
                i += 1;
                while is(changed, i) {
                    i += 1;
                }
                j += 1;
                while is(other_changed, j) {
                    j += 1;
                    corresponding = i;
                }
            }
            if runlength == i - start {
                break;
            }
        }
        while corresponding < i {
            start -= 1;
            set(changed, start, true);
            i -= 1;
            set(changed, i, false);
            j -= 1;
            while is(other_changed, j) {
                j -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What GNU diff 3.8's `diff -u` printed for these (its hunks, after
    /// the two header lines).
    #[test]
    fn matches_gnu_diff() {
        assert_eq!(unified_hunks("a\n", "a\n"), None);
        assert_eq!(
            unified_hunks("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n").as_deref(),
            Some("@@ -1,10 +1,11 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n i\n j\n+k\n")
        );
        assert_eq!(unified_hunks("", "one\ntwo\n").as_deref(), Some("@@ -0,0 +1,2 @@\n+one\n+two\n"));
        // Counted over the whole texts, `a` would match more than 5 lines
        // and be discarded provisionally, and the deletion would slide to
        // the end of its run of `a`; diff counts only between the texts'
        // common ends (less 3 lines each), and keeps it in the middle.
        let old = "b\nb\nb\nb\nb\na\nb\nb\na\na\nb\nb\nb\na\na\na\na\na\na\nb\na\na\na\nb\nb\nb\na\nb\na\na\nb\na\n";
        let new = "b\nb\nb\nb\nb\na\nb\nb\na\na\nc\nb\nb\nb\na\na\na\na\na\nb\na\na\na\nb\nb\nb\na\nb\na\na\nb\na\n";
        assert_eq!(
            unified_hunks(old, new).as_deref(),
            Some("@@ -8,13 +8,13 @@\n b\n a\n a\n+c\n b\n b\n b\n a\n a\n a\n-a\n a\n a\n b\n")
        );
    }

    /// Random texts of a few distinct lines, against the machine's GNU
    /// diff (run by hand: `cargo test --lib agrees_with_gnu -- --ignored`).
    #[test]
    #[ignore]
    fn agrees_with_gnu_diff_on_random_texts() {
        let dir = std::env::temp_dir().join("miniplane-unified-diff");
        let _ = std::fs::create_dir_all(&dir);
        let mut rng = fastrand::Rng::with_seed(7);
        let words = ["a\n", "b\n", "c\n", "  x: 1\n", "  y: 2\n", "- name: z\n", "d\n"];
        for round in 0..3000usize {
            let alphabet = 2 + round % 6;
            let (la, lb) = (rng.usize(..60), rng.usize(..60));
            let old: String = (0..la).map(|_| words[rng.usize(..alphabet)]).collect();
            let mut new: String = (0..lb).map(|_| words[rng.usize(..alphabet)]).collect();
            if round % 2 == 0 {
                // A few edits of the old text, as most diffs are.
                let mut lines: Vec<&str> = old.split_inclusive('\n').collect();
                for _ in 0..rng.usize(1..4) {
                    let at = rng.usize(..=lines.len());
                    if rng.bool() && at < lines.len() { lines.remove(at); } else { lines.insert(at, words[rng.usize(..words.len())]); }
                }
                new = lines.concat();
            }
            std::fs::write(dir.join("old"), &old).unwrap();
            std::fs::write(dir.join("new"), &new).unwrap();
            let out = std::process::Command::new("diff").arg("-u").arg(dir.join("old")).arg(dir.join("new")).output().unwrap();
            let gnu = String::from_utf8(out.stdout).unwrap();
            let gnu_hunks: String = gnu.lines().skip(2).map(|l| format!("{l}\n")).collect();
            let ours = unified_hunks(&old, &new).unwrap_or_default();
            assert_eq!(ours, gnu_hunks, "round {round}\nold:\n{old}\nnew:\n{new}");
        }
    }
}
