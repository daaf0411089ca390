#!/usr/bin/env bash
# No process scripts/run-local.sh starts outlives it, on each way out: a run that succeeds, one
# that fails after everything started (a DC_LIST the driver refuses), and one interrupted with
# Ctrl-C while the driver serves the console (SIGINT to its process group, as a terminal sends
# it). Each run starts its own IAM-enforcing moto, both simulators and the driver, all carrying
# a unique INVSYNC_RUN_MARKER in their environment, which scripts/tests/marked-processes.sh finds.
# Run by scripts/test.sh; on its own: `bash scripts/tests/test-run-local-cleanup.sh`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
# Why: each run must start (and so stop) its own emulator, not use the caller's.
unset AWS_ENDPOINT_URL INVSYNC_IAM_ENDPOINT_URL INVSYNC_IAM_ADMIN_ACCESS_KEY_ID INVSYNC_IAM_ADMIN_SECRET_ACCESS_KEY
TINY=(--dcs 1 --items 50 --activity 5 --small 1 --medium 1 --large 1)
failures=0

marked() { bash "$HERE/marked-processes.sh" "$1"; }

# Fails the case `name` when processes marked `marker` remain (after up to 5 s).
expect_none_left() {
    local name="$1" marker="$2" left=""
    for _ in $(seq 1 50); do
        left="$(marked "$marker")"
        [[ -n "$left" ]] || break
        sleep 0.1
    done
    if [[ -n "$left" ]]; then
        echo "FAIL $name: still running after the run:" >&2
        echo "$left" >&2
        # Why kill them here: a failed check must not leave them for the next run either.
        echo "$left" | awk '{print $1}' | while read -r pid; do kill "$pid" 2>/dev/null || true; done
        failures=$((failures + 1))
    else
        echo "ok   $name: nothing left running" >&2
    fi
}

# Fails the case when the exit status is not `want` ("nonzero" for any failure).
expect_status() {
    local name="$1" got="$2" want="$3"
    if [[ "$want" == nonzero && "$got" != 0 ]] || [[ "$got" == "$want" ]]; then
        echo "ok   $name: exit status $got" >&2
    else
        echo "FAIL $name: exit status $got, $want expected" >&2
        failures=$((failures + 1))
    fi
}

marker="cleanup-ok-$$-$RANDOM"
status=0
INVSYNC_RUN_MARKER="$marker" bash scripts/run-local.sh "${TINY[@]}" >/dev/null 2>&1 || status=$?
expect_status "a run that succeeds" "$status" 0
expect_none_left "a run that succeeds" "$marker"

marker="cleanup-fail-$$-$RANDOM"
status=0
INVSYNC_RUN_MARKER="$marker" DC_LIST='not a dc!' bash scripts/run-local.sh "${TINY[@]}" >/dev/null 2>&1 || status=$?
expect_status "a run that fails after starting everything" "$status" nonzero
expect_none_left "a run that fails after starting everything" "$marker"

marker="cleanup-int-$$-$RANDOM"
# Why set -m: the run gets a process group of its own, and SIGINT to it is not ignored as it is
# for background jobs without job control; that is what a terminal's Ctrl-C reaches.
# Why env --default-signal: a caller started in the background (a CI runner, nohup) may hand this
# script SIGINT already ignored, and bash cannot undo an inherited ignore; the run gets SIGINT
# back at its default, as under a terminal. (GNU env; elsewhere the run inherits what we have.)
# Why --serve: the driver then runs until it is interrupted; a plain run of any size may finish
# before the signal is sent and exit 0 without testing the interrupt at all.
RESET=()
if env --default-signal=INT true 2>/dev/null; then RESET=(env --default-signal=INT); fi
set -m
INVSYNC_RUN_MARKER="$marker" ${RESET[@]+"${RESET[@]}"} bash scripts/run-local.sh "${TINY[@]}" --serve >/dev/null 2>&1 &
run=$!
set +m
driving=0
for _ in $(seq 1 1200); do
    if marked "$marker" | grep -q "local-driver"; then driving=1; break; fi
    kill -0 "$run" 2>/dev/null || break
    sleep 0.1
done
if [[ "$driving" == 1 ]]; then
    sleep 1
    kill -INT -- "-$run" 2>/dev/null || true
fi
# Why a deadline: a serving run that ignores the signal would otherwise hang the whole suite; it
# is stopped here (SIGTERM, then SIGKILL) and the case fails on its exit status.
for _ in $(seq 1 600); do
    kill -0 "$run" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$run" 2>/dev/null; then
    echo "FAIL an interrupted run: still running 60 s after Ctrl-C; stopping it" >&2
    failures=$((failures + 1))
    kill -TERM -- "-$run" 2>/dev/null || true
    sleep 5
    kill -KILL -- "-$run" 2>/dev/null || true
fi
status=0
wait "$run" || status=$?
if [[ "$driving" != 1 ]]; then
    echo "FAIL an interrupted run: the driver never started (exit status $status)" >&2
    failures=$((failures + 1))
fi
expect_status "an interrupted run (Ctrl-C)" "$status" 130
expect_none_left "an interrupted run (Ctrl-C)" "$marker"

if [[ "$failures" != 0 ]]; then
    echo "run-local cleanup: $failures failure(s)" >&2
    exit 1
fi
echo "run-local cleanup: ok" >&2
