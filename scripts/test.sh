#!/usr/bin/env bash
# Runs the whole test suite: installs the pinned Python tools (moto server, validators,
# checkov), starts moto on loopback as the AWS endpoint (or uses AWS_ENDPOINT_URL if set) and a
# second, IAM-enforcing moto under which each function's IAM tests and the local run use their
# template roles, validates the WMS OpenAPI contract and the SAM template (cfn-lint,
# sam validate --lint, checkov with the skips of infra/checkov-skips.txt), runs every Rust test
# in the workspace, then (full suite only) the README's local run, checked by its exit status and
# its JSON report, and the script tests (scripts/tests/*.sh: nothing a script starts outlives
# it). The console's browser test (functions/console-api/tests/browser.rs) needs Debian's
# chromium and chromedriver: installed with apt when missing, as root (CI); otherwise it says
# how. Stops what it started. Prints a summary line whatever failed, and exits non-zero when
# anything did.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p domain`); they skip the local run
# and the script tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv "$ROOT/tools/requirements-test.txt"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/invsync-test.XXXXXX")"
on_exit 'stop_aws_emulator; stop_iam_emulator; rm -rf "$WORK"'
start_aws_emulator
start_iam_emulator

if [[ -f docs/wms-api.openapi.yaml ]]; then
    echo "==> validating docs/wms-api.openapi.yaml" >&2
    "$VENV/bin/openapi-spec-validator" docs/wms-api.openapi.yaml
fi

echo "==> cfn-lint infra/template.yaml" >&2
"$VENV/bin/cfn-lint" infra/template.yaml

echo "==> sam validate --lint infra/template.yaml" >&2
VENV="$ROOT/.venv-sam" ensure_venv "$ROOT/tools/requirements-validate.txt"
SAM_CLI_TELEMETRY=0 "$ROOT/.venv-sam/bin/sam" validate --lint --template infra/template.yaml --region "$AWS_REGION"

echo "==> checkov infra/template.yaml (skips: infra/checkov-skips.txt)" >&2
VENV="$ROOT/.venv-checkov" ensure_venv "$ROOT/tools/requirements-checkov.txt"
checkov_skips="$(grep -v '^#' infra/checkov-skips.txt | awk 'NF {print $1}' | paste -sd, -)"
"$ROOT/.venv-checkov/bin/checkov" --file infra/template.yaml --framework cloudformation --compact --quiet \
    --skip-check "$checkov_skips"

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing chromium and chromium-driver (the console's browser test)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "==> chromium or chromedriver missing and not root: the console's browser test will fail; install them (sudo apt-get install chromium chromium-driver)" >&2
    fi
fi

test_log="$WORK/cargo-test.log"
full_suite=0
if [[ $# -eq 0 ]]; then set -- --workspace; full_suite=1; fi
# Why `|| status=$?`: under `set -e -o pipefail` a failing pipeline would end the script here,
# before the summary; this way the pipeline's status (cargo's, tee's only if tee fails) is kept.
status=0
cargo test --locked "$@" 2>&1 | tee "$test_log" || status=$?

# Sums the counts libtest prints as `N <word>` (passed, failed, ignored) on its `test result:`
# lines. awk alone, so no match is a 0, not a failing grep under pipefail.
sum_of() {
    awk -v word="$1" '/^test result:/ {
        line = $0
        while (match(line, "[0-9]+ " word)) {
            total += substr(line, RSTART, RLENGTH) + 0
            line = substr(line, RSTART + RLENGTH)
        }
    } END { print total + 0 }' "$test_log"
}

local_run="not run (cargo test arguments given)"
script_tests="not run (cargo test arguments given)"
if [[ "$full_suite" == 1 ]]; then
    # The README's local command, small: everything synced and every drift band found per DC,
    # as the run's exit status and its JSON report say. The marker names every process the run
    # starts, so none may remain after it.
    echo "==> local run: scripts/run-local.sh --dcs 2 --items 200 --activity 50" >&2
    report="$WORK/local-run.json"
    marker="test-sh-$$-$RANDOM"
    run_status=0
    INVSYNC_RUN_MARKER="$marker" bash scripts/run-local.sh --dcs 2 --items 200 --activity 50 \
        --report-json "$report" || run_status=$?
    left="$(bash scripts/tests/marked-processes.sh "$marker")"
    if [[ "$run_status" != 0 ]]; then
        local_run="FAILED (exit status $run_status; report above)"
    elif ! "$VENV/bin/python" scripts/tests/check-local-report.py "$report" --dcs 2 --synced 50 \
        --variances 3,2,1; then
        local_run="FAILED (its JSON report is not what the README promises: see above)"
    elif [[ -n "$left" ]]; then
        local_run="FAILED (processes it started still run: $left)"
    else
        local_run="ok"
    fi
    [[ "$local_run" == ok ]] || status=1
    echo "local run: $local_run"

    script_tests="ok"
    for t in scripts/tests/test-*.sh; do
        echo "==> script test: $t" >&2
        if ! bash "$t"; then
            script_tests="FAILED ($t)"
            status=1
        fi
    done
fi

echo
echo "summary: $(sum_of passed) passed, $(sum_of failed) failed, $(sum_of ignored) skipped; local run: $local_run; script tests: $script_tests"
exit "$status"
