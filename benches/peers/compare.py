"""Runs the peer implementations on the dataset `cargo bench --bench peers`
wrote, checks every result is identical to jifen's, and prints the times,
peak memory and ratios. Each implementation and variant runs in its own
process, so its peak memory is its own.

    python3 benches/peers/compare.py --data target/peers/scale-0.1 [--repeat 3]
        [--peers polars,duckdb,pandas,jifen-python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = {
    "polars": "polars_peer.py",
    "duckdb": "duckdb_peer.py",
    "pandas": "pandas_peer.py",
    "jifen-python": "jifen_python_peer.py",
}


VARIANTS = ("sorted", "shuffled")


def run_peer(script: str, data: Path, variant: str, repeat: int) -> dict:
    command = [sys.executable, str(HERE / script), str(data), variant, str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def differences(reference: Path, candidate: Path) -> list[str]:
    """The result files whose arrays differ (none: identical to the fen)."""
    found = []
    for file in sorted(reference.glob("*.npy")):
        other = candidate / file.name
        if not other.exists():
            found.append(f"{file.name} missing")
            continue
        a, b = np.load(file), np.load(other)
        if a.shape != b.shape or not np.array_equal(a.astype(np.int64), b.astype(np.int64)):
            rows = (
                np.flatnonzero(a.astype(np.int64) != b.astype(np.int64))
                if a.shape == b.shape
                else []
            )
            found.append(f"{file.name} differs ({len(rows)} rows, first {list(rows[:3])})")
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", default="polars,duckdb,pandas,jifen-python")
    args = parser.parse_args()
    meta = json.loads((args.data / "meta.json").read_text())
    reference = args.data / "out" / "jifen-rust-sorted"
    peers = args.peers.split(",")
    # jifen through Python runs first, right after the Rust runs it is
    # compared with, so that the two meet the machine in the same state,
    # not one of them after the other peers have used up to 18 GB each.
    order = sorted(peers, key=lambda peer: peer != "jifen-python")
    runs = {}
    for peer in order:
        for variant in VARIANTS:
            print(f"running {peer} ({variant}) ...", file=sys.stderr, flush=True)
            report = run_peer(PEERS[peer], args.data, variant, args.repeat)
            report.setdefault("implementation", peer)
            report.setdefault("variant", variant)
            runs[peer, variant] = report
    reports = []
    for variant in VARIANTS:
        rust = json.loads((args.data / "results" / f"jifen-rust-{variant}.json").read_text())
        reports.append(rust)
        reports.extend(runs[peer, variant] for peer in peers)
    ok = True
    for report in reports:
        if "results" in report:
            diff = differences(reference, Path(report["results"]))
            report["identical"] = not diff
            if diff:
                ok = False
                report["differences"] = diff
    print(
        f"\nDataset: {meta['households']:,} households, {meta['entries']:,} entries, "
        f"{meta['redemptions']:,} redemptions, {meta['stores']:,} stores "
        f"(scale {meta['scale']}, seed {meta['seed']}, {meta['month']}, "
        f"point value {meta['point_value']})"
    )
    header = (
        f"{'implementation':<16}{'variant':<10}{'best s':>9}{'first s':>9}{'peak MiB':>10}"
        f"{'peak/input':>11}{'slower than jifen':>19}  identical"
    )
    print(header)
    print("-" * len(header))
    for variant in VARIANTS:
        rows = [r for r in reports if r["variant"] == variant]
        jifen = min(next(r for r in rows if r["implementation"] == "jifen (Rust)")["seconds"])
        for r in rows:
            name = f"{r['implementation']:<16}{variant:<10}"
            if "seconds" not in r:
                print(f"{name}  not measured: {r.get('error', r.get('note'))}")
                continue
            best, first = min(r["seconds"]), r["seconds"][0]
            peak = r.get("peak_rss_bytes") or 0
            ratio = "" if r["implementation"] == "jifen (Rust)" else f"{best / jifen:.1f}x"
            identical = "yes" if r.get("identical") else "NO"
            print(
                f"{name}{best:>9.3f}{first:>9.3f}{peak / 2**20:>10.0f}"
                f"{peak / r['input_bytes']:>11.2f}{ratio:>19}  {identical}"
            )
            for line in r.get("differences", []):
                print(f"    {line}")
            if "seconds_reusing" in r:
                reusing_peak = r.get("peak_rss_reusing_bytes") or 0
                print(
                    f"{'  reusing outputs':<26}{min(r['seconds_reusing']):>9.3f}"
                    f"{r['seconds_reusing'][0]:>9.3f}{reusing_peak / 2**20:>10.0f}"
                    f"{reusing_peak / r['input_bytes']:>11.2f}"
                )
            if "seconds_floor" in r:
                floor = min(r["seconds_floor"])
                versus = f"reusing {min(r['seconds_reusing']) / floor:.2f}x floor"
                print(
                    f"{'  memory floor':<26}{floor:>9.3f}{r['seconds_floor'][0]:>9.3f}{versus:>40}"
                )
    (args.data / "results" / "comparison.json").write_text(json.dumps(reports, indent=2))
    if not ok:
        print("\nRESULTS DIFFER", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
