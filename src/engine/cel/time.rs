//! CEL's `google.protobuf.Duration` and `google.protobuf.Timestamp`, as
//! cel-go implements them on Go's `time` package (`common/types/duration.go`,
//! `timestamp.go`, `overflow.go`): Go's duration syntax, RFC 3339 parsing,
//! `RFC3339Nano` printing, overflow-checked arithmetic and the accessors.

/// cel-go's bounds: `0001-01-01T00:00:00Z` and `9999-12-31T23:59:59Z`.
const MIN_UNIX_TIME: i64 = -62_135_596_800;
const MAX_UNIX_TIME: i64 = 253_402_300_799;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

pub const TIMESTAMP_OVERFLOW: &str = "timestamp overflow";

/// An instant, and the fixed offset (seconds east of UTC) it was written
/// with, which `string()` keeps as Go's `Time.Format` does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timestamp {
    pub seconds: i64,
    /// In [0, 1e9).
    pub nanos: i64,
    pub offset: i64,
}

impl Timestamp {
    /// `timestamp(int)`: Unix seconds, in UTC.
    pub fn from_unix(seconds: i64) -> Result<Timestamp, String> {
        if !(MIN_UNIX_TIME..=MAX_UNIX_TIME).contains(&seconds) {
            return Err(TIMESTAMP_OVERFLOW.to_string());
        }
        Ok(Timestamp { seconds, nanos: 0, offset: 0 })
    }

    pub fn same_instant(&self, other: &Timestamp) -> bool {
        self.seconds == other.seconds && self.nanos == other.nanos
    }

    pub fn cmp_instant(&self, other: &Timestamp) -> std::cmp::Ordering {
        (self.seconds, self.nanos).cmp(&(other.seconds, other.nanos))
    }

    /// `addTimeDurationChecked`: the sum keeps this timestamp's offset.
    pub fn add(&self, duration: i64) -> Result<Timestamp, String> {
        let seconds = self.seconds.checked_add(duration / NANOS_PER_SECOND).ok_or_else(|| "integer overflow".to_string())?;
        let nanos = self.nanos + duration % NANOS_PER_SECOND;
        let seconds = seconds.checked_add(nanos.div_euclid(NANOS_PER_SECOND)).ok_or_else(|| "integer overflow".to_string())?;
        if !(MIN_UNIX_TIME..=MAX_UNIX_TIME).contains(&seconds) {
            return Err(TIMESTAMP_OVERFLOW.to_string());
        }
        Ok(Timestamp { seconds, nanos: nanos.rem_euclid(NANOS_PER_SECOND), offset: self.offset })
    }

    /// `subtractTimeChecked`: the duration between two instants.
    pub fn since(&self, other: &Timestamp) -> Result<i64, String> {
        let overflow = || "integer overflow".to_string();
        let seconds = self.seconds.checked_sub(other.seconds).ok_or_else(overflow)?;
        seconds.checked_mul(NANOS_PER_SECOND).and_then(|n| n.checked_add(self.nanos - other.nanos)).ok_or_else(overflow)
    }

    /// Go's `Format(time.RFC3339Nano)`: trailing zeros of the fraction
    /// dropped, `Z` for a zero offset.
    pub fn rfc3339_nano(&self) -> String {
        let local = self.seconds + self.offset;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let second_of_day = local.rem_euclid(86_400);
        let mut out = format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
        if self.nanos != 0 {
            let fraction = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let minutes = self.offset.abs() / 60;
            out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
        out
    }

    /// The accessors (`getFullYear`, `getHours`, ...) in a time zone given
    /// as seconds east of UTC; `None` for a name that is not an accessor.
    pub fn field(&self, function: &str, offset: i64) -> Option<i64> {
        // An absurd offset (`'+99999999999:00'`) must not overflow.
        let local = self.seconds.checked_add(offset)?;
        let days = local.div_euclid(86_400);
        let second_of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(match function {
            "getFullYear" => year,
            // CEL's months and days of the month count from 0; getDate from 1.
            "getMonth" => month - 1,
            "getDate" => day,
            "getDayOfMonth" => day - 1,
            "getDayOfYear" => days - days_from_civil(year, 1, 1),
            // 1970-01-01 was a Thursday (Sunday is 0).
            "getDayOfWeek" => (days + 4).rem_euclid(7),
            "getHours" => second_of_day / 3600,
            "getMinutes" => second_of_day / 60 % 60,
            "getSeconds" => second_of_day % 60,
            "getMilliseconds" => self.nanos / 1_000_000,
            _ => return None,
        })
    }
}

/// The accessors a timestamp has; a duration has the last four.
pub const TIMESTAMP_ACCESSORS: [&str; 10] =
    ["getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfYear", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds"];

/// A duration's accessors: Go's `Hours()`, `Minutes()`... truncated to int.
pub fn duration_field(function: &str, nanos: i64) -> Option<i64> {
    Some(match function {
        "getHours" => nanos / (3600 * NANOS_PER_SECOND),
        "getMinutes" => nanos / (60 * NANOS_PER_SECOND),
        "getSeconds" => nanos / NANOS_PER_SECOND,
        "getMilliseconds" => nanos / 1_000_000,
        _ => return None,
    })
}

/// A time zone argument: cel-go's `timeZone` takes `+hh:mm`/`-hh:mm`
/// (anything with a colon) as an offset and anything else as an IANA name.
/// This simulation has no zone database: names other than UTC are refused.
pub fn zone_offset(zone: &str) -> Result<i64, String> {
    let Some((hours, minutes)) = zone.split_once(':') else {
        return match zone {
            "" | "UTC" => Ok(0),
            name => Err(unsupported_zone(name)),
        };
    };
    let atoi = |s: &str| s.parse::<i64>().map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    let (hours, minutes) = (atoi(hours)?, atoi(minutes)?);
    if !(0..=59).contains(&minutes) {
        return Err(format!("timezone offset minutes out of range [0, 59]: {zone}"));
    }
    let offset = if zone.starts_with('-') { hours.checked_mul(60).and_then(|h| h.checked_sub(minutes)) } else { hours.checked_mul(60).and_then(|h| h.checked_add(minutes)) };
    offset.and_then(|m| m.checked_mul(60)).ok_or_else(|| format!("strconv.Atoi: parsing {zone:?}: value out of range"))
}

pub fn unsupported_zone(name: &str) -> String {
    format!("the time zone '{name}' {}", super::UNSUPPORTED)
}

/// cel-go's `string(duration)`: `strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"`.
pub fn format_duration(nanos: i64) -> String {
    let seconds = (nanos / NANOS_PER_SECOND) as f64 + (nanos % NANOS_PER_SECOND) as f64 / 1e9;
    format!("{seconds}s")
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units
/// ns, us (µs, μs), ms, s, m, h; `None` where Go answers an error.
pub fn parse_duration(text: &str) -> Option<i64> {
    const LIMIT: u64 = 1 << 63;
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for b in rest[..digits].bytes() {
            if whole > LIMIT / 10 {
                return None;
            }
            whole = whole * 10 + u64::from(b - b'0');
            if whole > LIMIT {
                return None;
            }
        }
        rest = &rest[digits..];
        let (mut fraction, mut scale, mut fraction_digits) = (0u64, 1f64, 0);
        if let Some(after_dot) = rest.strip_prefix('.') {
            fraction_digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for b in after_dot[..fraction_digits].bytes() {
                // Go keeps the digits that fit and ignores the rest.
                if overflow || fraction > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                fraction = fraction * 10 + u64::from(b - b'0');
                scale *= 10.0;
            }
            rest = &after_dot[fraction_digits..];
        }
        if digits == 0 && fraction_digits == 0 {
            return None;
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let unit: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        if whole > LIMIT / unit {
            return None;
        }
        let mut value = whole * unit;
        if fraction > 0 {
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > LIMIT {
                return None;
            }
        }
        total = total.checked_add(value).filter(|t| *t <= LIMIT)?;
    }
    if negative {
        return Some((total as i128).wrapping_neg() as i64);
    }
    i64::try_from(total).ok()
}

/// Go's `time.Parse(time.RFC3339, s)` (its strict fast path), with
/// cel-go's range check; `Err` is the message `timestamp()` fails with.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    let conversion = || "type conversion error from 'string' to 'google.protobuf.Timestamp'".to_string();
    let b = text.as_bytes();
    if b.len() < 19 || !text.is_char_boundary(19) {
        return Err(conversion());
    }
    let number = |from: usize, to: usize, min: i64, max: i64| -> Option<i64> {
        let digits = b.get(from..to)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        (min..=max).contains(&n).then_some(n)
    };
    let separators = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
    let fields = (|| {
        let year = number(0, 4, 0, 9999)?;
        let month = number(5, 7, 1, 12)?;
        let day = number(8, 10, 1, days_in_month(year, month))?;
        Some((year, month, day, number(11, 13, 0, 23)?, number(14, 16, 0, 59)?, number(17, 19, 0, 59)?))
    })();
    let (Some((year, month, day, hour, minute, second)), true) = (fields, separators) else { return Err(conversion()) };
    let mut rest = &text[19..];
    let mut nanos = 0;
    if rest.len() >= 2 && rest.starts_with('.') && rest.as_bytes()[1].is_ascii_digit() {
        let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        // Digits past the ninth are read and ignored.
        let kept = &rest[1..1 + digits.min(9)];
        nanos = kept.bytes().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')) * 10i64.pow(9 - kept.len() as u32);
        rest = &rest[1 + digits..];
    }
    let offset = if rest == "Z" {
        0
    } else {
        let z = rest.as_bytes();
        if z.len() != 6 || !(z[0] == b'+' || z[0] == b'-') || z[3] != b':' {
            return Err(conversion());
        }
        let hours = number_in(rest, 1, 3, 23).ok_or_else(conversion)?;
        let minutes = number_in(rest, 4, 6, 59).ok_or_else(conversion)?;
        let offset = (hours * 60 + minutes) * 60;
        if z[0] == b'-' { -offset } else { offset }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    if !(MIN_UNIX_TIME..=MAX_UNIX_TIME).contains(&seconds) {
        return Err(TIMESTAMP_OVERFLOW.to_string());
    }
    Ok(Timestamp { seconds, nanos, offset })
}

fn number_in(text: &str, from: usize, to: usize, max: i64) -> Option<i64> {
    let digits = text.as_bytes().get(from..to)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    (n <= max).then_some(n)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}
