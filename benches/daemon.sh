#!/usr/bin/env bash
# The node cache side by side (issues 4 and 6): `nodecache serve` against dnsdist, unbound and
# dnsmasq (Debian's packages), same run, same query file, same upstream.
#
#   benches/daemon.sh [SECONDS]          (as root; default 10 s of load per row)
#
# One network namespace, loopback only (SPEC §6): NSD on 127.0.0.2:53 is the upstream for every
# server, serving NAMES (default 10,000) A records under bench.test with TTL 3600. Each server
# listens on its own 127.0.0.1 port. Per server and per core count:
#   1. warm: one dnsperf pass over every name (fills the cache: NAMES entries); the server's
#      resident set (VmRSS) right after it is the "RSS with NAMES entries" column;
#   2. hits: dnsperf for SECONDS over the same names; the server's CPU time (utime + stime from
#      /proc/PID/stat, all threads) over that window divided by the answered queries = CPU µs
#      per answer; p99 latency from dnsperf's per-query lines (-v);
#   3. misses: dnsperf for SECONDS/2 over names never asked (a wildcard in the zone, a new label
#      per query): forwarding throughput and CPU per answer;
#   4. peak RSS (VmHWM) after all of it.
#
# Core counts (CORES, default "1 2"):
#   1 — the server pinned to CPU 0 with one worker/thread (where it has such a setting), dnsperf
#       pinned to CPU 1: the server has a core of its own;
#   2 — the server on CPUs 0–1 with two workers/threads (nodecache --workers 2, unbound
#       num-threads 2, dnsdist two SO_REUSEPORT listeners; dnsmasq has one thread, whatever the
#       cores), dnsperf on the same two CPUs.
# On a 2-CPU machine the 2-core rows cannot show throughput scaling in QPS: dnsperf competes
# with the server for the same two cores (it needs about as much CPU per query as the server).
# What does scale is CPU per answer: if it stays flat from 1 to 2 workers, the workers do not
# contend (no shared lock, no cache-line ping-pong) and a node with two free cores answers twice
# as many queries. Hence the "capacity" column = cores × 1e6 / (server CPU µs per answer): the
# answers per second the server would give with CORES cores to itself. The issue's target
# (2 cores ≥ 1.8 × one core) is read on that column.
#
# REPEAT=N: N rounds (all servers, all core counts, in turn), each row its best round (see
# measure; the RSS columns are the first round's). Prints Markdown tables. SERVERS: which to
# measure (default all four). NODECACHE_BIN: measure this binary instead of building one.
# Needs: root, ip, nsd, dnsperf, dnsdist, unbound, dnsmasq (installed here when missing), taskset.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
# shellcheck source=benches/nsd.sh
. "$repo/benches/nsd.sh"
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
write_nsd_conf "$work" 127.0.0.2 "bench.test" "$work/bench.zone"
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
# Peers' configurations for THREADS threads where there is a setting, cache for NAMES entries.
write_configs() {
    local threads=$1 reuseport=no
    ((threads > 1)) && reuseport=yes
    cat >"$work/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@5302
  port: 5302
  num-threads: $threads
  so-reuseport: $reuseport
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
    # dnsdist: one receiver thread per listener; THREADS listeners share the port.
    {
        echo 'setLocal("127.0.0.1:5303", {reusePort=true})'
        for ((t = 1; t < threads; t++)); do echo 'addLocal("127.0.0.1:5303", {reusePort=true})'; done
        echo 'setACL({"127.0.0.0/8"})'
        echo "newServer({address=\"127.0.0.2:53\", name=\"nsd\", checkInterval=3600, sockets=$threads})"
        echo "pc = newPacketCache($names, {maxTTL=86400})"
        echo 'getPool(""):setCache(pc)'
        echo 'setMaxUDPOutstanding(65535)'
    } >"$work/dnsdist.conf"
}

# start_server NAME CORES: starts it on CPUs 0..CORES-1, sets $server_pid and $port. Started
# with `ip netns exec` directly (not through a shell function, which would fork a subshell):
# `ip netns exec` and taskset exec the server, so $! is the server's own PID, for /proc and kill.
start_server() {
    local cpus=0
    (($2 > 1)) && cpus=0-$(($2 - 1))
    write_configs "$2"
    case $1 in
    nodecache)
        port=5304
        ip netns exec "$ns" taskset -c "$cpus" "$nodecache" serve --listen 127.0.0.1:$port --upstream .=127.0.0.2 \
            --metrics 127.0.0.1:9304 --workers "$2" --cache-size "$names" 2>"$work/$1.log" &
        ;;
    dnsmasq)
        port=5301
        ip netns exec "$ns" taskset -c "$cpus" dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root \
            --listen-address=127.0.0.1 --bind-interfaces --port=$port --server=127.0.0.2 \
            --cache-size="$names" --dns-forward-max=1000 --pid-file="$work/dnsmasq.pid" \
            2>"$work/$1.log" &
        ;;
    unbound)
        port=5302
        ip netns exec "$ns" taskset -c "$cpus" unbound -d -c "$work/unbound.conf" 2>"$work/$1.log" &
        ;;
    dnsdist)
        port=5303
        ip netns exec "$ns" taskset -c "$cpus" dnsdist --supervised --disable-syslog -C "$work/dnsdist.conf" \
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
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# run_dnsperf CPUS FILE SECONDS OUT [extra args]: dnsperf on CPUS, per-query lines in OUT.
run_dnsperf() {
    local cpus=$1 file=$2 secs=$3 out=$4
    shift 4
    inns taskset -c "$cpus" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$secs" -c "$clients" \
        -q "$outstanding" -v "$@" >"$out" 2>&1 || true
}
completed() { sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$1"; }
qps() { sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$1" | cut -d. -f1; }
# p99 of the per-query latencies (seconds, last field of `> NOERROR … 0.000123` lines), in µs.
p99_us() {
    awk '$1 == ">" { print $NF }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(NR * 0.99); if (i < 1) i = 1; printf "%.0f\n", v[i] * 1e6 }'
}
# cpu_us TICKS ANSWERS: server CPU µs per answer.
cpu_us() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }'; }
# capacity CORES CPU_US: answers per second with CORES cores to the server alone.
capacity() { awk -v c="$1" -v u="$2" 'BEGIN { if (u + 0 > 0) printf "%.0f", c * 1e6 / u; else print "-" }'; }

# measure SERVER CORES: one round for SERVER on CORES cores, into the arrays. Over REPEAT rounds
# a row keeps its best round: the hit columns of the round with the least hit CPU per answer,
# the miss columns of the round with the least miss CPU per answer (another job on the machine
# only ever adds CPU time, so the least is the closest to the server's own cost).
declare -A hit_qps hit_cpu hit_p99 miss_qps miss_cpu miss_p99 rss_warm rss_peak
better() { [[ -z $2 || $2 == - ]] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a < b) }'; }
measure() {
    local server=$1 cores=$2 key="$1/$2" perf_cpus=1 before after answered cpu
    ((cores > 1)) && perf_cpus=0-$((cores - 1))
    echo "measuring $server on $cores core(s)" >&2
    start_server "$server" "$cores" || return 0
    # 1. warm: every name once.
    inns taskset -c "$perf_cpus" dnsperf -s 127.0.0.1 -p "$port" -d "$work/hits.txt" -n 1 -c "$clients" \
        -q "$outstanding" >"$work/$server.warm" 2>&1 || true
    [[ -n ${rss_warm[$key]:-} ]] || rss_warm[$key]=$(($(rss_kib "$server_pid") / 1024))
    # 2. hits.
    before=$(cpu_ticks "$server_pid")
    run_dnsperf "$perf_cpus" "$work/hits.txt" "$seconds" "$work/$server.hits"
    after=$(cpu_ticks "$server_pid")
    answered=$(completed "$work/$server.hits")
    cpu=$(cpu_us $((after - before)) "${answered:-0}")
    if better "$cpu" "${hit_cpu[$key]:-}"; then
        hit_cpu[$key]=$cpu
        hit_qps[$key]=$(qps "$work/$server.hits")
        hit_p99[$key]=$(p99_us "$work/$server.hits")
    fi
    # 3. misses.
    before=$(cpu_ticks "$server_pid")
    run_dnsperf "$perf_cpus" "$work/misses.txt" $((seconds / 2 > 0 ? seconds / 2 : 1)) "$work/$server.misses"
    after=$(cpu_ticks "$server_pid")
    answered=$(completed "$work/$server.misses")
    cpu=$(cpu_us $((after - before)) "${answered:-0}")
    if better "$cpu" "${miss_cpu[$key]:-}"; then
        miss_cpu[$key]=$cpu
        miss_qps[$key]=$(qps "$work/$server.misses")
        miss_p99[$key]=$(p99_us "$work/$server.misses")
    fi
    [[ -n ${rss_peak[$key]:-} ]] || rss_peak[$key]=$(($(hwm_kib "$server_pid") / 1024))
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

servers=(${SERVERS:-nodecache dnsdist unbound dnsmasq})
core_counts=(${CORES:-1 2})
rounds=${REPEAT:-1}
for ((round = 1; round <= rounds; round++)); do
    for cores in "${core_counts[@]}"; do
        for server in "${servers[@]}"; do
            measure "$server" "$cores"
        done
    done
done

# The tables. v ARRAY KEY: the value or "-" when that run failed.
v() {
    local -n array=$1
    echo "${array[$2]:--}"
}
if [[ " ${core_counts[*]} " == *" 1 "* ]]; then
    echo
    echo "**Daemon, 1 core.** Best of $rounds round(s). $names names cached, then cache hits for ${seconds} s, then misses (new names, forwarded to NSD) for $((seconds / 2 > 0 ? seconds / 2 : 1)) s; server pinned to CPU 0 (one worker/thread), dnsperf -c $clients -q $outstanding pinned to CPU 1."
    echo
    echo "| server | hit QPS | hit CPU µs/answer | hit p99 µs | miss QPS | miss CPU µs/answer | miss p99 µs | RSS with $names entries MiB | peak RSS MiB |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
    for server in "${servers[@]}"; do
        k=$server/1
        echo "| $server | $(v hit_qps "$k") | $(v hit_cpu "$k") | $(v hit_p99 "$k") | $(v miss_qps "$k") | $(v miss_cpu "$k") | $(v miss_p99 "$k") | $(v rss_warm "$k") | $(v rss_peak "$k") |"
    done
fi
if [[ " ${core_counts[*]} " == *" 1 "* && " ${core_counts[*]} " == *" 2 "* ]]; then
    echo
    echo "**Daemon, 1 vs 2 cores (cache hits).** 2 cores: server on CPUs 0–1 with two workers/threads (dnsmasq: one thread), dnsperf on the same CPUs. Capacity = cores × 1e6 / CPU µs per answer (answers/s with the cores to the server alone; see benches/daemon.sh for why; dnsmasq, one thread, counts one core)."
    echo
    echo "| server | 1 core QPS | 1 core CPU µs/answer | 1 core capacity | 2 cores QPS | 2 cores CPU µs/answer | 2 cores capacity | capacity 2 / 1 | 2 cores miss QPS | 2 cores miss CPU µs/answer |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    for server in "${servers[@]}"; do
        c1=$(capacity 1 "$(v hit_cpu "$server/1")")
        # dnsmasq has one thread: two cores give it no more than one.
        threads=2
        [[ $server == dnsmasq ]] && threads=1
        c2=$(capacity "$threads" "$(v hit_cpu "$server/2")")
        ratio=$(awk -v a="$c1" -v b="$c2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a; else print "-" }')
        echo "| $server | $(v hit_qps "$server/1") | $(v hit_cpu "$server/1") | $c1 | $(v hit_qps "$server/2") | $(v hit_cpu "$server/2") | $c2 | $ratio | $(v miss_qps "$server/2") | $(v miss_cpu "$server/2") |"
    done
fi
# Targets of issue 6 that this run can tell, as ratios.
if [[ " ${servers[*]} " == *" nodecache "* && " ${core_counts[*]} " == *" 1 "* ]]; then
    best_peer() { # ARRAY: the lowest value among the peers on 1 core
        local name=$1 best=
        for server in "${servers[@]}"; do
            [[ $server == nodecache ]] && continue
            local x
            x=$(v "$name" "$server/1")
            [[ $x == - ]] && continue
            if [[ -z $best ]] || awk -v a="$x" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$x; fi
        done
        echo "${best:--}"
    }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
    echo
    echo "| target (issue 6) | measured | ratio | goal |"
    echo "|---|---|--:|---|"
    bh=$(best_peer hit_cpu)
    echo "| hit CPU per answer vs best peer | nodecache $(v hit_cpu nodecache/1) µs, best peer $bh µs | $(ratio "$(v hit_cpu nodecache/1)" "$bh") | ≤ 0.6 |"
    bm=$(best_peer miss_cpu)
    echo "| miss CPU per answer vs best peer | nodecache $(v miss_cpu nodecache/1) µs, best peer $bm µs | $(ratio "$(v miss_cpu nodecache/1)" "$bm") | ≤ 1.0 |"
    if [[ " ${core_counts[*]} " == *" 2 "* ]]; then
        echo "| 2 cores vs 1 core, capacity (nodecache) | $(capacity 1 "$(v hit_cpu nodecache/1)") → $(capacity 2 "$(v hit_cpu nodecache/2)") answers/s | $(ratio "$(capacity 2 "$(v hit_cpu nodecache/2)")" "$(capacity 1 "$(v hit_cpu nodecache/1)")") | ≥ 1.8 |"
        echo "| 2 cores vs 1 core, QPS with dnsperf on the same 2 cores (nodecache) | $(v hit_qps nodecache/1) → $(v hit_qps nodecache/2) | $(ratio "$(v hit_qps nodecache/2)" "$(v hit_qps nodecache/1)") | (see capacity) |"
    fi
    if [[ " ${servers[*]} " == *" unbound "* ]]; then
        echo "| RSS with $names entries vs unbound | nodecache $(v rss_warm nodecache/1) MiB, unbound $(v rss_warm unbound/1) MiB | $(ratio "$(v rss_warm nodecache/1)" "$(v rss_warm unbound/1)") | ≤ 0.5 |"
    fi
fi
