#!/usr/bin/env bash
# Runs the whole test suite: installs the pinned Python tools (moto server, validators),
# starts moto on loopback as the AWS endpoint (or uses AWS_ENDPOINT_URL if set), validates the
# WMS OpenAPI contract, runs every Rust test in the workspace, and stops what it started.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p domain`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv "$ROOT/tools/requirements-test.txt"
trap stop_aws_emulator EXIT
start_aws_emulator

if [[ -f docs/wms-api.openapi.yaml ]]; then
    echo "==> validating docs/wms-api.openapi.yaml" >&2
    "$VENV/bin/openapi-spec-validator" docs/wms-api.openapi.yaml
fi

if [[ $# -eq 0 ]]; then set -- --workspace; fi
cargo test --locked "$@" 2>&1 | tee "${TMPDIR:-/tmp}/invsync-test.log"
status=${PIPESTATUS[0]}

passed=$(grep -Eo '[0-9]+ passed' "${TMPDIR:-/tmp}/invsync-test.log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "${TMPDIR:-/tmp}/invsync-test.log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -Eo '[0-9]+ ignored' "${TMPDIR:-/tmp}/invsync-test.log" | awk '{s+=$1} END {print s+0}')
echo
echo "summary: $passed passed, $failed failed, $ignored skipped"
exit "$status"
