#!/usr/bin/env bash
# Runs the whole system locally with one command, on a fresh clone:
#   installs moto into .venv (pinned, tools/requirements-test.txt), starts it with IAM enforced
#   as the AWS endpoint and runs each function under a role made from its template policy
#   (or uses AWS_ENDPOINT_URL if set, e.g. a LocalStack you run, with your key), builds and
#   starts the Fusion and WMS simulators (each unless a real system is given: --fusion-url,
#   --wms-url), then runs tools/local-driver, which creates the tables,
#   queues and topic from infra/template.yaml, generates WMS activity, fires the hourly
#   fan-out, delivers the queued SQS messages to the sync function, injects drift of each size
#   band, fires the reconciliation and prints a report per DC. Everything it started (moto,
#   the simulators, the driver and what the driver runs) is stopped on every way out: success,
#   failure, Ctrl-C, SIGTERM. The exit status is non-zero when anything failed to sync or a
#   drift went unfound.
#
# Flags:
#   --dcs N          DCs (default 2; DC01..DCnn unless DC_LIST is set)
#   --items N        SKUs per DC (default 2000)
#   --activity N     WMS transactions generated per DC (default 100)
#   --seed N         seed of the simulators' data and of the drift (default 42)
#   --watch          run the real function binaries under `cargo lambda watch` instead of calling
#                    the handlers in process (needs cargo-lambda: tools/requirements-deploy.txt)
#   --fusion-url URL a real Fusion (test pod) instead of the simulator; same as FUSION_BASE_URL
#   --wms-url URL    a real WMS adapter (staging) instead of the simulator; same as WMS_BASE_URL
#   --serve          after the report, keep the stack up and serve the operator console on
#                    127.0.0.1 with the development login; prints its URL; Ctrl-C stops all
# Other flags go to the driver (e.g. --small 5 --medium 3 --large 2: drifted keys per DC;
# --report-json PATH: the report as JSON too, `"result": "ok"` exactly when the run succeeds).
#
# Every FUSION_*, WMS_*, SYNC_*, RECONCILE_*, VARIANCE_* variable, SERIAL_LIMIT and DC_LIST
# exported here reaches the functions as in AWS (docs/operations.md). A real side needs its
# credentials exported (FUSION_USER + FUSION_PASSWORD, or FUSION_AUTH=oauth2 + FUSION_TOKEN_URL,
# FUSION_CLIENT_ID, FUSION_CLIENT_SECRET; WMS_API_KEY or WMS_BEARER_TOKEN); the run stops at
# once naming a missing one. With a real WMS, activity generation, drift injection and the
# outbox check (the simulator's admin API) are skipped, each with a note.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
# Why job control: every background process then leads a process group of its own, so stopping
# it stops what it spawned too (cargo lambda watch and its function processes, under --watch).
set -m

DCS=2 ITEMS=2000 ACTIVITY=100 SEED=42 WATCH=0
# Why the exported variables: they are the ones the functions read, so one set of exports
# configures both the functions and which systems the run targets. A flag wins over them.
FUSION_URL="${FUSION_BASE_URL:-}" WMS_URL="${WMS_BASE_URL:-}"
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dcs) DCS="$2"; shift 2 ;;
        --items) ITEMS="$2"; shift 2 ;;
        --activity) ACTIVITY="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        --watch) WATCH=1; shift ;;
        --serve) EXTRA+=(--serve); shift ;;
        --fusion-url) FUSION_URL="$2"; shift 2 ;;
        --wms-url) WMS_URL="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) EXTRA+=("$1"); shift ;;
    esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/invsync-local.XXXXXX")"
cleanup() {
    set +m # no job notices for what is stopped on purpose
    stop_tracked
    stop_aws_emulator
    stop_iam_emulator
    rm -rf "$WORK"
}
on_exit cleanup

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

# Builds only the simulators this run starts.
BUILD=(-p local-driver)
[[ -n "$FUSION_URL" ]] || BUILD+=(-p fusion-sim)
[[ -n "$WMS_URL" ]] || BUILD+=(-p wms-sim)
if [[ -z "$FUSION_URL" && -z "$WMS_URL" ]]; then
    echo "==> building the simulators and the local driver" >&2
else
    echo "==> building the local driver${BUILD[2]:+ and the simulator it needs}" >&2
fi
cargo build --quiet "${BUILD[@]}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

# Starts a simulator binary and sets SIM_URL once it says `listening on URL`. Runs in this
# shell, never in a $(...) subshell (whose variables are lost), so that track_pid records its
# pid and the cleanup stops it.
start_sim() {
    local name="$1" pid line
    shift
    "$BIN/$name" --port 0 --seed "$SEED" --dcs "$DCS" --items "$ITEMS" "$@" \
        </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err" &
    pid=$!
    track_pid "$pid"
    SIM_URL=""
    for _ in $(seq 1 300); do
        line="$(head -n 1 "$WORK/$name.out" 2>/dev/null || true)"
        if [[ "$line" == "listening on "* ]]; then
            SIM_URL="${line#listening on }"
            return
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$name did not start; its log:" >&2
    cat "$WORK/$name.err" >&2
    return 1
}

# A URL as printed: any user:password@ in it hidden.
shown() { sed -E 's#//[^/@]*@#//***@#' <<<"$1"; }

DRIVER=("$BIN/local-driver" --dcs "$DCS" --activity "$ACTIVITY" --seed "$SEED" --root "$ROOT")
if [[ -z "$FUSION_URL" && -z "$WMS_URL" ]]; then
    start_sim fusion-sim
    FUSION_URL="$SIM_URL"
    start_sim wms-sim
    WMS_URL="$SIM_URL"
    echo "==> Fusion simulator on $FUSION_URL, WMS simulator on $WMS_URL ($DCS DCs x $ITEMS SKUs)" >&2
    DRIVER+=(--fusion-sim --wms-sim)
else
    if [[ -z "$FUSION_URL" ]]; then
        start_sim fusion-sim
        FUSION_URL="$SIM_URL"
        echo "==> Fusion simulator on $FUSION_URL ($DCS DCs x $ITEMS SKUs)" >&2
        DRIVER+=(--fusion-sim)
    else
        echo "==> Fusion: $(shown "$FUSION_URL") (real: no simulator started)" >&2
    fi
    if [[ -z "$WMS_URL" ]]; then
        start_sim wms-sim
        WMS_URL="$SIM_URL"
        echo "==> WMS simulator on $WMS_URL ($DCS DCs x $ITEMS SKUs)" >&2
        DRIVER+=(--wms-sim)
    else
        echo "==> WMS: $(shown "$WMS_URL") (real: no simulator started; activity, drift and outbox checks skipped)" >&2
    fi
fi
DRIVER+=(--fusion-url "$FUSION_URL" --wms-url "$WMS_URL" ${ROLES[@]+"${ROLES[@]}"})
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
# Why in the background with a FIFO rather than `driver | awk` in the foreground: bash runs a
# trap only once its foreground command ends, so Ctrl-C or SIGTERM would wait for the whole run;
# `wait` returns at once, and the cleanup stops the driver with everything it started.
mkfifo "$WORK/driver.out"
awk -v out="$METRICS_LOG" '/^\{"/ {print > out; next} {print; fflush()}' <"$WORK/driver.out" &
FILTER_PID=$!
track_pid "$FILTER_PID"
"${DRIVER[@]}" ${EXTRA[@]+"${EXTRA[@]}"} </dev/null >"$WORK/driver.out" &
DRIVER_PID=$!
track_pid "$DRIVER_PID"
status=0
wait "$DRIVER_PID" || status=$?
untrack_pid "$DRIVER_PID"
wait "$FILTER_PID" || true
untrack_pid "$FILTER_PID"
exit "$status"
