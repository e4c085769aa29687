#!/usr/bin/env bash
# The test command of zonecast: installs the peer servers and tools the tests
# need (Debian), then runs formatting, lint and the whole test suite.
#
# Usage: scripts/test.sh        (as root, or a user with sudo)
#
# Environment:
#   SKIP_APT=1      do not install packages (they must be there already)
#   CARGO_TEST_ARGS extra arguments after `cargo test --workspace --release`
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# Package -> a command it provides (used to tell whether it is installed).
PACKAGES=(
    "knot:knotd"
    "knot-dnsutils:kdig"
    "nsd:nsd"
    "dnsperf:dnsperf"
    "bind9:named"
    "bind9-dnsutils:dig"
    "postgresql:"
    "python3:python3"
    "curl:curl"
)

have_command() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
    local missing=() entry pkg cmd
    for entry in "${PACKAGES[@]}"; do
        pkg="${entry%%:*}"
        cmd="${entry#*:}"
        if package_installed "$pkg"; then
            continue
        fi
        if [ -n "$cmd" ] && have_command "$cmd"; then
            continue
        fi
        missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "all test packages are installed"
        return
    fi
    if [ "${SKIP_APT:-0}" = 1 ]; then
        fail "missing packages (SKIP_APT=1 is set): ${missing[*]}"
    fi
    command -v apt-get >/dev/null 2>&1 || fail "missing packages ${missing[*]} and no apt-get: install them by hand"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "missing packages ${missing[*]}: run as root or install sudo"
        sudo=(sudo)
    fi
    echo "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        || fail "apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || fail "apt-get install ${missing[*]}"
}

# Package post-install scripts may start system daemons (on port 53). The tests
# never use port 53 and run their own instances, but idle system daemons cost
# CPU on a small machine. Stop only system instances, before any test starts:
# a daemon whose parent is init and that runs the packaged configuration (no
# -c, or one under /etc). Instances with their own configuration are left alone.
stop_system_daemons() {
    local daemon pid ppid args
    for daemon in knotd nsd named; do
        for pid in $(pgrep -x "$daemon" 2>/dev/null || true); do
            ppid="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
            args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
            [ "$ppid" = 1 ] || continue
            case " $args " in
                *" -c /etc/"* | *" --config /etc/"* | *" --config=/etc/"*) ;;
                *" -c "* | *" --config"*) continue ;;
            esac
            echo "stopping system $daemon (pid $pid: $args)"
            if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
                case "$daemon" in
                    knotd) systemctl stop knot.service 2>/dev/null || true ;;
                    nsd) systemctl stop nsd.service 2>/dev/null || true ;;
                    named) systemctl stop named.service 2>/dev/null || true ;;
                esac
            fi
            kill "$pid" 2>/dev/null || true
        done
    done
}

step "test packages"
install_packages
stop_system_daemons

for tool in cargo rustc; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: install Rust (https://rustup.rs)"
done

# Tests must fail, not skip, when a peer server or tool is missing.
export ZONECAST_TEST_REQUIRE_TOOLS=1
export PATH="$PATH:/usr/sbin:/sbin"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check || fail "formatting: run 'cargo fmt --all'"

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || fail "clippy"

step "cargo test --workspace --release"
# shellcheck disable=SC2086 # CARGO_TEST_ARGS is split on purpose
cargo test --workspace --release ${CARGO_TEST_ARGS:-} || fail "tests"

step "all checks passed"
