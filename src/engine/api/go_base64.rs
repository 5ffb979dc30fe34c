//! Go's `base64.StdEncoding.Decode`, which encoding/json uses for a
//! `[]byte` field (a Secret's `data`, a ConfigMap's `binaryData`): line
//! breaks (`\r`, `\n`) anywhere are skipped, padding is required, and an
//! error names the input byte where decoding stopped
//! (`illegal base64 data at input byte 3`), the position counted with the
//! skipped line breaks.

const PAD: u8 = b'=';

/// The wording of Go's `base64.CorruptInputError`.
pub const ERROR_PREFIX: &str = "illegal base64 data at input byte ";

fn corrupt(offset: usize) -> String {
    format!("{ERROR_PREFIX}{offset}")
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn is_line_break(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

pub fn decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        si = decode_quantum(src, si, &mut out)?;
    }
    Ok(out)
}

/// One group of four characters from `si` (`decodeQuantum`); the position
/// after it.
fn decode_quantum(src: &[u8], mut si: usize, out: &mut Vec<u8>) -> Result<usize, String> {
    let mut group = [0u8; 4];
    let mut len = 4;
    let mut j = 0;
    while j < 4 {
        let Some(&c) = src.get(si) else {
            return match j {
                0 => Ok(si),
                // Padding is required, so an unfinished group is corrupt.
                _ => Err(corrupt(si - j)),
            };
        };
        si += 1;
        if let Some(value) = sextet(c) {
            group[j] = value;
            j += 1;
            continue;
        }
        if is_line_break(c) {
            continue;
        }
        if c != PAD {
            return Err(corrupt(si - 1));
        }
        // Padding: the group ends here.
        match j {
            0 | 1 => return Err(corrupt(si - 1)),
            2 => {
                // A second `=` must follow, line breaks skipped.
                while src.get(si).copied().is_some_and(is_line_break) {
                    si += 1;
                }
                match src.get(si) {
                    None => return Err(corrupt(src.len())),
                    Some(&PAD) => si += 1,
                    Some(_) => return Err(corrupt(si - 1)),
                }
            }
            _ => {}
        }
        while src.get(si).copied().is_some_and(is_line_break) {
            si += 1;
        }
        len = j;
        let trailing = si < src.len();
        push_group(&group, len, out);
        return if trailing { Err(corrupt(si)) } else { Ok(si) };
    }
    push_group(&group, len, out);
    Ok(si)
}

fn push_group(group: &[u8; 4], len: usize, out: &mut Vec<u8>) {
    let value = u32::from(group[0]) << 18 | u32::from(group[1]) << 12 | u32::from(group[2]) << 6 | u32::from(group[3]);
    let bytes = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
    out.extend_from_slice(&bytes[..len - 1]);
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn err(text: &str) -> String {
        decode(text.as_bytes()).err().unwrap_or_default()
    }

    #[test]
    fn go_decoding() {
        assert_eq!(decode(b"YWJj").ok(), Some(b"abc".to_vec()));
        assert_eq!(decode(b"YWJjZGVm\n").ok(), Some(b"abcdef".to_vec()));
        assert_eq!(decode(b"YW\r\nJj\nZG\nVm").ok(), Some(b"abcdef".to_vec()));
        assert_eq!(decode(b"YQ==").ok(), Some(b"a".to_vec()));
        assert_eq!(decode(b"YWI=").ok(), Some(b"ab".to_vec()));
        assert_eq!(decode(b"YQ=\n=").ok(), Some(b"a".to_vec()));
        assert_eq!(decode(b"").ok(), Some(Vec::new()));
        assert_eq!(err("not base64!!"), "illegal base64 data at input byte 3");
        assert_eq!(err("YWJj="), "illegal base64 data at input byte 4");
        assert_eq!(err("YWI"), "illegal base64 data at input byte 0");
        assert_eq!(err("YWJjZ"), "illegal base64 data at input byte 4");
        assert_eq!(err("YQ="), "illegal base64 data at input byte 3");
        assert_eq!(err("YQ=x"), "illegal base64 data at input byte 2");
        assert_eq!(err("YQ==YQ=="), "illegal base64 data at input byte 4");
        assert_eq!(err("Y==="), "illegal base64 data at input byte 1");
        assert_eq!(err("YWJj-"), "illegal base64 data at input byte 4");
    }
}
