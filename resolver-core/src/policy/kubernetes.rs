//! The Kubernetes side of the policy: finding the cluster zone in a pod's search list, and the
//! DNS schema rules that say which names below that zone can hold an address.
//!
//! Sources:
//! - the Kubernetes DNS-Based Service Discovery specification 1.0.1
//!   (<https://github.com/kubernetes/dns/blob/master/docs/specification.md>), quoted as "spec §N";
//! - CoreDNS's `kubernetes` plugin (`plugin/kubernetes/parse.go` `parseRequest`, `kubernetes.go`
//!   `findPods`/`findServices`, `ns.go`), the server almost every cluster runs, which answers a
//!   few more shapes than the spec lists (spec §3 allows extensions). Where CoreDNS answers a
//!   shape, we ask it: pruning must never change an answer.

use crate::name;

/// Finds the cluster zone in a pod's search list: the `<zone>` of an entry `svc.<zone>` when
/// `<zone>` itself is also an entry. kubelet writes `<ns>.svc.<zone> svc.<zone> <zone>` (plus the
/// node's own search domains after them, e.g. GKE's `c.<project>.internal google.internal`).
pub(super) fn detect_zone<S: AsRef<str>>(search: &[S]) -> Option<&str> {
    search.iter().find_map(|entry| {
        let zone = strip_svc_label(entry.as_ref())?;
        search
            .iter()
            .any(|other| name::eq(other.as_ref(), zone))
            .then_some(zone)
    })
}

/// `<zone>` for an entry `svc.<zone>` (the `svc` label compared case-insensitively).
fn strip_svc_label(entry: &str) -> Option<&str> {
    let head = entry.get(..4)?;
    if !head.eq_ignore_ascii_case("svc.") {
        return None;
    }
    let zone = name::trim_root(entry.get(4..)?);
    (!zone.is_empty()).then_some(zone)
}

/// The shape of the part of a search suffix below the cluster zone (`default.svc` for
/// `default.svc.cluster.local`, nothing for the zone itself), or `None` when the suffix is not
/// inside the zone. Suffixes *above* the zone (a search entry `local`) also give `None`: a
/// candidate built with them may or may not land in the zone, and when in doubt we ask.
pub(super) fn suffix_below_zone(suffix: &str, zone: &str) -> Option<Shape> {
    if name::eq(suffix, zone) {
        Some(Shape::EMPTY)
    } else {
        name::strip_suffix(suffix, zone).map(Shape::of)
    }
}

/// What the schema rules need to know about a run of labels: enough to judge
/// `<relative name>.<suffix part below the zone>` by combining the shape of the name (computed
/// once per lookup) with the shape of each suffix (computed once per resolv.conf), without
/// building the candidate string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    /// Number of labels.
    count: usize,
    /// Some label starts with `_`.
    underscore: bool,
    /// The first label is `ns`.
    first_is_ns: bool,
    /// The first label is a Service port protocol (`tcp`, `udp`, `sctp`).
    first_is_protocol: bool,
    /// The second label is a Service port protocol.
    second_is_protocol: bool,
    /// The last label.
    last: Top,
}

/// The label right below the zone, when it is one the schema defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    Svc,
    Pod,
    Dns,
    Other,
}

impl Shape {
    /// No labels (the suffix is the zone itself).
    pub(super) const EMPTY: Shape = Shape {
        count: 0,
        underscore: false,
        first_is_ns: false,
        first_is_protocol: false,
        second_is_protocol: false,
        last: Top::Other,
    };

    /// The shape of a name (without trailing dot); one pass over its labels. Labels compare
    /// case-insensitively (spec §2.1: "All comparisons ... case-insensitive").
    pub(super) fn of(name: &str) -> Shape {
        let mut shape = Shape::EMPTY;
        for label in name.split('.').filter(|label| !label.is_empty()) {
            shape.underscore |= label.starts_with('_');
            match shape.count {
                0 => {
                    shape.first_is_ns = label.eq_ignore_ascii_case("ns");
                    shape.first_is_protocol = is_protocol(label);
                }
                1 => shape.second_is_protocol = is_protocol(label),
                _ => {}
            }
            shape.last = Top::of(label);
            shape.count += 1;
        }
        shape
    }

    /// The shape of `self` followed by `below` (the labels of `<self>.<below>`).
    pub(super) fn then(self, below: Shape) -> Shape {
        if below.count == 0 {
            return self;
        }
        if self.count == 0 {
            return below;
        }
        Shape {
            count: self.count + below.count,
            underscore: self.underscore || below.underscore,
            first_is_ns: self.first_is_ns,
            first_is_protocol: self.first_is_protocol,
            second_is_protocol: match self.count {
                1 => below.first_is_protocol,
                _ => self.second_is_protocol,
            },
            last: below.last,
        }
    }
}

impl Top {
    fn of(label: &str) -> Top {
        if label.eq_ignore_ascii_case("svc") {
            Top::Svc
        } else if label.eq_ignore_ascii_case("pod") {
            Top::Pod
        } else if label.eq_ignore_ascii_case("dns") {
            Top::Dns
        } else {
            Top::Other
        }
    }
}

/// Rule texts, shown by `nodecache explain` after "pruned: Kubernetes schema: ".
pub(super) mod rule {
    /// Spec §2.3–§2.6: records live at `<service>.<ns>.svc.<zone>` and below, and at
    /// `<a-b-c-d>.<ns>.pod.<zone>`; CoreDNS answers NODATA for these apexes (parse.go).
    pub(crate) const APEX: &str = "svc.<zone> and pod.<zone> hold no address records";
    /// Spec §2.1 defines `<ns>` as a namespace; no record is defined at `<ns>.svc.<zone>`
    /// or `<ns>.pod.<zone>` (CoreDNS: "handle empty service name" → NODATA/NXDOMAIN).
    pub(crate) const NAMESPACE: &str =
        "<ns>.svc.<zone> and <ns>.pod.<zone> (namespaces) hold no address records";
    /// Spec §2.3.1, §2.4.1, §2.5: `<service>.<ns>.svc` and `<hostname>.<service>.<ns>.svc`.
    pub(crate) const SVC_DEPTH: &str = "names under <ns>.svc.<zone> have 1 or 2 labels";
    /// Spec §2.6: `<a>-<b>-<c>-<d>.<ns>.pod.<zone>`.
    pub(crate) const POD_DEPTH: &str = "pod records are <a-b-c-d>.<ns>.pod.<zone>";
    /// Spec §2.2–§2.6: below the zone only `svc`, `pod` (and the TXT-only `dns-version`).
    pub(crate) const SECOND_LEVEL: &str = "below <zone> only svc.<zone> and pod.<zone> hold names";
}

/// Whether a name below the zone, of shape `relative` (its labels without the zone), can hold
/// an A/AAAA record according to the Kubernetes DNS schema: `None` when it can (ask it), or the
/// rule that rules it out.
pub(super) fn schema_violation(relative: Shape) -> Option<&'static str> {
    // SRV owners `_<port>._<proto>.<service>.<ns>.svc` (spec §2.3.2, §2.4.2) hold SRV, not
    // addresses, and CoreDNS's zonal names `<topozone>._zone.<service>.<ns>.svc` are new; names
    // with an underscore label are asked exactly like glibc so SRV-ish callers see no difference.
    if relative.underscore {
        return None;
    }
    match relative.last {
        Top::Svc => match relative.count {
            // <service>.<ns>.svc (spec §2.3.1, §2.4.1 headless, §2.5 ExternalName CNAME) and
            // <hostname>.<service>.<ns>.svc (spec §2.4.1; CoreDNS also names endpoints without
            // a hostname by their dashed IP there).
            3 | 4 => None,
            // CoreDNS parse.go reads five labels as <port>.<proto>.<service>.<ns>.svc even
            // without underscores, and findServices answers A queries for them when <proto>
            // matches the port's protocol (TCP, UDP or SCTP).
            5 if relative.second_is_protocol => None,
            1 => Some(rule::APEX),
            2 => Some(rule::NAMESPACE),
            _ => Some(rule::SVC_DEPTH),
        },
        Top::Pod => match relative.count {
            // <a-b-c-d>.<ns>.pod (spec §2.6; IPv6 pods use dashes too, so any label is
            // accepted). CoreDNS's parseRequest also accepts one or two extra leading labels
            // there and findPods ignores them, answering the pod's address: ask those too.
            3..=5 => None,
            1 => Some(rule::APEX),
            2 => Some(rule::NAMESPACE),
            _ => Some(rule::POD_DEPTH),
        },
        // CoreDNS's own NS name `ns.dns.<zone>` has an A record (ns.go `defaultNSName`).
        Top::Dns if relative.count == 2 && relative.first_is_ns => None,
        // `dns-version.<zone>` holds only TXT (spec §2.2); nothing else is defined.
        Top::Dns | Top::Other => Some(rule::SECOND_LEVEL),
    }
}

/// True for the rules that prune names which may still exist as empty non-terminals (the
/// zone's `svc`/`pod` apexes and namespaces): asking them yields NODATA or NXDOMAIN, never an
/// address, but glibc's error code depends on which.
pub(super) fn may_be_empty_non_terminal(rule: &str) -> bool {
    rule == rule::APEX || rule == rule::NAMESPACE
}

/// Kubernetes Service port protocols (core/v1 `Protocol`: TCP, UDP, SCTP).
fn is_protocol(label: &str) -> bool {
    ["tcp", "udp", "sctp"]
        .iter()
        .any(|proto| label.eq_ignore_ascii_case(proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_zone_of_a_pod_search_list() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (
                &[
                    "default.svc.cluster.local",
                    "svc.cluster.local",
                    "cluster.local",
                ],
                Some("cluster.local"),
            ),
            (&["svc.k8s.example", "k8s.example"], Some("k8s.example")),
            (
                &[
                    "ns.svc.cluster.local",
                    "svc.cluster.local",
                    "cluster.local",
                    "google.internal",
                ],
                Some("cluster.local"),
            ),
            (
                &["SVC.Cluster.Local", "cluster.local"],
                Some("Cluster.Local"),
            ),
            // `svc.<zone>` without `<zone>`, or the other way round: not a pod's list.
            (&["default.svc.cluster.local", "svc.cluster.local"], None),
            (&["default.svc.cluster.local", "cluster.local"], None),
            (&["example.com", "corp.example.com"], None),
            (&["svc.", "svc"], None),
            (&[], None),
        ];
        for (search, zone) in cases {
            assert_eq!(detect_zone(search), *zone, "{search:?}");
        }
    }

    #[test]
    fn splits_suffixes_at_the_zone() {
        let zone = "cluster.local";
        assert_eq!(
            suffix_below_zone("default.svc.cluster.local", zone),
            Some(Shape::of("default.svc"))
        );
        assert_eq!(suffix_below_zone("cluster.local", zone), Some(Shape::EMPTY));
        assert_eq!(suffix_below_zone("google.internal", zone), None);
        assert_eq!(suffix_below_zone("local", zone), None);
        assert_eq!(suffix_below_zone("xcluster.local", zone), None);
    }

    #[test]
    fn schema_rules() {
        use rule::*;
        // (relative part, part of the suffix below the zone, expected verdict)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("web", "default.svc", None),
            ("web-0.web", "default.svc", None),
            ("www.example.com", "default.svc", Some(SVC_DEPTH)),
            ("www.example.com", "svc", None),
            ("www.example", "", Some(SECOND_LEVEL)),
            ("web", "svc", Some(NAMESPACE)),
            ("svc", "", Some(APEX)),
            ("pod", "", Some(APEX)),
            ("default.pod", "", Some(NAMESPACE)),
            ("10-0-0-1.default.pod", "", None),
            ("fd00--1.default.pod", "", None),
            ("a.b.c.10-0-0-1.default.pod", "", Some(POD_DEPTH)),
            ("x.y.z.w.v.u", "svc", Some(SVC_DEPTH)),
            ("dns-version", "", Some(SECOND_LEVEL)),
            ("ns.dns", "", None),
            ("NS.DNS", "", None),
            ("a.ns.dns", "", Some(SECOND_LEVEL)),
            ("WEB", "Default.SVC", None),
            ("http", "tcp.web.default.svc", None),
            ("http.tcp", "web.default.svc", None),
            ("http.tcp.web.default.svc", "", None),
            ("Web.Default.Svc", "", None),
            // SRV owners and anything with an underscore label: asked like glibc.
            ("_http._tcp.web.default", "default.svc", None),
            ("_http._tcp.web.default", "", None),
            ("us-east-1a._zone.web", "default.svc", None),
            // CoreDNS answers <port>.<proto>.<svc>.<ns>.svc without underscores.
            ("http.tcp.web", "default.svc", None),
            ("dns.UDP.kube-dns.kube-system", "svc", None),
            ("http.web.x", "default.svc", Some(SVC_DEPTH)),
        ];
        for (relative, below, verdict) in cases {
            let shape = Shape::of(relative).then(Shape::of(below));
            assert_eq!(schema_violation(shape), *verdict, "{relative} + {below}");
            // Combining shapes is the same as taking the shape of the joined name.
            assert_eq!(
                shape,
                Shape::of(&name::join(relative, below)),
                "{relative} + {below}"
            );
        }
    }
}
