//! The Kubernetes manifests of the node daemon (examples/kubernetes/daemon/*.yaml) parse,
//! validate against the Kubernetes schemas, and say what SPEC §5 and the README promise:
//! hostNetwork, NET_ADMIN, system-node-critical, liveness and readiness on the admin port the
//! daemon is configured with, surge rollouts, a run directory shared between pods, an HA pair
//! that differs only where it must, and a ConfigMap whose TOML has the node-cache layout.
//!
//! YAML is parsed with PyYAML (python3-yaml), TOML with Python's tomllib, the schemas checked
//! with `kubernetes-validate --strict` (PyPI; scripts/test.sh installs a pinned version).
//! The ConfigMap's TOML, placeholders filled in, is also run through the daemon itself
//! (`nodecache serve --check --config FILE`), so a key the daemon does not know fails here.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use testbed::run;

/// Checks the manifests named on the command line; one line per problem and exit 1 when there
/// is any, else `ok: N documents`.
const CHECK: &str = r#"
import copy, sys, tomllib, yaml

problems = []
docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        try:
            docs += [(path, d) for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problems.append(f"{path}: {e}")

def named(kind):
    return [(p, d) for p, d in docs if d.get("kind") == kind]

config = {}
for path, cm in named("ConfigMap"):
    try:
        config = tomllib.loads(cm["data"]["nodecache.toml"])
    except (KeyError, tomllib.TOMLDecodeError) as e:
        problems.append(f"{path}: nodecache.toml: {e}")
if "169.254.20.10:53" not in config.get("listen", []):
    problems.append("ConfigMap: listen lacks 169.254.20.10:53")
if not any(":53" in a and "KUBE_DNS_CLUSTER_IP" in a for a in config.get("listen", [])):
    problems.append("ConfigMap: listen lacks the kube-dns ClusterIP placeholder")
zones = {u.get("zone"): u for u in config.get("upstream", [])}
if not zones.get("cluster.local", {}).get("force_tcp"):
    problems.append("ConfigMap: cluster.local must go to kube-dns-upstream with force_tcp")
if config.get("setup_interface") != "nodelocaldns" or config.get("setup_iptables") is not True:
    problems.append("ConfigMap: setup_interface nodelocaldns and setup_iptables expected")
config_port = int(config.get("metrics", ":0").rsplit(":", 1)[-1])

def check_daemonset(path, ds):
    where = f"{path}:DaemonSet/{ds['metadata']['name']}"
    spec = ds["spec"]["template"]["spec"]
    roll = ds["spec"].get("updateStrategy", {}).get("rollingUpdate", {})
    if (roll.get("maxSurge"), roll.get("maxUnavailable")) != (1, 0):
        problems.append(f"{where}: rollingUpdate must be maxSurge 1, maxUnavailable 0")
    for key, want in [("hostNetwork", True), ("dnsPolicy", "Default"),
                      ("priorityClassName", "system-node-critical")]:
        if spec.get(key) != want:
            problems.append(f"{where}: {key} must be {want!r}, is {spec.get(key)!r}")
    hostpaths = {v["name"]: v["hostPath"]["path"] for v in spec.get("volumes", []) if "hostPath" in v}
    for c in spec["containers"]:
        args = c.get("args", [])
        port = config_port
        for a in args:
            if a.startswith("--metrics="):
                port = int(a.rsplit(":", 1)[-1])
        caps = c.get("securityContext", {}).get("capabilities", {}).get("add", [])
        if "NET_ADMIN" not in caps:
            problems.append(f"{where}: NET_ADMIN missing")
        for probe, path_ in [("livenessProbe", "/health"), ("readinessProbe", "/ready")]:
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path_ or get.get("port") != port:
                problems.append(f"{where}: {probe} must GET {path_} on {port}, is {get}")
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ports.get("metrics") != port:
            problems.append(f"{where}: containerPort 'metrics' must be {port}")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        run_dir = env.get("NODECACHE_RUN_DIR")
        if run_dir is None or hostpaths.get(mounts.get(run_dir)) != run_dir:
            problems.append(f"{where}: NODECACHE_RUN_DIR must be a hostPath shared by all instances")
    return port

daemonsets = named("DaemonSet")
if not daemonsets:
    problems.append("no DaemonSet")
ports = {}
for path, ds in daemonsets:
    ports[ds["metadata"]["name"]] = check_daemonset(path, ds)

pair = [d for p, d in daemonsets if "ha-pair" in p]
if len(pair) == 2:
    a, b = pair
    if ports[a["metadata"]["name"]] == ports[b["metadata"]["name"]]:
        problems.append("HA pair: each DaemonSet needs its own admin port")
    def normalized(ds):
        ds = copy.deepcopy(ds)
        for c in ds["spec"]["template"]["spec"]["containers"]:
            c["args"] = [x for x in c.get("args", []) if not x.startswith("--metrics=")]
        text = yaml.safe_dump(ds)
        text = text.replace(ds["metadata"]["name"], "NAME")
        return text.replace(str(ports[ds["metadata"]["name"]]), "PORT")
    if normalized(a) != normalized(b):
        problems.append("HA pair: the DaemonSets differ in more than name and admin port")
elif any("ha-pair" in p for p in sys.argv[1:]):
    problems.append(f"HA pair: two DaemonSets expected, found {len(pair)}")

for path, svc in named("Service"):
    ann = svc["metadata"].get("annotations", {})
    if svc["metadata"]["name"] == "nodecache-metrics" and ann.get("prometheus.io/scrape") != "true":
        problems.append(f"{path}: prometheus.io/scrape missing")

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"ok: {len(docs)} documents")
"#;

fn daemon_dir() -> PathBuf {
    testbed::kubernetes_examples_dir("daemon")
}

fn manifests() -> Vec<PathBuf> {
    testbed::kubernetes_manifests("daemon")
}

fn check(files: &[PathBuf]) -> testbed::RunOutput {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(CHECK).args(files);
    run(cmd, Duration::from_secs(60)).expect("python3 runs")
}

#[test]
fn daemon_manifests_parse_and_say_what_the_spec_promises() {
    let files = manifests();
    assert!(files.len() >= 5, "manifests missing: {files:?}");
    let out = check(&files);
    assert!(
        out.success(),
        "examples/kubernetes/daemon:\n{}{}",
        out.stdout,
        out.stderr
    );
    println!("{}", out.stdout.trim());
}

#[test]
fn daemon_manifests_validate_against_the_kubernetes_schemas() {
    let mut cmd = Command::new("kubernetes-validate");
    cmd.arg("--strict").arg("--quiet").args(manifests());
    let out = run(cmd, Duration::from_secs(120)).unwrap_or_else(|e| {
        panic!("kubernetes-validate: {e}; install it: pip install kubernetes-validate==1.37.0 (scripts/test.sh does)")
    });
    assert!(
        out.success(),
        "kubernetes-validate --strict:\n{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn the_check_catches_a_daemonset_without_host_network_and_with_probes_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(daemon_dir().join("daemonset.yaml")).expect("daemonset");
    let bad = good
        .replace("hostNetwork: true", "hostNetwork: false")
        .replace(
            "path: /ready\n              port: 9253",
            "path: /ready\n              port: 8080",
        )
        .replace("\"NET_ADMIN\", ", "");
    assert_ne!(bad, good, "the replacements must apply");
    let path = dir.path().join("daemonset.yaml");
    std::fs::write(&path, bad).expect("write");
    let config = daemon_dir().join("configmap.yaml");
    let out = check(&[config, path]);
    assert!(!out.success(), "{}", out.stdout);
    for expected in [
        "hostNetwork must be True",
        "readinessProbe must GET /ready on 9253",
        "NET_ADMIN missing",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected:?} not in:\n{}",
            out.stdout
        );
    }
}

/// The ConfigMap's `nodecache.toml`, extracted by PyYAML.
const EXTRACT_TOML: &str = r#"
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ConfigMap":
        sys.stdout.write(doc["data"]["nodecache.toml"])
"#;

#[test]
fn the_configmap_is_accepted_by_the_daemon() {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(EXTRACT_TOML)
        .arg(daemon_dir().join("configmap.yaml"));
    let extracted = run(cmd, Duration::from_secs(30)).expect("python3 runs");
    assert!(extracted.success(), "{}", extracted.stderr);
    // Placeholders as the README's sed fills them (benchmarking-range addresses here).
    let toml = extracted
        .stdout
        .replace("__KUBE_DNS_CLUSTER_IP__", "198.18.5.10")
        .replace("__KUBE_DNS_UPSTREAM_IP__", "198.18.5.11");
    assert!(!toml.contains("__"), "placeholder left:\n{toml}");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("nodecache.toml");
    let resolv_conf = dir.path().join("resolv.conf");
    std::fs::write(&config, &toml).expect("write config");
    std::fs::write(&resolv_conf, "nameserver 198.18.0.53\n").expect("write resolv.conf");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nodecache"));
    cmd.arg("serve")
        .arg("--check")
        .arg("--config")
        .arg(&config)
        .arg("--resolv-conf")
        .arg(&resolv_conf);
    let out = run(cmd, Duration::from_secs(30)).expect("nodecache runs");
    assert!(
        out.success(),
        "nodecache serve --check rejects the ConfigMap: {}",
        out.stderr
    );
    for line in [
        "listen = [\"169.254.20.10:53\", \"198.18.5.10:53\"]",
        "setup_iptables = true",
        "cache_size = 10000",
    ] {
        assert!(out.stdout.contains(line), "{line} missing:\n{}", out.stdout);
    }
    assert!(
        out.stdout.contains(
            "zone = \"cluster.local.\", servers = [\"198.18.5.11:53\"], force_tcp = true"
        ),
        "{}",
        out.stdout
    );
}
