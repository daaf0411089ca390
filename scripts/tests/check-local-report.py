#!/usr/bin/env python3
"""Checks the JSON report of a local run (tools/local-driver --report-json) against what the
README promises for a run on the simulators: the run succeeded, every DC synced everything it
generated, nothing failed, and every injected drift was found in its tier.

    check-local-report.py REPORT --dcs 2 --synced 50 --variances 3,2,1

Exit status 0 when it holds; otherwise 1, naming each difference on stderr.
"""
import argparse
import json
import sys


def differences(report, dcs, synced, variances):
    """Every way `report` falls short, one line each."""
    out = []
    if report.get("result") != "ok":
        out.append(f"result is {report.get('result')!r}, problems: {report.get('problems')}")
    if report.get("wms_simulated") is not True:
        out.append("the WMS was not the simulator")
    per_dc = report.get("dcs") or {}
    if len(per_dc) != dcs:
        out.append(f"{len(per_dc)} DC(s) reported, {dcs} expected")
    auto, review, alert = variances
    for dc, figures in sorted(per_dc.items()):
        sync = figures.get("sync") or {}
        reconcile = figures.get("reconcile") or {}
        want = {
            ("sync", "generated"): synced,
            ("sync", "synced"): synced,
            ("sync", "failed"): 0,
            ("sync", "outbox_pending"): 0,
            ("sync", "outbox_failed"): 0,
            ("reconcile", "auto_correct"): auto,
            ("reconcile", "review"): review,
            ("reconcile", "alert"): alert,
        }
        got = {"sync": sync, "reconcile": reconcile}
        for (part, key), value in want.items():
            if got[part].get(key) != value:
                out.append(f"{dc}: {part}.{key} is {got[part].get(key)!r}, {value} expected")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--dcs", type=int, required=True)
    parser.add_argument("--synced", type=int, required=True)
    parser.add_argument("--variances", required=True, help="auto-correct,review,alert")
    args = parser.parse_args()
    try:
        with open(args.report, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"local run report {args.report}: {e}", file=sys.stderr)
        return 1
    variances = [int(v) for v in args.variances.split(",")]
    problems = differences(report, args.dcs, args.synced, variances)
    for p in problems:
        print(f"local run report: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
