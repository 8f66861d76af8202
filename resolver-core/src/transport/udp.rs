//! UDP exchange with fast retransmit and failover.
// TODO(helper:transport): implement.
