#!/usr/bin/env bash
# Benchmarks one hourly sync cycle against moto and both simulators: 12 DCs handled
# concurrently (one warm container each), 10,000 WMS transactions, 100 ms added to every Fusion
# request. Prints wall time, Fusion requests, DynamoDB writes and peak memory.
# Extra arguments go to the example (e.g. `scripts/bench-sync.sh --dcs 2 --txns 500`);
# BENCH_PROFILE=debug builds without --release.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv "$ROOT/tools/requirements-test.txt"
trap stop_aws_emulator EXIT
start_aws_emulator

if [[ $# -eq 0 ]]; then set -- --dcs 12 --txns 10000 --latency-ms 100; fi
profile=(--release)
if [[ "${BENCH_PROFILE:-release}" == "debug" ]]; then profile=(); fi
cargo run "${profile[@]}" -p sync-inventory --example sync_bench -- "$@"
