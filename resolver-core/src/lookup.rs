//! The lookup state machine: candidates from the policy, A then AAAA per candidate.
// TODO(lead): implement.
