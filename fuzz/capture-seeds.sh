#!/usr/bin/env bash
# Captures the seed corpora of the daemon and wire targets from real traffic: NSD serving a
# small zone in a throw-away network namespace (127.0.0.1 inside it only), dig asking it, and
# tcpdump recording the UDP datagrams, which are then split into queries and answers.
# Needs root, nsd, dig, tcpdump, python3. Writes fuzz/corpus/{daemon_query,daemon_response,wire}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=benches/nsd.sh
. "$here/../benches/nsd.sh"
ns=fuzzseeds$$
work=$(mktemp -d)
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

{
  echo '$TTL 300'
  echo '. IN SOA ns. admin. 1 3600 600 86400 60'
  echo '. IN NS ns.'
  echo 'ns. IN A 127.0.0.1'
  echo 'www.example.com. IN A 198.18.2.1'
  echo 'www.example.com. IN A 198.18.2.2'
  echo 'www.example.com. IN AAAA 2001:db8::1'
  echo 'alias.example.com. 60 IN CNAME www.example.com.'
  echo 'chain.example.com. IN CNAME alias.example.com.'
  echo 'web.default.svc.cluster.local. 5 IN A 198.18.1.10'
  echo 'example.com. IN MX 10 mail.example.com.'
  echo 'example.com. IN TXT "v=spf1 -all"'
  echo 'mail.example.com. IN A 198.18.2.25'
  for i in $(seq 1 60); do echo "big.example.com. IN A 198.18.3.$i"; done
  for i in $(seq 1 8); do printf 'long.example.com. IN TXT "%s"\n' "$(head -c 200 /dev/zero | tr '\0' x)"; done
} > "$work/root.zone"
write_nsd_conf "$work" 127.0.0.1 "." "$work/root.zone"
ip netns exec "$ns" nsd -d -c "$work/nsd.conf" >"$work/nsd.log" 2>&1 &
for _ in $(seq 50); do ip netns exec "$ns" dig +short +time=1 +tries=1 @127.0.0.1 ns. A >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$ns" tcpdump -i lo -U -w "$work/cap.pcap" udp port 53 >/dev/null 2>&1 &
sleep 1
q() { ip netns exec "$ns" dig +time=1 +tries=1 @127.0.0.1 "$@" >/dev/null 2>&1 || true; }
q www.example.com A
q WwW.ExAmPle.CoM AAAA +noedns
q alias.example.com A +dnssec
q chain.example.com AAAA +bufsize=4096
q web.default.svc.cluster.local A +noedns
q nothing.example.com A
q example.com MX
q example.com TXT +noedns
q www.example.com MX
q big.example.com A +noedns +ignore
q big.example.com A +bufsize=1232
q long.example.com TXT +bufsize=512 +ignore
q example.com SOA +norecurse
q example.com ANY
q version.bind TXT CH
q www.example.com A +cd +adflag
sleep 1
kill %2 2>/dev/null || true; wait %2 2>/dev/null || true
python3 - "$work/cap.pcap" "$here/corpus" <<'PY'
import hashlib, os, struct, sys
data = open(sys.argv[1], "rb").read()
out = sys.argv[2]
little = data[:4] == b"\xd4\xc3\xb2\xa1"
e = "<" if little else ">"
link = struct.unpack(e + "I", data[20:24])[0]
pos, n = 24, 0
while pos + 16 <= len(data):
    incl = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
    frame = data[pos + 16:pos + 16 + incl]
    pos += 16 + incl
    ip = frame[14:] if link == 1 else frame[16:] if link == 113 else frame[4:]
    if not ip or ip[0] >> 4 != 4:
        continue
    payload = ip[(ip[0] & 0xF) * 4 + 8:]
    if len(payload) < 12:
        continue
    kinds = ["daemon_response", "wire"] if payload[2] & 0x80 else ["daemon_query"]
    for kind in kinds:
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        name = "nsd-" + hashlib.sha1(payload).hexdigest()[:16]
        open(os.path.join(out, kind, name), "wb").write(payload)
    n += 1
print(f"{n} datagrams")
PY
