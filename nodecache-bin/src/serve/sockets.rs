//! Listening sockets, all bound with SO_REUSEPORT (and SO_REUSEADDR) so a second instance can
//! bind the same addresses during a rolling update (SPEC §3): the kernel spreads new datagrams
//! and connections over every socket in the group (socket(7), SO_REUSEPORT).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

fn new_socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        // Bind exactly what was asked: `[::]:53` should not also take IPv4 from a peer group.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A non-blocking UDP socket bound to `addr` in a SO_REUSEPORT group. Call once per worker:
/// the kernel then hashes clients over the workers' sockets.
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// A non-blocking TCP listener bound to `addr` in a SO_REUSEPORT group.
pub(crate) fn bind_tcp(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}
