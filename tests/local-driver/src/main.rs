//! `local-driver`: runs invsync locally (see scripts/run-local.sh).

fn main() {}
