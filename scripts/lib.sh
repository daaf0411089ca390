# Shared shell helpers for scripts/*.sh (sourced, not run).
#
# Portable: bash 3.2 (macOS) and later, BSD and GNU tools alike. No `sha256sum`, `readlink -f`,
# `sed -i` without a suffix, `mktemp --suffix`, negative array indices, or "${empty[@]}" under
# `set -u` (bash before 4.4 calls an empty array unbound: use ${a[@]+"${a[@]}"}).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INVSYNC_VENV:-$ROOT/.venv}"

# Prints the SHA-256 of a file in hex: `shasum` (macOS, most Linux), `sha256sum` (GNU
# coreutils) or Python, whichever exists.
file_sha256() {
    if command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | awk '{print $1}'
    elif command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{print $1}'
    else
        python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
    fi
}

# Background processes this shell started and must stop (space-separated pids; see track_pid).
TRACKED_PIDS=""

# Remembers `pid`, a background process this shell started, for stop_tracked. Call it in this
# shell right after `cmd &` with `$!`, never inside $(...), whose assignments are lost.
track_pid() {
    TRACKED_PIDS="$TRACKED_PIDS $1"
}

# Forgets `pid` once this shell has waited for it: a reaped pid may be reused by another process.
untrack_pid() {
    local pid kept=""
    for pid in $TRACKED_PIDS; do [[ "$pid" == "$1" ]] || kept="$kept $pid"; done
    TRACKED_PIDS="$kept"
}

# Stops one process this shell started: its process group when it leads one (under `set -m`
# every background job does, so children it spawned go too), else the process; SIGTERM, then
# SIGKILL after 10 s. Reaps it. Safe to call twice or for a process already gone.
stop_pid() {
    local pid="$1" i
    [[ -n "$pid" ]] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Stops every tracked process, newest first.
stop_tracked() {
    local pid order=""
    for pid in $TRACKED_PIDS; do order="$pid $order"; done
    for pid in $order; do stop_pid "$pid"; done
    TRACKED_PIDS=""
}

# Runs `handler` (a command string) on every way out of the script: normal exit, a failing
# command under `set -e`, and Ctrl-C, SIGTERM or SIGHUP (which otherwise end bash without
# running an EXIT trap when it is waiting for a foreground command). Exit status 128+signal.
on_exit() {
    # shellcheck disable=SC2064
    trap "$1" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# Creates the project venv and installs a pinned requirements file into it (idempotent: a
# stamp file remembers what was installed).
ensure_venv() {
    local req="$1"
    local stamp
    stamp="$VENV/.stamp-$(basename "$req")-$(file_sha256 "$req" | cut -c1-12)"
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

# The region and (dummy, unless set) credentials every emulator run uses.
start_aws_emulator_settings() {
    export AWS_REGION="${AWS_REGION:-us-east-1}"
    export AWS_DEFAULT_REGION="$AWS_REGION"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
}

# Starts moto server on loopback unless AWS_ENDPOINT_URL already points at an emulator
# (LocalStack, a running moto). Exports the endpoint and dummy credentials; MOTO_PID is set
# when this shell started it.
start_aws_emulator() {
    start_aws_emulator_settings
    if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
        echo "==> using the AWS emulator at $AWS_ENDPOINT_URL" >&2
        return
    fi
    local port
    port="$(free_port)"
    local log="${TMPDIR:-/tmp}/invsync-moto-$port.log"
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
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
    stop_pid "${MOTO_PID:-}"
    MOTO_PID=""
}

# Requests moto answers before it enforces IAM: exactly the administrator's bootstrap below
# (CreateUser, PutUserPolicy, CreateAccessKey). From then on every request must be signed by an
# IAM principal whose policies allow its action.
IAM_BOOTSTRAP_REQUESTS=3

# Starts a second moto server on loopback that enforces IAM, unless INVSYNC_IAM_ENDPOINT_URL
# already names one (with INVSYNC_IAM_ADMIN_ACCESS_KEY_ID / _SECRET_ACCESS_KEY). Its first
# requests create the administrator `invsync-admin` (every action), whose key sets things up;
# each function then runs under a role built from its template policy (tools/aws-local/src/iam).
# Exports the endpoint and the administrator's key; IAM_MOTO_PID is set when this shell
# started it.
start_iam_emulator() {
    if [[ -n "${INVSYNC_IAM_ENDPOINT_URL:-}" ]]; then
        echo "==> using the IAM-enforcing emulator at $INVSYNC_IAM_ENDPOINT_URL" >&2
        return
    fi
    local port url
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    local log="${TMPDIR:-/tmp}/invsync-moto-iam-$port.log"
    # scripts/moto_iam_server.py: moto_server with a fix for signatures of form-encoded requests.
    INITIAL_NO_AUTH_ACTION_COUNT="$IAM_BOOTSTRAP_REQUESTS" \
        "$VENV/bin/python" "$ROOT/scripts/moto_iam_server.py" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
    IAM_MOTO_PID=$!
    local up=0
    for _ in $(seq 1 100); do
        if curl -fsS "$url/moto-api/" >/dev/null 2>&1; then up=1; break; fi
        sleep 0.2
    done
    if [[ "$up" != 1 ]]; then
        echo "IAM-enforcing moto server did not start; its log:" >&2
        cat "$log" >&2
        return 1
    fi
    local keys
    keys="$(ENDPOINT="$url" "$VENV/bin/python" - <<'PY'
import json, os
import boto3
iam = boto3.client("iam", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="invsync-admin")
iam.put_user_policy(UserName="invsync-admin", PolicyName="everything", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="invsync-admin")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)" || { echo "bootstrap of the IAM-enforcing moto failed; its log:" >&2; cat "$log" >&2; return 1; }
    export INVSYNC_IAM_ENDPOINT_URL="$url"
    export INVSYNC_IAM_ADMIN_ACCESS_KEY_ID="${keys%% *}"
    export INVSYNC_IAM_ADMIN_SECRET_ACCESS_KEY="${keys#* }"
    echo "==> IAM-enforcing moto server on $url (pid $IAM_MOTO_PID), administrator invsync-admin" >&2
}

stop_iam_emulator() {
    stop_pid "${IAM_MOTO_PID:-}"
    IAM_MOTO_PID=""
}
