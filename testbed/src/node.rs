//! A node: a `pod` namespace and a `dns` namespace joined by a veth pair, with NSD serving the
//! corpus in `dns` and a Kubernetes-like `/etc` in `pod`.

use std::net::Ipv4Addr;

use crate::{Blackhole, Capture, Corpus, Loss, Netns, Nsd, Result};

/// The pod's address on its `eth0`.
pub const POD_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The DNS server's address (the pod's nameserver).
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 53);
/// A second address NSD can listen on ([`NodeBuilder::second_server`]).
pub const SECOND_DNS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 54);
/// An address on the DNS side where every packet is dropped ([`NodeBuilder::dead_server`]).
pub const DEAD_DNS_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 99);
/// The pod's end of the veth pair (named like a real pod's interface).
pub const POD_IFACE: &str = "eth0";
/// The DNS namespace's end of the veth pair.
pub const DNS_IFACE: &str = "eth0";

/// The resolv.conf kubelet writes for a pod in namespace `default` with `dnsPolicy:
/// ClusterFirst` (three search domains, `ndots:5`), with the given nameservers.
pub fn kubernetes_resolv_conf(nameservers: &[Ipv4Addr]) -> String {
    let mut text =
        String::from("search default.svc.cluster.local svc.cluster.local cluster.local\n");
    for ns in nameservers {
        text.push_str(&format!("nameserver {ns}\n"));
    }
    text.push_str("options ndots:5\n");
    text
}

/// The hosts file kubelet writes into a pod.
const POD_HOSTS: &str = "# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
198.18.0.2\ttestpod
";

/// glibc's lookup order in a Debian-based image: files, then DNS.
const POD_NSSWITCH: &str = "hosts: files dns\n";

/// Options for [`Node`]; start from [`Node::builder`].
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    server_addrs: Vec<Ipv4Addr>,
    dead_addrs: Vec<Ipv4Addr>,
    resolv_conf: Option<String>,
    zone: Option<String>,
    start_nsd: bool,
}

impl NodeBuilder {
    /// NSD also listens on [`SECOND_DNS_ADDR`] (not in the pod's resolv.conf unless you set one).
    pub fn second_server(self) -> Self {
        self.server_addr(SECOND_DNS_ADDR)
    }

    /// NSD also listens on `addr` (added to the DNS side's interface).
    pub fn server_addr(mut self, addr: Ipv4Addr) -> Self {
        if !self.server_addrs.contains(&addr) {
            self.server_addrs.push(addr);
        }
        self
    }

    /// [`DEAD_DNS_ADDR`] exists on the DNS side but drops everything (a dead nameserver).
    pub fn dead_server(self) -> Self {
        self.dead_addr(DEAD_DNS_ADDR)
    }

    /// `addr` exists on the DNS side but drops everything sent to it.
    pub fn dead_addr(mut self, addr: Ipv4Addr) -> Self {
        if !self.dead_addrs.contains(&addr) {
            self.dead_addrs.push(addr);
        }
        self
    }

    /// The pod's resolv.conf (default: [`kubernetes_resolv_conf`] with [`DNS_ADDR`]).
    pub fn resolv_conf(mut self, text: impl Into<String>) -> Self {
        self.resolv_conf = Some(text.into());
        self
    }

    /// The root zone NSD serves (default: [`Corpus::zone`]).
    pub fn zone(mut self, text: impl Into<String>) -> Self {
        self.zone = Some(text.into());
        self
    }

    /// Build without starting NSD (start it later with [`Node::start_nsd`]).
    pub fn without_nsd(mut self) -> Self {
        self.start_nsd = false;
        self
    }

    /// Creates the namespaces, the veth pair, the pod's `/etc` files and starts NSD.
    pub fn build(self) -> Result<Node> {
        let pod = Netns::new()?;
        let dns = Netns::new()?;
        // Create both ends inside their namespaces, so the fixed names never meet in the root
        // namespace (where parallel nodes would collide).
        pod.ip(&[
            "link",
            "add",
            POD_IFACE,
            "type",
            "veth",
            "peer",
            "name",
            DNS_IFACE,
            "netns",
            dns.name(),
        ])?;
        pod.ip(&["addr", "add", &format!("{POD_ADDR}/24"), "dev", POD_IFACE])?;
        let dns_addrs = self.server_addrs.iter().chain(&self.dead_addrs);
        for addr in dns_addrs {
            dns.ip(&["addr", "add", &format!("{addr}/24"), "dev", DNS_IFACE])?;
        }
        // Link-up last: IPv6 link-local addresses (fe80::/64) appear now, as the kernel makes
        // them; glibc's AI_ADDRCONFIG counts them (sysdeps/unix/sysv/linux/check_pf.c ignores
        // only loopback), so the pod sends AAAA queries like a real dual-stack-capable pod.
        pod.ip(&["link", "set", POD_IFACE, "up"])?;
        dns.ip(&["link", "set", DNS_IFACE, "up"])?;

        let resolv = self
            .resolv_conf
            .unwrap_or_else(|| kubernetes_resolv_conf(&[DNS_ADDR]));
        pod.write_etc("resolv.conf", &resolv)?;
        pod.write_etc("hosts", POD_HOSTS)?;
        pod.write_etc("nsswitch.conf", POD_NSSWITCH)?;

        let blackholes = self
            .dead_addrs
            .iter()
            .map(|addr| Blackhole::address(&dns, *addr))
            .collect::<Result<Vec<_>>>()?;
        let zone = self.zone.unwrap_or_else(|| Corpus.zone());
        let mut node = Node {
            nsd: None,
            blackholes,
            server_addrs: self.server_addrs,
            zone,
            dns,
            pod,
        };
        if self.start_nsd {
            node.start_nsd()?;
        }
        Ok(node)
    }
}

/// The test node. Dropping it stops NSD and removes both namespaces.
#[derive(Debug)]
pub struct Node {
    // Field order is drop order: processes first, namespaces last.
    nsd: Option<Nsd>,
    blackholes: Vec<Blackhole>,
    server_addrs: Vec<Ipv4Addr>,
    zone: String,
    dns: Netns,
    pod: Netns,
}

impl Node {
    /// Options: second server, dead server, resolv.conf, zone.
    pub fn builder() -> NodeBuilder {
        NodeBuilder {
            server_addrs: vec![DNS_ADDR],
            dead_addrs: Vec::new(),
            resolv_conf: None,
            zone: None,
            start_nsd: true,
        }
    }

    /// The default node: Kubernetes resolv.conf, NSD on [`DNS_ADDR`] serving the [`Corpus`].
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// The pod's namespace (run the code under test here).
    pub fn pod(&self) -> &Netns {
        &self.pod
    }

    /// The DNS server's namespace.
    pub fn dns(&self) -> &Netns {
        &self.dns
    }

    /// NSD, when started.
    pub fn nsd(&mut self) -> Option<&mut Nsd> {
        self.nsd.as_mut()
    }

    /// The blackholes of the dead addresses.
    pub fn blackholes(&self) -> &[Blackhole] {
        &self.blackholes
    }

    /// Starts NSD (if not running) on every server address, serving the node's zone.
    pub fn start_nsd(&mut self) -> Result<()> {
        match self.nsd.as_mut() {
            Some(nsd) => nsd.start(),
            None => {
                self.nsd = Some(Nsd::start_in(&self.dns, &self.server_addrs, &self.zone)?);
                Ok(())
            }
        }
    }

    /// Stops NSD; queries then get ICMP port unreachable. [`Node::start_nsd`] restarts it.
    pub fn stop_nsd(&mut self) -> Result<()> {
        self.nsd.as_mut().map_or(Ok(()), Nsd::stop)
    }

    /// Replaces the pod's `/etc/resolv.conf`.
    pub fn set_resolv_conf(&self, text: &str) -> Result<()> {
        self.pod.write_etc("resolv.conf", text)
    }

    /// Captures DNS traffic on the DNS side of the veth (what reaches the server, before its
    /// iptables rules); markers go from the pod to [`DNS_ADDR`].
    pub fn capture(&self) -> Result<Capture> {
        Capture::start(&self.dns, DNS_IFACE, &self.pod, DNS_ADDR)
    }

    /// Puts `addr` on the DNS side (as a /32 on its `eth0`) and routes it from the pod over
    /// the veth, so a server in the DNS namespace can stand in for a service address outside
    /// the /24 (e.g. the corpus's `web`, 198.18.1.10).
    pub fn add_service_addr(&self, addr: Ipv4Addr) -> Result<()> {
        let host = format!("{addr}/32");
        self.dns.ip(&["addr", "add", &host, "dev", DNS_IFACE])?;
        self.pod.ip(&["route", "add", &host, "dev", POD_IFACE])?;
        Ok(())
    }

    /// Random loss of UDP queries arriving at the DNS side (SPEC §6), removed on drop.
    pub fn add_loss(&self, probability: f64) -> Result<Loss> {
        Loss::udp_input(&self.dns, probability)
    }

    /// Drops every packet to `addr` on the DNS side, until the returned rule is dropped.
    pub fn blackhole(&self, addr: Ipv4Addr) -> Result<Blackhole> {
        Blackhole::address(&self.dns, addr)
    }
}
