//! Serving clients over UDP: one task per worker socket (the SO_REUSEPORT group spreads
//! clients over them), answering cache hits inline and spawning a task per miss so one slow
//! upstream never holds up the hits behind it.

use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::serve::metrics::Proto;
use crate::serve::responder::{Immediate, Responder};

/// Largest datagram read: the largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65535;

/// Typical reply size: the output buffer starts this large and is reused.
const REPLY_CAPACITY: usize = 1232;

/// Reads and answers queries on `socket` until `shutdown` turns true (or its sender goes).
/// On shutdown the loop stops reading and drops its handle on the socket; misses still in
/// flight keep it open until their replies are sent.
pub(crate) async fn serve_udp(
    socket: Arc<UdpSocket>,
    responder: Arc<Responder>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut datagram = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::with_capacity(REPLY_CAPACITY);
    loop {
        let received = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            received = socket.recv_from(&mut datagram) => received,
        };
        // Errors on an unconnected UDP socket are transient (ICMP errors of earlier sends,
        // ENOMEM): keep serving.
        let Ok((len, client)) = received else {
            continue;
        };
        let now = Instant::now();
        let msg = datagram.get(..len).unwrap_or_default();
        match responder.answer_now(msg, Proto::Udp, client.is_ipv6(), now, &mut out) {
            Immediate::Reply => {
                // A failed send (client gone, buffer full) loses one reply; the client
                // retransmits.
                let _ = socket.send_to(&out, client).await;
            }
            Immediate::Drop => {}
            Immediate::Forward(pending) => {
                let socket = Arc::clone(&socket);
                let responder = Arc::clone(&responder);
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(REPLY_CAPACITY);
                    let in_flight = responder.answer_forwarded(pending, &mut out).await;
                    let _ = socket.send_to(&out, client).await;
                    drop(in_flight);
                });
            }
        }
    }
}
