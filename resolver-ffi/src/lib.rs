//! `libnodecache.so`: the LD_PRELOAD shim. Interposition arrives with issue 3; for now the
//! crate only links the core so the workspace layout of SPEC §2 is in place.
