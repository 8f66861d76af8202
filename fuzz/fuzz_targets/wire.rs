//! resolver-core's wire decoder as the shim's transport and lookup engine use it on a
//! nameserver's response: `Header::parse`, `validate_response` against the response's own
//! question (so the check passes and decoding goes on) and against A and AAAA, then
//! `parse_address_answer`. Checked: a decoded answer only holds addresses of the type asked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resolver_core::wire::{self, Header};

/// The first question of `msg` as presentation text and its type, when it is uncompressed
/// printable ASCII (what the transport would have asked).
fn question(msg: &[u8]) -> Option<(String, u16)> {
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(pos)?);
        if len == 0 || len > 63 {
            break;
        }
        let label = msg.get(pos + 1..pos + 1 + len)?;
        if !label.iter().all(|b| b.is_ascii_graphic() && *b != b'.') {
            return None;
        }
        labels.push(std::str::from_utf8(label).ok()?);
        pos += 1 + len;
    }
    let qtype = u16::from_be_bytes([*msg.get(pos + 1)?, *msg.get(pos + 2)?]);
    let name = if labels.is_empty() {
        ".".to_string()
    } else {
        labels.join(".")
    };
    Some((name, qtype))
}

fuzz_target!(|msg: &[u8]| {
    let Ok(header) = Header::parse(msg) else {
        return;
    };
    let (name, own_type) = question(msg).unwrap_or_else(|| ("www.example.com".into(), 1));
    for qtype in [own_type, 1, 28] {
        if wire::validate_response(msg, header.id, &name, qtype).is_err() {
            continue;
        }
        if let Ok(answer) = wire::parse_address_answer(msg, &name, qtype) {
            for addr in &answer.addrs {
                match qtype {
                    1 => assert!(addr.is_ipv4(), "A answer holds {addr}"),
                    28 => assert!(addr.is_ipv6(), "AAAA answer holds {addr}"),
                    _ => {}
                }
            }
        }
    }
});
