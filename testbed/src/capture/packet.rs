//! Turning `tcpdump -n -x` text into DNS queries: hex dump → IP → UDP / TCP stream → DNS.
//!
//! tcpdump's own one-line decoder only shows the first DNS message of a TCP segment, and glibc
//! writes both of its queries (A and AAAA) with one `writev` on a TCP connection (res_send.c,
//! `send_vc`), so the bytes are decoded here instead.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::{Message, MessageType};

/// The transport a query was sent over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP (two-byte length prefix, RFC 1035 §4.2.2).
    Tcp,
}

/// One DNS question seen on the wire (a query, not a response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireQuery {
    pub(crate) transport: Transport,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// Query name without the trailing dot ("." for the root).
    pub(crate) qname: String,
    /// Query type mnemonic ("A", "AAAA", "SRV" …).
    pub(crate) qtype: String,
}

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Bytes of one TCP direction not yet decoded, and the next sequence number expected.
#[derive(Debug, Default)]
struct TcpStream {
    next_seq: Option<u32>,
    buf: Vec<u8>,
}

/// Feeds on tcpdump's `-x` output line by line; yields queries as their packets complete.
#[derive(Debug, Default)]
pub(crate) struct PacketParser {
    /// Bytes of the packet being dumped; `None` before the first header line.
    current: Option<Vec<u8>>,
    tcp: HashMap<(SocketAddr, SocketAddr), TcpStream>,
}

impl PacketParser {
    /// Consumes one line of output; returns the queries of any packet it completed.
    pub(crate) fn feed_line(&mut self, line: &str) -> Vec<WireQuery> {
        let mut out = Vec::new();
        if line.starts_with(char::is_whitespace) {
            // `\t0x0010:  c612 0035 003b 6d4b 3006 0100 0001 0000`
            if let (Some(bytes), Some((_, hex))) = (self.current.as_mut(), line.split_once(':')) {
                for group in hex.split_whitespace() {
                    push_hex(bytes, group);
                }
                if bytes.len() >= ip_total_len(bytes).unwrap_or(usize::MAX) {
                    out = self.finish_packet();
                }
            }
        } else if !line.is_empty() {
            // A header line starts the next packet; a packet still open was cut short.
            out = self.finish_packet();
            self.current = Some(Vec::new());
        }
        out
    }

    /// Decodes the packet being collected, if any.
    fn finish_packet(&mut self) -> Vec<WireQuery> {
        match self.current.take() {
            Some(bytes) if !bytes.is_empty() => self.decode_ip(&bytes),
            _ => Vec::new(),
        }
    }

    fn decode_ip(&mut self, p: &[u8]) -> Vec<WireQuery> {
        let Some((src, dst, proto, payload)) = split_ip(p) else {
            return Vec::new();
        };
        match proto {
            IPPROTO_UDP => decode_udp(src, dst, payload).into_iter().collect(),
            IPPROTO_TCP => self.decode_tcp(src, dst, payload),
            _ => Vec::new(),
        }
    }

    fn decode_tcp(&mut self, src: IpAddr, dst: IpAddr, seg: &[u8]) -> Vec<WireQuery> {
        let (Some(sport), Some(dport), Some(seq), Some(&offset), Some(&flags)) = (
            be16(seg, 0),
            be16(seg, 2),
            be32(seg, 4),
            seg.get(12),
            seg.get(13),
        ) else {
            return Vec::new();
        };
        let (from, to) = (SocketAddr::new(src, sport), SocketAddr::new(dst, dport));
        let stream = self.tcp.entry((from, to)).or_default();
        let payload = seg.get(usize::from(offset >> 4) * 4..).unwrap_or_default();
        const SYN: u8 = 0x02;
        if flags & SYN != 0 {
            *stream = TcpStream {
                next_seq: Some(seq.wrapping_add(1)),
                buf: Vec::new(),
            };
            return Vec::new();
        }
        if payload.is_empty() {
            return Vec::new();
        }
        let expected = stream.next_seq.unwrap_or(seq);
        // Signed distance of this segment from the expected sequence number (RFC 793 wraps).
        let ahead = seq.wrapping_sub(expected) as i32;
        let fresh = if ahead > 0 {
            // Bytes missing from the capture: start over at this segment.
            stream.buf.clear();
            payload
        } else {
            // A retransmission repeats bytes already seen; keep only the new tail.
            payload
                .get(ahead.unsigned_abs() as usize..)
                .unwrap_or_default()
        };
        stream.buf.extend_from_slice(fresh);
        stream.next_seq = Some(seq.wrapping_add(u32::try_from(payload.len()).unwrap_or(u32::MAX)));
        let mut out = Vec::new();
        while let Some(len) = be16(&stream.buf, 0).map(usize::from) {
            let Some(message) = stream.buf.get(2..2 + len) else {
                break;
            };
            out.extend(query_of(Transport::Tcp, from, to, message));
            stream.buf.drain(..2 + len);
        }
        out
    }
}

/// Appends the bytes of one hex group (`"4500"`, or `"45"` at the end of a dump).
fn push_hex(bytes: &mut Vec<u8>, group: &str) {
    let mut rest = group;
    while let (Some(pair), tail) = (rest.get(..2), rest.get(2..).unwrap_or_default()) {
        match u8::from_str_radix(pair, 16) {
            Ok(b) => bytes.push(b),
            Err(_) => return,
        }
        rest = tail;
    }
}

/// The length the IP header announces for the whole packet.
fn ip_total_len(p: &[u8]) -> Option<usize> {
    match p.first()? >> 4 {
        4 => be16(p, 2).map(usize::from),
        6 => be16(p, 4).map(|len| 40 + usize::from(len)),
        _ => None,
    }
}

/// (source, destination, protocol, payload) of an IPv4 or IPv6 packet (IPv6 without extension
/// headers, which DNS traffic here never has).
fn split_ip(p: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let total = ip_total_len(p)?.min(p.len());
    match p.first()? >> 4 {
        4 => {
            let header = usize::from(p.first()? & 0x0f) * 4;
            let src: [u8; 4] = p.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = p.get(16..20)?.try_into().ok()?;
            let payload = p.get(header..total)?;
            Some((
                Ipv4Addr::from(src).into(),
                Ipv4Addr::from(dst).into(),
                *p.get(9)?,
                payload,
            ))
        }
        6 => {
            let src: [u8; 16] = p.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = p.get(24..40)?.try_into().ok()?;
            let payload = p.get(40..total)?;
            Some((
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                *p.get(6)?,
                payload,
            ))
        }
        _ => None,
    }
}

fn decode_udp(src: IpAddr, dst: IpAddr, datagram: &[u8]) -> Option<WireQuery> {
    let from = SocketAddr::new(src, be16(datagram, 0)?);
    let to = SocketAddr::new(dst, be16(datagram, 2)?);
    query_of(Transport::Udp, from, to, datagram.get(8..)?)
}

/// The question of `message` when it is a DNS query (QR = 0) sent to port 53.
fn query_of(
    transport: Transport,
    src: SocketAddr,
    dst: SocketAddr,
    message: &[u8],
) -> Option<WireQuery> {
    if dst.port() != 53 {
        return None;
    }
    let message = Message::from_vec(message).ok()?;
    if message.message_type() != MessageType::Query {
        return None;
    }
    let question = message.queries().first()?;
    let name = question.name().to_string();
    let qname = match name.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => name,
    };
    Some(WireQuery {
        transport,
        src,
        dst,
        qname,
        qtype: question.query_type().to_string(),
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
