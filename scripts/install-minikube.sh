#!/usr/bin/env bash
# Installs one pinned minikube release binary (the documented binary install), for CI: action.yml and the smoke workflow.
#
# Usage: bash scripts/install-minikube.sh VERSION          e.g. v1.37.0
#   MINIKUBE_INSTALL_DIR   where to put it (default /usr/local/bin; sudo is used only when that is not writable)
#
# Does nothing when `minikube version --short` already prints VERSION. Linux and macOS, amd64 and arm64.
set -euo pipefail

version=${1:?usage: install-minikube.sh VERSION (e.g. v1.37.0)}
[[ $version == v* ]] || version="v$version"
dir=${MINIKUBE_INSTALL_DIR:-/usr/local/bin}

if command -v minikube >/dev/null && [[ $(minikube version --short 2>/dev/null) == "$version" ]]; then
  echo "minikube $version is already installed: $(command -v minikube)"
  exit 0
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "install-minikube.sh: unsupported OS $(uname -s); install minikube yourself (https://minikube.sigs.k8s.io/docs/start/)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-minikube.sh: unsupported CPU $(uname -m); install minikube yourself (https://minikube.sigs.k8s.io/docs/start/)" >&2; exit 1 ;;
esac

url="https://github.com/kubernetes/minikube/releases/download/${version}/minikube-${os}-${arch}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Downloading $url"
curl -fsSLo "$tmp/minikube" "$url"
sudo=()
if [[ ! -w $dir ]]; then sudo=(sudo); fi
"${sudo[@]}" install -m 0755 "$tmp/minikube" "$dir/minikube"
"$dir/minikube" version
