# shellcheck shell=bash
#
# scripts/lib/mcpsdk.sh — install the official MCP Python SDK (`mcp` on PyPI) so that
# tests/mcp.rs drives `tracecraft mcp` with a client this project did not write.
#
# Usage (from a bash script):
#
#   source "$(dirname "$0")/lib/mcpsdk.sh"
#   mcpsdk_install           # call directly, NOT in $(...) or a pipeline
#
# Exported after mcpsdk_install:
#   TRACECRAFT_TEST_MCP_PYTHON   <cache>/venv-mcp/bin/python, with `import mcp` working
#
# Tunables (environment):
#   TRACECRAFT_CACHE_DIR         cache root (default $XDG_CACHE_HOME/tracecraft or
#                                ~/.cache/tracecraft)
#   TRACECRAFT_MCP_SDK_VERSION   mcp version (default 2.3.0)
#
# All progress output goes to stderr.

MCPSDK_VERSION="${TRACECRAFT_MCP_SDK_VERSION:-2.3.0}"

_mcpsdk_log() { printf 'mcp-sdk: %s\n' "$*" >&2; }

_mcpsdk_ok() {
    local py="$1"
    [[ -x "$py" ]] && "$py" -c "import mcp, mcp.client.stdio" >/dev/null 2>&1
}

# mcpsdk_install: idempotent; the fast path is a file test and one import.
mcpsdk_install() {
    local cache venv stamp py
    cache="${TRACECRAFT_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tracecraft}"
    venv="$cache/venv-mcp"
    stamp="$venv/.mcp-$MCPSDK_VERSION"
    py="$venv/bin/python"

    if ! { [[ -f "$stamp" ]] && _mcpsdk_ok "$py"; }; then
        mkdir -p "$cache" || return 1
        (
            if command -v flock >/dev/null 2>&1; then
                exec 9>"$cache/.venv-mcp.lock"
                flock -w 600 9 || { _mcpsdk_log "timed out waiting for install lock"; exit 1; }
            fi
            if [[ -f "$stamp" ]] && _mcpsdk_ok "$py"; then
                exit 0
            fi
            _mcpsdk_log "installing mcp==$MCPSDK_VERSION from PyPI into $venv"
            if [[ ! -x "$py" ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
                rm -rf "$venv"
                python3 -m venv "$venv" >&2 || {
                    _mcpsdk_log "python3 -m venv failed (on Debian: apt-get install python3-venv)"
                    exit 1
                }
            fi
            rm -f "$venv"/.mcp-*
            "$py" -m pip install --disable-pip-version-check --no-input -q \
                "mcp==$MCPSDK_VERSION" >&2 || {
                _mcpsdk_log "pip install mcp==$MCPSDK_VERSION failed"
                exit 1
            }
            _mcpsdk_ok "$py" || { _mcpsdk_log "import mcp fails after install"; exit 1; }
            : >"$stamp"
            _mcpsdk_log "installed mcp $MCPSDK_VERSION: $py"
        ) || return 1
    fi
    export TRACECRAFT_TEST_MCP_PYTHON="$py"
}
