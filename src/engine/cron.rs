//! Cron schedules as Kubernetes reads them: `robfig/cron/v3`'s
//! `ParseStandard` (five fields, names, ranges, steps, `?`, the `@hourly`
//! family and `@every <duration>`, an optional `TZ=`/`CRON_TZ=` prefix) and
//! its `SpecSchedule.Next`, evaluated in an IANA time zone's current rule
//! (see `time_zones`).
//!
//! Written here rather than taken from a cron crate because the API server
//! answers with robfig's exact error texts (`expected exactly 5 fields,
//! found 4: [* * * *]`, `end of range (60) above maximum (59): 60`) and the
//! controller must fire on exactly robfig's instants (its day-of-month /
//! day-of-week rule, its DST handling); no crate reproduces either.

use k8s_openapi::jiff;
use k8s_openapi::jiff::civil::DateTime;
use k8s_openapi::jiff::Timestamp;

use super::time_zones::{self, Zone};

const STAR_BIT: u64 = 1 << 63;

#[derive(Clone, Copy)]
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DOM: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("may", 5), ("jun", 6), ("jul", 7), ("aug", 8), ("sep", 9), ("oct", 10), ("nov", 11), ("dec", 12)],
};
const DOW: Bounds = Bounds { min: 0, max: 6, names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)] };

/// A parsed schedule and the zone it runs in.
#[derive(Clone, Debug)]
pub struct Schedule {
    kind: Kind,
    tz: Zone,
}

#[derive(Clone, Debug)]
enum Kind {
    Spec { minute: u64, hour: u64, dom: u64, month: u64, dow: u64 },
    /// `@every`: whole seconds, at least one.
    Every { seconds: i64 },
}

/// `time.LoadLocation`: `UTC` and the empty name are UTC; anything else is
/// looked up in the IANA database, with Go's error text.
pub fn load_location(name: &str) -> Result<Zone, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(Zone::utc());
    }
    if name == "Local" {
        // The controller manager runs in UTC, as kind's and minikube's do.
        return Ok(Zone::utc());
    }
    time_zones::get(name).ok_or_else(|| format!("unknown time zone {name}"))
}

/// `cron.ParseStandard` in the controller manager's zone (UTC) or a `TZ=` prefix's.
pub fn parse_standard(spec: &str) -> Result<Schedule, String> {
    parse_in(spec, Zone::utc())
}

/// The schedule a CronJob runs on: its `timeZone`, else UTC (`formatSchedule`).
pub fn parse_for(spec: &str, time_zone: Option<&str>) -> Result<Schedule, String> {
    let tz = match time_zone {
        Some(name) if !spec.contains("TZ") => load_location(name).unwrap_or_else(|_| Zone::utc()),
        _ => Zone::utc(),
    };
    parse_in(spec, tz)
}

fn parse_in(spec: &str, mut tz: Zone) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let Some(space) = spec.find(' ') else {
            return Err(format!("provided bad location {}: unknown time zone {}", &spec[eq + 1..], &spec[eq + 1..]));
        };
        let name = &spec[eq + 1..space];
        tz = load_location(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
        spec = spec[space..].trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec).map(|kind| Schedule { kind, tz });
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    Ok(Schedule {
        kind: Kind::Spec {
            minute: field(fields[0], MINUTES)?,
            hour: field(fields[1], HOURS)?,
            dom: field(fields[2], DOM)?,
            month: field(fields[3], MONTHS)?,
            dow: field(fields[4], DOW)?,
        },
        tz,
    })
}

fn all(b: Bounds) -> u64 {
    bits(b.min, b.max, 1) | STAR_BIT
}

fn parse_descriptor(spec: &str) -> Result<Kind, String> {
    let one = |b: Bounds| 1u64 << b.min;
    let kind = match spec {
        "@yearly" | "@annually" => Kind::Spec { minute: one(MINUTES), hour: one(HOURS), dom: one(DOM), month: one(MONTHS), dow: all(DOW) },
        "@monthly" => Kind::Spec { minute: one(MINUTES), hour: one(HOURS), dom: one(DOM), month: all(MONTHS), dow: all(DOW) },
        "@weekly" => Kind::Spec { minute: one(MINUTES), hour: one(HOURS), dom: all(DOM), month: all(MONTHS), dow: one(DOW) },
        "@daily" | "@midnight" => Kind::Spec { minute: one(MINUTES), hour: one(HOURS), dom: all(DOM), month: all(MONTHS), dow: all(DOW) },
        "@hourly" => Kind::Spec { minute: one(MINUTES), hour: all(HOURS), dom: all(DOM), month: all(MONTHS), dow: all(DOW) },
        _ => match spec.strip_prefix("@every ") {
            Some(d) => {
                let nanos = parse_go_duration(d).map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
                // `Every` keeps whole seconds, at least one.
                Kind::Every { seconds: (nanos / 1_000_000_000).max(1) as i64 }
            }
            None => return Err(format!("unrecognized descriptor: {spec}")),
        },
    };
    Ok(kind)
}

fn field(text: &str, b: Bounds) -> Result<u64, String> {
    let mut out = 0u64;
    for expr in text.split(',').filter(|e| !e.is_empty()) {
        out |= range(expr, b)?;
    }
    Ok(out)
}

/// `getRange`: `*`, `?`, `n`, `a-b`, each with an optional `/step`.
fn range(expr: &str, b: Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let (start, mut end, mut extra);
    if low_high[0] == "*" || low_high[0] == "?" {
        start = b.min;
        end = b.max;
        extra = STAR_BIT;
    } else {
        start = int_or_name(low_high[0], b)?;
        end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_uint(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", b.min));
    }
    if end > b.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", b.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

fn int_or_name(expr: &str, b: Bounds) -> Result<u32, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some((_, n)) = b.names.iter().find(|(name, _)| *name == lower) {
        return Ok(*n);
    }
    parse_uint(expr)
}

/// `mustParseInt`, with `strconv.Atoi`'s error words.
fn parse_uint(expr: &str) -> Result<u32, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"));
    }
    let n: i64 = match expr.parse::<i64>() {
        Ok(n) => n,
        Err(_) => return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range")),
    };
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    // Values past a field's bounds fail the range check; keep them large.
    Ok(n.min(u32::MAX as i64) as u32)
}

fn bits(min: u32, max: u32, step: u32) -> u64 {
    let mut out = 0u64;
    let mut i = min;
    while i <= max && i < 64 {
        out |= 1 << i;
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_go_duration(text: &str) -> Result<i128, String> {
    let quoted = format!("{text:?}");
    let invalid = || format!("time: invalid duration {quoted}");
    let (negative, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (int_part, rest) = s.split_at(int_len);
        let (frac_part, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                r.split_at(n)
            }
            None => ("", rest),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {quoted}")),
        };
        let whole: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut place = scale;
        for d in frac_part.bytes().take(30) {
            place /= 10;
            value += (d - b'0') as i128 * place;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i64::MAX as i128 {
            return Err(invalid());
        }
        s = rest;
    }
    Ok(if negative { -total } else { total })
}

impl Schedule {
    /// The first activation strictly after `after` (unix seconds), or None
    /// if none comes within five years (`Next`).
    pub fn next(&self, after: i64) -> Option<i64> {
        match &self.kind {
            Kind::Every { seconds } => after.checked_add(*seconds),
            Kind::Spec { minute, hour, dom, month, dow } => self.next_spec(after, *minute, *hour, *dom, *month, *dow),
        }
    }

    fn local(&self, secs: i64) -> Option<DateTime> {
        Some(self.tz.to_datetime(Timestamp::from_second(secs).ok()?))
    }

    /// Local wall time to an instant; a skipped time moves forward, a repeated one takes the first (Go's `time.Date`).
    fn resolve(&self, dt: DateTime) -> Option<i64> {
        Some(self.tz.resolve(dt)?.as_second())
    }

    #[allow(clippy::too_many_arguments)]
    fn next_spec(&self, after: i64, minute: u64, hour: u64, dom: u64, month: u64, dow: u64) -> Option<i64> {
        let has = |set: u64, v: i64| (0..64).contains(&v) && set & (1u64 << v) != 0;
        let day_matches = |dt: &DateTime| {
            let dom_match = has(dom, dt.day() as i64);
            let dow_match = has(dow, dt.weekday().to_sunday_zero_offset() as i64);
            if dom & STAR_BIT != 0 || dow & STAR_BIT != 0 {
                dom_match && dow_match
            } else {
                dom_match || dow_match
            }
        };
        let mut t = after.checked_add(1)?;
        let mut added = false;
        let year_limit = self.local(t)?.year() as i32 + 5;
        let mut guard = 0u32;
        'wrap: loop {
            guard += 1;
            if guard > 10_000 {
                return None;
            }
            let dt = self.local(t)?;
            if dt.year() as i32 > year_limit {
                return None;
            }
            // Month.
            let mut dt = dt;
            while !has(month, dt.month() as i64) {
                if !added {
                    added = true;
                    t = self.resolve(jiff::civil::date(dt.year(), dt.month(), 1).at(0, 0, 0, 0))?;
                }
                let cur = self.local(t)?;
                let next_month = jiff::civil::date(cur.year(), cur.month(), 1).checked_add(jiff::Span::new().months(1)).ok()?;
                t = self.resolve(next_month.at(cur.hour(), cur.minute(), cur.second(), 0))?;
                dt = self.local(t)?;
                if dt.month() == 1 {
                    continue 'wrap;
                }
            }
            // Day.
            while !day_matches(&dt) {
                if !added {
                    added = true;
                    t = self.resolve(dt.date().at(0, 0, 0, 0))?;
                }
                let cur = self.local(t)?;
                let tomorrow = cur.date().checked_add(jiff::Span::new().days(1)).ok()?;
                t = self.resolve(tomorrow.at(cur.hour(), cur.minute(), cur.second(), 0))?;
                dt = self.local(t)?;
                // A DST change can leave the day not starting at midnight.
                if dt.hour() != 0 {
                    if dt.hour() > 12 {
                        t += (24 - dt.hour() as i64) * 3600;
                    } else {
                        t -= dt.hour() as i64 * 3600;
                    }
                    dt = self.local(t)?;
                }
                if dt.day() == 1 {
                    continue 'wrap;
                }
            }
            // Hour.
            while !has(hour, dt.hour() as i64) {
                if !added {
                    added = true;
                    t = self.resolve(dt.date().at(dt.hour(), 0, 0, 0))?;
                }
                t += 3600;
                dt = self.local(t)?;
                if dt.hour() == 0 {
                    continue 'wrap;
                }
            }
            // Minute.
            while !has(minute, dt.minute() as i64) {
                if !added {
                    added = true;
                    t -= t.rem_euclid(60);
                }
                t += 60;
                dt = self.local(t)?;
                if dt.minute() == 0 {
                    continue 'wrap;
                }
            }
            // Second: standard schedules fire at second 0.
            while dt.second() != 0 {
                if !added {
                    added = true;
                }
                t += 1;
                dt = self.local(t)?;
                if dt.second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }

    /// The zone the schedule runs in.
    pub fn time_zone(&self) -> &Zone {
        &self.tz
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().expect(text).as_second()
    }

    fn show(secs: i64) -> String {
        Timestamp::from_second(secs).unwrap().to_string()
    }

    #[test]
    fn fires_on_robfigs_instants() {
        let cases = [
            ("*/1 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"),
            ("*/5 * * * *", "2026-01-01T00:01:30Z", "2026-01-01T00:05:00Z"),
            ("0 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
            ("@hourly", "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z"),
            ("@daily", "2026-01-01T00:30:00Z", "2026-01-02T00:00:00Z"),
            ("@weekly", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"),
            ("@monthly", "2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"),
            ("@yearly", "2026-01-15T00:00:00Z", "2027-01-01T00:00:00Z"),
            ("30 6 * * MON-FRI", "2026-01-02T07:00:00Z", "2026-01-05T06:30:00Z"),
            // Day of month OR day of week when neither is a star.
            ("0 0 13 * FRI", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
            ("0 0 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"),
            ("@every 90s", "2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z"),
        ];
        for (spec, from, want) in cases {
            let s = parse_standard(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(s.next(at(from)).map(show).as_deref(), Some(want), "{spec} after {from}");
        }
        assert_eq!(parse_standard("0 0 31 2 *").unwrap().next(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn time_zones_shift_the_instant() {
        let s = parse_for("0 9 * * *", Some("America/New_York")).unwrap();
        assert_eq!(show(s.next(at("2026-01-01T00:00:00Z")).unwrap()), "2026-01-01T14:00:00Z");
        // Summer time: 9:00 EDT is 13:00 UTC.
        assert_eq!(show(s.next(at("2026-07-01T00:00:00Z")).unwrap()), "2026-07-01T13:00:00Z");
        assert_eq!(load_location("Mars/Olympus").unwrap_err(), "unknown time zone Mars/Olympus");
        assert!(load_location("Europe/Paris").is_ok());
    }

    #[test]
    fn errors_are_robfigs() {
        let err = |spec: &str| parse_standard(spec).unwrap_err();
        assert_eq!(err("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
        assert_eq!(err("* * * * * *"), "expected exactly 5 fields, found 6: [* * * * * *]");
        assert_eq!(err(""), "empty spec string");
        assert_eq!(err("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(err("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
        assert_eq!(err("5-3 * * * *"), "beginning of range (5) beyond end of range (3): 5-3");
        assert_eq!(err("*/0 * * * *"), "step of range should be a positive number: */0");
        assert_eq!(err("x * * * *"), "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
        assert_eq!(err("* * * * 7"), "end of range (7) above maximum (6): 7");
        assert_eq!(err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(err("1/2/3 * * * *"), "too many slashes: 1/2/3");
        assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert_eq!(err("@every 5"), "failed to parse duration @every 5: time: missing unit in duration \"5\"");
        assert_eq!(err("@every 5y"), "failed to parse duration @every 5y: time: unknown unit \"y\" in duration \"5y\"");
        assert_eq!(err("TZ=Mars/Base * * * * *"), "provided bad location Mars/Base: unknown time zone Mars/Base");
        assert!(parse_standard("0 0 ? JAN-mar sun,SAT").is_ok());
        assert!(parse_standard("99999999999999999999 * * * *").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration("300ms"), Ok(300_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration(""), Err("time: invalid duration \"\"".into()));
        assert!(parse_go_duration("999999999999h").is_err());
    }
}
