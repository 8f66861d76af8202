//! The admin listener: `/metrics` (Prometheus text, CoreDNS-compatible names), `/health`,
//! `/ready`, over a minimal hand-written HTTP/1.1 (one request per connection, then close).
//!
//! Limits, so a slow or hostile client costs little and never blocks the others: each
//! connection is its own task; the request head must arrive within [`READ_TIMEOUT`] and fit
//! in [`http::MAX_HEAD_BYTES`]; at most [`MAX_CONNECTIONS`] connections are served at once
//! (beyond that new ones are closed at once, so file descriptors stay bounded).

mod http;
mod render;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

pub(crate) use render::render;

use crate::serve::health::Health;
use crate::serve::metrics::Metrics;
use http::{Method, Request, RequestError, Response};

/// Time a client has to send its request head, and then to take the response.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Most admin connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// How long to wait for the client to close after the response (see `handle`).
const LINGER: Duration = Duration::from_secs(1);
/// Most request bytes discarded while lingering.
const LINGER_BYTES: usize = 64 * 1024;
/// Pause after a failed accept (EMFILE, ENFILE, ENOBUFS): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves admin requests on `listener` (bound by `sockets::bind_tcp`) until the runtime
/// shuts down.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) {
    // tokio needs a non-blocking socket; `bind_tcp` makes one, a caller's own may not be.
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
    {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("nodecache serve: admin listener unusable: {error}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let health = Arc::clone(&health);
        tokio::spawn(async move {
            handle(stream, &metrics, &health).await;
            drop(slot);
        });
    }
}

/// One connection: read the head, answer, close.
async fn handle(mut stream: TcpStream, metrics: &Metrics, health: &Health) {
    let (response, head_only) =
        match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
            Err(_elapsed) => (Response::text(408, "request timeout\n"), false),
            Ok(Err(HeadError::Closed)) => return,
            Ok(Err(HeadError::Request(RequestError::TooLarge))) => {
                (Response::text(431, "request head too large\n"), false)
            }
            Ok(Err(HeadError::Request(_))) => (Response::text(400, "bad request\n"), false),
            Ok(Ok(request)) => (
                respond(&request, metrics, health),
                request.method == Method::Head,
            ),
        };
    let bytes = response.to_bytes(head_only);
    // A client that does not read its answer is dropped after the timeout.
    let _ = tokio::time::timeout(READ_TIMEOUT, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    // Lingering close (RFC 9112 §9.6): closing with unread request bytes makes the kernel
    // send RST, which can destroy the response before the client reads it (an oversized
    // head is refused before it is all read). Read and discard a bounded amount first.
    let _ = tokio::time::timeout(LINGER, async {
        let mut sink = [0u8; 4096];
        let mut drained = 0usize;
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// Why no request could be read.
#[derive(Debug)]
enum HeadError {
    /// The peer closed or the connection failed before a complete head.
    Closed,
    /// The head is bad.
    Request(RequestError),
}

/// Reads until the blank line that ends the head, within [`http::MAX_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> Result<Request, HeadError> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(end) = http::head_end(&buffer) {
            let head = buffer.get(..end).unwrap_or_default();
            return http::parse_request(head).map_err(HeadError::Request);
        }
        if buffer.len() > http::MAX_HEAD_BYTES {
            return Err(HeadError::Request(RequestError::TooLarge));
        }
    }
}

/// The answer to a well-formed request.
fn respond(request: &Request, metrics: &Metrics, health: &Health) -> Response {
    let route = request.path.as_str();
    if !matches!(route, "/metrics" | "/health" | "/ready") {
        return Response::text(404, "not found\n");
    }
    if request.method == Method::Other {
        return Response::text(405, "method not allowed\n");
    }
    match route {
        "/metrics" => Response {
            status: 200,
            // The exposition format's media type (Prometheus text format 0.0.4).
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: render(metrics),
        },
        // Liveness: the process runs and its runtime answers.
        "/health" => Response::text(200, "OK\n"),
        _ if health.is_ready() => Response::text(200, "ready\n"),
        _ if health.is_draining() => Response::text(503, "draining\n"),
        _ => Response::text(503, "not ready\n"),
    }
}
