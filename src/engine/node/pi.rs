//! The Kubernetes docs' example Job: `perl -Mbignum=bpi -wle "print
//! bpi(2000)"` prints π to 2,000 significant digits and exits. The digits
//! are computed (a Rabinowitz–Wagon spigot), rounded to even at the last
//! one as Math::BigFloat does.

use std::rc::Rc;

use super::shell::{Effect, End, Program, Timed};

/// The most digits computed (the spigot's work grows with their square;
/// 5,000 take about a tenth of a second natively).
const MOST_DIGITS: usize = 5_000;

/// `perl` running `print bpi(N)` under `-Mbignum=bpi` with `-l`, or `None`
/// for any other perl program.
pub fn bpi_program(args: &[String]) -> Option<Program> {
    let mut bignum = false;
    let mut script = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "-Mbignum=bpi" {
            bignum = true;
        } else if let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty() && f.chars().all(|c| matches!(c, 'w' | 'l' | 'e'))) {
            if flags.ends_with('e') {
                i += 1;
                script = Some(args.get(i)?.as_str());
            }
        } else {
            return None;
        }
        i += 1;
    }
    let digits: usize = script?.trim().strip_prefix("print bpi(")?.trim_end_matches(';').strip_suffix(')')?.trim().parse().ok()?;
    if !bignum || digits == 0 || digits > MOST_DIGITS {
        return None;
    }
    // With `-l` or without, the log holds the same line.
    let text = computed(digits);
    // bignum's arithmetic takes its time: about 6 s for 2,000 digits.
    let took_ms = (digits * digits / 650).max(50) as u64;
    Some(Program { timeline: vec![Timed { at_ms: took_ms, effect: Effect::Log(text) }], repeat: None, resume: None, end: End::Exit { at_ms: took_ms, code: 0 } })
}

thread_local! {
    /// The last π computed: a Job's pods all print the same digits.
    static LAST: std::cell::RefCell<Option<(usize, Rc<str>)>> = const { std::cell::RefCell::new(None) };
}

/// [`pi_to`], computed once for a run of pods asking for as many digits.
fn computed(digits: usize) -> Rc<str> {
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((n, text)) if *n == digits => text.clone(),
            _ => {
                let text: Rc<str> = Rc::from(pi_to(digits));
                *last = Some((digits, text.clone()));
                text
            }
        }
    })
}

/// π to `n` significant digits, the last rounded half to even: `3.14…`.
pub fn pi_to(n: usize) -> String {
    let mut digits = spigot(n + 10);
    let tail = digits.split_off(n);
    let first_dropped = tail.first().copied().unwrap_or(0);
    let rest_nonzero = tail.iter().skip(1).any(|d| *d != 0);
    let last_odd = digits.last().is_some_and(|d| d % 2 == 1);
    if first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || last_odd)) {
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                break;
            }
        }
    }
    let mut out = String::with_capacity(n + 1);
    for (i, d) in digits.iter().enumerate() {
        out.push(char::from(b'0' + d));
        if i == 0 && n > 1 {
            out.push('.');
        }
    }
    out
}

/// The first `n` decimal digits of π (3, 1, 4, 1, 5, …).
fn spigot(n: usize) -> Vec<u8> {
    let len = n * 10 / 3 + 1;
    let mut a = vec![2u64; len];
    let mut digits = Vec::with_capacity(n + 1);
    let (mut nines, mut predigit) = (0usize, 0u64);
    for j in 0..n {
        let mut q = 0u64;
        for i in (1..=len as u64).rev() {
            let idx = (i - 1) as usize;
            let x = 10 * a[idx] + q * i;
            a[idx] = x % (2 * i - 1);
            q = x / (2 * i - 1);
        }
        a[0] = q % 10;
        q /= 10;
        if q == 9 {
            nines += 1;
        } else if q == 10 {
            digits.push(predigit as u8 + 1);
            digits.extend(std::iter::repeat_n(0, nines));
            predigit = 0;
            nines = 0;
        } else {
            if j > 0 {
                digits.push(predigit as u8);
            }
            predigit = q;
            digits.extend(std::iter::repeat_n(9, nines));
            nines = 0;
        }
    }
    digits.push(predigit as u8);
    digits.truncate(n);
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pi_comes_out_digit_for_digit_and_rounded() {
        assert_eq!(pi_to(10), "3.141592654");
        assert_eq!(pi_to(30), "3.14159265358979323846264338328");
        // Six 9s from the 762nd decimal (the Feynman point) carry through the spigot.
        assert!(pi_to(800).contains("707211349999998372978049951059731732816096318"));
        let docs = pi_to(2000);
        assert_eq!(docs.len(), 2001);
        assert!(docs.ends_with("4780275901"), "{}", &docs[1990..]);
    }

    #[test]
    fn the_docs_job_prints_pi_and_exits() {
        let args: Vec<String> = ["-Mbignum=bpi", "-wle", "print bpi(2000)"].iter().map(|s| s.to_string()).collect();
        let program = bpi_program(&args).expect("the docs' command");
        assert!(matches!(program.end, End::Exit { code: 0, .. }));
        let other: Vec<String> = ["-e", "print 1"].iter().map(|s| s.to_string()).collect();
        assert!(bpi_program(&other).is_none());
    }
}
