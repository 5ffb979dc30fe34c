//! Kubernetes' ip and cidr CEL libraries (apiserver's `library/ip.go` and
//! `library/cidr.go`, in the base environment from 1.30), over Go's
//! `net/netip` parsing, printing and predicates, with their error words.

use crate::engine::kubectl::printers::jsonpath::go_quote;

/// A `netip.Addr` without a zone (the library refuses zones): sixteen
/// bytes, an IPv4 address in the last four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    bytes: [u8; 16],
    v4: bool,
}

/// A `netip.Prefix`: an address and a length, its host bits kept as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    addr: Addr,
    bits: u8,
}

fn addr_error(input: &str, message: &str, at: &str) -> String {
    if at.is_empty() {
        format!("ParseAddr({}): {message}", go_quote(input))
    } else {
        format!("ParseAddr({}): {message} (at {})", go_quote(input), go_quote(at))
    }
}

/// Go's `netip.ParseAddr`: the address and whether it had a zone.
pub(crate) fn parse_addr(s: &str) -> Result<(Addr, bool), String> {
    for c in s.bytes() {
        match c {
            b'.' => return parse_v4_fields(s, s).map(|f| (Addr::from4(f), false)),
            b':' => return parse_v6(s),
            b'%' => return Err(addr_error(s, "missing IPv6 address", "")),
            _ => {}
        }
    }
    Err(addr_error(s, "unable to parse IP", ""))
}

/// Go's `parseIPv4Fields`: `part` is the dotted quad inside `input`.
fn parse_v4_fields(input: &str, part: &str) -> Result<[u8; 4], String> {
    let mut fields = [0u8; 4];
    let (mut value, mut pos, mut digits) = (0u32, 0usize, 0usize);
    let bytes = part.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() {
            if digits == 1 && value == 0 {
                return Err(addr_error(input, "IPv4 field has octet with leading zero", ""));
            }
            value = value * 10 + u32::from(c - b'0');
            digits += 1;
            if value > 255 {
                return Err(addr_error(input, "IPv4 field has value >255", ""));
            }
        } else if c == b'.' {
            if i == 0 || i == bytes.len() - 1 || bytes.get(i - 1) == Some(&b'.') {
                return Err(addr_error(input, "IPv4 field must have at least one digit", part.get(i..).unwrap_or("")));
            }
            if pos == 3 {
                return Err(addr_error(input, "IPv4 address too long", ""));
            }
            fields[pos] = value as u8;
            pos += 1;
            value = 0;
            digits = 0;
        } else {
            return Err(addr_error(input, "unexpected character", part.get(i..).unwrap_or("")));
        }
    }
    if pos < 3 {
        return Err(addr_error(input, "IPv4 address too short", ""));
    }
    fields[3] = value as u8;
    Ok(fields)
}

/// Go's `parseIPv6`, step for step, so each error names the same place.
fn parse_v6(input: &str) -> Result<(Addr, bool), String> {
    let (mut s, zone) = match input.split_once('%') {
        Some((_, "")) => return Err(addr_error(input, "zone must be a non-empty string", "")),
        Some((address, zone)) => (address, zone),
        None => (input, ""),
    };
    let has_zone = !zone.is_empty();
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if let Some(rest) = s.strip_prefix("::") {
        ellipsis = Some(0);
        s = rest;
        if s.is_empty() {
            return Ok((Addr { bytes: ip, v4: false }, has_zone));
        }
    }
    let mut i = 0usize;
    while i < 16 {
        let mut off = 0usize;
        let mut acc = 0u32;
        for &c in s.as_bytes() {
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            acc = (acc << 4) + u32::from(digit);
            if off > 3 {
                return Err(addr_error(input, "each group must have 4 or less digits", s));
            }
            if acc > 0xffff {
                return Err(addr_error(input, "IPv6 field has value >=2^16", s));
            }
            off += 1;
        }
        if off == 0 {
            return Err(addr_error(input, "each colon-separated field must have at least one digit", s));
        }
        if s.as_bytes().get(off) == Some(&b'.') {
            if ellipsis.is_none() && i != 12 {
                return Err(addr_error(input, "embedded IPv4 address must replace the final 2 fields of the address", s));
            }
            if i + 4 > 16 {
                return Err(addr_error(input, "too many hex fields to fit an embedded IPv4 at the end of the address", s));
            }
            let fields = parse_v4_fields(input, s)?;
            ip[i..i + 4].copy_from_slice(&fields);
            s = "";
            i += 4;
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = s.get(off..).unwrap_or("");
        if s.is_empty() {
            break;
        }
        if !s.starts_with(':') {
            return Err(addr_error(input, "unexpected character, want colon", s));
        } else if s.len() == 1 {
            return Err(addr_error(input, "colon must be followed by more characters", s));
        }
        s = s.get(1..).unwrap_or("");
        if s.starts_with(':') {
            if ellipsis.is_some() {
                return Err(addr_error(input, "multiple :: in address", s));
            }
            ellipsis = Some(i);
            s = s.get(1..).unwrap_or("");
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return Err(addr_error(input, "trailing garbage after address", s));
    }
    if i < 16 {
        let Some(at) = ellipsis else { return Err(addr_error(input, "address string too short", "")) };
        let n = 16 - i;
        ip.copy_within(at..i, at + n);
        ip[at..at + n].fill(0);
    } else if ellipsis.is_some() {
        return Err(addr_error(input, "the :: must expand to at least one field of zeros", ""));
    }
    Ok((Addr { bytes: ip, v4: false }, has_zone))
}

/// The library's `parseIPAddr`: no zone, no IPv4-mapped IPv6 address.
pub fn parse_ip(raw: &str) -> Result<Addr, String> {
    let (addr, zone) = parse_addr(raw).map_err(|e| format!("IP Address {} parse error during conversion from string: {e}", go_quote(raw)))?;
    if zone {
        return Err(format!("IP address {} with zone value is not allowed", go_quote(raw)));
    }
    if addr.is_4in6() {
        return Err(format!("IPv4-mapped IPv6 address {} is not allowed", go_quote(raw)));
    }
    Ok(addr)
}

/// Go's `netip.ParsePrefix`, with its error words.
fn parse_prefix(s: &str) -> Result<Prefix, String> {
    let error = |message: &str| format!("netip.ParsePrefix({}): {message}", go_quote(s));
    let Some(slash) = s.rfind('/') else { return Err(error("no '/'")) };
    let (address, bits_text) = (s.get(..slash).unwrap_or(""), s.get(slash + 1..).unwrap_or(""));
    let (addr, zone) = parse_addr(address).map_err(|e| error(&e))?;
    if !addr.v4 && zone {
        return Err(error("IPv6 zones cannot be present in a prefix"));
    }
    let bad_bits = || error(&format!("bad bits after slash: {}", go_quote(bits_text)));
    // strconv.Atoi would take a sign or leading zeros; ParsePrefix does not.
    if bits_text.len() > 1 && !matches!(bits_text.as_bytes().first(), Some(b'1'..=b'9')) {
        return Err(bad_bits());
    }
    let Ok(bits) = bits_text.parse::<i64>() else { return Err(bad_bits()) };
    if bits < 0 || bits > addr.bit_len() {
        return Err(error("prefix length out of range"));
    }
    Ok(Prefix { addr, bits: bits as u8 })
}

/// The library's `parseCIDR` (both wrappers' words, as `cidr()` adds its own).
pub fn parse_cidr(raw: &str) -> Result<Prefix, String> {
    let prefix = parse_prefix(raw).map_err(|e| format!("network address parse error during conversion from string: {e}"))?;
    if prefix.addr.is_4in6() {
        return Err(format!("IPv4-mapped IPv6 address {} is not allowed", go_quote(raw)));
    }
    Ok(prefix)
}

impl Addr {
    fn from4(fields: [u8; 4]) -> Addr {
        let mut bytes = [0u8; 16];
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        bytes[12..].copy_from_slice(&fields);
        Addr { bytes, v4: true }
    }

    fn bit_len(&self) -> i64 {
        if self.v4 {
            32
        } else {
            128
        }
    }

    fn is_4in6(&self) -> bool {
        !self.v4 && self.bytes[..10].iter().all(|b| *b == 0) && self.bytes[10] == 0xff && self.bytes[11] == 0xff
    }

    fn group(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.bytes[2 * i], self.bytes[2 * i + 1]])
    }

    pub fn family(&self) -> i64 {
        if self.v4 {
            4
        } else {
            6
        }
    }

    pub fn is_unspecified(&self) -> bool {
        if self.v4 {
            self.bytes[12..] == [0, 0, 0, 0]
        } else {
            self.bytes == [0; 16]
        }
    }

    pub fn is_loopback(&self) -> bool {
        if self.v4 {
            self.bytes[12] == 127
        } else {
            self.bytes[..15].iter().all(|b| *b == 0) && self.bytes[15] == 1
        }
    }

    fn is_multicast(&self) -> bool {
        if self.v4 {
            self.bytes[12] & 0xf0 == 0xe0
        } else {
            self.bytes[0] == 0xff
        }
    }

    pub fn is_link_local_multicast(&self) -> bool {
        if self.v4 {
            self.bytes[12..15] == [224, 0, 0]
        } else {
            self.group(0) & 0xff0f == 0xff02
        }
    }

    pub fn is_link_local_unicast(&self) -> bool {
        if self.v4 {
            self.bytes[12] == 169 && self.bytes[13] == 254
        } else {
            self.group(0) & 0xffc0 == 0xfe80
        }
    }

    /// Go's `IsGlobalUnicast`: private ranges count as global.
    pub fn is_global_unicast(&self) -> bool {
        if self.v4 && (self.is_unspecified() || self.bytes[12..] == [255, 255, 255, 255]) {
            return false;
        }
        !self.is_unspecified() && !self.is_loopback() && !self.is_multicast() && !self.is_link_local_unicast()
    }

    /// Go's `Addr.String()`: dotted quad, or RFC 5952 (the longest run of
    /// two or more zero groups, the first such run on a tie, is `::`).
    pub fn to_text(&self) -> String {
        if self.v4 {
            let [a, b, c, d] = [self.bytes[12], self.bytes[13], self.bytes[14], self.bytes[15]];
            return format!("{a}.{b}.{c}.{d}");
        }
        if self.is_4in6() {
            return format!("::ffff:{}.{}.{}.{}", self.bytes[12], self.bytes[13], self.bytes[14], self.bytes[15]);
        }
        let (mut zero_start, mut zero_end) = (8usize, 8usize);
        for i in 0..8 {
            let mut j = i;
            while j < 8 && self.group(j) == 0 {
                j += 1;
            }
            if j - i >= 2 && (zero_start == 8 || j - i > zero_end - zero_start) {
                zero_start = i;
                zero_end = j;
            }
        }
        let mut out = String::new();
        let mut i = 0;
        while i < 8 {
            if i == zero_start {
                out.push_str("::");
                i = zero_end;
                if i >= 8 {
                    break;
                }
            } else if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{:x}", self.group(i)));
            i += 1;
        }
        out
    }

    /// The address with all but its first `bits` bits cleared.
    fn masked(&self, bits: u8) -> Addr {
        let mut bytes = self.bytes;
        let first = if self.v4 { 96 } else { 0 } + usize::from(bits);
        for (i, byte) in bytes.iter_mut().enumerate() {
            let kept = first.saturating_sub(i * 8).min(8);
            *byte &= if kept == 0 { 0 } else { 0xffu8 << (8 - kept) };
        }
        Addr { bytes, v4: self.v4 }
    }
}

impl Prefix {
    pub fn addr(&self) -> Addr {
        self.addr
    }

    pub fn bits(&self) -> i64 {
        i64::from(self.bits)
    }

    pub fn masked(&self) -> Prefix {
        Prefix { addr: self.addr.masked(self.bits), bits: self.bits }
    }

    /// Go's `Prefix.Contains`: an address of the other family never is.
    pub fn contains_ip(&self, ip: &Addr) -> bool {
        ip.v4 == self.addr.v4 && ip.masked(self.bits) == self.addr.masked(self.bits)
    }

    /// The library's `containsCIDR`: the same network at this length, and
    /// no shorter.
    pub fn contains_cidr(&self, other: &Prefix) -> bool {
        other.addr.v4 == self.addr.v4 && other.addr.masked(self.bits) == self.addr.masked(self.bits) && self.bits <= other.bits
    }

    pub fn to_text(&self) -> String {
        format!("{}/{}", self.addr.to_text(), self.bits)
    }
}

/// `ip.isCanonical()`: whether Go would print the address as written.
pub fn is_canonical(raw: &str) -> Result<bool, String> {
    Ok(parse_ip(raw)?.to_text() == raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_as_go_netip() {
        let text = |s: &str| parse_ip(s).map(|a| a.to_text());
        assert_eq!(text("127.0.0.1"), Ok("127.0.0.1".to_string()));
        assert_eq!(text("2001:DB8::0:0:0:abcd"), Ok("2001:db8::abcd".to_string()));
        assert_eq!(text("::"), Ok("::".to_string()));
        assert_eq!(text("1:0:0:1:0:0:0:1"), Ok("1:0:0:1::1".to_string()));
        assert_eq!(text("1:0:0:2:0:0:3:4"), Ok("1::2:0:0:3:4".to_string()));
        assert_eq!(text("1:0:2:3:4:5:6:7"), Ok("1:0:2:3:4:5:6:7".to_string()));
        assert_eq!(text("::1.2.3.4"), Ok("::102:304".to_string()));
        assert_eq!(text("127.0.0.256"), Err(r#"IP Address "127.0.0.256" parse error during conversion from string: ParseAddr("127.0.0.256"): IPv4 field has value >255"#.to_string()));
        assert_eq!(text(":::1"), Err(r#"IP Address ":::1" parse error during conversion from string: ParseAddr(":::1"): each colon-separated field must have at least one digit (at ":1")"#.to_string()));
        assert_eq!(text("01.2.3.4"), Err(r#"IP Address "01.2.3.4" parse error during conversion from string: ParseAddr("01.2.3.4"): IPv4 field has octet with leading zero"#.to_string()));
        assert_eq!(text("1.2.3"), Err(r#"IP Address "1.2.3" parse error during conversion from string: ParseAddr("1.2.3"): IPv4 address too short"#.to_string()));
        assert_eq!(text("1.2..3"), Err(r#"IP Address "1.2..3" parse error during conversion from string: ParseAddr("1.2..3"): IPv4 field must have at least one digit (at ".3")"#.to_string()));
        assert_eq!(text("1.2.3.x"), Err(r#"IP Address "1.2.3.x" parse error during conversion from string: ParseAddr("1.2.3.x"): unexpected character (at "x")"#.to_string()));
        assert_eq!(text("foo"), Err(r#"IP Address "foo" parse error during conversion from string: ParseAddr("foo"): unable to parse IP"#.to_string()));
        assert_eq!(text(""), Err(r#"IP Address "" parse error during conversion from string: ParseAddr(""): unable to parse IP"#.to_string()));
        assert_eq!(text("12345::"), Err(r#"IP Address "12345::" parse error during conversion from string: ParseAddr("12345::"): each group must have 4 or less digits (at "12345::")"#.to_string()));
        assert_eq!(text("1:2:3:4:5:6:7:8:9"), Err(r#"IP Address "1:2:3:4:5:6:7:8:9" parse error during conversion from string: ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")"#.to_string()));
        assert_eq!(text("1:2"), Err(r#"IP Address "1:2" parse error during conversion from string: ParseAddr("1:2"): address string too short"#.to_string()));
        assert_eq!(text("1::2::3"), Err(r#"IP Address "1::2::3" parse error during conversion from string: ParseAddr("1::2::3"): multiple :: in address (at ":3")"#.to_string()));
        assert_eq!(text("1:2:3:4::5:6:7:8"), Err(r#"IP Address "1:2:3:4::5:6:7:8" parse error during conversion from string: ParseAddr("1:2:3:4::5:6:7:8"): the :: must expand to at least one field of zeros"#.to_string()));
        assert_eq!(text("fe80::1%eth0"), Err(r#"IP address "fe80::1%eth0" with zone value is not allowed"#.to_string()));
        assert_eq!(text("::ffff:1.2.3.4"), Err(r#"IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed"#.to_string()));
    }

    #[test]
    fn predicates_follow_go_netip() {
        let ip = |s: &str| parse_ip(s).unwrap();
        assert!(ip("0.0.0.0").is_unspecified() && ip("::").is_unspecified() && !ip("::1").is_unspecified());
        assert!(ip("127.9.9.9").is_loopback() && ip("::1").is_loopback() && !ip("2001:db8::abcd").is_loopback());
        assert!(ip("224.0.0.1").is_link_local_multicast() && !ip("224.0.1.1").is_link_local_multicast() && ip("ff02::1").is_link_local_multicast());
        assert!(!ip("fd00::1").is_link_local_multicast());
        assert!(ip("169.254.169.254").is_link_local_unicast() && ip("fe80::1").is_link_local_unicast() && !ip("fd80::1").is_link_local_unicast());
        assert!(ip("192.168.0.1").is_global_unicast() && !ip("255.255.255.255").is_global_unicast() && ip("2001:db8::abcd").is_global_unicast());
        assert!(!ip("ff00::1").is_global_unicast() && !ip("0.0.0.0").is_global_unicast());
        assert_eq!(is_canonical("2001:DB8::ABCD"), Ok(false));
        assert_eq!(is_canonical("2001:db8::abcd"), Ok(true));
    }

    #[test]
    fn prefixes_follow_go_netip() {
        let cidr = |s: &str| parse_cidr(s).unwrap();
        assert_eq!(cidr("192.168.0.1/24").to_text(), "192.168.0.1/24");
        assert_eq!(cidr("192.168.0.1/24").masked().to_text(), "192.168.0.0/24");
        assert_eq!(cidr("2001:db8::1/33").masked().to_text(), "2001:db8::/33");
        assert_eq!(cidr("10.0.0.0/0").masked().to_text(), "0.0.0.0/0");
        assert!(cidr("192.168.0.0/24").contains_ip(&parse_ip("192.168.0.1").unwrap()));
        assert!(!cidr("192.168.0.0/24").contains_ip(&parse_ip("192.168.1.1").unwrap()));
        assert!(!cidr("::/0").contains_ip(&parse_ip("1.2.3.4").unwrap()));
        assert!(cidr("192.168.0.0/16").contains_cidr(&cidr("192.168.10.0/24")));
        assert!(!cidr("192.168.10.0/24").contains_cidr(&cidr("192.168.0.0/16")));
        assert!(!cidr("192.168.1.0/24").contains_cidr(&cidr("192.168.2.0/24")));
        let error = |s: &str| parse_cidr(s).unwrap_err();
        assert_eq!(error("192.168.0.0/33"), r#"network address parse error during conversion from string: netip.ParsePrefix("192.168.0.0/33"): prefix length out of range"#);
        assert_eq!(error("1.2.3.4"), r#"network address parse error during conversion from string: netip.ParsePrefix("1.2.3.4"): no '/'"#);
        assert_eq!(error("1.2.3.4/08"), r#"network address parse error during conversion from string: netip.ParsePrefix("1.2.3.4/08"): bad bits after slash: "08""#);
        assert_eq!(error("1.2.3.4/"), r#"network address parse error during conversion from string: netip.ParsePrefix("1.2.3.4/"): bad bits after slash: """#);
        assert_eq!(error("1.2.3/8"), r#"network address parse error during conversion from string: netip.ParsePrefix("1.2.3/8"): ParseAddr("1.2.3"): IPv4 address too short"#);
        assert_eq!(error("fe80::%eth0/64"), r#"network address parse error during conversion from string: netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix"#);
        assert_eq!(error("::ffff:1.2.3.4/120"), r#"IPv4-mapped IPv6 address "::ffff:1.2.3.4/120" is not allowed"#);
    }
}
