#!/usr/bin/env bash
# `scripts/bench.sh reconcile`, under its former name: one scheduled reconciliation of every DC
# (see scripts/bench.sh).
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench.sh" reconcile "$@"
