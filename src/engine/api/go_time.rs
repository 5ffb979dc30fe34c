//! Go's `time.Parse` for the two layouts the API server reads times with:
//! `metav1.Time` parses RFC 3339 (`2006-01-02T15:04:05Z07:00`) and
//! `metav1.MicroTime` RFC 3339 with exactly six fractional digits
//! (`2006-01-02T15:04:05.000000Z07:00`). jiff, which k8s-openapi's times
//! are, reads more than Go does (a space or a lower-case `t` between date
//! and time, `+0100`, a bracketed zone, a leap second) and words its
//! errors its own way, so a time that a 1.33 API server refuses was
//! accepted here. This follows Go's general parser step by step (which
//! element failed, what was left of the value, the range checks and their
//! order), so it accepts what Go accepts and words a refusal as Go's
//! `time.ParseError` does.

use k8s_openapi::jiff::{civil::DateTime, tz::Offset, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `time.RFC3339`, for `metav1.Time`.
    Rfc3339,
    /// `metav1.RFC3339Micro`, for `metav1.MicroTime`.
    Rfc3339Micro,
}

impl Layout {
    fn text(self) -> &'static str {
        match self {
            Layout::Rfc3339 => "2006-01-02T15:04:05Z07:00",
            Layout::Rfc3339Micro => "2006-01-02T15:04:05.000000Z07:00",
        }
    }

    /// The layout's elements as Go's `nextStdChunk` splits it: the literal
    /// text before each, and the element. The two layouts differ only in
    /// the fraction after the seconds.
    fn chunks(self) -> impl Iterator<Item = (&'static str, Element)> {
        const DATE_TIME: [(&str, Element); 6] = [
            ("", Element::LongYear),
            ("-", Element::ZeroMonth),
            ("-", Element::ZeroDay),
            ("T", Element::Hour),
            (":", Element::ZeroMinute),
            (":", Element::ZeroSecond),
        ];
        let fraction = (self == Layout::Rfc3339Micro).then_some(("", Element::SixDigitFraction));
        DATE_TIME.into_iter().chain(fraction).chain([("", Element::ColonZone)])
    }
}

/// One element of a layout (Go's `std` codes that these layouts use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Element {
    LongYear,
    ZeroMonth,
    ZeroDay,
    Hour,
    ZeroMinute,
    ZeroSecond,
    SixDigitFraction,
    ColonZone,
}

impl Element {
    fn text(self) -> &'static str {
        match self {
            Element::LongYear => "2006",
            Element::ZeroMonth => "01",
            Element::ZeroDay => "02",
            Element::Hour => "15",
            Element::ZeroMinute => "04",
            Element::ZeroSecond => "05",
            Element::SixDigitFraction => ".000000",
            Element::ColonZone => "Z07:00",
        }
    }
}

/// Whether `message` is Go's `time.ParseError`, which the API server
/// passes on as it is.
pub fn is_parse_error(message: &str) -> bool {
    message.starts_with("parsing time \"")
}

/// `value` read with `layout` as Go reads it: the instant, or the error
/// Go's `time.Parse` gives (`parsing time "bogus" as
/// "2006-01-02T15:04:05Z07:00": cannot parse "bogus" as "2006"`).
pub fn parse(layout: Layout, value: &str) -> Result<Timestamp, String> {
    let fields = parse_fields(layout, value.as_bytes())?;
    // Go reads any year up to 9999 with any offset, so the instant may be
    // in year -1 or past jiff's last one; neither can be written back as
    // a time that reads again.
    let held = fields.timestamp().ok().filter(|t| t.as_second() >= FIRST_SECOND_HELD);
    held.ok_or_else(|| format!("parsing time {}: the instant is outside {FIRST_HELD}..={LAST_HELD}, the times Miniplane holds", quote(value.as_bytes())))
}

/// The first instant written with a four-digit year, as the API writes times.
const FIRST_HELD: &str = "0000-01-01T00:00:00Z";
const FIRST_SECOND_HELD: i64 = -62_167_219_200;
/// jiff's last instant.
const LAST_HELD: &str = "9999-12-30T22:00:00Z";

/// What a parse read, before it is made an instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    /// East of UTC, in seconds.
    offset: i64,
}

impl Fields {
    fn timestamp(&self) -> Result<Timestamp, k8s_openapi::jiff::Error> {
        // Each field is within its range here (Go's checks above), and a
        // zone offset within 24:60 is within jiff's.
        let narrow = |n: i64| i8::try_from(n).unwrap_or(i8::MAX);
        let date_time = DateTime::new(
            i16::try_from(self.year).unwrap_or(i16::MAX),
            narrow(self.month),
            narrow(self.day),
            narrow(self.hour),
            narrow(self.minute),
            narrow(self.second),
            i32::try_from(self.nanos).unwrap_or(i32::MAX),
        )?;
        let offset = Offset::from_seconds(i32::try_from(self.offset).unwrap_or(i32::MAX))?;
        offset.to_timestamp(date_time)
    }
}

/// Go's `parse`, for the elements of these two layouts.
fn parse_fields(layout: Layout, whole: &[u8]) -> Result<Fields, String> {
    let error = |element: &str, rest: &[u8]| {
        format!("parsing time {} as {}: cannot parse {} as {}", quote(whole), quote(layout.text().as_bytes()), quote(rest), quote(element.as_bytes()))
    };
    let range_error = |what: &str| format!("parsing time {}: {what} out of range", quote(whole));
    let mut fields = Fields::default();
    let mut value = whole;
    for (prefix, element) in layout.chunks() {
        value = skip(value, prefix.as_bytes()).map_err(|rest| error(prefix, rest))?;
        let hold = value;
        let mut bad = false;
        let mut out_of_range: Option<&str> = None;
        match element {
            Element::LongYear => {
                if value.len() < 4 || !is_digit(value, 0) {
                    bad = true;
                } else {
                    match atoi(&value[..4]) {
                        Some(year) => fields.year = year,
                        None => bad = true,
                    }
                    value = &value[4..];
                }
            }
            Element::ZeroMonth | Element::ZeroDay | Element::Hour | Element::ZeroMinute => {
                let (fixed, held, range) = match element {
                    Element::ZeroMonth => (true, &mut fields.month, Some((1, 12, "month"))),
                    // Any day of one or two digits: checked against its month at the end.
                    Element::ZeroDay => (true, &mut fields.day, None),
                    Element::Hour => (false, &mut fields.hour, Some((0, 23, "hour"))),
                    _ => (true, &mut fields.minute, Some((0, 59, "minute"))),
                };
                match getnum(value, fixed) {
                    Some((n, rest)) => {
                        *held = n;
                        value = rest;
                        match range {
                            Some((low, high, what)) if !(low..=high).contains(&n) => out_of_range = Some(what),
                            _ => {}
                        }
                    }
                    None => bad = true,
                }
            }
            Element::ZeroSecond => match getnum(value, true) {
                Some((second, rest)) => {
                    fields.second = second;
                    value = rest;
                    if second >= 60 {
                        out_of_range = Some("second");
                    } else if value.len() >= 2 && is_fraction_mark(value[0]) && is_digit(value, 1) {
                        // A fraction the layout does not name is read here,
                        // however many digits it has; one the layout names is
                        // left to its own element.
                        if layout == Layout::Rfc3339 {
                            let digits = 1 + value[1..].iter().take_while(|b| b.is_ascii_digit()).count();
                            match parse_nanoseconds(value, digits) {
                                Nanos::Read(nanos) => fields.nanos = nanos,
                                Nanos::Bad => bad = true,
                                Nanos::OutOfRange => out_of_range = Some("fractional second"),
                            }
                            value = &value[digits..];
                        }
                    }
                }
                None => bad = true,
            },
            Element::SixDigitFraction => {
                const WIDTH: usize = 7;
                if value.len() < WIDTH {
                    bad = true;
                } else {
                    match parse_nanoseconds(value, WIDTH) {
                        Nanos::Read(nanos) => fields.nanos = nanos,
                        Nanos::Bad => bad = true,
                        Nanos::OutOfRange => out_of_range = Some("fractional second"),
                    }
                    value = &value[WIDTH..];
                }
            }
            Element::ColonZone => {
                if value.first() == Some(&b'Z') {
                    value = &value[1..];
                } else if value.len() < 6 || value[3] != b':' {
                    bad = true;
                } else {
                    let (sign, hour, minute) = (value[0], &value[1..3], &value[4..6]);
                    value = &value[6..];
                    let hour = getnum(hour, true);
                    let minute = if hour.is_some() { getnum(minute, true) } else { None };
                    let (h, m) = (hour.map_or(0, |(h, _)| h), minute.map_or(0, |(m, _)| m));
                    bad = hour.is_none() || minute.is_none();
                    // Go checks `>` rather than `>=`: offsets of 24 hours
                    // or 60 minutes are written.
                    if h > 24 {
                        out_of_range = Some("time zone offset hour");
                    }
                    if m > 60 {
                        out_of_range = Some("time zone offset minute");
                    }
                    let seconds = (h * 60 + m) * 60;
                    match sign {
                        b'+' => fields.offset = seconds,
                        b'-' => fields.offset = -seconds,
                        _ => bad = true,
                    }
                }
            }
        }
        if let Some(what) = out_of_range {
            return Err(range_error(what));
        }
        if bad {
            return Err(error(element.text(), hold));
        }
    }
    if !value.is_empty() {
        return Err(format!("parsing time {}: extra text: {}", quote(whole), quote(value)));
    }
    if fields.day < 1 || fields.day > days_in(fields.month, fields.year) {
        return Err(range_error("day"));
    }
    Ok(fields)
}

/// Go's `skip`: `value` without `prefix` (a run of spaces in the prefix
/// matching any run in the value), or, where they differ, what is left of
/// `value` there, which Go's error shows.
fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Result<&'a [u8], &'a [u8]> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&v| v != b' ') {
                return Err(value);
            }
            prefix = trim_spaces(prefix);
            value = trim_spaces(value);
            continue;
        }
        if value.first() != Some(&p) {
            return Err(value);
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while s.first() == Some(&b' ') {
        s = &s[1..];
    }
    s
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

fn is_fraction_mark(b: u8) -> bool {
    b == b'.' || b == b','
}

/// Go's `getnum`: one or two digits (two when `fixed`), and the rest.
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !is_digit(s, 0) {
        return None;
    }
    let first = i64::from(s[0] - b'0');
    if !is_digit(s, 1) {
        return if fixed { None } else { Some((first, &s[1..])) };
    }
    Some((first * 10 + i64::from(s[1] - b'0'), &s[2..]))
}

/// Go's `atoi` in package time: an optional sign, then nothing but digits
/// (none at all reads as 0, as Go's does).
fn atoi(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut x: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        x = x.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -x } else { x })
}

enum Nanos {
    Read(i64),
    Bad,
    OutOfRange,
}

/// Go's `parseNanoseconds`: the mark and the digits in `value[..width]`,
/// as nanoseconds (digits past the ninth are dropped).
fn parse_nanoseconds(value: &[u8], width: usize) -> Nanos {
    if !value.first().is_some_and(|&b| is_fraction_mark(b)) {
        return Nanos::Bad;
    }
    let width = width.min(10);
    let Some(mut nanos) = atoi(&value[1..width]) else { return Nanos::Bad };
    if nanos < 0 {
        return Nanos::OutOfRange;
    }
    for _ in width..10 {
        nanos *= 10;
    }
    Nanos::Read(nanos)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `quote` in package time: `"` … `"`, with `"` and `\` escaped and
/// every byte that is not printable ASCII as `\xNN`.
fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7f => out.push(char::from(b)),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\x");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(value: &str) -> Result<String, String> {
        parse(Layout::Rfc3339, value).map(|t| t.to_string())
    }

    fn micro(value: &str) -> Result<String, String> {
        parse(Layout::Rfc3339Micro, value).map(|t| t.to_string())
    }

    const RFC: &str = "\"2006-01-02T15:04:05Z07:00\"";

    #[test]
    fn go_reads_rfc3339_and_what_its_parser_allows_beyond() {
        assert_eq!(time("2024-01-01T00:00:00Z").as_deref(), Ok("2024-01-01T00:00:00Z"));
        assert_eq!(time("2024-01-01T01:30:00+01:30").as_deref(), Ok("2024-01-01T00:00:00Z"));
        assert_eq!(time("2024-01-01T00:00:00-02:00").as_deref(), Ok("2024-01-01T02:00:00Z"));
        // A fraction the layout does not name, with a comma too, any length.
        assert_eq!(time("2024-01-01T00:00:00.5Z").as_deref(), Ok("2024-01-01T00:00:00.5Z"));
        assert_eq!(time("2024-01-01T00:00:00,25Z").as_deref(), Ok("2024-01-01T00:00:00.25Z"));
        assert_eq!(time("2024-01-01T00:00:00.1234567891234Z").as_deref(), Ok("2024-01-01T00:00:00.123456789Z"));
        // A one-digit hour; an offset of 24 hours or 60 minutes.
        assert_eq!(time("2024-01-01T5:00:00Z").as_deref(), Ok("2024-01-01T05:00:00Z"));
        assert_eq!(time("2024-01-02T00:00:00+24:00").as_deref(), Ok("2024-01-01T00:00:00Z"));
        assert_eq!(time("2024-01-01T01:00:00+00:60").as_deref(), Ok("2024-01-01T00:00:00Z"));
        assert_eq!(time("2024-02-29T00:00:00Z").as_deref(), Ok("2024-02-29T00:00:00Z"));
        assert_eq!(time("0000-01-01T00:00:00Z").as_deref(), Ok("0000-01-01T00:00:00Z"));
    }

    #[test]
    fn go_words_each_refusal_as_time_parse_error_does() {
        let cannot = |value: &str, rest: &str, element: &str| format!("parsing time \"{value}\" as {RFC}: cannot parse \"{rest}\" as \"{element}\"");
        assert_eq!(time("bogus"), Err(cannot("bogus", "bogus", "2006")));
        assert_eq!(time(""), Err(cannot("", "", "2006")));
        assert_eq!(time("20a4-01-01T00:00:00Z"), Err(cannot("20a4-01-01T00:00:00Z", "20a4-01-01T00:00:00Z", "2006")));
        assert_eq!(time("2024-01-01 00:00:00Z"), Err(cannot("2024-01-01 00:00:00Z", " 00:00:00Z", "T")));
        assert_eq!(time("2024-01-01t00:00:00z"), Err(cannot("2024-01-01t00:00:00z", "t00:00:00z", "T")));
        assert_eq!(time("2024-1-01T00:00:00Z"), Err(cannot("2024-1-01T00:00:00Z", "1-01T00:00:00Z", "01")));
        assert_eq!(time("2024-01-01"), Err(cannot("2024-01-01", "", "T")));
        assert_eq!(time("2024-01-01T00:00:00"), Err(cannot("2024-01-01T00:00:00", "", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00+0100"), Err(cannot("2024-01-01T00:00:00+0100", "+0100", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00+01"), Err(cannot("2024-01-01T00:00:00+01", "+01", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00 01:00"), Err(cannot("2024-01-01T00:00:00 01:00", " 01:00", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00+0a:00"), Err(cannot("2024-01-01T00:00:00+0a:00", "+0a:00", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00.Z"), Err(cannot("2024-01-01T00:00:00.Z", ".Z", "Z07:00")));
        assert_eq!(time("2024-01-01T00:00:00Z[UTC]"), Err("parsing time \"2024-01-01T00:00:00Z[UTC]\": extra text: \"[UTC]\"".into()));
        assert_eq!(
            time("2024-01-01T00:00:00+01:00[Europe/Paris]"),
            Err("parsing time \"2024-01-01T00:00:00+01:00[Europe/Paris]\": extra text: \"[Europe/Paris]\"".into())
        );
        let range = |value: &str, what: &str| format!("parsing time \"{value}\": {what} out of range");
        assert_eq!(time("2024-13-01T00:00:00Z"), Err(range("2024-13-01T00:00:00Z", "month")));
        assert_eq!(time("2024-00-01T00:00:00Z"), Err(range("2024-00-01T00:00:00Z", "month")));
        assert_eq!(time("2023-02-29T00:00:00Z"), Err(range("2023-02-29T00:00:00Z", "day")));
        assert_eq!(time("2024-04-31T00:00:00Z"), Err(range("2024-04-31T00:00:00Z", "day")));
        assert_eq!(time("2024-01-00T00:00:00Z"), Err(range("2024-01-00T00:00:00Z", "day")));
        assert_eq!(time("2024-01-01T24:00:00Z"), Err(range("2024-01-01T24:00:00Z", "hour")));
        assert_eq!(time("2024-01-01T00:60:00Z"), Err(range("2024-01-01T00:60:00Z", "minute")));
        assert_eq!(time("2023-12-31T23:59:60Z"), Err(range("2023-12-31T23:59:60Z", "second")));
        assert_eq!(time("2024-01-01T00:00:00+25:00"), Err(range("2024-01-01T00:00:00+25:00", "time zone offset hour")));
        assert_eq!(time("2024-01-01T00:00:00+01:61"), Err(range("2024-01-01T00:00:00+01:61", "time zone offset minute")));
        // A range error is reported before a later element is read: the
        // month here, though the day and the zone are wrong too.
        assert_eq!(time("2024-13-45Tbad"), Err(range("2024-13-45Tbad", "month")));
    }

    #[test]
    fn micro_time_wants_six_fractional_digits() {
        const MICRO: &str = "\"2006-01-02T15:04:05.000000Z07:00\"";
        assert_eq!(micro("2024-01-01T00:00:00.123456Z").as_deref(), Ok("2024-01-01T00:00:00.123456Z"));
        assert_eq!(micro("2024-01-01T00:00:00,000001+00:00").as_deref(), Ok("2024-01-01T00:00:00.000001Z"));
        let cannot = |value: &str, rest: &str, element: &str| format!("parsing time \"{value}\" as {MICRO}: cannot parse \"{rest}\" as \"{element}\"");
        assert_eq!(micro("2024-01-01T00:00:00Z"), Err(cannot("2024-01-01T00:00:00Z", "Z", ".000000")));
        assert_eq!(micro("2024-01-01T00:00:00.5Z"), Err(cannot("2024-01-01T00:00:00.5Z", ".5Z", ".000000")));
        assert_eq!(micro("2024-01-01T00:00:00.12345aZ"), Err(cannot("2024-01-01T00:00:00.12345aZ", ".12345aZ", ".000000")));
        assert_eq!(micro("2024-01-01T00:00:00.1234567Z"), Err(cannot("2024-01-01T00:00:00.1234567Z", "7Z", "Z07:00")));
        assert_eq!(micro("2024-01-01T00:00:00.-12345Z"), Err("parsing time \"2024-01-01T00:00:00.-12345Z\": fractional second out of range".into()));
    }

    #[test]
    fn quoting_escapes_as_go_does() {
        assert_eq!(quote(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote("née\n".as_bytes()), "\"n\\xc3\\xa9e\\x0a\"");
        // A multi-byte character cut by a fixed-width element stays whole in
        // the message's bytes, as Go's slices do.
        assert_eq!(time("2024-01-01T00:00:00+é:00").map_err(|e| e.contains("cannot parse \"+\\xc3\\xa9:00\" as \"Z07:00\"")), Err(true));
    }

    #[test]
    fn no_input_panics() {
        let samples = ["", "2", "2024-", "2024-01-01T", "2024-01-01T00:00:00+", "2024-01-01T00:00:00.", "é", "2024-01-01T00:00:00+01:0é", "9999-12-31T23:59:59-24:00"];
        for value in samples {
            let _ = time(value);
            let _ = micro(value);
        }
        // Go reads these, but the instants are past the last one jiff holds
        // or before year 0: a refusal, not a panic.
        let outside = |value: &str| Err(format!("parsing time \"{value}\": the instant is outside {FIRST_HELD}..={LAST_HELD}, the times Miniplane holds"));
        assert_eq!(time("9999-12-31T23:59:59-24:00"), outside("9999-12-31T23:59:59-24:00"));
        assert_eq!(time("9999-12-30T22:00:01Z"), outside("9999-12-30T22:00:01Z"));
        assert_eq!(time("0000-01-01T00:00:00+00:01"), outside("0000-01-01T00:00:00+00:01"));
        assert_eq!(time("9999-12-30T22:00:00Z").as_deref(), Ok(LAST_HELD));
        assert_eq!(time("0000-01-01T00:00:00Z").as_deref(), Ok(FIRST_HELD));
        assert_eq!(Timestamp::from_second(FIRST_SECOND_HELD).map(|t| t.to_string()).ok().as_deref(), Some(FIRST_HELD));
    }
}
