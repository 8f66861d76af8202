//! glibc's lenient C number and address parsers, reproduced so that a value in resolv.conf
//! means to nodecache exactly what it means to glibc (`ndots:abc` is 0, `nameserver 127.1`
//! is 127.0.0.1, `nameserver 1.2.3.4\r` is nothing).

use std::net::Ipv4Addr;

/// C `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub(crate) fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// glibc `atoi`, which is `(int) strtol (s, NULL, 10)`: leading C whitespace and one sign are
/// skipped, digits are read until the first non-digit, no digit at all gives 0. `strtol`
/// saturates at `LONG_MIN`/`LONG_MAX` (64-bit here) and the `(int)` cast then truncates, so
/// `99999999999999999999` is -1 and `4294967297` is 1, as glibc computes them.
pub(crate) fn atoi(s: &str) -> i32 {
    let s = s.trim_start_matches(is_c_space);
    let (negative, digits) = if let Some(rest) = s.strip_prefix('-') {
        (true, rest)
    } else {
        (false, s.strip_prefix('+').unwrap_or(s))
    };
    let mut value: i64 = 0;
    for digit in digits.bytes().take_while(u8::is_ascii_digit) {
        let digit = i64::from(digit - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
    }
    // Truncation is the point: it is what the C cast from long to int does.
    value as i32
}

/// glibc `__inet_aton_exact` (resolv/inet_addr.c), used by res_init.c for `nameserver`: the
/// BSD forms `a.b.c.d`, `a.b.c` (c is 16 bits), `a.b` (b is 24 bits) and `a` (32 bits), each
/// part decimal, octal (leading `0`) or hex (`0x`), and nothing after the last part.
pub fn inet_aton_exact(s: &str) -> Option<Ipv4Addr> {
    let mut parts = [0u32; 4];
    let mut count = 0usize;
    for part in s.split('.') {
        *parts.get_mut(count)? = c_number(part)?;
        count += 1;
    }
    let [a, b, c, d] = parts;
    // Every part but the last is one byte; the last fills the remaining bytes.
    let value = match count {
        1 => a,
        2 if a <= 0xff && b <= 0xff_ffff => (a << 24) | b,
        3 if a <= 0xff && b <= 0xff && c <= 0xffff => (a << 24) | (b << 16) | c,
        4 if a <= 0xff && b <= 0xff && c <= 0xff && d <= 0xff => {
            (a << 24) | (b << 16) | (c << 8) | d
        }
        _ => return None,
    };
    Some(Ipv4Addr::from(value))
}

/// One part of an inet_aton address: `strtoul (part, &end, 0)` that must start with a digit,
/// consume the whole part and fit in 32 bits.
fn c_number(part: &str) -> Option<u32> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return None;
    }
    let mut value: u32 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_matches_glibc() {
        let cases: &[(&str, i32)] = &[
            ("3", 3),
            ("  3", 3),
            ("\n", 0),
            ("", 0),
            ("abc", 0),
            ("+7", 7),
            ("-1", -1),
            ("3x", 3),
            ("12 34", 12),
            // strtol saturates at LONG_MAX, the (int) cast keeps the low 32 bits.
            ("99999999999999999999", -1),
            ("4294967297", 1),
            ("-99999999999999999999", 0),
        ];
        for (input, want) in cases {
            assert_eq!(atoi(input), *want, "atoi({input:?})");
        }
    }

    #[test]
    fn inet_aton_exact_matches_glibc() {
        let cases: &[(&str, Option<[u8; 4]>)] = &[
            ("1.2.3.4", Some([1, 2, 3, 4])),
            ("1.2.3", Some([1, 2, 0, 3])),
            ("0x7f.1", Some([127, 0, 0, 1])),
            ("010.0.0.1", Some([8, 0, 0, 1])),
            ("1.16777215", Some([1, 255, 255, 255])),
            ("4294967295", Some([255, 255, 255, 255])),
            ("0xffffffff", Some([255, 255, 255, 255])),
            ("0", Some([0, 0, 0, 0])),
            ("08.0.0.1", None),
            ("1.2.3.256", None),
            ("4294967296", None),
            ("0x", None),
            ("1..2", None),
            ("1.2.3.4.", None),
            ("1.2.3.4.5", None),
            ("1.2.3.4\r", None),
            ("1.2.3.4#53", None),
            ("", None),
            ("-1", None),
            ("1.2.3.+4", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                inet_aton_exact(input),
                want.map(Ipv4Addr::from),
                "{input:?}"
            );
        }
    }
}
