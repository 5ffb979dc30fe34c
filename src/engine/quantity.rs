//! Resource quantities (`500m`, `1Gi`, `2`, `129e6`), as apimachinery's
//! `resource.Quantity` reads, compares and prints them. One parser serves the
//! whole engine: the API server (decoding refuses a malformed quantity and
//! stores the canonical form), admission, validation, the scheduler's
//! accounting and kubectl's sums.
//!
//! A value is held exactly as `mantissa × 10^exponent`, rounded up to
//! nano-units as Kubernetes rounds; binary-suffixed values are capped at
//! 2^63-1 as Kubernetes caps them. Unlike Go's arbitrary-precision decimal,
//! the mantissa holds at most 38 significant digits; longer numbers are
//! refused with Go's "unable to parse numeric part" error.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity was written, which decides how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, `Gi`…
    BinarySI,
    /// `n`, `u`, `m`, no suffix, `k`, `M`, `G`…
    DecimalSI,
    /// `1e3`, `2E-3`.
    DecimalExponent,
}

/// Why a text is not a quantity, in apimachinery's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantityError {
    FormatWrong,
    Numeric,
    Suffix,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuantityError::FormatWrong => QUANTITY_REGEX_MESSAGE,
            QuantityError::Numeric => "unable to parse numeric part of quantity",
            QuantityError::Suffix => "unable to parse quantity's suffix",
        })
    }
}

/// What the API server answers when a quantity does not match its grammar.
pub const QUANTITY_REGEX_MESSAGE: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// Signed digits; the value is `mantissa × 10^exponent`.
    mantissa: i128,
    exponent: i64,
    pub format: Format,
    /// The text was already canonical by Go's fast-path test, so Go prints it as written.
    keeps_text: bool,
}

const NANO_EXPONENT: i64 = -9;
const MAX_BINARY: i128 = i64::MAX as i128;

/// The pieces `parseQuantityString` splits a quantity into.
struct Split<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

fn is_suffix_char(b: u8) -> bool {
    b"eEinumkKMGTP".contains(&b)
}

/// apimachinery's `parseQuantityString`, byte for byte.
fn split(text: &str) -> Result<Split<'_>, QuantityError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut positive = true;
    if let Some(&first) = bytes.first() {
        if first == b'-' {
            positive = false;
            pos += 1;
        } else if first == b'+' {
            pos += 1;
        }
    }
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Split { positive, num: "0", denom: "", suffix: "" });
    }
    let num_start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &text[num_start..pos];
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &text[denom_start..pos];
    }
    let suffix_start = pos;
    while pos < end && is_suffix_char(bytes[pos]) {
        pos += 1;
    }
    if pos < end && (bytes[pos] == b'-' || bytes[pos] == b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Split { positive, num, denom, suffix: &text[suffix_start..] })
}

/// (base, exponent, format) of a suffix (`quantitySuffixer.interpret`).
fn interpret(suffix: &str) -> Option<(u32, i64, Format)> {
    let decimal = |e| Some((10, e, Format::DecimalSI));
    let binary = |e| Some((2, e, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            // Go parses an int64 and keeps its low 32 bits.
            let exponent: i64 = s[1..].parse().ok()?;
            Some((10, exponent as i32 as i64, Format::DecimalExponent))
        }
        _ => None,
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `ceil(a / b)` for non-negative `a` and positive `b`.
fn div_ceil(a: i128, b: i128) -> i128 {
    a / b + i128::from(a % b != 0)
}

impl Quantity {
    /// Parses `text` as `resource.ParseQuantity` does (the caller trims, as
    /// the JSON decoder does).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        if text == "0" {
            return Ok(Quantity { mantissa: 0, exponent: 0, format: Format::DecimalSI, keeps_text: true });
        }
        let s = split(text)?;
        let (base, suffix_exponent, mut format) = interpret(s.suffix).ok_or(QuantityError::Suffix)?;
        // Most quantities have no fraction: their digits are borrowed; a
        // fraction's are joined on the stack when they fit (requests such
        // as `0.5` are parsed for every pod by admission and the scheduler).
        let mut joined = [0u8; 64];
        let long;
        let digits: &str = if s.denom.is_empty() {
            s.num
        } else if let Some(both) = joined.get_mut(..s.num.len() + s.denom.len()) {
            let (num, denom) = both.split_at_mut(s.num.len());
            num.copy_from_slice(s.num.as_bytes());
            denom.copy_from_slice(s.denom.as_bytes());
            std::str::from_utf8(both).map_err(|_| QuantityError::Numeric)?
        } else {
            long = format!("{}{}", s.num, s.denom);
            &long
        };
        let significant = digits.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        if trimmed.len() > 38 {
            return Err(QuantityError::Numeric);
        }
        let trailing_zeros = (significant.len() - trimmed.len()) as i64;
        let mantissa: i128 = if trimmed.is_empty() { 0 } else { trimmed.parse().map_err(|_| QuantityError::Numeric)? };
        let keeps_text = keeps_text(&s, digits, base, suffix_exponent, format);
        let sign = if s.positive { 1 } else { -1 };
        let denom_len = s.denom.len() as i64;
        let (mantissa, exponent) = if base == 10 {
            (mantissa, suffix_exponent + trailing_zeros - denom_len)
        } else {
            // digits × 2^e / 10^denom, in nano-units rounded up, capped at 2^63-1 units.
            let scaled = mantissa.checked_mul(1i128 << suffix_exponent);
            let shift = trailing_zeros - denom_len - NANO_EXPONENT;
            let nanos = match scaled {
                None => MAX_BINARY * 1_000_000_000,
                Some(v) if shift >= 0 => match u32::try_from(shift).ok().and_then(pow10).and_then(|p| v.checked_mul(p)) {
                    Some(n) => n,
                    None => MAX_BINARY * 1_000_000_000,
                },
                Some(v) => match u32::try_from(-shift).ok().and_then(pow10) {
                    Some(p) => div_ceil(v, p),
                    None => i128::from(v != 0),
                },
            };
            let nanos = nanos.min(MAX_BINARY * 1_000_000_000);
            if nanos > 0 && nanos < 1_000_000_000 {
                // A binary value below one prints as decimal.
                format = Format::DecimalSI;
            }
            (nanos, NANO_EXPONENT)
        };
        let mut q = Quantity { mantissa: sign * mantissa, exponent, format, keeps_text };
        q.round_up_to_nanos();
        Ok(q)
    }

    /// A quantity of `nanos` billionths, printed in `format`.
    pub fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity { mantissa: nanos, exponent: NANO_EXPONENT, format, keeps_text: false }
    }

    pub fn zero() -> Quantity {
        Quantity::from_nanos(0, Format::DecimalSI)
    }

    /// Values finer than a nano-unit round away from zero.
    fn round_up_to_nanos(&mut self) {
        if self.exponent >= NANO_EXPONENT {
            return;
        }
        let drop = NANO_EXPONENT - self.exponent;
        let magnitude = self.mantissa.abs();
        let rounded = match u32::try_from(drop).ok().and_then(pow10) {
            Some(p) => div_ceil(magnitude, p),
            None => i128::from(magnitude != 0),
        };
        self.mantissa = rounded * self.mantissa.signum();
        self.exponent = NANO_EXPONENT;
    }

    /// The value in billionths, saturating.
    pub fn nanos(&self) -> i128 {
        self.scaled(NANO_EXPONENT)
    }

    /// `mantissa × 10^(exponent - unit)`, rounded up, saturating.
    fn scaled(&self, unit: i64) -> i128 {
        let shift = self.exponent - unit;
        if self.mantissa == 0 {
            return 0;
        }
        if shift >= 0 {
            match u32::try_from(shift).ok().and_then(pow10).and_then(|p| self.mantissa.checked_mul(p)) {
                Some(v) => v,
                None if self.mantissa > 0 => i128::MAX,
                None => i128::MIN,
            }
        } else {
            let magnitude = self.mantissa.abs();
            let v = match u32::try_from(-shift).ok().and_then(pow10) {
                Some(p) => div_ceil(magnitude, p),
                None => 1,
            };
            v * self.mantissa.signum()
        }
    }

    /// The value in thousandths, rounded up (`MilliValue`), saturating at i64.
    pub fn milli_value(&self) -> i64 {
        saturate(self.scaled(-3))
    }

    /// The value in whole units, rounded up (`Value`), saturating at i64.
    pub fn value(&self) -> i64 {
        saturate(self.scaled(0))
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// Whether the value is a whole number of units.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0 || self.mantissa % pow10((-self.exponent) as u32).unwrap_or(1) == 0
    }

    /// The sum, printed in this quantity's format (`Quantity.Add`).
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity::from_nanos(self.nanos().saturating_add(other.nanos()), self.format)
    }

    /// The canonical text (`Quantity.String()` of a computed quantity).
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI {
            let units = self.nanos();
            if units.abs() < 1024 * 1_000_000_000 || units % 1_000_000_000 != 0 {
                format = Format::DecimalSI;
            } else {
                let mut whole = units / 1_000_000_000;
                let mut power = 0;
                while whole % 1024 == 0 && power < 6 {
                    whole /= 1024;
                    power += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
                return format!("{whole}{suffix}");
            }
        }
        // Factors of ten move into the exponent, which then drops to a multiple of three.
        let mut mantissa = self.mantissa;
        let mut exponent = self.exponent;
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        let mut digits = mantissa.to_string();
        while exponent.rem_euclid(3) != 0 {
            digits.push('0');
            exponent -= 1;
        }
        let suffix = match format {
            Format::DecimalExponent if exponent == 0 => String::new(),
            Format::DecimalExponent => format!("e{exponent}"),
            // Go has no suffix past `E` and prints the bare mantissa.
            _ => match exponent {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                _ => "",
            }
            .to_string(),
        };
        format!("{digits}{suffix}")
    }
}

/// Go keeps the text as written when its int64 fast path finds it canonical already.
/// `shifted` is the number's digits with the point left out.
fn keeps_text(s: &Split<'_>, shifted: &str, base: u32, exponent: i64, format: Format) -> bool {
    match format {
        Format::DecimalSI | Format::DecimalExponent => {
            let precision = 18 - (s.num.len() + s.denom.len()) as i64;
            let scale = exponent - s.denom.len() as i64;
            precision >= 0
                && scale >= NANO_EXPONENT
                && scale % 3 == 0
                && !shifted.ends_with("000")
                && !shifted.starts_with('0')
                && shifted.parse::<i64>().is_ok()
        }
        Format::BinarySI => {
            if base != 2 || !s.denom.is_empty() {
                return false;
            }
            let precision = 15 - s.num.len() as i64 - (exponent as f32 * 3.0 / 10.0) as i64 - 1;
            let Ok(value) = s.num.parse::<i64>() else { return false };
            precision >= 0 && value.checked_mul(1i64 << exponent).is_some() && exponent % 10 == 0 && value & 0x07 != 0
        }
    }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.nanos().cmp(&other.nanos()))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// What the API server stores for a quantity written as `text`: the text
/// itself when Go keeps it, else the canonical form; the error Go gives
/// when it is no quantity.
pub fn normalize(text: &str) -> Result<String, QuantityError> {
    let trimmed = text.trim();
    let q = Quantity::parse(trimmed)?;
    if q.keeps_text {
        return Ok(trimmed.to_string());
    }
    Ok(q.canonical())
}

/// Go's `%#v` of the `resource.Quantity` `ParseQuantity` makes of `text`,
/// with its cached text set to the canonical form (validation prints it
/// after calling `String()`): what a field error shows for a quantity.
/// A value Go keeps as an `inf.Dec` (a fraction of a binary suffix, too
/// many digits) shows a nil `Dec`, where Go shows a pointer's address.
pub fn go_struct(text: &str) -> String {
    let Ok(q) = Quantity::parse(text) else { return format!("{text:?}") };
    go_struct_of(text, &q, &q.canonical())
}

/// Go's `%#v` of the `resource.Quantity` `ParseQuantity` makes of `text`,
/// as decoding leaves it: its cached text is `text` where the parse keeps
/// it (a canonical form), else empty. What a field error shows when it
/// prints a quantity nothing has called `String()` on (a volume's
/// capacity).
pub fn go_struct_as_parsed(text: &str) -> String {
    let Ok(q) = Quantity::parse(text) else { return format!("{text:?}") };
    let cached = if q.keeps_text { text } else { "" };
    go_struct_of(text, &q, cached)
}

fn go_struct_of(text: &str, q: &Quantity, cached: &str) -> String {
    let format = match q.format {
        Format::BinarySI => "BinarySI",
        Format::DecimalSI => "DecimalSI",
        Format::DecimalExponent => "DecimalExponent",
    };
    let (value, scale) = go_int64_amount(text).unwrap_or((0, 0));
    format!(
        "resource.Quantity{{i:resource.int64Amount{{value:{value}, scale:{scale}}}, d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:{cached:?}, Format:{format:?}}}"
    )
}

/// The `int64Amount` of `ParseQuantity`'s fast path, `None` where Go
/// takes its `inf.Dec` path.
fn go_int64_amount(text: &str) -> Option<(i64, i64)> {
    if text == "0" {
        return Some((0, 0));
    }
    let s = split(text).ok()?;
    let (base, exponent, format) = interpret(s.suffix)?;
    let (mantissa, scale, precision) = match format {
        Format::DecimalSI | Format::DecimalExponent => (1i64, exponent, 18 - (s.num.len() + s.denom.len()) as i64),
        Format::BinarySI if base == 2 && exponent >= 0 && s.denom.is_empty() => {
            (1i64.checked_shl(exponent as u32)?, 0, 15 - s.num.len() as i64 - (exponent as f32 * 3.0 / 10.0) as i64 - 1)
        }
        Format::BinarySI => return None,
    };
    if precision < 0 {
        return None;
    }
    let scale = scale - s.denom.len() as i64;
    if scale < NANO_EXPONENT {
        return None;
    }
    let value: i64 = format!("{}{}", s.num, s.denom).parse().ok()?;
    let result = value.checked_mul(mantissa)?;
    Some((if s.positive { result } else { -result }, scale))
}

/// A stored quantity in milli-units (cpu), 0 when malformed.
pub fn milli_value_of(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> i64 {
    Quantity::parse(q.0.trim()).map_or(0, |q| q.milli_value())
}

/// A stored quantity in whole units (bytes, counts), 0 when malformed.
pub fn value_of(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> i64 {
    Quantity::parse(q.0.trim()).map_or(0, |q| q.value())
}

/// A stored quantity parsed, `None` when malformed.
pub fn parse_stored(q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> Option<Quantity> {
    Quantity::parse(q.0.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_struct_as_parsed_keeps_only_the_text_go_keeps() {
        assert_eq!(go_struct_as_parsed("1Gi"), r#"resource.Quantity{i:resource.int64Amount{value:1073741824, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"1Gi", Format:"BinarySI"}"#);
        // `2000` is not canonical (`2k`): Go keeps no text for it.
        assert_eq!(go_struct_as_parsed("2000"), r#"resource.Quantity{i:resource.int64Amount{value:2000, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"", Format:"DecimalSI"}"#);
        assert_eq!(go_struct_as_parsed("0"), r#"resource.Quantity{i:resource.int64Amount{value:0, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:"0", Format:"DecimalSI"}"#);
    }

    #[test]
    fn stores_what_go_stores() {
        let cases = [
            ("500m", "500m"),
            ("1000m", "1"),
            ("0.5", "500m"),
            ("2", "2"),
            ("2000", "2k"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("0.5Gi", "512Mi"),
            ("1.5Gi", "1536Mi"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("1e7", "10e6"),
            ("100M", "100M"),
            ("0", "0"),
            ("1.5", "1500m"),
            ("+1", "+1"),
            ("0100m", "0100m"),
            ("100n", "100n"),
            ("0.1n", "1n"),
            ("1.1Ki", "1126400m"),
            ("12Mi", "12Mi"),
            ("8Mi", "8Mi"),
            ("1Ki", "1Ki"),
            ("1000Ki", "1000Ki"),
            ("1.", "1."),
            (".5", "500m"),
            ("-1.5", "-1500m"),
            ("1E", "1E"),
            ("1000E", "1"),
            ("20Ei", "9223372036854775807"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn refuses_what_go_refuses_with_its_words() {
        for bad in ["", "12 gigs", "abc", "1..2", "1.2.3", "1Zi", "--1", "1e", "12gigs", "1Mib"] {
            let err = normalize(bad).expect_err(bad);
            assert!(matches!(err, QuantityError::FormatWrong | QuantityError::Suffix), "{bad}: {err:?}");
        }
        assert_eq!(normalize("12 gigs"), Err(QuantityError::FormatWrong));
        assert_eq!(normalize("1GG"), Err(QuantityError::Suffix));
        assert_eq!(normalize("1e"), Err(QuantityError::Suffix));
        assert_eq!(QuantityError::FormatWrong.to_string(), QUANTITY_REGEX_MESSAGE);
        assert_eq!(normalize("1".repeat(40).as_str()), Err(QuantityError::Numeric));
        // Hostile exponents never overflow.
        for big in ["1e2147483647", "1e-2147483648", "9e99999999999", "9Ei", "99999999999999999999Ei"] {
            let _ = normalize(big);
            if let Ok(q) = Quantity::parse(big) {
                let _ = (q.milli_value(), q.value(), q.canonical());
            }
        }
    }

    #[test]
    fn values_round_up_and_compare_across_formats() {
        let q = |s: &str| Quantity::parse(s).expect(s);
        assert_eq!(q("1").nanos(), q("1000m").nanos());
        assert!(q("2") > q("1"));
        assert_eq!(q("1Ki").value(), 1024);
        assert_eq!(q("1m").milli_value(), 1);
        assert_eq!(q("1m").value(), 1);
        assert_eq!(q("100n").milli_value(), 1);
        assert_eq!(q("129M").value(), 129_000_000);
        assert_eq!(q("9999999999Ei").value(), i64::MAX);
        assert_eq!(q("100m").add(&q("250m")).canonical(), "350m");
        assert_eq!(q("500m").add(&q("500m")).canonical(), "1");
        assert_eq!(q("70Mi").add(&q("100Mi")).canonical(), "170Mi");
        assert_eq!(q("512Mi").add(&q("512Mi")).canonical(), "1Gi");
        assert_eq!(q("1e3").canonical(), "1e3");
        assert!(q("1").is_integer() && !q("1.5").is_integer());
    }

    #[test]
    fn fractions_too_long_for_the_stack_parse_as_short_ones_do() {
        // 64 digits fit the stack buffer; 65 and more take the long way.
        for zeros in [61, 62, 63, 64, 70, 300] {
            let long = format!("1.5{}", "0".repeat(zeros));
            assert_eq!(Quantity::parse(&long), Quantity::parse("1.5"), "{} digits", zeros + 2);
            let long_binary = format!("0.5{}Gi", "0".repeat(zeros));
            assert_eq!(Quantity::parse(&long_binary).map(|q| q.canonical()), Ok("512Mi".to_string()), "{} digits", zeros + 2);
        }
    }
}
