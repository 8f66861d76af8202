//! Tests of the forwarder against fake upstreams.
