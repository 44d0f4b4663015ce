#!/usr/bin/env bash
# Installs every Debian package cstor needs to build and test. Safe to run again: it only
# calls apt-get when something is missing.
set -euo pipefail

packages=(
  # toolchain
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config git python3 ccache
  # libraries
  librocksdb-dev libisal-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libssl-dev libasio-dev
  # control plane: the embedded API server's store, HTTP(S) and YAML
  libsqlite3-dev libcpp-httplib-dev libyaml-cpp-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real iSCSI peers: libiscsi's tools and conformance suite, its library for the benchmark,
  # qemu-storage-daemon as an initiator exporting through FUSE, Debian's tgt as a baseline
  libiscsi-bin libiscsi-dev qemu-utils qemu-block-extra qemu-system-common fuse3 tgt
  # file systems on iSCSI LUNs
  e2fsprogs util-linux
)

# kubectl, for the tests that drive `cstor apiserver` with it: any kubectl already on the
# PATH (it is a client of the API, not tied to a server version), else Debian's.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# kubectl 1.20 (Debian's kubernetes-client), the oldest version the kubectl tests cover,
# unpacked under .cache/ beside the project: the system's kubectl stays as it is. Without
# it the tests cover the other versions and say so.
root=$(cd "$(dirname "$0")/.." && pwd)
old_kubectl=$root/.cache/kubectl-1.20
if [[ ! -x $old_kubectl/usr/bin/kubectl ]]; then
  echo "setup: unpacking Debian's kubectl 1.20 into $old_kubectl"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  download() { (cd "$tmp" && apt-get download -q kubernetes-client >/dev/null 2>&1) || true; }
  download
  if ! compgen -G "$tmp/kubernetes-client_*.deb" >/dev/null; then
    $sudo apt-get update -q >/dev/null 2>&1 || true
    download
  fi
  if compgen -G "$tmp/kubernetes-client_*.deb" >/dev/null; then
    mkdir -p "$old_kubectl"
    dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$old_kubectl"
  else
    echo "setup: warning: could not download kubernetes-client; kubectl 1.20 will not be tested"
  fi
fi
