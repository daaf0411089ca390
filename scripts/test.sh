#!/usr/bin/env bash
# Runs the whole test suite: installs the pinned Python tools (moto server, validators,
# checkov), starts moto on loopback as the AWS endpoint (or uses AWS_ENDPOINT_URL if set) and a
# second, IAM-enforcing moto under which each function's IAM tests and the local run use their
# template roles, validates the WMS OpenAPI contract and the SAM template (cfn-lint,
# sam validate --lint, checkov with the skips of infra/checkov-skips.txt), runs every Rust test
# in the workspace, and stops what it started.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p domain`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv "$ROOT/tools/requirements-test.txt"
trap 'stop_aws_emulator; stop_iam_emulator' EXIT
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

test_log="$(mktemp "${TMPDIR:-/tmp}/invsync-test.XXXXXX")"
full_suite=0
if [[ $# -eq 0 ]]; then set -- --workspace; full_suite=1; fi
# Why set +e: a failing pipeline would end the script here, before the summary.
set +e
cargo test --locked "$@" 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e

# The README's local command, small: everything synced and every drift band found per DC.
if [[ "$full_suite" == 1 ]]; then
    echo "==> local run: scripts/run-local.sh --dcs 2 --items 200 --activity 50" >&2
    local_log="$(mktemp "${TMPDIR:-/tmp}/invsync-local-run.XXXXXX")"
    if bash scripts/run-local.sh --dcs 2 --items 200 --activity 50 2>&1 | tee "$local_log" \
        && [[ "$(grep -c '50 generated, 50 synced, 0 failed' "$local_log")" == 2 ]] \
        && [[ "$(grep -c 'variances:  3 auto-correct, 2 review, 1 alert' "$local_log")" == 2 ]] \
        && grep -q '^result: OK' "$local_log"; then
        echo "local run: ok"
    else
        echo "local run: FAILED (report above)" >&2
        status=1
    fi
fi

passed=$(grep -aEo '[0-9]+ passed' "$test_log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -aEo '[0-9]+ failed' "$test_log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -aEo '[0-9]+ ignored' "$test_log" | awk '{s+=$1} END {print s+0}')
echo
echo "summary: $passed passed, $failed failed, $ignored skipped"
exit "$status"
