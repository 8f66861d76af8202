#!/usr/bin/env bash
# getaddrinfo latency, side by side (issues 3 and 6): glibc and musl programs, each plain and with
# libnodecache.so preloaded, asking the pod's nameserver, which is either the node cache
# (`nodecache serve`, caching, forwarding to NSD) or a plain upstream (NSD itself, no cache).
#
#   benches/shim.sh [LOOKUPS]          (as root; default 20000 warm lookups per row)
#
# One network namespace holds everything, on loopback only: NSD (authoritative, 127.0.0.2)
# serving a small zone, `nodecache serve` on 127.0.0.1:53 forwarding to it, and the pod's
# Kubernetes resolv.conf (ndots:5, three search domains) naming one of them as the only
# nameserver. The program is tests/c/timing.c (getaddrinfo/freeaddrinfo in a loop, hints of
# `getent ahosts`), built with gcc and with musl-gcc. Per row:
#   - warm: one process does WARMUP lookups (unmeasured), then LOOKUPS measured: p50, p99. For
#     the shim, its in-process cache is warm; for plain libc (which caches nothing) it is the
#     steady state, with the node cache warm when it is the nameserver;
#   - cold: the FIRST lookup of a fresh process, over COLD processes (default 200): p50, p99.
#     The process has nothing cached (the shim has not even read resolv.conf yet); the node
#     cache, when it is the nameserver, is warm (the name was asked before) — which is what a
#     short-lived process in a pod meets;
#   - queries on the wire, counted by tcpdump at the nameserver's address: for the first lookup
#     of a fresh process (cold), and per warm lookup = (queries of COUNTED lookups − queries
#     of the first) / (COUNTED − 1).
# Prints a Markdown table. SHIM_NAMES: names to look up (default www.example.com; `web` is a
# pod's short service name). NAMESERVERS: which rows (default "nodecache nsd").
#
# NODECACHE_SHIM_GLIBC / NODECACHE_SHIM_MUSL: measure these builds instead of building;
# NODECACHE_BIN: this daemon binary. Needs: root, ip, nsd, tcpdump, gcc, musl-gcc, cargo
# (`cargo build --release -p resolver-ffi [--target x86_64-unknown-linux-musl]`, `-p
# nodecache-bin`). Everything it starts is stopped, and the namespace removed, on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
# shellcheck source=benches/nsd.sh
. "$repo/benches/nsd.sh"

lookups=${1:-20000}
warmup=${WARMUP:-500}
cold=${COLD:-200}
# Lookups of one process under tcpdump for the warm queries column.
counted=${COUNTED:-101}
read -r -a names <<<"${SHIM_NAMES:-www.example.com}"
read -r -a nameservers <<<"${NAMESERVERS:-nodecache nsd}"

if [[ $(id -u) -ne 0 ]]; then
    echo "benches/shim.sh: needs root (network namespace, NSD on port 53)" >&2
    exit 1
fi
for tool in ip nsd tcpdump gcc musl-gcc cargo; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "benches/shim.sh: missing $tool" >&2
        exit 1
    }
done

# ---------------------------------------------------------------------------------------------
# Shims and programs.
target_dir=${CARGO_TARGET_DIR:-$repo/target}
# NODECACHE_SHIM_GLIBC / NODECACHE_SHIM_MUSL name other builds (as for the tests) and skip
# the cargo builds.
if [[ -z ${NODECACHE_SHIM_GLIBC:-} || -z ${NODECACHE_SHIM_MUSL:-} ]]; then
    echo "building libnodecache.so (glibc and musl, release)" >&2
    cargo build --quiet --release -p resolver-ffi
    cargo build --quiet --release -p resolver-ffi --target x86_64-unknown-linux-musl
fi
if [[ -z ${NODECACHE_BIN:-} ]]; then
    echo "building nodecache (release)" >&2
    cargo build --quiet --release -p nodecache-bin
fi
nodecache=${NODECACHE_BIN:-$target_dir/release/nodecache}
glibc_so=${NODECACHE_SHIM_GLIBC:-$target_dir/release/libnodecache.so}
musl_so=${NODECACHE_SHIM_MUSL:-$target_dir/x86_64-unknown-linux-musl/release/libnodecache.so}
if ! nm -D --defined-only "$glibc_so" | grep -qw getaddrinfo; then
    echo "benches/shim.sh: $glibc_so exports no getaddrinfo (the stub crate): nothing to measure" >&2
    exit 1
fi

work=$(mktemp -d /tmp/nodecache-bench-XXXXXX)
ns=ncbench-$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT

gcc -O2 -o "$work/timing-glibc" "$repo/tests/c/timing.c"
musl-gcc -O2 -o "$work/timing-musl" "$repo/tests/c/timing.c"

# ---------------------------------------------------------------------------------------------
# The namespace: loopback only, addresses from 127.0.0.0/8 (SPEC §6).
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 127.0.0.2/8 dev lo
# An IPv6 address that is not loopback, so AI_ADDRCONFIG sends AAAA as in a dual-stack pod
# (glibc's check_pf ignores only loopback; fd00::/8 stays inside this namespace).
ip -n "$ns" link add bench0 type veth peer name bench1
ip -n "$ns" link set bench0 up
ip -n "$ns" link set bench1 up
mkdir -p "/etc/netns/$ns"
# The pod's resolv.conf; use_nameserver rewrites its nameserver line per row.
cat >"/etc/netns/$ns/resolv.conf" <<'EOF'
search default.svc.cluster.local svc.cluster.local cluster.local
nameserver 127.0.0.1
options ndots:5
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"/etc/netns/$ns/hosts"
printf 'hosts: files dns\n' >"/etc/netns/$ns/nsswitch.conf"
# Wait for the veth's link-local address (DAD), which is what AI_ADDRCONFIG sees.
for _ in $(seq 100); do
    ip -n "$ns" -6 addr show dev bench0 scope link | grep -q 'inet6 fe80' && break
    sleep 0.05
done

# NSD: negative answers cached 300 s (SOA minimum), so the node cache stays warm for the run.
cat >"$work/root.zone" <<'EOF'
$ORIGIN .
$TTL 300
.	IN SOA ns.nodecache.test. hostmaster.nodecache.test. 1 3600 600 86400 300
.	IN NS ns.nodecache.test.
ns.nodecache.test.	IN A 127.0.0.2
web.default.svc.cluster.local.	IN A 198.18.1.10
www.example.com.	IN A 198.18.2.1
www.example.com.	IN AAAA 2001:db8::1
EOF
write_nsd_conf "$work" 127.0.0.2 "." "$work/root.zone"
ip netns exec "$ns" nsd -d -c "$work/nsd.conf" 2>"$work/nsd.log" &
pids+=($!)
# The node cache: an explicit upstream (never the host's resolv.conf), default settings else.
ip netns exec "$ns" "$nodecache" serve --listen 127.0.0.1:53 --upstream .=127.0.0.2 \
    --metrics 127.0.0.1:9253 2>"$work/nodecache.log" &
pids+=($!)
for server in 127.0.0.2 127.0.0.1; do
    out=
    for _ in $(seq 100); do
        out=$(ip netns exec "$ns" dig +short +tries=1 +time=1 @$server www.example.com. A 2>/dev/null || true)
        [[ $out == 198.18.2.1 ]] && break
        sleep 0.05
    done
    [[ $out == 198.18.2.1 ]] || {
        echo "benches/shim.sh: $server not answering; logs:" >&2
        cat "$work/nsd.log" "$work/nodecache.log" >&2
        exit 1
    }
done

# ---------------------------------------------------------------------------------------------
# use_nameserver nodecache|nsd: points the pod's resolv.conf at it; sets $ns_addr.
use_nameserver() {
    ns_addr=127.0.0.1
    [[ $1 == nsd ]] && ns_addr=127.0.0.2
    printf 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver %s\noptions ndots:5\n' \
        "$ns_addr" >"/etc/netns/$ns/resolv.conf"
}

# field NAME LINE: the value of NAME=… in a timing summary line.
field() {
    sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"
}

# run_timing LIBC PRELOAD NAME COUNT WARMUP: the summary line of one timing run.
run_timing() {
    local libc=$1 preload=$2 name=$3 count=$4 warm=$5
    local env=()
    [[ -n $preload ]] && env=("LD_PRELOAD=$preload")
    ip netns exec "$ns" env "${env[@]}" "$work/timing-$libc" -w "$warm" -n "$count" "$name"
}

# cold_lookups LIBC PRELOAD NAME: "p50 p99" in ns of the first lookup of COLD fresh processes,
# and the failures after them.
cold_lookups() {
    local libc=$1 preload=$2 name=$3 line samples=() failed=0
    for ((i = 0; i < cold; i++)); do
        line=$(run_timing "$libc" "$preload" "$name" 1 0 || true)
        [[ $(field failures "$line") == 0 ]] || failed=$((failed + 1))
        samples+=("$(field p50_ns "$line")")
    done
    # Nearest-rank percentiles, as timing.c computes them.
    printf '%s\n' "${samples[@]}" | sort -n |
        awk -v f="$failed" '{ v[NR] = $1 } END { r50 = int((NR * 50 + 99) / 100); r99 = int((NR * 99 + 99) / 100); print v[r50], v[r99], f }'
}

# count_queries LIBC PRELOAD NAME COUNT: queries reaching the nameserver ($ns_addr) while one
# fresh process does COUNT lookups of NAME (no warm-up: the shim's first lookup is a miss).
count_queries() {
    local libc=$1 preload=$2 name=$3 count=$4
    # A fresh log: the readiness check below must not see the previous capture's line.
    rm -f "$work/tcpdump.log" "$work/q.pcap"
    # Small snapshots: the ring buffer then holds thousands of frames (no kernel drops).
    ip netns exec "$ns" tcpdump -i lo -n -l --immediate-mode -s 256 -B 16384 -w "$work/q.pcap" \
        "dst host $ns_addr and dst port 53" 2>"$work/tcpdump.log" &
    local tcpdump=$!
    pids+=("$tcpdump")
    for _ in $(seq 200); do
        grep -qs 'listening on' "$work/tcpdump.log" && break
        sleep 0.01
    done
    run_timing "$libc" "$preload" "$name" "$count" 0 >/dev/null || true
    # The capture has no end marker to wait for: give the last packets time to be written.
    sleep 0.2
    kill "$tcpdump"
    wait "$tcpdump" 2>/dev/null || true
    if ! grep -q '^0 packets dropped by kernel' "$work/tcpdump.log"; then
        echo "benches/shim.sh: tcpdump dropped packets: $(cat "$work/tcpdump.log")" >&2
    fi
    tcpdump -r "$work/q.pcap" -n 2>/dev/null | wc -l
}

us() { awk -v v="${1:-0}" 'BEGIN { printf "%.2f", v / 1000 }'; }

rows=()
for nameserver in "${nameservers[@]}"; do
    use_nameserver "$nameserver"
    for name in "${names[@]}"; do
        # The node cache learns the name (and its search-list misses) before any row.
        run_timing glibc "" "$name" 1 0 >/dev/null || true
        for libc in glibc musl; do
            so=$glibc_so
            [[ $libc == musl ]] && so=$musl_so
            for preload in "" "$so"; do
                echo "measuring $libc${preload:+ + shim} → $nameserver, $name" >&2
                resolver=$libc
                [[ -n $preload ]] && resolver="$libc + libnodecache.so"
                line=$(run_timing "$libc" "$preload" "$name" "$lookups" "$warmup" || true)
                failures=$(field failures "$line")
                read -r cold50 cold99 cold_failed < <(cold_lookups "$libc" "$preload" "$name")
                first=$(count_queries "$libc" "$preload" "$name" 1)
                many=$(count_queries "$libc" "$preload" "$name" "$counted")
                per_warm=$(awk -v m="$many" -v f="$first" -v n="$counted" 'BEGIN { printf "%.2f", (m - f) / (n - 1) }')
                note=""
                [[ ${failures:-1} != 0 || ${cold_failed:-1} != 0 ]] && note=" (failures: warm ${failures:-?}, cold ${cold_failed:-?})"
                rows+=("| $name | $resolver$note | $nameserver | $(us "$(field p50_ns "$line")") | $(us "$(field p99_ns "$line")") | $(us "$cold50") | $(us "$cold99") | $first | $per_warm |")
            done
        done
    done
done

printf '\n**Shim.** Warm: %d lookups per row after %d unmeasured, one process. Cold: the first lookup of each of %d fresh processes (the node cache warm). resolv.conf ndots:5, three search domains, one nameserver: `nodecache serve` (127.0.0.1, caching) or NSD (127.0.0.2, no cache).\n\n' \
    "$lookups" "$warmup" "$cold"
printf '| name | resolver | nameserver | warm p50 µs | warm p99 µs | cold p50 µs | cold p99 µs | queries, cold lookup | queries per warm lookup |\n'
printf '|---|---|---|--:|--:|--:|--:|--:|--:|\n'
printf '%s\n' "${rows[@]}"
# Issue 6's shim target, as a ratio: glibc asking the node cache on loopback vs the shim, warm.
glibc_p50=$(printf '%s\n' "${rows[@]}" | awk -F' \\| ' -v n="${names[0]}" '$1 == "| " n && $2 == "glibc" && $3 == "nodecache" { print $4; exit }')
shim_p50=$(printf '%s\n' "${rows[@]}" | awk -F' \\| ' -v n="${names[0]}" '$1 == "| " n && $2 == "glibc + libnodecache.so" && $3 == "nodecache" { print $4; exit }')
if [[ -n $glibc_p50 && -n $shim_p50 ]]; then
    printf '\n| target (issue 6) | measured | ratio | goal |\n|---|---|--:|---|\n'
    printf '| warm p50, glibc → node cache on loopback / glibc + shim (%s) | %s µs / %s µs | %s | ≥ 300 |\n' "${names[0]}" \
        "$glibc_p50" "$shim_p50" "$(awk -v a="$glibc_p50" -v b="$shim_p50" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }')"
fi
