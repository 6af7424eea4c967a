#!/usr/bin/env python3
"""Markdown tables from the JSON lines written by compare_mlp_sde.sh (one object per line from
`nsde bench mlp-sde --json` or `mlp_sde_peers.py --json`).

Table 1: median ms per noise x mode for nsde and each peer, and peer/nsde ratios (> 1: nsde faster).
Table 2: peak RSS MiB of each process (the extra over the post-setup baseline in parentheses where known).
Table 3: the loss of the last timed run, as a sanity check that every peer solves the same problem.
Objects with "unsupported" show as n/a; a later object for the same (peer, noise, mode) replaces an earlier one.
"""
import argparse
import json
import sys

PEERS = [("nsde", "nsde"), ("torchsde", "torchsde"), ("diffrax", "diffrax"),
         ("torch-loop", "torch loop"), ("jax-scan", "jax scan")]
NOISES = ("additive", "multiplicative", "dropout")
MODES = ("forward", "backprop", "adjoint")


def load(path):
    recs = {}
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                print(f"warning: {path}:{n}: not JSON, skipped", file=sys.stderr)
                continue
            peer = r.get("peer", "nsde")
            recs[(peer, r.get("noise"), r.get("mode"))] = r
    return recs


def fmt(x, nd=1):
    return "—" if x is None else f"{x:.{nd}f}"


def cell(r, key):
    if r is None:
        return "—", None
    if "unsupported" in r:
        return "n/a", None
    v = r.get(key)
    if v is None and key == "median_ms" and "median_s" in r:
        v = r["median_s"] * 1e3
    return (fmt(v), v) if v is not None else ("—", None)


def print_table(head, rows):
    """Prints one Markdown table: the header row, the separator, then each row of cells."""
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("jsonl", nargs="?", default="Benchmarks/results/mlp_sde.jsonl")
    args = ap.parse_args()
    recs = load(args.jsonl)
    if not recs:
        print(f"no results in {args.jsonl}")
        return 1
    cases = [(n, m) for n in NOISES for m in MODES if any(k[1:] == (n, m) for k in recs)]
    peers = [p for p in PEERS if any(k[0] == p[0] for k in recs)] or PEERS
    has_nsde = any(k[0] == "nsde" for k in recs)
    others = [p for p in peers if p[0] != "nsde"] if has_nsde else []  # ratio columns need nsde

    def time_row(noise, mode):
        row, vals = [noise, mode], {}
        for key, _ in peers:
            text, v = cell(recs.get((key, noise, mode)), "median_ms")
            row.append(text)
            vals[key] = v
        for key, _ in others:
            a, b = vals.get(key), vals.get("nsde")
            row.append(f"{a / b:.2f}x" if a is not None and b else "—")
        return row

    print_table(["noise", "mode"] + [f"{label} ms" for _, label in peers] + [f"{label}/nsde" for _, label in others],
                [time_row(n, m) for n, m in cases])

    print()
    def memory_cell(r):
        text, v = cell(r, "peak_rss_mib")
        if v is not None and r.get("extra_rss_mib") is not None:
            text += f" (+{r['extra_rss_mib']:.0f})"
        return text

    print_table(["noise", "mode"] + [f"{label} peak RSS MiB (extra)" for _, label in peers],
                [[n, m] + [memory_cell(recs.get((key, n, m))) for key, _ in peers] for n, m in cases])

    print()
    def loss_cell(r):
        v = None if r is None or "unsupported" in r else r.get("loss")
        return "—" if v is None else f"{v:.4f}"

    print_table(["noise", "mode"] + [f"{label} loss" for _, label in peers],
                [[n, m] + [loss_cell(recs.get((key, n, m))) for key, _ in peers] for n, m in cases])

    notes = {}
    for (peer, noise, mode), r in sorted(recs.items()):
        if "unsupported" in r:
            notes.setdefault(f"{peer}: n/a ({r['unsupported']})", []).append(f"{noise}/{mode}")
        elif r.get("variant"):
            notes.setdefault(f"{peer}: variant {r['variant']}", []).append(f"{noise}/{mode}")
    loads = [r["loadavg_1m"] for r in recs.values() if isinstance(r.get("loadavg_1m"), (int, float))]
    if notes or loads:
        print()
    for text, where in notes.items():
        print(f"- {text}: {', '.join(where)}")
    if loads:
        print(f"- 1-minute load average during the peer runs: {min(loads):.2f} to {max(loads):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
