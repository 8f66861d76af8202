//! The zone table: which servers a question goes to. The longest zone that is a label-wise
//! suffix of the name wins (CoreDNS picks the most specific `forward` block the same way);
//! `.` matches every name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::socket_pool::{ServerSockets, UdpSockets};
use crate::serve::config::ZoneUpstream;

/// Where the questions of one zone go.
#[derive(Debug)]
pub(super) struct Route {
    /// The zone, as configured (lower-case, trailing dot); the tests check routing by it.
    #[cfg(test)]
    pub(super) zone: String,
    /// Servers, tried in this order with failover.
    pub(super) servers: Vec<SocketAddr>,
    /// The UDP socket set of each server (by index): looked up once here rather than in the
    /// shared map under its lock on every miss (callgrind: ~130 instructions per miss).
    pub(super) sockets: Vec<Arc<ServerSockets>>,
    /// Ask only over TCP, through the pool.
    pub(super) force_tcp: bool,
}

/// Zones keyed by their wire-form name, so a lookup walks the question's label boundaries
/// and probes the map once per label, without converting the name to text.
#[derive(Debug, Default)]
pub(super) struct ZoneTable {
    /// Probed once per label of every forwarded name: a fast seeded hash (the map is fixed
    /// at load, so a client's names cannot grow it).
    by_zone: HashMap<Box<[u8]>, Arc<Route>, foldhash::fast::RandomState>,
    /// Wire length of the longest zone: a longer suffix cannot be one, so it is not hashed
    /// (callgrind: with only `.` configured and three-label names, a route cost ~290
    /// instructions per miss with a probe per suffix, ~150 with this).
    longest: usize,
}

impl ZoneTable {
    /// The table for `upstreams`. A zone listed twice keeps its first entry; a zone that is
    /// not a valid name (a label over 63 octets) or lists no server is left out. The servers'
    /// UDP sockets come from `udp`, shared with every other table that names them.
    pub(super) fn new(upstreams: &[ZoneUpstream], udp: &UdpSockets) -> ZoneTable {
        let mut by_zone = HashMap::default();
        for upstream in upstreams.iter().filter(|u| !u.servers.is_empty()) {
            let Some(wire) = zone_to_wire(&upstream.zone) else {
                continue;
            };
            by_zone.entry(wire).or_insert_with(|| {
                Arc::new(Route {
                    #[cfg(test)]
                    zone: upstream.zone.to_ascii_lowercase(),
                    servers: upstream.servers.clone(),
                    sockets: upstream.servers.iter().map(|&s| udp.get(s)).collect(),
                    force_tcp: upstream.force_tcp,
                })
            });
        }
        let longest = by_zone.keys().map(|zone| zone.len()).max().unwrap_or(0);
        ZoneTable { by_zone, longest }
    }

    /// The route of the longest zone containing `name` (wire form, lower-case), if any.
    pub(super) fn route(&self, name: &[u8]) -> Option<&Arc<Route>> {
        let mut pos = 0usize;
        loop {
            let suffix = name.get(pos..)?;
            if suffix.len() <= self.longest
                && let Some(route) = self.by_zone.get(suffix)
            {
                return Some(route);
            }
            let len = *suffix.first()?;
            // The root label ends the name; a pointer or extended label type cannot occur in
            // the uncompressed names the daemon hands us (RFC 1035 §4.1.4).
            if len == 0 || len & 0xc0 != 0 {
                return None;
            }
            pos += 1 + usize::from(len);
        }
    }
}

/// `cluster.local.` → `\x07cluster\x05local\x00`, lower-cased; `.` → `\x00`.
fn zone_to_wire(zone: &str) -> Option<Box<[u8]>> {
    let mut wire = Vec::with_capacity(zone.len() + 2);
    for label in zone.split('.').filter(|label| !label.is_empty()) {
        let len = u8::try_from(label.len()).ok().filter(|&len| len <= 63)?;
        wire.push(len);
        wire.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
    }
    wire.push(0);
    Some(wire.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(zone: &str, port: u16, force_tcp: bool) -> ZoneUpstream {
        ZoneUpstream {
            zone: zone.to_owned(),
            servers: vec![SocketAddr::from(([127, 0, 0, 1], port))],
            force_tcp,
        }
    }

    fn udp() -> UdpSockets {
        UdpSockets::new(std::sync::Arc::new(
            crate::serve::metrics::Metrics::default(),
        ))
    }

    fn wire(name: &str) -> Vec<u8> {
        zone_to_wire(name).map(Vec::from).unwrap_or_default()
    }

    #[test]
    fn longest_zone_wins_label_wise() {
        let table = ZoneTable::new(
            &[
                upstream(".", 1, false),
                upstream("cluster.local.", 2, true),
                upstream("svc.Cluster.Local.", 3, false),
                upstream("local.", 4, false),
                upstream("cluster.local.", 9, false),
                upstream("example.com.", 5, false),
            ],
            &udp(),
        );
        let cases = [
            ("www.example.com.", "example.com."),
            ("example.com.", "example.com."),
            ("badexample.com.", "."),
            ("com.", "."),
            (".", "."),
            (
                "kube-dns.kube-system.svc.cluster.local.",
                "svc.cluster.local.",
            ),
            ("svc.cluster.local.", "svc.cluster.local."),
            ("x.pod.cluster.local.", "cluster.local."),
            ("xcluster.local.", "local."),
            ("a.b.c.local.", "local."),
        ];
        for (name, zone) in cases {
            let route = table.route(&wire(name));
            assert_eq!(route.map(|r| r.zone.as_str()), Some(zone), "{name}");
        }
        // The first entry for a zone listed twice is kept.
        let route = table.route(&wire("a.cluster.local."));
        assert_eq!(
            route.map(|r| (r.servers[0].port(), r.force_tcp)),
            Some((2, true))
        );
    }

    #[test]
    fn without_default_zone_other_names_have_no_route() {
        let table = ZoneTable::new(&[upstream("cluster.local.", 2, false)], &udp());
        assert!(table.route(&wire("example.com.")).is_none());
        assert!(table.route(b"\x03abc").is_none(), "unterminated name");
        assert!(table.route(b"\xc0\x0c").is_none(), "pointer");
        assert!(table.route(b"").is_none());
        let long = format!("{}.", "a".repeat(64));
        assert!(
            ZoneTable::new(&[upstream(&long, 1, false)], &udp())
                .by_zone
                .is_empty()
        );
    }
}
