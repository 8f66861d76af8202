#!/usr/bin/env bash
# The whole-process comparisons of issue 6, one machine, one run: the machine, then the
# daemon tables (benches/daemon.sh: nodecache serve vs dnsdist, unbound, dnsmasq; cache hits
# and misses on 1 core, 1 vs 2 cores with a capacity column, RSS with 10,000 entries), then
# the shim table (benches/shim.sh: glibc and musl, plain and with libnodecache.so, against the
# node cache and against NSD; warm and cold getaddrinfo p50/p99, queries per lookup).
#
#   benches/compare.sh [DAEMON_SECONDS] [SHIM_LOOKUPS]      (as root)
#
# Builds the release binaries once (nodecache, libnodecache.so for glibc and musl) and hands
# them to both scripts. The daemon rows are the best of REPEAT (default 3) rounds (see
# daemon.sh). With CRITERION=1 it also runs the in-process criterion benches
# (packet path, cache, policy) and prints their medians.
#
# Why a "capacity" column for 2 cores: this machine may have only 2 CPUs, and dnsperf needs
# about as much CPU per query as the server, so with the server on both cores the load
# generator competes with it and answered QPS cannot double. Server CPU per answer is what
# tells whether the workers scale: flat from 1 to 2 workers means no contention between them,
# i.e. 2 cores answer twice as many queries when the load comes from elsewhere (as on a node,
# where the clients are the pods). capacity = cores × 1e6 / (CPU µs per answer).
#
# The load average is printed before and after: another job on the machine inflates CPU per
# answer (cache misses, preemption) and QPS. Compare rows of one run, not across runs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
target_dir=${CARGO_TARGET_DIR:-$repo/target}

if [[ $(id -u) -ne 0 ]]; then
    echo "benches/compare.sh: needs root (network namespaces, servers on port 53)" >&2
    exit 1
fi

if [[ -z ${NODECACHE_BIN:-} ]]; then
    echo "building nodecache and libnodecache.so (release)" >&2
    cargo build --quiet --release -p nodecache-bin -p resolver-ffi
    cargo build --quiet --release -p resolver-ffi --target x86_64-unknown-linux-musl
fi
export NODECACHE_BIN=${NODECACHE_BIN:-$target_dir/release/nodecache}
export NODECACHE_SHIM_GLIBC=${NODECACHE_SHIM_GLIBC:-$target_dir/release/libnodecache.so}
export NODECACHE_SHIM_MUSL=${NODECACHE_SHIM_MUSL:-$target_dir/x86_64-unknown-linux-musl/release/libnodecache.so}

machine() {
    local model
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    echo "**Machine.** $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, ${model:-unknown model}; Linux $(uname -r); $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release); glibc $(ldd --version | head -1 | awk '{ print $NF }'); load average $(cut -d' ' -f1-3 /proc/loadavg) at start."
    echo
    echo "Peers: $(dnsdist --version 2>/dev/null | head -1 | awk '{ print $1, $2 }'), $(unbound -V 2>/dev/null | sed -n 's/^Version /unbound /p'), $(dnsmasq --version 2>/dev/null | head -1 | awk '{ print $1, $3 }'), $(nsd -v 2>&1 | head -1) as upstream, dnsperf $(dpkg-query -W -f '${Version}' dnsperf 2>/dev/null || echo "?")."
}

machine
REPEAT=${REPEAT:-3} "$repo/benches/daemon.sh" "${1:-10}"
"$repo/benches/shim.sh" "${2:-20000}"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."

if [[ ${CRITERION:-0} == 1 ]]; then
    echo
    echo "**In-process (criterion, median).**"
    echo
    echo "| bench | time |"
    echo "|---|--:|"
    for spec in "nodecache-bin packet" "resolver-core cache" "resolver-core core"; do
        read -r package bench <<<"$spec"
        cargo bench --quiet -p "$package" --bench "$bench" -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
            awk '/time:/ && !/%/ { if (name == "") name = prev; split($0, a, "["); split(a[2], t, " "); printf "| %s | %s %s |\n", (NF > 7 ? $1 : name), t[3], t[4]; name = "" } { prev = $1 }'
    done
fi
