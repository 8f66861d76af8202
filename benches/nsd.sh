# Sourced by the bench scripts (and fuzz/capture-seeds.sh): NSD for a namespace of theirs.
#
#   write_nsd_conf DIR ADDR ZONE ZONEFILE   writes DIR/nsd.conf: NSD on ADDR:53 serving ZONE
#                                            from ZONEFILE, every state file in DIR, one
#                                            process, no response rate limiting (NSD limits
#                                            ~200 answers/s per client network by default,
#                                            which a benchmark would measure instead of us).
write_nsd_conf() {
    local dir=$1 addr=$2 zone=$3 zonefile=$4
    cat >"$dir/nsd.conf" <<EOF
server:
  ip-address: $addr
  port: 53
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  pidfile: "$dir/nsd.pid"
  server-count: 1
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: "$zone"
  zonefile: "$zonefile"
EOF
}
