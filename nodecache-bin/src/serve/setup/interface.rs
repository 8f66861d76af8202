//! The link holding the listen addresses (node-cache `-setupinterface`, kubernetes/dns
//! `pkg/netif`), through `ip` (iproute2).

use std::net::IpAddr;

use super::SetupError;
use super::command::Runner;

/// One network link by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link<'a> {
    runner: &'a Runner,
    name: &'a str,
}

impl<'a> Link<'a> {
    /// The link called `name` (which may not exist yet).
    pub(crate) fn new(runner: &'a Runner, name: &'a str) -> Link<'a> {
        Link { runner, name }
    }

    /// Whether the link exists. `ip link show dev NAME` exits 1 with `Device "NAME" does not
    /// exist.` when it does not.
    pub(crate) fn exists(&self) -> Result<bool, SetupError> {
        self.runner
            .check("ip", &["link", "show", "dev", self.name], 1)
    }

    /// Creates the link as a dummy device (still down: see [`Link::set_up`]). A dummy link
    /// (drivers/net/dummy.c) accepts addresses and drops whatever is routed out of it, which is
    /// all node-cache needs: packets to the listen IPs are delivered locally because the
    /// addresses are local.
    pub(crate) fn create_dummy(&self) -> Result<(), SetupError> {
        match self
            .runner
            .run("ip", &["link", "add", self.name, "type", "dummy"])
        {
            Ok(_) => Ok(()),
            // iproute2 prints this when the kernel has no "dummy" link kind, neither built in
            // nor loadable (CONFIG_DUMMY).
            Err(SetupError::Command { stderr, .. }) if stderr.contains("Unknown device type") => {
                Err(SetupError::NoDummySupport {
                    interface: self.name.to_owned(),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// `ip link set NAME up`, idempotent: IPv6 addresses on a link that is down get no local
    /// route (and node-cache brings its link up too), so a down link would leave the listen
    /// addresses unreachable.
    pub(crate) fn set_up(&self) -> Result<(), SetupError> {
        self.runner
            .run("ip", &["link", "set", "dev", self.name, "up"])
            .map(drop)
    }

    /// The addresses the link holds now (`ip -o addr show dev NAME`: one line per address,
    /// `N: NAME    inet 169.254.20.10/32 scope global …`).
    pub(crate) fn addresses(&self) -> Result<Vec<IpAddr>, SetupError> {
        let listing = self
            .runner
            .run("ip", &["-o", "addr", "show", "dev", self.name])?;
        Ok(parse_addresses(&listing.stdout))
    }

    /// Adds `ip` as a host address (/32 or /128): only that one address becomes local, no
    /// subnet route is added.
    pub(crate) fn add_address(&self, ip: IpAddr) -> Result<(), SetupError> {
        let cidr = host_cidr(ip);
        let mut args = vec!["addr", "add", cidr.as_str(), "dev", self.name];
        if ip.is_ipv6() {
            // Without `nodad` the address stays "tentative" during duplicate address
            // detection (RFC 4862 §5.4) and bind(2) fails with EADDRNOTAVAIL meanwhile. The
            // address is the node's own service address: there is no one to collide with.
            args.push("nodad");
        }
        self.runner.run("ip", &args).map(drop)
    }

    /// Removes the host address `ip`.
    pub(crate) fn remove_address(&self, ip: IpAddr) -> Result<(), SetupError> {
        let cidr = host_cidr(ip);
        self.runner
            .run("ip", &["addr", "del", cidr.as_str(), "dev", self.name])
            .map(drop)
    }

    /// Deletes the link (with any address still on it).
    pub(crate) fn delete(&self) -> Result<(), SetupError> {
        self.runner
            .run("ip", &["link", "del", "dev", self.name])
            .map(drop)
    }
}

/// `169.254.20.10/32`, `fd00::a/128`.
fn host_cidr(ip: IpAddr) -> String {
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    format!("{ip}/{bits}")
}

/// The addresses in `ip -o addr show` output: the word after each `inet`/`inet6`, without its
/// prefix length. Unparseable words are skipped.
fn parse_addresses(listing: &str) -> Vec<IpAddr> {
    let mut found = Vec::new();
    for line in listing.lines() {
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if word == "inet" || word == "inet6" {
                let ip = words
                    .next()
                    .and_then(|cidr| cidr.split('/').next())
                    .and_then(|ip| ip.parse::<IpAddr>().ok());
                found.extend(ip);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_ip_o_addr_show() {
        let listing = "3: nld    inet 169.254.20.10/32 scope global nld\\       valid_lft forever preferred_lft forever\n\
                       3: nld    inet6 fe80::1/128 scope global nodad \\       valid_lft forever\n\
                       3: nld    inet garbage/32 scope global nld\n";
        assert_eq!(
            parse_addresses(listing),
            vec![
                IpAddr::from([169, 254, 20, 10]),
                "fe80::1".parse::<IpAddr>().unwrap()
            ]
        );
        assert!(parse_addresses("").is_empty());
    }

    #[test]
    fn host_addresses_have_a_full_prefix() {
        assert_eq!(
            host_cidr(IpAddr::from([169, 254, 20, 10])),
            "169.254.20.10/32"
        );
        assert_eq!(host_cidr("fe80::1".parse().unwrap()), "fe80::1/128");
    }
}
