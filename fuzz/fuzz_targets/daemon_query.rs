//! The daemon's client path: one datagram (or TCP message) through `Responder::answer_now`
//! on a cache warmed with real NSD answers (`fuzz/warm/`), so queries for their names take
//! the hit path. Bit 0 of the message ID picks TCP (no 512-byte limit), bit 1 an IPv6
//! client. Replies are checked (ID, QR, opcode, size limit, question echoed).
#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use nodecache_bin::fuzzing::PacketPath;

static PATH: LazyLock<Mutex<PacketPath>> = LazyLock::new(|| {
    let path = PacketPath::new(1024).expect("packet path");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/warm");
    let mut warmed = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz/warm") {
        let answer = std::fs::read(entry.expect("warm entry").path()).expect("warm answer");
        warmed += usize::from(path.warm(&answer));
    }
    assert!(warmed > 0, "no answer in {dir} was cacheable");
    Mutex::new(path)
});

fuzz_target!(|msg: &[u8]| {
    let id = msg.get(1).copied().unwrap_or(0);
    let mut path = PATH
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    path.answer_query(msg, id & 1 != 0, id & 2 != 0);
});
