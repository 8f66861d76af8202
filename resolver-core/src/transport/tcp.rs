//! TCP exchange (RFC 7766 two-byte length framing) for truncated answers and use-vc.
//!
//! One connection per question and server, no pooling (the daemon has its own pool). Every
//! step (connect, write, each read) is bounded by the try's deadline: `min(timeout, remaining
//! budget)`. As glibc's `send_vc` does, a message on the stream that is not the answer to our
//! question is skipped and the next one read.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{Exchange, Question, Tally, asks_elsewhere};
use crate::error::Error;
use crate::wire;

/// Why one TCP try failed.
#[derive(Debug)]
pub(super) enum TcpFailure {
    /// The try's deadline passed.
    TimedOut,
    /// Connection refused or reset, unreachable, closed early, …
    Io(io::Error),
}

impl From<io::Error> for TcpFailure {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TcpFailure::TimedOut,
            _ => TcpFailure::Io(e),
        }
    }
}

/// Time left before `deadline`, or [`TcpFailure::TimedOut`] when none.
fn remaining(deadline: Instant) -> Result<Duration, TcpFailure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(TcpFailure::TimedOut)
    } else {
        Ok(left)
    }
}

/// Fills `buf` from the stream before `deadline`.
fn read_exact_by(
    stream: &mut TcpStream,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<(), TcpFailure> {
    let mut filled = 0;
    while filled < buf.len() {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match stream.read(rest) {
            Ok(0) => return Err(TcpFailure::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Asks one server: connect, send the framed query, read framed messages until one is the
/// answer to `q`. `sent` is incremented once the query is written.
pub(super) fn ask(
    server: SocketAddr,
    q: &Question<'_>,
    deadline: Instant,
    sent: &mut u32,
) -> Result<Vec<u8>, TcpFailure> {
    let mut stream = TcpStream::connect_timeout(&server, remaining(deadline)?)?;
    // The query goes in one segment; Nagle would only delay it.
    stream.set_nodelay(true)?;
    let len = u16::try_from(q.query.len())
        .map_err(|_| TcpFailure::Io(io::ErrorKind::InvalidInput.into()))?;
    let mut framed = Vec::with_capacity(q.query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(q.query);
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    stream.write_all(&framed)?;
    *sent += 1;
    loop {
        let mut prefix = [0u8; 2];
        read_exact_by(&mut stream, &mut prefix, deadline)?;
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        read_exact_by(&mut stream, &mut msg, deadline)?;
        if wire::validate_response(&msg, q.id, q.qname, q.qtype).is_ok() {
            return Ok(msg);
        }
    }
}

/// Asks the servers at `sequence` (indices into `q.servers`) over TCP, one after the other,
/// until one answers with an rcode other than SERVFAIL/REFUSED/NOTIMP/FORMERR. `tally` holds
/// what UDP already sent; `tcp_fallback` says why we are here.
///
/// When every try got a refusal the last one is returned; when none answered, the error is
/// [`Error::Timeout`] if any try timed out, else the last [`Error::Io`] (e.g. every server
/// refused the connection).
pub(super) fn exchange(
    q: &Question<'_>,
    sequence: &[usize],
    tally: Tally,
    tcp_fallback: bool,
) -> Result<Exchange, Error> {
    let mut sent = tally.queries_sent;
    let mut last_refusal: Option<(SocketAddr, Vec<u8>)> = None;
    let mut last_io: Option<(SocketAddr, io::Error)> = None;
    let mut timed_out = false;
    for &index in sequence {
        let Some(&server) = q.servers.get(index) else {
            continue;
        };
        let now = Instant::now();
        if now >= q.deadline {
            timed_out = true;
            break;
        }
        let try_deadline = q.deadline.min(now + q.config.timeout);
        match ask(server, q, try_deadline, &mut sent) {
            Ok(msg) => {
                let refused = wire::Header::parse(&msg).is_ok_and(|h| asks_elsewhere(h.rcode()));
                if !refused {
                    return Ok(answer(server, msg, sent, tally, tcp_fallback));
                }
                last_refusal = Some((server, msg));
            }
            Err(TcpFailure::TimedOut) => timed_out = true,
            Err(TcpFailure::Io(e)) => last_io = Some((server, e)),
        }
    }
    match (last_refusal, last_io) {
        (Some((server, msg)), _) => Ok(answer(server, msg, sent, tally, tcp_fallback)),
        (None, Some((server, source))) if !timed_out => Err(Error::io(Some(server), source)),
        _ => Err(Error::Timeout(q.config.total_budget())),
    }
}

fn answer(
    server: SocketAddr,
    response: Vec<u8>,
    sent: u32,
    tally: Tally,
    tcp_fallback: bool,
) -> Exchange {
    Exchange {
        response,
        server,
        over_tcp: true,
        queries_sent: sent,
        retransmits: tally.retransmits,
        tcp_fallback,
    }
}
