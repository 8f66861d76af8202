//! When to send which datagram to which nameserver: a sans-IO schedule shared by the blocking
//! transport and the daemon.
// TODO(helper:transport): implement.

/// The retransmission plan of one question.
#[derive(Debug, Clone)]
pub struct RetransmitSchedule {}
