//! Just enough of `resource.Quantity` for `describe node`'s request sums:
//! parse `100m`, `128Mi`, `1e3`, add them up, print in canonical form. No
//! crate in the dependency tree does this; k8s-openapi keeps quantities as
//! strings.

/// A quantity in billionths of a unit, remembering whether it was written
/// with binary (`Ki`) suffixes, as Go's Quantity keeps its format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quantity {
    pub nanos: i128,
    pub binary: bool,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    pub fn parse(text: &str) -> Option<Quantity> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        if number.is_empty() {
            return None;
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let negative = int_part.starts_with('-');
        let int_digits = int_part.trim_start_matches(['+', '-']);
        let mut nanos: i128 = if int_digits.is_empty() { 0 } else { int_digits.parse::<i128>().ok()? } * NANO;
        let frac: String = frac_part.chars().take(9).collect();
        if !frac.is_empty() {
            nanos += frac.parse::<i128>().ok()? * 10i128.pow(9 - frac.len() as u32);
        }
        let (multiplier_num, multiplier_den, binary): (i128, i128, bool) = match suffix {
            "" => (1, 1, false),
            "n" => (1, NANO, false),
            "u" => (1, 1_000_000, false),
            "m" => (1, 1000, false),
            "k" => (1000, 1, false),
            "M" => (1_000_000, 1, false),
            "G" => (1_000_000_000, 1, false),
            "T" => (1_000_000_000_000, 1, false),
            "P" => (1_000_000_000_000_000, 1, false),
            "E" => (1_000_000_000_000_000_000, 1, false),
            "Ki" => (1 << 10, 1, true),
            "Mi" => (1 << 20, 1, true),
            "Gi" => (1 << 30, 1, true),
            "Ti" => (1 << 40, 1, true),
            "Pi" => (1 << 50, 1, true),
            "Ei" => (1 << 60, 1, true),
            s if s.starts_with(['e', 'E']) => {
                let exp: u32 = s[1..].parse().ok()?;
                (10i128.checked_pow(exp)?, 1, false)
            }
            _ => return None,
        };
        nanos = nanos.checked_mul(multiplier_num)? / multiplier_den;
        Some(Quantity { nanos: if negative { -nanos } else { nanos }, binary })
    }

    pub fn add(self, other: Quantity) -> Quantity {
        Quantity { nanos: self.nanos.saturating_add(other.nanos), binary: self.binary }
    }

    pub fn milli_value(self) -> i128 {
        self.nanos / 1_000_000
    }

    pub fn value(self) -> i128 {
        (self.nanos + NANO - 1).div_euclid(NANO)
    }

    /// The canonical text, as `Quantity.String()` prints it.
    pub fn to_canonical(self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        if self.nanos % NANO == 0 {
            let units = self.nanos / NANO;
            if self.binary {
                for (suffix, shift) in [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
                    let size = 1i128 << shift;
                    if units % size == 0 {
                        return format!("{}{suffix}", units / size);
                    }
                }
                return units.to_string();
            }
            for (suffix, size) in [("E", 10i128.pow(18)), ("P", 10i128.pow(15)), ("T", 10i128.pow(12)), ("G", 10i128.pow(9)), ("M", 10i128.pow(6)), ("k", 1000)] {
                if units % size == 0 {
                    return format!("{}{suffix}", units / size);
                }
            }
            return units.to_string();
        }
        if self.nanos % 1_000_000 == 0 {
            return format!("{}m", self.nanos / 1_000_000);
        }
        if self.nanos % 1000 == 0 {
            return format!("{}u", self.nanos / 1000);
        }
        format!("{}n", self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_prints_canonically() {
        let q = |s: &str| Quantity::parse(s).unwrap();
        assert_eq!(q("100m").add(q("250m")).to_canonical(), "350m");
        assert_eq!(q("500m").add(q("500m")).to_canonical(), "1");
        assert_eq!(q("70Mi").add(q("100Mi")).to_canonical(), "170Mi");
        assert_eq!(q("512Mi").add(q("512Mi")).to_canonical(), "1Gi");
        assert_eq!(q("2").milli_value(), 2000);
        assert_eq!(q("4Gi").value(), 4 * 1024 * 1024 * 1024);
        assert_eq!(q("1e3").to_canonical(), "1k");
        assert!(Quantity::parse("abc").is_none());
    }
}
