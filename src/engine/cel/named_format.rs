//! Kubernetes' format library (library/format.go, 1.31): `format.named()`,
//! `format.dns1123Label()`... and `<Format>.validate(s)`, which answers
//! `optional.none()` for a valid string, else the list of what is wrong, in
//! apimachinery's words (or kube-openapi strfmt's for the CRD formats).

use crate::engine::apiserver::validation::names;

/// The library's `ConstantFormats`, by the name `format.named()` takes.
pub const NAMES: [&str; 13] = [
    "dns1123Label",
    "dns1123Subdomain",
    "dns1035Label",
    "qualifiedName",
    "dns1123LabelPrefix",
    "dns1123SubdomainPrefix",
    "dns1035LabelPrefix",
    "labelValue",
    "uri",
    "uuid",
    "byte",
    "date",
    "datetime",
];

/// The format's name as the library spells it, if it is one.
pub fn lookup(name: &str) -> Option<&'static str> {
    NAMES.iter().find(|n| **n == name).copied()
}

/// apimachinery's `maskTrailingDash`, used for the `...Prefix` formats (a
/// generateName prefix may end in `-`). It drops two bytes, not one, as
/// the Go does.
fn mask_trailing_dash(name: &str) -> String {
    match name.strip_suffix('-') {
        Some(_) if name.len() > 1 => format!("{}a", name.get(..name.len() - 2).unwrap_or("")),
        _ => name.to_string(),
    }
}

/// What is wrong with `s` in the named format; empty when it is valid.
pub fn validate(format: &str, s: &str) -> Vec<String> {
    let failed = |ok: bool, message: &str| if ok { Vec::new() } else { vec![message.to_string()] };
    match format {
        "dns1123Label" => names::dns1123_label(s),
        "dns1123Subdomain" => names::dns1123_subdomain(s),
        "dns1035Label" => names::dns1035_label(s),
        "qualifiedName" => names::qualified_name(s),
        "dns1123LabelPrefix" => names::dns1123_label(&mask_trailing_dash(s)),
        "dns1123SubdomainPrefix" => names::dns1123_subdomain(&mask_trailing_dash(s)),
        "dns1035LabelPrefix" => names::dns1035_label(&mask_trailing_dash(s)),
        "labelValue" => names::label_value(s),
        "uri" => match super::url::parse_request_uri(s) {
            Ok(_) => Vec::new(),
            Err(e) => vec![e],
        },
        // strfmt's UUIDPattern: hyphens optional, either case.
        "uuid" => failed(matches(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", s), "does not match the UUID format"),
        // govalidator's IsBase64.
        "byte" => failed(matches(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$", s), "invalid base64"),
        "date" => failed(is_date(s), "invalid date"),
        "datetime" => failed(is_date_time(s), "invalid datetime"),
        _ => Vec::new(),
    }
}

fn matches(pattern: &str, s: &str) -> bool {
    regex_lite::Regex::new(pattern).is_ok_and(|re| re.is_match(s))
}

/// strfmt's `IsDate`: Go's `time.Parse("2006-01-02", s)`, which wants
/// exactly these digits and a day the month has.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| s.get(range).filter(|t| t.bytes().all(|c| c.is_ascii_digit())).and_then(|t| t.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else { return false };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// strfmt's `IsDateTime`: lowercased, split at `t`, a date before and
/// `DateTimePattern` after, hours to 23, minutes and seconds to 59.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    let (Some(date), Some(time)) = (parts.first(), parts.get(1)) else { return false };
    if !is_date(date) {
        return false;
    }
    let Some(captures) = regex_lite::Regex::new(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$").ok().and_then(|re| re.captures(time).map(|c| [1, 2, 3].map(|i| c.get(i).map_or("", |m| m.as_str()).to_string()))) else {
        return false;
    };
    let [hours, minutes, seconds] = captures;
    hours.as_str() <= "23" && minutes.as_str() <= "59" && seconds.as_str() <= "59"
}
