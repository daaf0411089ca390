#!/usr/bin/env bash
# Runs the whole system locally with one command, on a fresh clone:
#   installs moto into .venv (pinned, tools/requirements-test.txt), starts it with IAM enforced
#   as the AWS endpoint and runs each function under a role made from its template policy
#   (or uses AWS_ENDPOINT_URL if set, e.g. a LocalStack you run, with your key), builds and starts
#   the Fusion and WMS simulators, then runs tests/local-driver, which creates the tables,
#   queues and topic from infra/template.yaml, generates WMS activity, fires the hourly
#   fan-out, delivers the queued SQS messages to the sync function, injects drift of each size
#   band, fires the reconciliation and prints a report per DC. Everything it started is stopped
#   on exit; the exit status is non-zero when anything failed to sync or a drift went unfound.
#
# Flags:
#   --dcs N        DCs (default 2)
#   --items N      SKUs per DC (default 2000)
#   --activity N   WMS transactions generated per DC (default 100)
#   --seed N       seed of the simulators' data and of the drift (default 42)
#   --watch        run the real function binaries under `cargo lambda watch` instead of calling
#                  the handlers in process (needs cargo-lambda: tools/requirements-deploy.txt)
# Other flags go to the driver (e.g. --small 5 --medium 3 --large 2: drifted keys per DC).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DCS=2 ITEMS=2000 ACTIVITY=100 SEED=42 WATCH=0
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dcs) DCS="$2"; shift 2 ;;
        --items) ITEMS="$2"; shift 2 ;;
        --activity) ACTIVITY="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        --watch) WATCH=1; shift ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) EXTRA+=("$1"); shift ;;
    esac
done

SIM_PIDS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/invsync-local.XXXXXX")"
cleanup() {
    # Why pid files: start_sim runs in a command substitution, a subshell, so its SIM_PIDS+=
    # never reached this shell and the simulators outlived every run.
    for file in "$WORK"/*.pid; do
        [[ -f "$file" ]] && SIM_PIDS+=("$(cat "$file")")
    done
    for pid in "${SIM_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    stop_aws_emulator
    stop_iam_emulator
    rm -rf "$WORK"
}
trap cleanup EXIT

ensure_venv "$ROOT/tools/requirements-test.txt"
ROLES=()
if [[ -n "${AWS_ENDPOINT_URL:-}" && -z "${INVSYNC_IAM_ENDPOINT_URL:-}" ]]; then
    # Your emulator, your key: the functions run with it.
    start_aws_emulator
else
    # The IAM-enforcing moto (scripts/test.sh's, or one started here): set-up as its
    # administrator, each function under its template role.
    start_aws_emulator_settings
    start_iam_emulator
    export AWS_ENDPOINT_URL="$INVSYNC_IAM_ENDPOINT_URL"
    export AWS_ACCESS_KEY_ID="$INVSYNC_IAM_ADMIN_ACCESS_KEY_ID"
    export AWS_SECRET_ACCESS_KEY="$INVSYNC_IAM_ADMIN_SECRET_ACCESS_KEY"
    unset AWS_SESSION_TOKEN
    ROLES=(--roles)
fi

echo "==> building the simulators and the local driver" >&2
cargo build --quiet -p fusion-sim -p wms-sim -p local-driver
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

# Starts a simulator binary and prints its URL once it says `listening on URL`.
start_sim() {
    local name="$1"
    shift
    "$BIN/$name" --port 0 --seed "$SEED" --dcs "$DCS" --items "$ITEMS" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    echo $! >"$WORK/$name.pid"
    for _ in $(seq 1 300); do
        local line
        line="$(head -n 1 "$WORK/$name.out" 2>/dev/null || true)"
        if [[ "$line" == "listening on "* ]]; then
            echo "${line#listening on }"
            return
        fi
        sleep 0.1
    done
    echo "$name did not start; its log:" >&2
    cat "$WORK/$name.err" >&2
    return 1
}

FUSION_URL="$(start_sim fusion-sim)"
WMS_URL="$(start_sim wms-sim)"
echo "==> Fusion simulator on $FUSION_URL, WMS simulator on $WMS_URL ($DCS DCs x $ITEMS SKUs)" >&2

DRIVER=("$BIN/local-driver" --fusion-url "$FUSION_URL" --wms-url "$WMS_URL" --dcs "$DCS"
    --activity "$ACTIVITY" --seed "$SEED" --root "$ROOT" "${ROLES[@]}")
if [[ "$WATCH" == 1 ]]; then
    if ! cargo lambda --version >/dev/null 2>&1 && [[ -x "$ROOT/.venv-deploy/bin/cargo-lambda" ]]; then
        export PATH="$ROOT/.venv-deploy/bin:$PATH"
    fi
    if ! cargo lambda --version >/dev/null 2>&1; then
        echo "--watch needs cargo-lambda: python3 -m venv .venv-deploy && .venv-deploy/bin/pip install -r tools/requirements-deploy.txt" >&2
        exit 1
    fi
    DRIVER+=(--watch-port "$(free_port)" --function-log "${INVSYNC_METRICS_LOG:-${TMPDIR:-/tmp}/invsync-local-metrics.log}")
fi
# The functions' EMF metric lines (JSON on stdout, which CloudWatch would turn into metrics) are
# kept in a file rather than mixed into the progress and the report.
METRICS_LOG="${INVSYNC_METRICS_LOG:-${TMPDIR:-/tmp}/invsync-local-metrics.log}"
[[ "$WATCH" == 1 ]] || : >"$METRICS_LOG"
echo "==> running; the functions' EMF metric lines go to $METRICS_LOG" >&2
"${DRIVER[@]}" "${EXTRA[@]}" | awk -v out="$METRICS_LOG" '/^\{"/ {print > out; next} {print; fflush()}'
