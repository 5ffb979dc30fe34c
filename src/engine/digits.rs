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

/// `high` and `low` as a lowercase `8-4-4-4-12` UUID, as
/// `format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", …)` writes it: every
/// object created gets one, and a compact Event writes its subject's.
pub fn uuid(high: u64, low: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = (u128::from(high) << 64) | u128::from(low);
    let mut text = [b'-'; 36];
    let mut at = 0;
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            at += 1;
        }
        text[at] = HEX[((bits >> (124 - 4 * i)) & 0xf) as usize];
        at += 1;
    }
    // Hex digits and dashes only: always UTF-8.
    std::str::from_utf8(&text).map(str::to_owned).unwrap_or_default()
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
    fn a_uuid_is_what_format_writes() {
        for (a, b) in [(0u64, 0u64), (u64::MAX, u64::MAX), (0x0123_4567_89ab_4def, 0x8edc_ba98_7654_3210), (0x4000, 0x8000_0000_0000_0001)] {
            let formatted = format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff);
            assert_eq!(uuid(a, b), formatted);
        }
    }

    #[test]
    fn a_decimal_is_what_display_writes() {
        for n in [0, 7, 10, 72_188_133, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }
}
