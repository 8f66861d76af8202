#!/usr/bin/env bash
# The project's test command (README, CI): installs what the tests need, checks formatting,
# runs every test of the workspace.
#
# Works on a bare Debian 12 with rustup, as root. The network tests (nodecache-bin/tests,
# testbed/tests) build network namespaces, so they need root and nsd, tcpdump, dig, iproute2,
# iptables; without them they fail naming what is missing. NODECACHE_SKIP_NETNS=1 turns that
# failure into "skipped: …" (for machines where namespaces are impossible, e.g. unprivileged
# containers).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() {
    printf '\n==== %s ====\n' "$*"
}

started=$SECONDS
section_started=$SECONDS
section_done() {
    printf -- '---- %s: %ds\n' "$1" $((SECONDS - section_started))
    section_started=$SECONDS
}

# ---------------------------------------------------------------------------------------------
section "System packages"

# program -> Debian package providing it
declare -A package_of=(
    [nsd]=nsd
    [tcpdump]=tcpdump
    [dig]=dnsutils
    [ip]=iproute2
    [iptables]=iptables
    [python3]=python3
    [musl-gcc]=musl-tools
    [gcc]=gcc
    [getent]=libc-bin
    [kill]=procps
    [curl]=curl
    [valgrind]=valgrind
    [readelf]=binutils
    [nm]=binutils
    [dnsperf]=dnsperf
)
missing=()
for program in "${!package_of[@]}"; do
    if ! command -v "$program" >/dev/null 2>&1; then
        missing+=("${package_of[$program]}")
    fi
done

# The Kubernetes examples' test parses YAML with PyYAML.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import yaml' 2>/dev/null; then
    missing+=(python3-yaml)
fi

if ((${#missing[@]} == 0)); then
    echo "all present"
elif [[ $(id -u) -ne 0 ]]; then
    echo "WARNING: missing packages ${missing[*]}, and not root: cannot install them." >&2
    echo "The network tests will fail naming the missing tool (or skip with NODECACHE_SKIP_NETNS=1)." >&2
else
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The nsd package starts its system service on install. Without an init system that start
    # fails and makes apt-get fail; with one, a system NSD would be left running. policy-rc.d
    # exit 101 ("action forbidden", invoke-rc.d(8)) stops both; remove it again afterwards if
    # it is ours.
    policy=/usr/sbin/policy-rc.d
    created_policy=
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
        trap '[[ -n ${created_policy:-} ]] && rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    installing_nsd=
    [[ " ${missing[*]} " == *" nsd "* ]] && installing_nsd=1
    apt-get update
    apt-get install -y --no-install-recommends nsd tcpdump dnsutils iproute2 iptables \
        python3 python3-yaml musl-tools gcc libc-bin procps curl valgrind binutils dnsperf
    if [[ -n $created_policy ]]; then
        rm -f "$policy"
        created_policy=
    fi
    if [[ -n $installing_nsd ]]; then
        # Belt and braces: whatever started anyway is stopped and kept from starting at boot.
        if [[ -d /run/systemd/system ]]; then
            systemctl stop nsd.service 2>/dev/null || true
            systemctl disable nsd.service 2>/dev/null || true
        elif command -v service >/dev/null 2>&1; then
            service nsd stop >/dev/null 2>&1 || true
        fi
    fi
fi

# The daemon manifests' test (nodecache-bin/tests/daemon_manifests.rs) validates them against
# the Kubernetes schemas with kubernetes-validate (PyPI). It ships the schemas, so once
# installed it works offline. Pinned: a new release may change the default Kubernetes version.
# Debian 12's Python refuses system-wide pip installs (PEP 668, "externally-managed-
# environment"); PIP_BREAK_SYSTEM_PACKAGES=1 lets pip put it in /usr/local, apart from apt's
# files (older pips ignore the variable).
kubernetes_validate_version=1.37.0
if ! command -v kubernetes-validate >/dev/null 2>&1; then
    if ! python3 -m pip --version >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        { apt-get update && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends python3-pip; } || true
    fi
    echo "installing: kubernetes-validate==$kubernetes_validate_version (pip)"
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet \
        "kubernetes-validate==$kubernetes_validate_version" ||
        echo "WARNING: pip could not install kubernetes-validate; daemon_manifests will fail" >&2
fi
section_done "packages"

# ---------------------------------------------------------------------------------------------
section "Rust toolchain"

if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1; then
    # rustfmt for the format check; the musl target for `cargo build -p resolver-ffi --target
    # x86_64-unknown-linux-musl` (SPEC §3). Both are no-ops when already installed.
    # A failure (offline machine) is not fatal here: the step that needs it fails clearly.
    rustup component add rustfmt || echo "WARNING: rustup could not add rustfmt" >&2
    rustup target add x86_64-unknown-linux-musl ||
        echo "WARNING: rustup could not add the x86_64-unknown-linux-musl target" >&2
fi
cargo --version
section_done "toolchain"

# ---------------------------------------------------------------------------------------------
section "libnodecache.so: glibc and musl builds"
# The shim tests (nodecache-bin/tests/shim_*.rs) preload these into real programs. The musl
# build is SPEC §3's command verbatim; .cargo/config.toml and resolver-ffi/build.rs make it
# link with musl-gcc against libc.so only.
cargo build --release -p resolver-ffi
cargo build --release -p resolver-ffi --target x86_64-unknown-linux-musl
musl_so=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-musl/release/libnodecache.so
needed=$(readelf -d "$musl_so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "$musl_so NEEDED: $needed"
if [[ $needed != "libc.so " ]]; then
    echo "the musl libnodecache.so must need only libc.so (SPEC §3), it needs: $needed" >&2
    exit 1
fi
section_done "shim builds"

# ---------------------------------------------------------------------------------------------
section "cargo fmt --check"
cargo fmt --all -- --check
section_done "fmt"

# ---------------------------------------------------------------------------------------------
if cargo nextest --version >/dev/null 2>&1; then
    section "cargo nextest run --workspace --all-targets"
    cargo nextest run --workspace --all-targets --no-fail-fast
    section_done "nextest"
    # nextest does not run doctests.
    section "cargo test --workspace --doc"
    cargo test --workspace --doc
    section_done "doctests"
else
    section "cargo test --workspace --all-targets"
    cargo test --workspace --all-targets --no-fail-fast
    section_done "tests"
    # --all-targets leaves out doctests.
    section "cargo test --workspace --doc"
    cargo test --workspace --doc
    section_done "doctests"
fi

# ---------------------------------------------------------------------------------------------
section "fuzz smoke run (fuzz/README.md)"
# Each cargo-fuzz target for a few seconds from its committed seeds, so a target that no longer
# builds or crashes on its corpus fails CI. The 10-minute runs are by hand (fuzz/README.md).
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 unlocks them on the stable toolchain.
# New corpus entries go to a temporary directory, never into the repository.
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing: cargo-fuzz (cargo install --locked)"
    cargo install --locked cargo-fuzz ||
        echo "WARNING: could not install cargo-fuzz; the fuzz smoke run is skipped" >&2
fi
if cargo fuzz --version >/dev/null 2>&1; then
    cargo fmt --manifest-path fuzz/Cargo.toml -- --check
    fuzz_work=$(mktemp -d)
    for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list); do
        mkdir -p "$fuzz_work/$target"
        echo "fuzz target $target"
        log=$fuzz_work/$target.log
        if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$fuzz_work/$target" \
            "fuzz/corpus/$target" -- -runs=20000 -max_total_time=15 -print_final_stats=1 \
            >"$log" 2>&1; then
            tail -n 60 "$log" >&2
            echo "fuzz target $target failed (input saved under fuzz/artifacts/$target/)" >&2
            exit 1
        fi
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    done
    rm -rf "$fuzz_work"
fi
section_done "fuzz smoke"

printf '\n==== all checks passed in %ds ====\n' $((SECONDS - started))
