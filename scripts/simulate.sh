#!/usr/bin/env bash
# Accuracy over simulated days (issue 14): the real sync and reconciliation handlers on a
# simulated clock against both simulators, with warehouse activity, drift and faults, compared
# with the old twice-daily balance upload.
#
#   scripts/simulate.sh [--days 7] [--dcs 12] [--items 50000] [--seed 42] [RATES...]
#
# Prints a progress bar in simulated time and ends with the summary table (invsync vs the
# twice-daily upload, side by side); writes checkpoints.csv, chart.svg and summary.txt to
# --out (default target/simulate). Rates (see `--help`): --fusion-edits, --wms-corrections,
# --bad-data (per DC and day), --outages, --throttling, --credential-rejections,
# --processing-stalls, --missed-messages, --duplicated-messages, --crashes (per day),
# --process-fail-rate, --online-408-rate (shares), --supervisor-delay-min,
# --manager-delay-min, --peak-per-dc (transactions per DC in the peak hour);
# --wall-limit-min N stops at the first checkpoint after N wall-clock minutes and reports the
# simulated time done.
# Release build, run under `nice`; SIM_PROFILE=debug builds without --release. The handlers'
# metric lines (embedded metric format, one per run) go to stdout.log in --out.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

out=target/simulate
extra=(--out "$out")
args=("$@")
for ((i = 0; i < $#; i++)); do
    case "${args[$i]}" in
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
        --out) out="${args[$((i + 1))]}"; extra=() ;;
    esac
done
profile=(--release)
if [[ "${SIM_PROFILE:-release}" == "debug" ]]; then profile=(); fi
cargo build "${profile[@]}" -p invsync-simulate
dir=release
if [[ ${#profile[@]} -eq 0 ]]; then dir=debug; fi
mkdir -p "$out"
# Why: the handlers write one metric line per run to stdout; the summary is kept apart.
nice "${CARGO_TARGET_DIR:-$ROOT/target}/$dir/invsync-simulate" "$@" ${extra[@]+"${extra[@]}"} > "$out/stdout.log"
sed -n '/ days simulated, /,$p' "$out/stdout.log" | grep -v '^{'
