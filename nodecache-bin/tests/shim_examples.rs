//! The Kubernetes examples of the shim (examples/kubernetes/shim/*.yaml) parse, and every pod
//! in them preloads a file that a volume of that pod provides, built for the image's libc.
//!
//! Parsed with Python's PyYAML (Debian: python3-yaml, installed by scripts/test.sh). When
//! `kubernetes-validate` (PyPI) is on PATH the manifests are also checked against the
//! Kubernetes schemas with `--strict`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use testbed::run;

/// Checks the manifests named on the command line; prints one line per problem and exits 1
/// when there is any, else prints `ok: N documents`.
const CHECK: &str = r#"
import os, sys, yaml

problems = []
documents = 0

def pod_specs(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        yield doc["spec"]
    elif kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"):
        yield doc["spec"]["template"]["spec"]

def libc_of_image(image):
    return "musl" if "alpine" in image else "glibc"

def check_pod(where, spec):
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    inits = spec.get("initContainers", [])
    for c in inits + spec.get("containers", []):
        name = c.get("name")
        if not name or not c.get("image"):
            problems.append(f"{where}: a container without name or image")
            continue
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        for path, vol in mounts.items():
            if vol not in volumes:
                problems.append(f"{where}/{name}: mounts unknown volume {vol}")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        preload = env.get("LD_PRELOAD")
        if preload is None:
            continue
        vol = mounts.get(os.path.dirname(preload))
        if vol is None or vol not in volumes:
            problems.append(f"{where}/{name}: LD_PRELOAD {preload} is on no mounted volume")
            continue
        libc = libc_of_image(c["image"])
        source = volumes[vol]
        if "hostPath" in source:
            built_for = os.path.basename(source["hostPath"]["path"])
        else:
            fillers = [i for i in inits if any(m["name"] == vol for m in i.get("volumeMounts", []))]
            if not fillers:
                problems.append(f"{where}/{name}: no initContainer fills volume {vol}")
                continue
            command = " ".join(fillers[0].get("command", []) + fillers[0].get("args", []))
            built_for = "musl" if "/musl/" in command else "glibc" if "/glibc/" in command else "?"
        if built_for != libc:
            problems.append(f"{where}/{name}: image {c['image']} ({libc}) preloads the {built_for} build")

for path in sys.argv[1:]:
    with open(path) as f:
        try:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problems.append(f"{path}: {e}")
            continue
    for doc in docs:
        documents += 1
        meta = doc.get("metadata") or {}
        if not doc.get("apiVersion") or not doc.get("kind") or not meta.get("name"):
            problems.append(f"{path}: a document without apiVersion, kind or metadata.name")
            continue
        for spec in pod_specs(doc):
            check_pod(f"{os.path.basename(path)}:{doc['kind']}/{meta['name']}", spec)

for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"ok: {documents} documents")
"#;

fn manifests() -> Vec<PathBuf> {
    testbed::kubernetes_manifests("shim")
}

#[test]
fn kubernetes_examples_parse_and_preload_a_mounted_build_of_the_right_libc() {
    let files = manifests();
    assert!(files.len() >= 3, "examples missing: {files:?}");
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(CHECK).args(&files);
    let out = run(cmd, Duration::from_secs(60)).expect("python3 runs");
    assert!(
        out.success(),
        "examples/kubernetes/shim:\n{}{}",
        out.stdout,
        out.stderr
    );
    println!("{}", out.stdout.trim());

    let mut cmd = Command::new("kubernetes-validate");
    cmd.arg("--strict").args(&files);
    match run(cmd, Duration::from_secs(120)) {
        Ok(out) => assert!(
            out.success(),
            "kubernetes-validate --strict:\n{}{}",
            out.stdout,
            out.stderr
        ),
        Err(e) => println!("schema check skipped (kubernetes-validate not available: {e})"),
    }
}

#[test]
fn the_check_catches_a_wrong_build_and_an_unmounted_preload() {
    let bad = r#"
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  initContainers:
    - name: copy
      image: registry.example/nodecache-shim:0.1.0
      args: ["cp /nodecache/glibc/libnodecache.so /opt/nodecache/"]
      volumeMounts: [{name: lib, mountPath: /opt/nodecache}]
  containers:
    - name: alpine
      image: alpine:3.20
      env: [{name: LD_PRELOAD, value: /opt/nodecache/libnodecache.so}]
      volumeMounts: [{name: lib, mountPath: /opt/nodecache}]
    - name: unmounted
      image: debian:bookworm-slim
      env: [{name: LD_PRELOAD, value: /elsewhere/libnodecache.so}]
  volumes: [{name: lib, emptyDir: {}}]
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, bad).expect("write");
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(CHECK).arg(&path);
    let out = run(cmd, Duration::from_secs(60)).expect("python3 runs");
    assert!(!out.success(), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("alpine:3.20 (musl) preloads the glibc build"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("is on no mounted volume"),
        "{}",
        out.stdout
    );
}
