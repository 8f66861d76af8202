//! Datagrams in batches: up to [`BATCH`] queries read with one recvmmsg(2) and up to
//! [`BATCH`] replies written with one sendmmsg(2), every buffer and header allocated once per
//! worker. A syscall per datagram was most of the daemon's user-visible cost on a cache hit
//! (the profile in the UDP fast-path brief: recvfrom 14 %, sendto 65 % with loopback
//! delivery); batching pays the entry/exit once per batch instead.
//!
//! recvmmsg comes from `nix` and sendmmsg from `rustix`: both wrap the calls safely, but
//! nix's sendmmsg result cannot be counted without reading never-written addresses, while
//! rustix (which has no recvmmsg yet) returns the count sendmmsg(2) reports.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
use rustix::net::addr::SocketAddrArg;
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};

/// Datagrams per recvmmsg(2) and replies per sendmmsg(2). dnsdist and unbound read in
/// batches of this order; beyond it the batch's latency grows with nothing left to save.
pub(crate) const BATCH: usize = 32;

/// Room for one query. RFC 1035 §4.2.1 limits queries without EDNS to 512 octets and
/// clients put no records but OPT (and perhaps a cookie or TSIG) in a query, so anything
/// longer is not a query a stub sends: it arrives truncated (MSG_TRUNC) and is dropped.
pub(crate) const QUERY_ROOM: usize = 4096;

/// Typical reply size: each reply buffer starts this large and is reused (grows once for
/// larger answers, up to what the client's UDP size allows).
const REPLY_CAPACITY: usize = 1232;

/// One datagram of the last [`RecvBatch::receive`].
#[derive(Debug, Clone, Copy)]
struct Received {
    /// Bytes received (capped at [`QUERY_ROOM`]).
    len: usize,
    /// The sender; `None` if the kernel reported an address of another family.
    from: Option<SocketAddr>,
    /// The datagram was longer than [`QUERY_ROOM`] (MSG_TRUNC).
    truncated: bool,
}

/// recvmmsg(2) state for one socket: headers, [`BATCH`] buffers of [`QUERY_ROOM`] bytes, and
/// what the last call received.
#[derive(Debug)]
pub(crate) struct RecvBatch {
    headers: MultiHeaders<SockaddrStorage>,
    buffers: Box<[u8]>,
    received: [Received; BATCH],
    count: usize,
}

/// A datagram of the last receive.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Datagram<'a> {
    /// A datagram that fit, with its sender.
    Query {
        /// Its bytes.
        bytes: &'a [u8],
        /// Who sent it.
        from: SocketAddr,
    },
    /// Too long to be a query, or with no usable sender address: not answered.
    Unusable,
}

impl RecvBatch {
    /// Buffers for [`BATCH`] datagrams (allocated here, once).
    pub(crate) fn new() -> RecvBatch {
        RecvBatch::with_capacity(BATCH)
    }

    /// Buffers for `capacity` datagrams (at most [`BATCH`]), allocated here, once.
    ///
    /// The headers are reused without resetting their address lengths (nix does not; the
    /// kernel writes back the length of each sender's address): that is sound because a
    /// listening socket receives one address family only (IPv6 ones are bound IPV6_V6ONLY),
    /// so every sender's address has the length of the first.
    pub(crate) fn with_capacity(capacity: usize) -> RecvBatch {
        let capacity = capacity.clamp(1, BATCH);
        RecvBatch {
            headers: MultiHeaders::preallocate(capacity, None),
            buffers: vec![0; capacity * QUERY_ROOM].into_boxed_slice(),
            received: [Received {
                len: 0,
                from: None,
                truncated: false,
            }; BATCH],
            count: 0,
        }
    }

    /// Datagrams one receive can take.
    pub(crate) fn capacity(&self) -> usize {
        self.buffers.len() / QUERY_ROOM
    }

    /// Takes every datagram already queued on `socket`, up to [`RecvBatch::capacity`]
    /// (recvmmsg(2)); returns how many. Fewer than the capacity means the queue was empty
    /// when the call returned. On a non-blocking socket with nothing queued that is an
    /// `io::ErrorKind::WouldBlock` error; on a blocking one it waits for the first datagram
    /// only (MSG_WAITFORONE).
    pub(crate) fn receive(&mut self, socket: &impl AsFd) -> io::Result<usize> {
        self.count = 0;
        let mut room = self.buffers.chunks_exact_mut(QUERY_ROOM);
        let mut slices: [[IoSliceMut<'_>; 1]; BATCH] =
            std::array::from_fn(|_| [IoSliceMut::new(room.next().unwrap_or_default())]);
        let results = recvmmsg(
            socket.as_fd().as_raw_fd(),
            &mut self.headers,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        )
        .map_err(io::Error::from)?;
        for (slot, message) in self.received.iter_mut().zip(results) {
            *slot = Received {
                len: message.bytes.min(QUERY_ROOM),
                from: message.address.as_ref().and_then(socket_addr),
                truncated: message.flags.contains(MsgFlags::MSG_TRUNC),
            };
            self.count += 1;
        }
        Ok(self.count)
    }

    /// The bytes of datagram `index` whatever its sender, and whether it was longer than
    /// the buffer (cut). For a connected socket, where the kernel delivers only what its
    /// peer sent (udp(7)), so the sender address is not needed (nor read: the headers'
    /// address lengths are not reset between sockets of different families).
    pub(crate) fn payload(&self, index: usize) -> Option<(&[u8], bool)> {
        let received = self.received.get(..self.count)?.get(index)?;
        let start = index * QUERY_ROOM;
        let bytes = self.buffers.get(start..start + received.len)?;
        Some((bytes, received.truncated || received.len >= QUERY_ROOM))
    }

    /// Datagram `index` (0 ≤ index < what [`RecvBatch::receive`] returned).
    pub(crate) fn datagram(&self, index: usize) -> Datagram<'_> {
        let Some(received) = self.received.get(..self.count).and_then(|r| r.get(index)) else {
            return Datagram::Unusable;
        };
        let start = index * QUERY_ROOM;
        match (received.from, received.truncated) {
            (Some(from), false) => match self.buffers.get(start..start + received.len) {
                Some(bytes) => Datagram::Query { bytes, from },
                None => Datagram::Unusable,
            },
            _ => Datagram::Unusable,
        }
    }
}

/// The sender of a received datagram as a std address (IPv4 or IPv6 sockets only).
fn socket_addr(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    storage
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// sendmmsg(2) state for one socket: [`BATCH`] reply buffers and their destinations.
#[derive(Debug)]
pub(crate) struct SendBatch {
    replies: Vec<Vec<u8>>,
    destinations: Vec<SocketAddrAny>,
    /// Replies before this one are sent (or given up): where an interrupted flush resumes.
    next_unsent: usize,
}

impl SendBatch {
    /// Buffers for [`BATCH`] replies (allocated here, once).
    pub(crate) fn new() -> SendBatch {
        SendBatch {
            replies: (0..BATCH)
                .map(|_| Vec::with_capacity(REPLY_CAPACITY))
                .collect(),
            destinations: Vec::with_capacity(BATCH),
            next_unsent: 0,
        }
    }

    /// Replies queued and not yet sent.
    pub(crate) fn queued(&self) -> usize {
        self.destinations.len()
    }

    /// The buffer for the next reply (written by the responder, which clears it first);
    /// `None` when [`BATCH`] replies are queued: [`SendBatch::flush`] first.
    pub(crate) fn next_buffer(&mut self) -> Option<&mut Vec<u8>> {
        self.replies.get_mut(self.destinations.len())
    }

    /// Queues the reply just written into [`SendBatch::next_buffer`] for `to`.
    pub(crate) fn commit(&mut self, to: SocketAddr) {
        if self.destinations.len() < self.replies.len() {
            self.destinations.push(to.as_any());
        }
    }

    /// Sends the queued replies (sendmmsg(2)) and empties the queue. A reply whose send
    /// fails is dropped, like any lost datagram (the client retransmits): sendmmsg(2) stops
    /// at the first failure, so the call is repeated after it for the rest. On a
    /// non-blocking socket whose send buffer is full this returns an
    /// `io::ErrorKind::WouldBlock` error with the unsent replies kept: call it again once
    /// the socket is writable and it resumes where it stopped.
    pub(crate) fn flush(&mut self, socket: &impl AsFd) -> io::Result<()> {
        while self.next_unsent < self.destinations.len() {
            match self.send_from(socket, self.next_unsent) {
                Ok(sent) => self.next_unsent += sent.max(1),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Err(error),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.next_unsent += 1,
            }
        }
        self.destinations.clear();
        self.next_unsent = 0;
        Ok(())
    }

    /// Drops every queued reply unsent.
    pub(crate) fn discard(&mut self) {
        self.destinations.clear();
        self.next_unsent = 0;
    }

    /// One sendmmsg(2) of the queued replies from `start` on.
    ///
    /// The headers live in arrays sized at compile time, and filling all [`BATCH`] of them
    /// cost more than the call's own user-side work when one reply is queued — the usual
    /// case on a node that is not saturated, and for a miss's reply (callgrind: ~1,500
    /// instructions per reply). So a few replies go through a small array, more through the
    /// full one.
    fn send_from(&self, socket: &impl AsFd, start: usize) -> io::Result<usize> {
        let pending = self.destinations.get(start..).unwrap_or_default();
        let replies = self.replies.get(start..).unwrap_or_default();
        if pending.len() <= SMALL_SEND {
            send_array::<SMALL_SEND>(socket, pending, replies)
        } else {
            send_array::<BATCH>(socket, pending, replies)
        }
    }
}

/// Replies up to which [`SendBatch`] builds the headers of a small batch only.
const SMALL_SEND: usize = 4;

/// sendmmsg(2) of up to `N` of `replies`, each to its entry of `pending`.
fn send_array<const N: usize>(
    socket: &impl AsFd,
    pending: &[SocketAddrAny],
    replies: &[Vec<u8>],
) -> io::Result<usize> {
    let slices: [[IoSlice<'_>; 1]; N] =
        std::array::from_fn(|i| [IoSlice::new(replies.get(i).map_or(&[][..], Vec::as_slice))]);
    let mut controls: [SendAncillaryBuffer<'_, '_, '_>; N] =
        std::array::from_fn(|_| SendAncillaryBuffer::default());
    let mut index = 0;
    let mut headers = controls.each_mut().map(|control| {
        let header = match (pending.get(index), slices.get(index)) {
            (Some(to), Some(slice)) => MMsgHdr::new_with_addr(to, slice, control),
            _ => MMsgHdr::new(&[], control),
        };
        index += 1;
        header
    });
    let count = pending.len().min(N);
    let headers = headers.get_mut(..count).unwrap_or_default();
    rustix::net::sendmmsg(socket, headers, SendFlags::empty()).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::time::Duration;

    use super::*;

    fn pair() -> (UdpSocket, UdpSocket) {
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        (server, client)
    }

    #[test]
    fn small_and_large_flushes_send_every_reply_in_order() {
        let (server, client) = pair();
        let client_addr = client.local_addr().expect("addr");
        let mut sender = SendBatch::new();
        // Below and above the small-array threshold.
        for count in [1u8, SMALL_SEND as u8, SMALL_SEND as u8 + 1, BATCH as u8] {
            for i in 0..count {
                let buffer = sender.next_buffer().expect("room");
                buffer.clear();
                buffer.extend_from_slice(&[count, i]);
                sender.commit(client_addr);
            }
            sender.flush(&server).expect("flush");
            for i in 0..count {
                let mut buf = [0u8; 8];
                let (len, _) = client.recv_from(&mut buf).expect("reply");
                assert_eq!(&buf[..len], &[count, i], "batch of {count}");
            }
        }
    }

    #[test]
    fn a_small_batch_reports_a_drained_queue_and_cut_datagrams() {
        let (server, client) = pair();
        let server_addr = server.local_addr().expect("addr");
        client.send_to(&[1; 10], server_addr).expect("send");
        client.send_to(&[2; 20], server_addr).expect("send");
        client
            .send_to(&vec![3; QUERY_ROOM + 100], server_addr)
            .expect("send");
        let mut receiver = RecvBatch::with_capacity(2);
        assert_eq!(receiver.capacity(), 2);
        // Full: the queue may hold more.
        assert_eq!(receiver.receive(&server).expect("receive"), 2);
        assert_eq!(receiver.payload(0), Some((&[1u8; 10][..], false)));
        assert_eq!(receiver.payload(1), Some((&[2u8; 20][..], false)));
        // Fewer than the capacity: the queue was emptied; the long one was cut.
        assert_eq!(receiver.receive(&server).expect("receive"), 1);
        let (bytes, cut) = receiver.payload(0).expect("payload");
        assert_eq!((bytes.len(), cut), (QUERY_ROOM, true));
        assert_eq!(receiver.payload(1), None);
    }

    #[test]
    fn receives_queued_datagrams_in_batches_and_sends_replies_in_order() {
        let (server, client) = pair();
        let server_addr = server.local_addr().expect("addr");
        let client_addr = client.local_addr().expect("addr");
        for i in 0..70u8 {
            client.send_to(&[i; 3], server_addr).expect("send");
        }
        let mut receiver = RecvBatch::new();
        let mut sender = SendBatch::new();
        let mut seen = Vec::new();
        let mut counts = Vec::new();
        while seen.len() < 70 {
            let count = receiver.receive(&server).expect("receive");
            assert!((1..=BATCH).contains(&count));
            counts.push(count);
            for index in 0..count {
                let Datagram::Query { bytes, from } = receiver.datagram(index) else {
                    panic!("datagram {index} unusable");
                };
                assert_eq!(from, client_addr);
                seen.push(bytes.to_vec());
                let buffer = sender.next_buffer().expect("room");
                buffer.clear();
                buffer.extend_from_slice(bytes);
                buffer.push(0xff);
                sender.commit(from);
            }
            sender.flush(&server).expect("sent");
            assert_eq!(sender.queued(), 0);
        }
        let expected: Vec<Vec<u8>> = (0..70u8).map(|i| vec![i; 3]).collect();
        assert_eq!(seen, expected, "every datagram once, in order");
        // Loopback queues each datagram before send_to returns, so all 70 were waiting.
        assert!(counts.iter().any(|&count| count > 1), "batched: {counts:?}");
        let mut reply = [0u8; 16];
        for i in 0..70u8 {
            let (len, from) = client.recv_from(&mut reply).expect("reply");
            assert_eq!(from, server_addr);
            assert_eq!(reply.get(..len), Some(&[i, i, i, 0xff][..]));
        }
    }

    #[test]
    fn an_oversized_datagram_is_unusable_and_the_rest_of_the_batch_is_not() {
        let (server, client) = pair();
        let server_addr = server.local_addr().expect("addr");
        client.send_to(&[1; 10], server_addr).expect("send");
        client
            .send_to(&vec![2; QUERY_ROOM + 1], server_addr)
            .expect("send");
        client.send_to(&[3; 10], server_addr).expect("send");
        let mut receiver = RecvBatch::new();
        let mut got = Vec::new();
        while got.len() < 3 {
            let count = receiver.receive(&server).expect("receive");
            for index in 0..count {
                got.push(match receiver.datagram(index) {
                    Datagram::Query { bytes, .. } => bytes.first().copied(),
                    Datagram::Unusable => None,
                });
            }
        }
        assert_eq!(got, [Some(1), None, Some(3)]);
        assert!(matches!(receiver.datagram(BATCH), Datagram::Unusable));
    }

    #[test]
    fn a_full_send_queue_refuses_more_until_flushed() {
        let (server, client) = pair();
        let to = client.local_addr().expect("addr");
        let mut sender = SendBatch::new();
        for _ in 0..BATCH {
            sender.next_buffer().expect("room").push(7);
            sender.commit(to);
        }
        assert!(sender.next_buffer().is_none());
        sender.commit(to);
        assert_eq!(sender.queued(), BATCH);
        sender.flush(&server).expect("sent");
        assert_eq!(sender.queued(), 0);
        assert!(sender.next_buffer().is_some());
    }
}
