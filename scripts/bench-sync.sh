#!/usr/bin/env bash
# `scripts/bench.sh sync`, under its former name: one hourly sync cycle (see scripts/bench.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench.sh" sync "$@"
