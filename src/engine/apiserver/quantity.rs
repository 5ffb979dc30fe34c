//! Resource quantities (`500m`, `1Gi`, `2`): parsing, comparison and the
//! canonical form the API server prints them in (`resource.Quantity.String()`).

use std::cmp::Ordering;

/// How a quantity was written, which decides how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, `Gi`...
    BinarySI,
    /// `m`, `k`, `M`, `G`... or no suffix.
    DecimalSI,
    /// `1e3`.
    DecimalExponent,
}

/// A parsed quantity, held in units of 10^-9 (values smaller than that
/// round up, as Kubernetes rounds them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    pub nanos: i128,
    pub format: Format,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses `value` as `resource.ParseQuantity` does; `None` when it is not a quantity.
    pub fn parse(value: &str) -> Option<Quantity> {
        let s = value.trim();
        if s.is_empty() {
            return None;
        }
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (number, suffix) = body.split_at(number_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        // Mantissa as an integer with `scale` decimal places.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let scale = frac_part.len() as i32;
        let (format, base2_exp, base10_exp) = match suffix {
            "" => (Format::DecimalSI, 0, 0),
            "Ki" => (Format::BinarySI, 10, 0),
            "Mi" => (Format::BinarySI, 20, 0),
            "Gi" => (Format::BinarySI, 30, 0),
            "Ti" => (Format::BinarySI, 40, 0),
            "Pi" => (Format::BinarySI, 50, 0),
            "Ei" => (Format::BinarySI, 60, 0),
            "n" => (Format::DecimalSI, 0, -9),
            "u" => (Format::DecimalSI, 0, -6),
            "m" => (Format::DecimalSI, 0, -3),
            "k" => (Format::DecimalSI, 0, 3),
            "M" => (Format::DecimalSI, 0, 6),
            "G" => (Format::DecimalSI, 0, 9),
            "T" => (Format::DecimalSI, 0, 12),
            "P" => (Format::DecimalSI, 0, 15),
            "E" => (Format::DecimalSI, 0, 18),
            other => {
                let exp = other.strip_prefix('e').or_else(|| other.strip_prefix('E'))?;
                let exp: i32 = exp.parse().ok()?;
                if !(-30..=30).contains(&exp) {
                    return None;
                }
                (Format::DecimalExponent, 0, exp)
            }
        };
        // nanos = mantissa * 2^base2 * 10^(base10 - scale + 9), rounded up.
        let mut value = mantissa.checked_mul(1i128.checked_shl(base2_exp)?)?;
        let shift = base10_exp - scale + 9;
        if shift >= 0 {
            value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
        } else {
            let divisor = 10i128.checked_pow((-shift) as u32)?;
            value = (value + divisor - 1) / divisor;
        }
        if value > 9_223_372_036_854_775_807i128 * NANO {
            return None;
        }
        Some(Quantity { nanos: if negative { -value } else { value }, format })
    }

    pub fn zero() -> Quantity {
        Quantity { nanos: 0, format: Format::DecimalSI }
    }

    /// The value in thousandths, rounded up (`MilliValue`).
    pub fn millis(&self) -> i128 {
        let per_milli = NANO / 1000;
        if self.nanos >= 0 {
            (self.nanos + per_milli - 1) / per_milli
        } else {
            self.nanos / per_milli
        }
    }

    /// The value in whole units, rounded up (`Value`).
    pub fn value(&self) -> i128 {
        if self.nanos >= 0 {
            (self.nanos + NANO - 1) / NANO
        } else {
            self.nanos / NANO
        }
    }

    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity { nanos: self.nanos.saturating_add(other.nanos), format: self.format }
    }

    /// The canonical text, as `Quantity.String()` prints it.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude % NANO as u128 == 0;
        if self.format == Format::BinarySI && whole && magnitude >= 1024 * NANO as u128 {
            let mut units = magnitude / NANO as u128;
            let mut suffix = 0;
            const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            while suffix < 6 && units % 1024 == 0 && units >= 1024 {
                units /= 1024;
                suffix += 1;
            }
            return format!("{sign}{units}{}", SUFFIXES[suffix]);
        }
        // Decimal: the largest power-of-1000 suffix that keeps an integer mantissa.
        const DECIMAL: [(&str, i32); 10] =
            [("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3), ("", 0), ("m", -3), ("u", -6), ("n", -9)];
        for (suffix, exp) in DECIMAL {
            let unit = 10u128.pow((exp + 9) as u32);
            if magnitude % unit == 0 {
                let mantissa = magnitude / unit;
                if self.format == Format::DecimalExponent {
                    return if exp == 0 { format!("{sign}{mantissa}") } else { format!("{sign}{mantissa}e{exp}") };
                }
                return format!("{sign}{mantissa}{suffix}");
            }
        }
        format!("{sign}{magnitude}n")
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.nanos.cmp(&other.nanos))
    }
}

/// The regular expression the API server names when a quantity does not parse.
pub const QUANTITY_REGEX_MESSAGE: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let cases = [
            ("500m", "500m"),
            ("1000m", "1"),
            ("0.5", "500m"),
            ("2", "2"),
            ("2000", "2k"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("0.5Gi", "512Mi"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("100M", "100M"),
            ("0", "0"),
            ("1.5", "1500m"),
        ];
        for (input, expected) in cases {
            let q = Quantity::parse(input).unwrap_or_else(|| panic!("{input} parses"));
            assert_eq!(q.canonical(), expected, "{input}");
        }
        for bad in ["", "abc", "1..2", "1Zi", "--1", "1e"] {
            assert!(Quantity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn compares_across_formats() {
        let a = Quantity::parse("1").unwrap_or_else(Quantity::zero);
        let b = Quantity::parse("1000m").unwrap_or_else(Quantity::zero);
        assert_eq!(a.nanos, b.nanos);
        assert!(Quantity::parse("2").unwrap_or_else(Quantity::zero) > a);
        assert_eq!(Quantity::parse("1Ki").map(|q| q.value()), Some(1024));
        assert_eq!(Quantity::parse("1m").map(|q| q.millis()), Some(1));
    }
}
