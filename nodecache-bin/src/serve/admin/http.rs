//! The little HTTP/1.1 the admin listener needs (RFC 9112): the request line of a request
//! head, and a complete response with `Connection: close`. Headers are read (within the size
//! limit) but not interpreted: nothing here depends on them.

/// Most bytes of a request head (request line and headers) we accept.
pub(crate) const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Why a request head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RequestError {
    /// Not `METHOD SP request-target SP HTTP/1.x` (RFC 9112 §3), or not text.
    #[error("malformed request line")]
    Malformed,
    /// The head is longer than [`MAX_HEAD_BYTES`].
    #[error("request head larger than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
}

/// The request method, as far as the admin listener cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// GET.
    Get,
    /// HEAD: as GET without the body (RFC 9110 §9.3.2).
    Head,
    /// Any other well-formed method: 405.
    Other,
}

/// A parsed request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The path of an origin-form target, without the query (`/metrics`).
    pub(crate) path: String,
}

/// Where the head ends (the index after the blank line), if it is complete. A bare LF is
/// accepted as a line end, as RFC 9112 §2.2 allows recipients to.
pub(crate) fn head_end(buffer: &[u8]) -> Option<usize> {
    let crlf = buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4);
    let lf = buffer
        .windows(2)
        .position(|window| window == b"\n\n")
        .map(|at| at + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a method token may contain.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses the request line of a complete head.
pub(crate) fn parse_request(head: &[u8]) -> Result<Request, RequestError> {
    if head.len() > MAX_HEAD_BYTES {
        return Err(RequestError::TooLarge);
    }
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(RequestError::Malformed)?;
    let line = head.get(..line_end).ok_or(RequestError::Malformed)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| RequestError::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed);
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(RequestError::Malformed);
    }
    // Only HTTP/1.x heads look like this; "HTTP/1.1" and "HTTP/1.0" both get an answer.
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(RequestError::Malformed);
    }
    if target.is_empty() || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(RequestError::Malformed);
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => Method::Other,
    };
    Ok(Request {
        method,
        path: path.to_owned(),
    })
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Body (left out on the wire for HEAD).
    pub(crate) body: String,
}

impl Response {
    /// A plain-text response.
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
        }
    }

    /// The bytes on the wire: status line, headers, blank line, and the body unless `head_only`.
    pub(crate) fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "",
        };
        // RFC 9110 §15.5.6: a 405 lists what is allowed.
        let allow = if self.status == 405 {
            "Allow: GET, HEAD\r\n"
        } else {
            ""
        };
        let mut bytes = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        bytes
    }
}
