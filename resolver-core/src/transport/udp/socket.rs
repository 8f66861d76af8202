//! The UDP socket of the question a lookup is asking ([`crate::transport::LookupSockets`]
//! holds it): how it is opened (connected to the only nameserver, else bound to port 0) and
//! its receive timeout. Every question gets a socket of its own (SPEC §4: "each query its
//! own random source port and ID"); its retransmissions use it too.

use std::cell::Cell;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::MIN_WAIT;
use crate::error::Error;

/// The UDP socket of one question (module docs).
#[derive(Debug)]
pub(in crate::transport) struct LookupSocket {
    pub(super) socket: UdpSocket,
    /// The receive timeout set on `socket` (`None`: none yet).
    read_timeout: Cell<Option<Duration>>,
    /// An unconnected `[::]:0` socket reaching IPv4 servers through v4-mapped addresses.
    pub(super) dual_stack: bool,
    /// The one server this socket is connected to.
    pub(super) peer: Option<SocketAddr>,
}

impl LookupSocket {
    /// A socket for these servers: connected to the only one, else (several) IPv4 when all
    /// are IPv4, else dual-stack `[::]:0` (v4 servers reached through v4-mapped addresses),
    /// falling back to IPv4 when IPv6 is unavailable. Dual-stack relies on Linux's default
    /// `net.ipv6.bindv6only = 0`: std offers no safe way to clear `IPV6_V6ONLY`, and this
    /// crate has no unsafe code.
    fn open(servers: &[SocketAddr]) -> Result<Self, Error> {
        if let &[server] = servers {
            // socket2 sets SOCK_CLOEXEC, as std does: the shim's sockets must not leak into
            // programs the host process executes.
            let socket = Socket::new(Domain::for_address(server), Type::DGRAM, None)
                .and_then(|socket| socket.connect(&server.into()).map(|()| socket))
                .map_err(|e| Error::io(Some(server), e))?;
            return Ok(LookupSocket {
                socket: socket.into(),
                read_timeout: Cell::new(None),
                dual_stack: false,
                peer: Some(server),
            });
        }
        let bound = |socket: UdpSocket, dual_stack| LookupSocket {
            socket,
            read_timeout: Cell::new(None),
            dual_stack,
            peer: None,
        };
        if servers.iter().any(SocketAddr::is_ipv6)
            && let Ok(socket) = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0))
        {
            return Ok(bound(socket, true));
        }
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .map(|socket| bound(socket, false))
            .map_err(|e| Error::io(None, e))
    }

    /// Makes the next receive wait `wait`, give or take [`MIN_WAIT`]: the timeout already
    /// set is kept when it is that close, which saves a `setsockopt` whenever the receive
    /// loop comes round again with about the same time left (a stray datagram). Waking early
    /// costs one more turn of the receive loop; waking late delays a retransmission (timers
    /// of 50 ms and more) by under a millisecond, the precision the loop already has (it
    /// never waits less than [`MIN_WAIT`]).
    pub(super) fn wait_about(&self, wait: Duration) -> io::Result<()> {
        if let Some(set) = self.read_timeout.get()
            && set.abs_diff(wait) < MIN_WAIT
        {
            return Ok(());
        }
        self.socket.set_read_timeout(Some(wait))?;
        self.read_timeout.set(Some(wait));
        Ok(())
    }

    /// A new socket for the next question, put in `slot`; the previous question's socket
    /// (if any) is closed, so a late answer to it cannot reach this one.
    pub(super) fn open_in<'s>(
        slot: &'s mut Option<LookupSocket>,
        servers: &[SocketAddr],
    ) -> Result<&'s LookupSocket, Error> {
        *slot = None;
        Ok(slot.insert(LookupSocket::open(servers)?))
    }
}
