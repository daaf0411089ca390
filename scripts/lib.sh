# Shared shell helpers for scripts/*.sh (sourced, not run).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INVSYNC_VENV:-$ROOT/.venv}"

# Creates the project venv and installs a pinned requirements file into it (idempotent: a
# stamp file remembers what was installed).
ensure_venv() {
    local req="$1"
    local stamp="$VENV/.stamp-$(basename "$req")-$(sha256sum "$req" | cut -c1-12)"
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --upgrade pip
    fi
    if [[ ! -f "$stamp" ]]; then
        echo "==> installing $(basename "$req") into $VENV" >&2
        "$VENV/bin/pip" install --quiet -r "$req"
        touch "$stamp"
    fi
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto server on loopback unless AWS_ENDPOINT_URL already points at an emulator
# (LocalStack, a running moto). Exports the endpoint and dummy credentials; MOTO_PID is set
# when this shell started it.
start_aws_emulator() {
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    export AWS_DEFAULT_REGION="$AWS_REGION"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        echo "==> using the AWS emulator at $AWS_ENDPOINT_URL" >&2
        return
    fi
    local port
    port="$(free_port)"
    local log="${TMPDIR:-/tmp}/invsync-moto-$port.log"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    MOTO_PID=$!
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if curl -fsS "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1; then
            echo "==> moto server on $AWS_ENDPOINT_URL (pid $MOTO_PID)" >&2
            return
        fi
        sleep 0.2
    done
    echo "moto server did not start; its log:" >&2
    cat "$log" >&2
    return 1
}

stop_aws_emulator() {
    if [[ -n "${MOTO_PID:-}" ]]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=""
    fi
}
