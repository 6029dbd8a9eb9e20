# shellcheck shell=bash
#
# scripts/lib/pytool.sh — install the Python tool of the same name (`tracecraft-ai` on
# PyPI) so that tests/interop.rs can prove both tools share one bucket.
#
# Usage (from a bash script, typically under `set -euo pipefail`):
#
#   source "$(dirname "$0")/lib/pytool.sh"
#   pytool_install           # call directly, NOT in $(...) or a pipeline
#   ... cargo test --test interop ...
#
# Public functions:
#   pytool_install    install tracecraft-ai==$PYTOOL_VERSION from PyPI into a cached
#                     venv (only if missing; serialised with flock), check that
#                     `tracecraft --version` reports it, export
#                     TRACECRAFT_TEST_PYTHON_TOOL.
#
# Exported after pytool_install:
#   TRACECRAFT_TEST_PYTHON_TOOL   <cache>/venv-pytool/bin/tracecraft
#
# Shell state (not exported) after pytool_install:
#   PYTOOL_BIN
#
# Tunables (environment):
#   TRACECRAFT_CACHE_DIR        cache root (default $XDG_CACHE_HOME/tracecraft or
#                               ~/.cache/tracecraft)
#   TRACECRAFT_PYTOOL_VERSION   tracecraft-ai version (default 0.2.5)
#
# All progress output goes to stderr.

PYTOOL_VERSION="${TRACECRAFT_PYTOOL_VERSION:-0.2.5}"
PYTOOL_BIN="${PYTOOL_BIN:-}"

_pytool_log() { printf 'pytool: %s\n' "$*" >&2; }

_pytool_cache_dir() {
    printf '%s\n' "${TRACECRAFT_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tracecraft}"
}

# Succeeds when "$1 --version" names $PYTOOL_VERSION as a whole word. Run with a
# throw-away HOME and cwd so that no config or state of the user is touched.
_pytool_version_ok() {
    local bin="$1" out
    [[ -x "$bin" ]] || return 1
    out="$(cd /tmp && env -u TRACECRAFT_AGENT HOME=/nonexistent-tracecraft-home "$bin" --version 2>&1)" || return 1
    [[ " $out " =~ [^0-9.]${PYTOOL_VERSION//./\\.}[^0-9.] ]] || {
        _pytool_log "unexpected '$bin --version' output: $out"
        return 1
    }
}

# pytool_install: idempotent; the fast path is two file tests and one version check.
pytool_install() {
    local cache venv stamp bin
    cache="$(_pytool_cache_dir)"
    venv="$cache/venv-pytool"
    stamp="$venv/.tracecraft-ai-$PYTOOL_VERSION"
    bin="$venv/bin/tracecraft"

    if ! { [[ -f "$stamp" && -x "$bin" ]] && _pytool_version_ok "$bin"; }; then
        mkdir -p "$cache" || return 1
        (
            # Serialise concurrent installers (parallel test runs) when flock exists.
            if command -v flock >/dev/null 2>&1; then
                exec 9>"$cache/.venv-pytool.lock"
                flock -w 600 9 || { _pytool_log "timed out waiting for install lock"; exit 1; }
            fi
            # Another run may have finished the install while we waited.
            if [[ -f "$stamp" && -x "$bin" ]] && _pytool_version_ok "$bin" 2>/dev/null; then
                exit 0
            fi

            _pytool_log "installing tracecraft-ai==$PYTOOL_VERSION from PyPI into $venv"
            if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
                rm -rf "$venv"
                python3 -m venv "$venv" >&2 || {
                    _pytool_log "python3 -m venv failed (on Debian: apt-get install python3-venv)"
                    exit 1
                }
            fi
            rm -f "$venv"/.tracecraft-ai-*
            "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
                "tracecraft-ai==$PYTOOL_VERSION" >&2 || {
                _pytool_log "pip install tracecraft-ai==$PYTOOL_VERSION failed"
                exit 1
            }
            if [[ ! -x "$bin" ]]; then
                _pytool_log "tracecraft entry point not found at $bin after install"
                exit 1
            fi
            _pytool_version_ok "$bin" || exit 1
            : >"$stamp"
            _pytool_log "installed tracecraft-ai $PYTOOL_VERSION: $bin"
        ) || return 1
    fi

    PYTOOL_BIN="$bin"
    export TRACECRAFT_TEST_PYTHON_TOOL="$bin"
}
