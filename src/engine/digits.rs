//! Numbers written digit by digit, as `{}` and `{:x}` write them: the
//! engine writes one into most names, keys and messages it makes (Event
//! names, volume directories, addresses, durations), and the formatter
//! was a tenth of some of those calls.

/// How many digits `n` has in decimal.
pub fn decimal_digits(mut n: u128) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Appends `n` in `radix` (10 or 16, lowercase), as `{}` and `{:x}` write it.
pub fn push_digits(out: &mut String, n: u128, radix: u128) {
    debug_assert!(radix == 10 || radix == 16, "push_digits writes decimal or hex");
    // An Event's name stamp fits in 64 bits until the year 2554: 64-bit
    // division by a constant radix is a multiply, where 128-bit division is
    // a library call per digit. A wider value goes through `fmt`.
    let Ok(mut n) = u64::try_from(n) else {
        use std::fmt::Write;
        let _ = if radix == 16 { write!(out, "{n:x}") } else { write!(out, "{n}") };
        return;
    };
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // u64::MAX has 20 decimal digits.
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        let digit = if radix == 16 { n % 16 } else { n % 10 };
        buf[at] = DIGITS[digit as usize];
        n = if radix == 16 { n / 16 } else { n / 10 };
        if n == 0 {
            break;
        }
    }
    // Digits only: always UTF-8, and one copy rather than a push per digit.
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// `n` in decimal, as `{}` writes it.
pub fn decimal(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_digits(&mut out, n.into(), 10);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_written_as_format_writes_them() {
        for n in [0u128, 7, 10, 255, 4096, 1_764_460_800_123_456_789, u128::from(u64::MAX), u128::from(u64::MAX) + 1, u128::MAX] {
            let (mut decimal, mut hex) = (String::new(), String::new());
            push_digits(&mut decimal, n, 10);
            push_digits(&mut hex, n, 16);
            assert_eq!(decimal, n.to_string());
            assert_eq!(hex, format!("{n:x}"));
            assert_eq!(decimal_digits(n), decimal.len());
        }
    }

    #[test]
    fn a_decimal_is_what_display_writes() {
        for n in [0, 7, 10, 72_188_133, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }
}
