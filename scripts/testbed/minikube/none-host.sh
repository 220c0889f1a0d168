#!/usr/bin/env bash
# Test bed only: makes this machine a node for minikube's none driver, and undoes it. Every file it replaces is
# backed up under $TESTBED_DIR/minikube/none-host and put back by `teardown`; what minikube itself leaves on the
# host (kubelet and its init script, kube-proxy's iptables chains, the CNI bridge, /var/lib/kubelet…) goes too.
# Usage: none-host.sh setup IMAGES_PORT | teardown        (root; called by minikube-up / minikube-down)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testbed/paths.sh
. "$here/../paths.sh"
backup="$TESTBED_DIR/minikube/none-host"
log() { printf '[none-host] %s\n' "$*" >&2; }

# place SRC DEST: installs SRC at DEST, keeping what was there (once) for teardown.
place() {
  local src=$1 dest=$2 key; key=$(echo "$dest" | tr / _)
  mkdir -p "$backup"
  if [[ ! -e $backup/$key.path ]]; then
    if [[ -e $dest || -L $dest ]]; then cp -a "$dest" "$backup/$key.orig"; fi
    echo "$dest" >"$backup/$key.path"
  fi
  mkdir -p "$(dirname "$dest")"
  if [[ -d $src ]]; then rm -rf "$dest"; ln -s "$src" "$dest"; else install -m "$(stat -c %a "$src")" "$src" "$dest"; fi
}

setup() {
  local port=$1 path
  # Teardown removes what minikube leaves on this host; it must not take anything that was here before.
  if [[ ! -d $backup ]]; then
    for path in /etc/kubernetes /var/lib/kubelet /var/lib/minikube /etc/init.d/kubelet; do
      [[ -e $path ]] && { log "error: $path exists: this machine already is (or was) a Kubernetes node; refusing to make it one"; exit 1; }
    done
  fi
  place "$here/none/containerd.toml" /etc/containerd/config.toml
  place "$here/none/containerd.init" /etc/init.d/containerd
  place "$here/none/05-bootstrap-testbed.conflist" /etc/cni/net.d/05-bootstrap-testbed.conflist
  [[ -d /opt/cni/bin ]] || place /usr/lib/cni /opt/cni/bin
  place "$(readlink -f "$CACHE/bin/crictl")" /usr/local/bin/crictl
  local work; work=$(mktemp -d)
  for registry in registry.k8s.io docker.io gcr.io; do
    printf 'server = "https://%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' "$registry" "$port" >"$work/$registry.toml"
    place "$work/$registry.toml" "/etc/containerd/certs.d/$registry/hosts.toml"
  done
  rm -rf "$work"
  # minikube adds host.minikube.internal and control-plane.minikube.internal to /etc/hosts.
  [[ -e $backup/_etc_hosts.path ]] || { cp -a /etc/hosts "$backup/_etc_hosts.orig"; echo /etc/hosts >"$backup/_etc_hosts.path"; }
  modprobe br_netfilter 2>/dev/null || true
  service containerd restart >/dev/null
  log "containerd serves CRI on /run/containerd/containerd.sock; pulls go to 127.0.0.1:$port"
}

teardown() {
  [[ -d $backup ]] || { log "nothing to undo"; return 0; }
  # The kubelet first, so that nothing starts pods again while they are removed.
  [[ -x /etc/init.d/kubelet ]] && service kubelet stop >/dev/null 2>&1 || true
  if [[ -S /run/containerd/containerd.sock ]]; then
    crictl --runtime-endpoint unix:///run/containerd/containerd.sock rmp -fa >/dev/null 2>&1 || true
  fi
  service containerd stop >/dev/null 2>&1 || true
  # A shim whose pod was being made while containerd stopped outlives it (seen after a CI run); Docker's own shims
  # (namespace moby, another socket) are not matched.
  pkill -f -- '^/usr/bin/containerd-shim-runc-v2 -namespace k8s.io .*-address /run/containerd/containerd.sock' || true
  [[ -x $CACHE/bin/kube-proxy ]] && "$CACHE/bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # The kubelet's own chains (KUBE-FIREWALL drops non-loopback traffic to 127.0.0.0/8), which kube-proxy leaves.
  local table chain
  for table in filter nat mangle; do
    for chain in INPUT OUTPUT; do iptables -t "$table" -D "$chain" -j KUBE-FIREWALL 2>/dev/null || true; done
    for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
      iptables -t "$table" -F "$chain" 2>/dev/null && iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  ip link delete tbmk0 2>/dev/null || true
  ip link delete cni0 2>/dev/null || true
  { grep -o ' /var/lib/kubelet[^ ]*' /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf /etc/init.d/kubelet /var/lib/kubelet /etc/kubernetes /var/lib/minikube /var/log/pods /var/log/containers \
    /etc/cni/net.d/1-k8s.conflist
  local f dest
  for f in "$backup"/*.path; do
    [[ -e $f ]] || continue
    dest=$(cat "$f")
    if [[ $dest == /etc/hosts ]]; then cat "${f%.path}.orig" >/etc/hosts; continue; fi # a bind mount in containers
    rm -rf "$dest"
    [[ -e ${f%.path}.orig || -L ${f%.path}.orig ]] && cp -a "${f%.path}.orig" "$dest"
  done
  for registry in registry.k8s.io docker.io gcr.io; do rmdir "/etc/containerd/certs.d/$registry" 2>/dev/null || true; done
  rmdir /etc/containerd/certs.d /opt/cni /etc/cni/net.d /etc/cni 2>/dev/null || true
  rm -rf "$backup"
  log "this machine is no longer a none-driver node"
}

case "${1:-}" in
  setup) setup "${2:?images port}" ;;
  teardown) teardown ;;
  *) echo "usage: $0 setup IMAGES_PORT | teardown" >&2; exit 2 ;;
esac
