#!/usr/bin/env python3
"""Latency-vs-rate chart from parlor-bench's JSON lines.

    python3 bench/plot.py bench/out/results.jsonl docs/benchmarks-latency-vs-rate.png

Takes the last `ramp` line of each label (parlor, relay) and plots send->delivery p50, p99
and p99.9 against the offered rate, with the 10 ms bound. Needs matplotlib (PyPI).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(results, out):
    ramps = {}
    with open(results) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("kind") == "ramp":
                ramps[r["label"]] = r
    if not ramps:
        sys.exit("no ramp results in " + results)
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    colors = {"parlor": "tab:blue", "relay": "tab:gray"}
    for label, r in sorted(ramps.items()):
        steps = r["steps"]
        rates = [s["rate"] for s in steps]
        c = colors.get(label, None)
        for key, style in (("p50", ":"), ("p99", "-"), ("p999", "--")):
            ys = [max(s["deliveryMs"][key], 0.001) for s in steps]
            ax.plot(rates, ys, style, marker="o", color=c, label=f"{label} {key}")
        for s in steps:
            if not s.get("pass", True):
                ax.annotate("fail", (s["rate"], max(s["deliveryMs"]["p99"], 0.001)),
                            textcoords="offset points", xytext=(4, 4), fontsize=8, color=c)
    bound = next(iter(ramps.values())).get("boundMs", 10)
    ax.axhline(bound, color="tab:red", linewidth=1, label=f"p99 bound {bound} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered visitor messages per second (open loop)")
    ax.set_ylabel("send -> agent delivery latency (ms)")
    ax.set_title("Parlor vs parlor-relay (no database), 2 cores, generator on the same machine")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out/results.jsonl",
         sys.argv[2] if len(sys.argv) > 2 else "docs/benchmarks-latency-vs-rate.png")
