//! TCP exchange (RFC 7766 two-byte length framing) for truncated answers and use-vc.
// TODO(helper:transport): implement.
