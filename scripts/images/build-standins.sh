#!/usr/bin/env bash
# Builds local stand-ins for the two images the sandbox needs, since no image can be pulled here:
#   registry:2.7.1  Debian's docker-registry (distribution v2) as /bin/registry, its shared libraries,
#                   and /etc/docker/registry/config.yml (REGISTRY_* environment variables override it,
#                   exactly as in the real image).
#   nginx:1.21.1    a static busybox serving /usr/share/nginx/html over HTTP on port 80.
# Both are made with `docker import` (no base image, no pull) and carry the label
#   org.opencontainers.image.description=local stand-in built by scripts/images/build-standins.sh
#
# Usage: scripts/images/build-standins.sh [--force] [--verify] [--no-verify]
#   A tag that already exists is left alone (fast, idempotent); --force rebuilds both.
#   After building anything (or with --verify) the registry stand-in is started on a random loopback
#   port, /v2/ must answer 200, nginx:1.21.1 is pushed to it and must appear in the catalog; then
#   everything is removed again. --no-verify skips that check.
# Needs: a Docker engine (started through scripts/docker/ensure-dockerd.sh), /usr/bin/docker-registry
# (apt-get install docker-registry), a busybox binary (apt-get install busybox-static; installed here
# when missing and running as root), curl.
set -euo pipefail

REGISTRY_TAG=registry:2.7.1
NGINX_TAG=nginx:1.21.1
DESCRIPTION="local stand-in built by scripts/images/build-standins.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

force=0 verify=auto
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --verify) verify=1 ;;
    --no-verify) verify=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[standins] %s\n' "$*" >&2; }
die() { printf '[standins] error: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d)
verify_name=""
cleanup() {
  if [[ -n "$verify_name" ]]; then
    docker rm -f -v "$verify_name" >/dev/null 2>&1 || true
    docker rmi "127.0.0.1:${verify_port:-0}/nginx:1.21.1" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$repo/scripts/docker/ensure-dockerd.sh"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

# shellcheck source=scripts/images/lib.sh
. "$here/lib.sh"

# import ROOT TAG CHANGE...: packs ROOT into an image TAG with this script's description label.
import() {
  local root=$1 tag=$2; shift 2
  import_rootfs "$root" "$tag" "$DESCRIPTION" "$@"
  log "$tag: built ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}'))"
}

build_registry() {
  local bin=/usr/bin/docker-registry root="$work/registry"
  [[ -x $bin ]] || die "$bin is missing: apt-get install -y docker-registry"
  base_rootfs "$root"
  copy_with_libs "$root" "$bin" /bin/registry
  mkdir -p "$root/var/lib/registry" "$root/etc/docker/registry"
  # The real image's config (distribution/cmd/registry/config-example.yml in 2.7.1), minus nothing we use.
  cat > "$root/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
  import "$root" "$REGISTRY_TAG" \
    'ENTRYPOINT ["/bin/registry","serve","/etc/docker/registry/config.yml"]' \
    'EXPOSE 5000' \
    'VOLUME /var/lib/registry'
}

find_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do [[ -x $b ]] && { echo "$b"; return 0; }; done
  return 1
}

build_nginx() {
  local root="$work/nginx" bb
  if ! bb=$(find_busybox); then
    [[ $(id -u) -eq 0 ]] || die "busybox is missing: apt-get install -y busybox-static"
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >/dev/null; }
    bb=$(find_busybox) || die "busybox-static installed but no busybox binary found"
  fi
  base_rootfs "$root"
  copy_with_libs "$root" "$bb" /bin/busybox
  ln -s busybox "$root/bin/sh"
  mkdir -p "$root/usr/share/nginx/html"
  cat > "$root/usr/share/nginx/html/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>Local stand-in for nginx:1.21.1 (busybox httpd), built by scripts/images/build-standins.sh.</p>
</body>
</html>
EOF
  # busybox httpd as PID 1 installs no SIGTERM handler, so the kernel would drop `docker stop`'s SIGTERM
  # and Docker would wait 10s before SIGKILL (docker import refuses STOPSIGNAL). A shell as PID 1 that
  # traps TERM/INT exits at once; httpd dies with the container's PID namespace.
  import "$root" "$NGINX_TAG" \
    'CMD ["/bin/sh","-c","trap \"exit 0\" TERM INT; /bin/busybox httpd -f -v -p 80 -h /usr/share/nginx/html & wait"]' \
    'EXPOSE 80'
}

built=0
for tag in "$REGISTRY_TAG" "$NGINX_TAG"; do
  if [[ $force -eq 0 ]] && exists "$tag"; then
    log "$tag: already present ($(docker image inspect -f '{{.Id}}' "$tag" | cut -c1-19)), skipped (--force rebuilds)"
    continue
  fi
  previous=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  case "$tag" in
    "$REGISTRY_TAG") build_registry ;;
    "$NGINX_TAG") build_nginx ;;
  esac
  built=1
  # --force: drop the image the tag pointed at before, unless something else still uses it.
  if [[ -n $previous && $previous != "$(docker image inspect -f '{{.Id}}' "$tag")" ]]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
done

if [[ $verify == 0 || ( $verify == auto && $built == 0 ) ]]; then exit 0; fi

log "verifying: registry stand-in on a random loopback port, push of $NGINX_TAG"
verify_name="standins-verify-$$"
docker run -d --name "$verify_name" -p 127.0.0.1::5000 \
  -e REGISTRY_HTTP_ADDR=0.0.0.0:5000 -e REGISTRY_STORAGE=filesystem \
  -e REGISTRY_STORAGE_DELETE_ENABLED=true -e REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry \
  "$REGISTRY_TAG" >/dev/null
verify_port=$(docker port "$verify_name" 5000/tcp | head -1 | sed 's/.*://')
code=000
for _ in $(seq 1 40); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$verify_port/v2/" || true)
  [[ $code == 200 ]] && break
  sleep 0.25
done
[[ $code == 200 ]] || { docker logs "$verify_name" >&2 || true; die "GET /v2/ answered $code, expected 200"; }
docker tag "$NGINX_TAG" "127.0.0.1:$verify_port/nginx:1.21.1"
docker push -q "127.0.0.1:$verify_port/nginx:1.21.1" >/dev/null || die "docker push to the registry stand-in failed"
catalog=$(curl -fsS "http://127.0.0.1:$verify_port/v2/_catalog")
[[ $catalog == *'"nginx"'* ]] || die "catalog does not list nginx: $catalog"
log "verified: /v2/ 200, pushed nginx:1.21.1, catalog $catalog"
