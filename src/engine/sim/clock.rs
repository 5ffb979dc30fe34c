//! Virtual time. Nothing in the engine reads a wall clock.

use std::fmt;
use std::num::NonZeroU64;

/// Milliseconds since the simulated cluster began.
///
/// Kept as the milliseconds plus one, so that `Option<VirtualTime>` is one
/// word, as `VirtualTime` is: a running container, a pod's worker and the
/// kubelet's probes each hold several. The last millisecond, `u64::MAX`,
/// is the one time it cannot hold: it stands for "never" where it is asked
/// for, and `u64::MAX - 1` serves as well there.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualTime(NonZeroU64);

impl VirtualTime {
    pub const ZERO: VirtualTime = VirtualTime(NonZeroU64::MIN);

    pub fn from_millis(ms: u64) -> Self {
        VirtualTime(NonZeroU64::MIN.saturating_add(ms))
    }
    pub fn from_secs(s: u64) -> Self {
        Self::from_millis(s.saturating_mul(1000))
    }
    pub fn as_millis(self) -> u64 {
        self.0.get() - 1
    }
    pub fn as_secs(self) -> u64 {
        self.as_millis() / 1000
    }
    pub fn plus_millis(self, ms: u64) -> Self {
        VirtualTime(self.0.saturating_add(ms))
    }
    pub fn plus_secs(self, s: u64) -> Self {
        self.plus_millis(s.saturating_mul(1000))
    }
    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn millis_since(self, earlier: VirtualTime) -> u64 {
        self.0.get().saturating_sub(earlier.0.get())
    }
}

impl Default for VirtualTime {
    fn default() -> Self {
        VirtualTime::ZERO
    }
}

impl fmt::Debug for VirtualTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VirtualTime").field(&self.as_millis()).finish()
    }
}

impl fmt::Display for VirtualTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.as_millis();
        let total = ms / 1000;
        write!(f, "{:02}:{:02}:{:02}.{:03}", total / 3600, total / 60 % 60, total % 60, ms % 1000)
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h`, `1m30s` (Go duration syntax, as
/// kubectl's `--timeout` takes) into milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * factor;
    }
    if !total.is_finite() || total > 1.0e15 {
        return None;
    }
    Some(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_and_an_optional_time_are_one_word_each() {
        assert_eq!(std::mem::size_of::<Option<VirtualTime>>(), 8);
        assert_eq!(VirtualTime::default(), VirtualTime::ZERO);
        assert_eq!(VirtualTime::ZERO.as_millis(), 0);
        assert_eq!(format!("{:?}", VirtualTime::from_millis(1500)), "VirtualTime(1500)");
        assert_eq!(VirtualTime::from_millis(u64::MAX - 1).as_millis(), u64::MAX - 1);
        // The last millisecond is held as the one before it: still later than any other.
        assert_eq!(VirtualTime::from_millis(u64::MAX).as_millis(), u64::MAX - 1);
        assert_eq!(VirtualTime::from_millis(u64::MAX - 2).plus_millis(5).as_millis(), u64::MAX - 1);
        assert!(VirtualTime::from_millis(7) < VirtualTime::from_millis(8));
        assert_eq!(VirtualTime::from_millis(9).millis_since(VirtualTime::from_millis(4)), 5);
        assert_eq!(VirtualTime::from_millis(4).millis_since(VirtualTime::from_millis(9)), 0);
        assert_eq!(VirtualTime::from_secs(3).as_secs(), 3);
        assert_eq!(VirtualTime::from_millis(3_723_004).to_string(), "01:02:03.004");
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("5m"), Some(300_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("1.5s"), Some(1500));
        assert_eq!(parse_duration_ms("abc"), None);
        assert_eq!(parse_duration_ms("10"), None);
        assert_eq!(parse_duration_ms(""), None);
        assert_eq!(parse_duration_ms("99999999999999999999h"), None);
    }
}
