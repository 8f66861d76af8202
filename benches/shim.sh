#!/usr/bin/env bash
# Warm lookup latency, side by side (issue 3): libc asking a node-local cache on loopback
# (dnsmasq, warm) against the same program with libnodecache.so preloaded (its cache warm).
#
#   benches/shim.sh [LOOKUPS]          (as root; default 20000 lookups per row)
#
# One network namespace holds everything, on loopback only: NSD (authoritative, 127.0.0.2)
# serving a small zone, dnsmasq (127.0.0.1:53, caching, forwarding to NSD) as the pod's only
# nameserver, and the pod's Kubernetes resolv.conf (ndots:5, three search domains). The
# program is tests/c/timing.c (getaddrinfo/freeaddrinfo in a loop, hints of `getent ahosts`),
# built with gcc and with musl-gcc. Each row first warms up (WARMUP lookups, unmeasured), then
# measures LOOKUPS; two short runs under tcpdump count the queries that reach dnsmasq from a
# fresh process: for its first lookup, and for 200 lookups. Prints a Markdown table.
#
# NODECACHE_SHIM_GLIBC / NODECACHE_SHIM_MUSL: measure these builds instead of building.
# Needs: root, ip, nsd, dnsmasq (Debian: dnsmasq-base, installed here when missing), tcpdump,
# gcc, musl-gcc, cargo (builds both shims: `cargo build --release -p resolver-ffi [--target
# x86_64-unknown-linux-musl]`). Everything it starts is stopped, and the namespace removed, on
# exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

lookups=${1:-20000}
warmup=${WARMUP:-500}
# Lookups of one process under tcpdump for the second queries column.
counted=100
names=(www.example.com web)

if [[ $(id -u) -ne 0 ]]; then
    echo "benches/shim.sh: needs root (network namespace, NSD on port 53)" >&2
    exit 1
fi
if ! command -v dnsmasq >/dev/null 2>&1; then
    echo "installing dnsmasq-base (the dnsmasq binary without its system service)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsmasq-base >&2
fi
for tool in ip nsd dnsmasq tcpdump gcc musl-gcc cargo; do
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

# NSD: negative answers cached 300 s (SOA minimum), so dnsmasq stays warm for the whole run.
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
cat >"$work/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.2
  port: 53
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/zone.list"
  xfrdfile: "$work/xfrd.state"
  xfrdir: "$work"
  pidfile: "$work/nsd.pid"
  server-count: 1
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "$work/root.zone"
EOF
ip netns exec "$ns" nsd -d -c "$work/nsd.conf" 2>"$work/nsd.log" &
pids+=($!)
# dnsmasq as the node-local cache: no /etc/resolv.conf, no /etc/hosts, everything to NSD.
ip netns exec "$ns" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
    --listen-address=127.0.0.1 --bind-interfaces --port=53 --server=127.0.0.2 \
    --cache-size=10000 --pid-file="$work/dnsmasq.pid" 2>"$work/dnsmasq.log" &
pids+=($!)
for _ in $(seq 100); do
    out=$(ip netns exec "$ns" dig +short +tries=1 +time=1 @127.0.0.1 www.example.com. A 2>/dev/null || true)
    [[ $out == 198.18.2.1 ]] && break
    sleep 0.05
done
[[ ${out:-} == 198.18.2.1 ]] || {
    echo "benches/shim.sh: dnsmasq/NSD not answering; logs:" >&2
    cat "$work/nsd.log" "$work/dnsmasq.log" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
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

# count_queries LIBC PRELOAD NAME COUNT: queries reaching dnsmasq while one fresh process does
# COUNT lookups of NAME (no warm-up: the shim's first lookup is a cache miss).
count_queries() {
    local libc=$1 preload=$2 name=$3 count=$4
    # A fresh log: the readiness check below must not see the previous capture's line.
    rm -f "$work/tcpdump.log" "$work/q.pcap"
    # Small snapshots: the ring buffer then holds thousands of frames (no kernel drops).
    ip netns exec "$ns" tcpdump -i lo -n -l --immediate-mode -s 256 -B 16384 -w "$work/q.pcap" \
        'udp and dst host 127.0.0.1 and dst port 53' 2>"$work/tcpdump.log" &
    local tcpdump=$!
    pids+=("$tcpdump")
    for _ in $(seq 200); do
        grep -qs 'listening on' "$work/tcpdump.log" && break
        sleep 0.01
    done
    run_timing "$libc" "$preload" "$name" "$count" 0 >/dev/null || true
    sleep 0.2
    kill "$tcpdump"
    wait "$tcpdump" 2>/dev/null || true
    if ! grep -q '^0 packets dropped by kernel' "$work/tcpdump.log"; then
        echo "benches/shim.sh: tcpdump dropped packets: $(cat "$work/tcpdump.log")" >&2
    fi
    tcpdump -r "$work/q.pcap" -n 2>/dev/null | wc -l
}

printf '\nWarm lookups: %d per row after %d unmeasured, one process per row; resolv.conf ndots:5, three search domains, nameserver = dnsmasq on 127.0.0.1.\n\n' "$lookups" "$warmup"
printf '| name | program | resolver | p50 µs | p99 µs | queries, 1st lookup | queries, %d lookups |\n' "$counted"
printf '|---|---|---|---:|---:|---:|---:|\n'
for name in "${names[@]}"; do
    for libc in glibc musl; do
        so=$glibc_so
        [[ $libc == musl ]] && so=$musl_so
        for preload in "" "$so"; do
            label="$libc → dnsmasq (loopback)"
            [[ -n $preload ]] && label="$libc + libnodecache.so"
            line=$(run_timing "$libc" "$preload" "$name" "$lookups" "$warmup" || true)
            failures=$(field failures "$line")
            p50=$(field p50_ns "$line")
            p99=$(field p99_ns "$line")
            first=$(count_queries "$libc" "$preload" "$name" 1)
            many=$(count_queries "$libc" "$preload" "$name" "$counted")
            note=""
            [[ ${failures:-1} != 0 ]] && note=" (failures: ${failures:-?})"
            printf '| %s | timing-%s | %s%s | %s | %s | %s | %s |\n' "$name" "$libc" "$label" "$note" \
                "$(awk -v v="${p50:-0}" 'BEGIN { printf "%.2f", v / 1000 }')" \
                "$(awk -v v="${p99:-0}" 'BEGIN { printf "%.2f", v / 1000 }')" "$first" "$many"
        done
    done
done
