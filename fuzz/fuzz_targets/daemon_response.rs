//! The daemon's upstream path: an upstream response walked (`walk_response`), stored
//! (`AnswerCache::store`), the reply written from it fresh and stale, and the same question
//! answered again from the cache through `Responder::answer_now`. The client query is made
//! from the response's own question; the low bits of the message ID pick its EDNS (none,
//! 512, 1232 with DO, 4096) and TCP. Replies are checked; a reply built from a response that
//! walks must walk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodecache_bin::fuzzing::PacketPath;

fuzz_target!(|upstream: &[u8]| {
    let id = upstream.get(1).copied().unwrap_or(0);
    let edns = match id & 3 {
        0 => None,
        1 => Some((512, false)),
        2 => Some((1232, true)),
        _ => Some((4096, false)),
    };
    // A fresh cache each time: a finding must not depend on what earlier inputs stored.
    let mut path = PacketPath::new(16).expect("packet path");
    path.store_upstream(upstream, edns, id & 4 != 0);
});
