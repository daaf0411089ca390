#!/usr/bin/env bash
# Benchmarks against moto and both simulators, with latency added to every Fusion request:
#
#   scripts/bench.sh sync [ARGS]       one hourly sync cycle: 12 DCs handled concurrently (one
#                                      warm container each), 10,000 WMS transactions, 100 ms per
#                                      Fusion request. Prints wall time, Fusion requests,
#                                      DynamoDB writes and peak memory.
#   scripts/bench.sh reconcile [ARGS]  one scheduled reconciliation of every DC: 12 DCs x 50,000
#                                      SKUs, 100 ms per Fusion request, one invocation per DC in
#                                      parallel as the reconcile queue runs them. Prints wall time
#                                      against its round-trip minimum and Fusion requests, then runs
#                                      DC01 in the real reconcile-stock binary in a process of its
#                                      own: its peak RSS and CPU. `--mode all` is the former
#                                      one-invocation run; `--dcs 1 --items 100000 --mode process`
#                                      measures one DC of 100,000 SKUs.
#
# ARGS go to the example (e.g. `scripts/bench.sh sync --dcs 2 --txns 500`, `scripts/bench.sh
# reconcile --dcs 2 --items 5000`); without any, the defaults above. BENCH_PROFILE=debug builds
# without --release. scripts/bench-sync.sh and scripts/bench-reconcile.sh are the same with the
# first argument given.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}" >&2; }
case "${1:-}" in
    sync) package=sync-inventory example=sync_bench defaults=(--dcs 12 --txns 10000 --latency-ms 100) ;;
    reconcile) package=reconcile-stock example=reconcile_bench defaults=(--dcs 12 --items 50000 --latency-ms 100) ;;
    -h|--help) usage; exit 0 ;;
    *) usage; exit 2 ;;
esac
shift

ensure_venv "$ROOT/tools/requirements-test.txt"
on_exit stop_aws_emulator
start_aws_emulator

if [[ $# -eq 0 ]]; then set -- "${defaults[@]}"; fi
profile=(--release)
if [[ "${BENCH_PROFILE:-release}" == "debug" ]]; then profile=(); fi
if [[ "$package" == reconcile-stock ]]; then
    # The per-DC bench runs the real function binary in its own process.
    cargo build ${profile[@]+"${profile[@]}"} -p reconcile-stock --bin reconcile-stock
fi
cargo run ${profile[@]+"${profile[@]}"} -p "$package" --example "$example" -- "$@"
