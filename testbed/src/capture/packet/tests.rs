use super::*;

/// Real `tcpdump -n -x` output from the test bed: glibc's first A query for `big.example.org`
/// (search suffix `default.svc.cluster.local`) and NSD's NXDOMAIN.
const UDP_FIXTURE: &str = include_str!("fixtures/udp_query_and_nxdomain.txt");
/// Real output: glibc's TCP retry after TC, SYN, then ONE segment holding the A and the AAAA
/// query (tcpdump calls it "invalid"), then NSD's 40-record answer.
const TCP_FIXTURE: &str = include_str!("fixtures/tcp_glibc_writev.txt");

fn parse(text: &str) -> Vec<WireQuery> {
    let mut parser = PacketParser::default();
    text.lines().flat_map(|l| parser.feed_line(l)).collect()
}

fn summary(queries: &[WireQuery]) -> Vec<(Transport, &str, &str)> {
    queries
        .iter()
        .map(|q| (q.transport, q.qtype.as_str(), q.qname.as_str()))
        .collect()
}

#[test]
fn real_udp_query_is_decoded_and_the_response_ignored() {
    let queries = parse(UDP_FIXTURE);
    assert_eq!(
        summary(&queries),
        [(
            Transport::Udp,
            "A",
            "big.example.org.default.svc.cluster.local"
        )]
    );
    let q = &queries[0];
    assert_eq!(q.src, "198.18.0.2:34343".parse().expect("addr"));
    assert_eq!(q.dst, "198.18.0.53:53".parse().expect("addr"));
}

#[test]
fn real_tcp_segment_with_two_queries_yields_both() {
    assert_eq!(
        summary(&parse(TCP_FIXTURE)),
        [
            (Transport::Tcp, "A", "big.example.org"),
            (Transport::Tcp, "AAAA", "big.example.org"),
        ]
    );
}

/// A DNS query for `name` (type A = 1 or AAAA = 28) in wire format.
fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        m.push(u8::try_from(label.len()).expect("short label"));
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

/// IPv4 + TCP (no options) from 198.18.0.2:40000 to 198.18.0.53:53; checksums left zero.
fn ipv4_tcp(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + 20 + payload.len()).expect("small");
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, IPPROTO_TCP, 0, 0]);
    p.extend_from_slice(&[198, 18, 0, 2, 198, 18, 0, 53]);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&53u16.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// IPv6 + UDP from [2001:db8::2]:40001 to [2001:db8::53]:53.
fn ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).expect("small");
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[IPPROTO_UDP, 64]);
    p.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().expect("v6").octets());
    p.extend_from_slice(&"2001:db8::53".parse::<Ipv6Addr>().expect("v6").octets());
    p.extend_from_slice(&40001u16.to_be_bytes());
    p.extend_from_slice(&53u16.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// Renders packets the way `tcpdump -x` prints them: a header line, then 16 bytes per line in
/// groups of two.
fn dump(packets: &[Vec<u8>]) -> String {
    let mut text = String::new();
    for p in packets {
        text.push_str("00:00:00.000000 IP header line\n");
        for (i, chunk) in p.chunks(16).enumerate() {
            text.push_str(&format!("\t0x{:04x}: ", i * 16));
            for pair in chunk.chunks(2) {
                text.push(' ');
                for b in pair {
                    text.push_str(&format!("{b:02x}"));
                }
            }
            text.push('\n');
        }
    }
    text
}

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut stream = Vec::new();
    for m in messages {
        stream.extend_from_slice(&u16::try_from(m.len()).expect("small").to_be_bytes());
        stream.extend_from_slice(m);
    }
    stream
}

#[test]
fn tcp_stream_cases() {
    const SYN: u8 = 0x02;
    const PSH_ACK: u8 = 0x18;
    let stream = framed(&[dns_query(1, "a.example", 1), dns_query(2, "a.example", 28)]);
    let (head, tail) = stream.split_at(7);
    let head_len = u32::try_from(head.len()).expect("small");
    let all_len = u32::try_from(stream.len()).expect("small");
    let cases: Vec<(&str, Vec<Vec<u8>>, usize)> = vec![
        (
            "one segment",
            vec![ipv4_tcp(100, SYN, &[]), ipv4_tcp(101, PSH_ACK, &stream)],
            2,
        ),
        (
            "message split over two segments",
            vec![
                ipv4_tcp(100, SYN, &[]),
                ipv4_tcp(101, PSH_ACK, head),
                ipv4_tcp(101 + head_len, PSH_ACK, tail),
            ],
            2,
        ),
        (
            "retransmitted segment is not counted twice",
            vec![
                ipv4_tcp(100, SYN, &[]),
                ipv4_tcp(101, PSH_ACK, &stream),
                ipv4_tcp(101, PSH_ACK, &stream),
            ],
            2,
        ),
        (
            "capture started mid-stream",
            vec![
                ipv4_tcp(5000, PSH_ACK, &stream),
                ipv4_tcp(5000 + all_len, PSH_ACK, &stream),
            ],
            4,
        ),
        (
            "sequence number wraps",
            vec![ipv4_tcp(u32::MAX, SYN, &[]), ipv4_tcp(0, PSH_ACK, &stream)],
            2,
        ),
    ];
    for (what, packets, expected) in cases {
        let queries = parse(&dump(&packets));
        assert_eq!(queries.len(), expected, "{what}: {queries:?}");
        assert!(
            queries.iter().all(|q| q.transport == Transport::Tcp),
            "{what}"
        );
    }
}

#[test]
fn ipv6_udp_query_is_decoded() {
    let queries = parse(&dump(&[ipv6_udp(&dns_query(7, "v6.example", 28))]));
    assert_eq!(summary(&queries), [(Transport::Udp, "AAAA", "v6.example")]);
    assert_eq!(queries[0].dst, "[2001:db8::53]:53".parse().expect("addr"));
}

#[test]
fn malformed_input_is_skipped_without_panicking() {
    let garbage = [
        "",
        "\t0x0000:  4500",
        "header\n\t0x0000:  zz00 4500\n",
        "header\n\t0x0000:  4500 0014 0000 0000 4011 0000 c612 0002\n",
        "header\n\t0x0000:  6000 0000 ffff 1140\n",
        "header\n\t0x0000:  4f00 0030 0000 0000 4011 0000 c612 0002 c612 0035\n",
    ];
    for text in garbage {
        assert!(parse(text).is_empty(), "{text:?}");
    }
    // Truncated real packet: the header line of the next packet closes it, nothing decoded.
    let truncated: String = UDP_FIXTURE.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(parse(&format!("{truncated}\nnext header\n")).is_empty());
}
