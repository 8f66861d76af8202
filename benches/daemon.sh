#!/usr/bin/env bash
# The node cache side by side (issues 4 and 6): `nodecache serve` against dnsdist, unbound and
# dnsmasq (Debian's packages), same run, same query file, same upstream.
#
#   benches/daemon.sh [SECONDS]          (as root; default 10 s of load per row)
#
# One network namespace, loopback only (SPEC §6): NSD on 127.0.0.2:53 is the upstream for every
# server, serving NAMES (default 10,000) A records under bench.test with TTL 3600. Each server
# listens on its own 127.0.0.1 port, pinned with taskset to CPU 0 (one worker/thread where the
# server has such a setting); dnsperf runs pinned to CPU 1. Per server:
#   1. warm: one dnsperf pass over every name (fills the cache: NAMES entries);
#   2. hits: dnsperf for SECONDS over the same names; the server's CPU time (utime + stime from
#      /proc/PID/stat) over that window divided by the answered queries = CPU µs per answer;
#      p99 latency from dnsperf's per-query lines (-v);
#   3. misses: dnsperf for SECONDS/2 over names never asked (a wildcard in the zone, a new label
#      per query): forwarding throughput and CPU per answer;
#   4. peak RSS (VmHWM) after all of it.
# Prints a Markdown table. SERVERS: which to measure (default all four). NODECACHE_BIN: measure this binary instead of building one.
# Needs: root, ip, nsd, dnsperf, dnsdist, unbound, dnsmasq (installed here when missing), taskset.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
seconds=${1:-10}
names=${NAMES:-10000}
clients=${CLIENTS:-4}
outstanding=${OUTSTANDING:-200}

if [[ $(id -u) -ne 0 ]]; then
    echo "benches/daemon.sh: needs root (network namespace, NSD on port 53)" >&2
    exit 1
fi
missing=()
for pair in dnsperf:dnsperf dnsdist:dnsdist unbound:unbound dnsmasq:dnsmasq-base nsd:nsd; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (services not started)" >&2
    # policy-rc.d 101: the packages' postinst must not start system daemons on port 53.
    created_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    [[ -n $created_policy ]] && rm -f /usr/sbin/policy-rc.d
fi

if [[ -z ${NODECACHE_BIN:-} ]]; then
    echo "building nodecache (release)" >&2
    cargo build --quiet --release -p nodecache-bin
fi
nodecache=${NODECACHE_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/nodecache}

work=$(mktemp -d /tmp/nodecache-dbench-XXXXXX)
ns=ncdbench-$$
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 127.0.0.2/8 dev lo
inns() { ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------------------------------------
# Upstream: NSD with NAMES names and a wildcard for misses.
{
    printf '$ORIGIN bench.test.\n$TTL 3600\n'
    printf '@ IN SOA ns hostmaster 1 3600 600 86400 3600\n@ IN NS ns\nns IN A 127.0.0.2\n'
    printf '* IN A 198.18.3.3\n'
    for ((i = 0; i < names; i++)); do
        printf 'h%d IN A 198.18.%d.%d\n' "$i" $((i / 250 % 250)) $((i % 250 + 1))
    done
} >"$work/bench.zone"
seq 0 $((names - 1)) | awk '{ print "h" $1 ".bench.test A" }' >"$work/hits.txt"
# Misses: labels never asked before (each run of dnsperf loops over this file once at most).
seq 0 1999999 | awk '{ print "m" $1 ".bench.test A" }' >"$work/misses.txt"
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
  name: "bench.test"
  zonefile: "$work/bench.zone"
EOF
ip netns exec "$ns" nsd -d -c "$work/nsd.conf" 2>"$work/nsd.log" &
pids+=($!)

# wait_answer PORT: bounded wait until 127.0.0.1:PORT answers h0.bench.test.
wait_answer() {
    local out=
    for _ in $(seq 200); do
        out=$(inns dig +short +tries=1 +time=1 -p "$1" @127.0.0.1 h0.bench.test. A 2>/dev/null || true)
        [[ $out == 198.18.0.1 ]] && return 0
        sleep 0.05
    done
    return 1
}
wait_answer_nsd() {
    for _ in $(seq 200); do
        [[ $(inns dig +short +tries=1 +time=1 @127.0.0.2 h0.bench.test. A 2>/dev/null) == 198.18.0.1 ]] && return 0
        sleep 0.05
    done
    echo "NSD not answering:" >&2
    cat "$work/nsd.log" >&2
    exit 1
}
wait_answer_nsd

# ---------------------------------------------------------------------------------------------
# Peers' configurations: one thread each where there is a setting, cache for NAMES entries.
cat >"$work/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@5302
  port: 5302
  num-threads: 1
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: no
  qname-minimisation: no
  module-config: "iterator"
  # RFC 6761 reserves test.; unbound answers it locally (NXDOMAIN) unless told not to.
  local-zone: "test." nodefault
  msg-cache-size: 16m
  rrset-cache-size: 32m
  outgoing-range: 4096
  num-queries-per-thread: 2048
forward-zone:
  name: "."
  forward-addr: 127.0.0.2@53
remote-control:
  control-enable: no
EOF
cat >"$work/dnsdist.conf" <<EOF
setLocal("127.0.0.1:5303")
setACL({"127.0.0.0/8"})
newServer({address="127.0.0.2:53", name="nsd", checkInterval=3600})
pc = newPacketCache($names, {maxTTL=86400})
getPool(""):setCache(pc)
setMaxUDPOutstanding(65535)
EOF

# NAME: starts it pinned to CPU 0, sets $server_pid and $port. Started with `ip netns exec`
# directly (not through a shell function, which would fork a subshell): `ip netns exec` and
# taskset exec the server, so $! is the server's own PID, for /proc and for kill.
start_server() {
    case $1 in
    nodecache)
        port=5304
        ip netns exec "$ns" taskset -c 0 "$nodecache" serve --listen 127.0.0.1:$port --upstream .=127.0.0.2 \
            --metrics 127.0.0.1:9304 --workers 1 --cache-size "$names" 2>"$work/$1.log" &
        ;;
    dnsmasq)
        port=5301
        ip netns exec "$ns" taskset -c 0 dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
            --listen-address=127.0.0.1 --bind-interfaces --port=$port --server=127.0.0.2 \
            --cache-size="$names" --dns-forward-max=1000 --pid-file="$work/dnsmasq.pid" \
            2>"$work/$1.log" &
        ;;
    unbound)
        port=5302
        ip netns exec "$ns" taskset -c 0 unbound -d -c "$work/unbound.conf" 2>"$work/$1.log" &
        ;;
    dnsdist)
        port=5303
        ip netns exec "$ns" taskset -c 0 dnsdist --supervised --disable-syslog -C "$work/dnsdist.conf" \
            >"$work/$1.log" 2>&1 &
        ;;
    esac
    server_pid=$!
    pids+=("$server_pid")
    if ! wait_answer "$port"; then
        echo "$1 did not answer on port $port; its log:" >&2
        cat "$work/$1.log" >&2
        return 1
    fi
}

# cpu_ticks PID: utime + stime of the process (all threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# run_dnsperf FILE SECONDS OUT [extra args]: dnsperf pinned to CPU 1, per-query lines in OUT.
run_dnsperf() {
    local file=$1 secs=$2 out=$3
    shift 3
    inns taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$secs" -c "$clients" \
        -q "$outstanding" -v "$@" >"$out" 2>&1 || true
}
completed() { sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$1"; }
qps() { sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$1" | cut -d. -f1; }
# p99 of the per-query latencies (seconds, last field of `> NOERROR … 0.000123` lines), in µs.
p99_us() {
    awk '$1 == ">" { print $NF }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.0f\n", v[i] * 1e6 }'
}

rows=()
for server in ${SERVERS:-nodecache dnsdist unbound dnsmasq}; do
    echo "measuring $server" >&2
    start_server "$server" || continue
    # 1. warm: every name once.
    inns taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$work/hits.txt" -n 1 -c "$clients" \
        -q "$outstanding" >"$work/$server.warm" 2>&1 || true
    # 2. hits.
    before=$(cpu_ticks "$server_pid")
    run_dnsperf "$work/hits.txt" "$seconds" "$work/$server.hits"
    after=$(cpu_ticks "$server_pid")
    hit_done=$(completed "$work/$server.hits")
    hit_cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$hit_done" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }')
    hit_qps=$(qps "$work/$server.hits")
    hit_p99=$(p99_us "$work/$server.hits")
    # 3. misses.
    before=$(cpu_ticks "$server_pid")
    run_dnsperf "$work/misses.txt" $((seconds / 2 > 0 ? seconds / 2 : 1)) "$work/$server.misses"
    after=$(cpu_ticks "$server_pid")
    miss_done=$(completed "$work/$server.misses")
    miss_cpu_us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$miss_done" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }')
    miss_qps=$(qps "$work/$server.misses")
    miss_p99=$(p99_us "$work/$server.misses")
    rss=$(hwm_kib "$server_pid")
    rows+=("| $server | ${hit_qps:-0} | $hit_cpu_us | $hit_p99 | ${miss_qps:-0} | $miss_cpu_us | $miss_p99 | $((rss / 1024)) |")
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
done

echo
echo "Cache hits over $names names then misses (new names), server pinned to 1 core, dnsperf -c $clients -q $outstanding on the other; $(nproc) CPUs, $(uname -r)"
echo
echo "| server | hit QPS | hit CPU µs/answer | hit p99 µs | miss QPS | miss CPU µs/answer | miss p99 µs | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
