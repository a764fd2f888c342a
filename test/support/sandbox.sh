#!/usr/bin/env bash
# A private, throw-away Podman API service + a private registry for the test suite and demos.
#
#   sandbox.sh start DIR   -> writes DIR/env (shell assignments) and prints it
#   sandbox.sh stop DIR    -> removes every container, stops the service and the registry by PID,
#                             unmounts the overlay and deletes DIR
#   sandbox.sh service-stop DIR / service-start DIR
#                          -> stops / starts only the API service (containers keep running): a
#                             Podman outage for one test's private sandbox
#   sandbox.sh restart-service DIR [TERM|KILL]
#                          -> service-stop with that signal (default TERM), then service-start (the
#                             chaos suite restarts its own private sandbox's service, never a shared one)
#   sandbox.sh podman DIR ARGS... -> the podman CLI in the sandbox's local mode (e.g. ps -a --external)
#
# SANDBOX_EXTRA_INSECURE=host:port (start): one more registry address that registries.conf lists
# as insecure (e.g. a test's proxy in front of the registry).
#
# Nothing global is changed: config, storage, locks, events and
# the default network all live under DIR, so several sandboxes (and a system Podman) coexist.
set -euo pipefail

cmd=${1:?usage: sandbox.sh start|stop DIR [--no-registry]}
D=${2:?usage: sandbox.sh start|stop DIR}
D=$(realpath -m "$D")
REGISTRY_PORT=${SANDBOX_REGISTRY_PORT:-5055}

penv() {
  echo "CONTAINERS_CONF=$D/containers.conf CONTAINERS_STORAGE_CONF=$D/storage.conf CONTAINERS_REGISTRIES_CONF=$D/registries.conf TMPDIR=$D/imgtmp REGISTRY_AUTH_FILE=$D/auth.json HOME=$D/home"
}

podman_local() { env $(penv) podman "$@"; }

stop() {
  [ -d "$D" ] || return 0
  if [ -S "$D/podman.sock" ]; then
    for id in $(curl -s --max-time 10 --unix-socket "$D/podman.sock" 'http://d/v4.0.0/libpod/containers/json?all=true' \
      | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4); do
      curl -s --max-time 30 -X DELETE --unix-socket "$D/podman.sock" \
        "http://d/v4.0.0/libpod/containers/$id?force=true&timeout=0" >/dev/null || true
    done
  fi
  for p in "$D/service.pid" "$D/registry/pid"; do
    if [ -f "$p" ]; then
      pid=$(cat "$p")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$p"
    fi
  done
  # containers that outlived the service (conmon is detached): remove them in local mode
  if [ -f "$D/containers.conf" ]; then
    podman_local rm -af -t 0 >/dev/null 2>&1 || true
  fi
  # Podman keeps one conmon per finished exec session for exit_command_delay (300 s) before it runs
  # the session's cleanup; the containers are gone by now, so end those lingering helpers.
  # Ending one runs its exit command (another short podman process), so repeat until none is left.
  for i in $(seq 1 25); do
    pids=$(pgrep -f -- "$D/" || true)
    [ -z "$pids" ] && break
    sig=TERM; [ "$i" -gt 15 ] && sig=KILL
    kill -s "$sig" $pids 2>/dev/null || true
    sleep 0.2
  done
  for m in $(grep " $D" /proc/mounts | awk '{print $2}' | sort -r); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf "$D"
  # Nothing of this sandbox may survive: no process, no mount.
  local leftovers
  leftovers=$(ps -eo pid,args | grep -F "$D" | grep -v -e grep -e "sandbox.sh" || true)
  if [ -n "$leftovers" ] || grep -qF " $D" /proc/mounts; then
    echo "sandbox: left behind in $D:" >&2; echo "$leftovers" >&2; grep -F " $D" /proc/mounts >&2 || true
    return 1
  fi
}

# The API service. conmon inherits the CWD: run it from $D.
# setsid may fork; the inner shell records its own PID and then becomes podman (exec).
# The redirections cover the whole background job, so nothing keeps this script's stdout open
# (a caller reading our output would otherwise wait for the service to exit).
service_start() {
  rm -f "$D/service.pid"
  (cd "$D" && exec env $(penv) setsid sh -c 'echo $$ > "$0/service.pid"; exec podman system service --time=0 "unix://$0/podman.sock"' "$D") \
      >>"$D/service.log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do [ -s "$D/service.pid" ] && break; sleep 0.02; done
  for _ in $(seq 1 400); do
    curl -fsS --unix-socket "$D/podman.sock" http://d/_ping >/dev/null 2>&1 && break; sleep 0.05
  done
  curl -fsS --unix-socket "$D/podman.sock" http://d/_ping >/dev/null || { cat "$D/service.log" >&2; exit 3; }
}

# Stops the API service only (by its PID, with signal $1, default TERM); containers and their
# conmon keep running.
service_stop() {
  [ -f "$D/service.pid" ] || return 0
  local pid; pid=$(cat "$D/service.pid")
  kill -s "${1:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$D/service.pid" "$D/podman.sock"
}

start() {
  command -v podman >/dev/null || { echo "sandbox: podman is not installed (see .ci/run)" >&2; exit 2; }
  mkdir -p "$D"/{root,runroot,tmp,networks,imgtmp,home}
  cat > "$D/conmon-wrap.sh" <<'EOF'
#!/bin/sh
# conmon writes the "oom" marker into its CWD; podman 4.3 looks for it in the bundle dir.
prev=; for a in "$@"; do
  if [ "$prev" = "-b" ] || [ "$prev" = "--bundle" ]; then cd "$a" 2>/dev/null; break; fi; prev=$a; done
exec /usr/bin/conmon "$@"
EOF
  chmod +x "$D/conmon-wrap.sh"
  # A private default network per sandbox (netavark tears down chains per instance otherwise).
  local n=$(( ($$ % 200) + 20 ))
  local net="ndp$$"
  cat > "$D/networks/$net.json" <<EOF
{
  "name": "$net",
  "id": "$(printf '%064x' $$)",
  "driver": "bridge",
  "network_interface": "ndp$n",
  "created": "2026-01-01T00:00:00Z",
  "subnets": [{"subnet": "10.89.$n.0/24", "gateway": "10.89.$n.1"}],
  "ipv6_enabled": false,
  "internal": false,
  "dns_enabled": false,
  "ipam_options": {"driver": "host-local"}
}
EOF
  cat > "$D/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
init_path = "/usr/bin/catatonit"
[engine]
conmon_path = ["$D/conmon-wrap.sh"]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/events.log"
tmp_dir = "$D/tmp"
static_dir = "$D/root/libpod"
volume_path = "$D/root/volumes"
lock_type = "file"
image_copy_tmp_dir = "$D/imgtmp"
# Podman keeps a conmon per finished exec session this long (default 300 s); the driver reads the
# exit code right after the output ends, so a short delay keeps test runs from piling them up.
exit_command_delay = 2
[network]
network_backend = "netavark"
network_config_dir = "$D/networks"
default_network = "$net"
EOF
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/root"\nrunroot = "%s/runroot"\n' "$D" "$D" > "$D/storage.conf"
  cat > "$D/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "permissive"
[[registry]]
location = "127.0.0.1:$REGISTRY_PORT"
insecure = true
EOF
  if [ -n "${SANDBOX_EXTRA_INSECURE:-}" ]; then
    printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$SANDBOX_EXTRA_INSECURE" >> "$D/registries.conf"
  fi

  # Test images, built from busybox-static (no registry on the internet is reachable here).
  local R=$D/rootfs
  mkdir -p "$R"/{bin,etc,tmp,www,root,proc,sys,dev}; chmod 1777 "$R/tmp"
  cp /bin/busybox "$R/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$R/etc/group"
  echo 'hello from busybox httpd' > "$R/www/index.html"
  tar -C "$R" -cf "$D/rootfs.tar" .
  rm -rf "$R"
  podman_local import --change 'CMD=["/bin/sh"]' --change 'ENV=PATH=/bin' "$D/rootfs.tar" localhost/busybox:latest >/dev/null 2>&1
  podman_local import --change 'CMD=["/bin/httpd","-f","-v","-p","8080","-h","/www"]' --change 'ENV=PATH=/bin' \
    --change 'EXPOSE=8080/tcp' "$D/rootfs.tar" localhost/httpd:latest >/dev/null 2>&1
  podman_local save --format oci-archive -o "$D/busybox-oci.tar" localhost/busybox:latest >/dev/null 2>&1
  podman_local save --format docker-archive -o "$D/busybox-docker.tar" localhost/busybox:latest >/dev/null 2>&1

  service_start

  local regline=""
  if [ "${3:-}" != "--no-registry" ] && command -v docker-registry >/dev/null; then
    local G=$D/registry; mkdir -p "$G/data"
    htpasswd -Bbn testuser testpass > "$G/htpasswd"
    cat > "$G/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $G/data}, delete: {enabled: true}}
http: {addr: "127.0.0.1:$REGISTRY_PORT", secret: test-only}
auth: {htpasswd: {realm: test-registry, path: $G/htpasswd}}
EOF
    (exec setsid sh -c 'echo $$ > "$0/pid"; exec docker-registry serve "$0/config.yml"' "$G") > "$G/registry.log" 2>&1 < /dev/null &
    for _ in $(seq 1 100); do [ -s "$G/pid" ] && break; sleep 0.02; done
    for _ in $(seq 1 200); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REGISTRY_PORT/v2/")" = 401 ] && break; sleep 0.05
    done
    # Seed the registry with test/busybox:latest and test/httpd:latest (authenticated push).
    local A; A=$(printf '{"username":"testuser","password":"testpass"}' | base64 -w0 | tr '+/' '-_')
    for img in busybox httpd; do
      curl -fsS --max-time 60 -X POST -H "X-Registry-Auth: $A" --unix-socket "$D/podman.sock" \
        "http://d/v4.0.0/libpod/images/localhost/$img:latest/push?destination=127.0.0.1:$REGISTRY_PORT/test/$img:latest&tlsVerify=false" >/dev/null
    done
    regline="SANDBOX_REGISTRY=127.0.0.1:$REGISTRY_PORT
SANDBOX_REGISTRY_USER=testuser
SANDBOX_REGISTRY_PASSWORD=testpass"
  fi

  cat > "$D/env" <<EOF
SANDBOX_DIR=$D
PODMAN_SOCKET=unix://$D/podman.sock
SANDBOX_NETWORK=$net
SANDBOX_OCI_ARCHIVE=$D/busybox-oci.tar
SANDBOX_DOCKER_ARCHIVE=$D/busybox-docker.tar
$regline
EOF
  cat "$D/env"
}

case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  service-stop) service_stop ;;
  service-start) service_start ;;
  restart-service) service_stop "${3:-TERM}"; service_start ;;
  podman) shift 2; podman_local "$@" ;;
  *) echo "usage: sandbox.sh start|stop|service-stop|service-start|restart-service|podman DIR" >&2; exit 64 ;;
esac
