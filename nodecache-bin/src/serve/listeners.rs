//! Binding every listening socket before anything serves, so a bind failure is reported as
//! one line naming the address and the OS error, with nothing left half-started.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::serve::config::ServeConfig;
use crate::serve::sockets::{bind_tcp, bind_udp};

/// Pending-connection queue of the DNS TCP listeners (listen(2) backlog).
const DNS_TCP_BACKLOG: i32 = 1024;
/// Pending-connection queue of the admin listener: scrapes and probes only.
const ADMIN_BACKLOG: i32 = 64;

/// A socket that could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum BindError {
    /// bind(2), listen(2) or a socket option failed.
    #[error("cannot bind {what} {addr}: {source}")]
    Bind {
        /// "UDP", "TCP" or "admin TCP".
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A UDP worker thread or its runtime could not be started.
    #[error("cannot start a UDP worker: {source}")]
    Worker {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Registering a bound socket with the runtime failed.
    #[error("cannot register {addr} with the runtime: {source}")]
    Register {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Every socket of the daemon, bound (std sockets, not yet registered with tokio).
#[derive(Debug)]
pub(crate) struct BoundSockets {
    /// Per listen address: one UDP socket per worker (one SO_REUSEPORT group).
    pub(crate) udp: Vec<(SocketAddr, Vec<std::net::UdpSocket>)>,
    /// Per listen address: its TCP listener.
    pub(crate) tcp: Vec<(SocketAddr, std::net::TcpListener)>,
    /// The admin listener (`/metrics`, `/health`, `/ready`).
    pub(crate) admin: std::net::TcpListener,
}

impl BoundSockets {
    /// Binds `config.listen` (UDP × `config.workers`, and TCP, for each) and `config.metrics`.
    pub(crate) fn bind(config: &ServeConfig) -> Result<BoundSockets, BindError> {
        let bind_error = |what, addr| move |source| BindError::Bind { what, addr, source };
        let mut udp = Vec::with_capacity(config.listen.len());
        let mut tcp = Vec::with_capacity(config.listen.len());
        for &addr in &config.listen {
            let sockets = (0..config.workers.max(1))
                .map(|_| bind_udp(addr).map_err(bind_error("UDP", addr)))
                .collect::<Result<Vec<_>, _>>()?;
            udp.push((addr, sockets));
            let listener = bind_tcp(addr, DNS_TCP_BACKLOG).map_err(bind_error("TCP", addr))?;
            tcp.push((addr, listener));
        }
        let admin = bind_tcp(config.metrics, ADMIN_BACKLOG)
            .map_err(bind_error("admin TCP", config.metrics))?;
        Ok(BoundSockets { udp, tcp, admin })
    }
}

/// Registers a bound UDP socket with the current tokio runtime.
pub(crate) fn register_udp(
    addr: SocketAddr,
    socket: std::net::UdpSocket,
) -> Result<Arc<tokio::net::UdpSocket>, BindError> {
    tokio::net::UdpSocket::from_std(socket)
        .map(Arc::new)
        .map_err(|source| BindError::Register { addr, source })
}

/// Registers a bound TCP listener with the current tokio runtime.
pub(crate) fn register_tcp(
    addr: SocketAddr,
    listener: std::net::TcpListener,
) -> Result<tokio::net::TcpListener, BindError> {
    tokio::net::TcpListener::from_std(listener)
        .map_err(|source| BindError::Register { addr, source })
}
