#!/usr/bin/env bash
# Benchmarks one scheduled reconciliation of every DC against moto and both simulators with
# latency added to every Fusion request: 12 DCs x 50,000 SKUs, 100 ms by default. Prints wall
# time, Fusion requests, peak memory and the CPU time of the comparison itself.
# Extra arguments go to the example (e.g. `scripts/bench-reconcile.sh --dcs 2 --items 5000`);
# BENCH_PROFILE=debug builds without --release.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv "$ROOT/tools/requirements-test.txt"
trap stop_aws_emulator EXIT
start_aws_emulator

if [[ $# -eq 0 ]]; then set -- --dcs 12 --items 50000 --latency-ms 100; fi
profile=(--release)
if [[ "${BENCH_PROFILE:-release}" == "debug" ]]; then profile=(); fi
cargo run "${profile[@]}" -p reconcile-stock --example reconcile_bench -- "$@"
