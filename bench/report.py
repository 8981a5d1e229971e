#!/usr/bin/env python3
"""Turns bench/run.sh's raw measurements into bench/results/latest.md and prints a summary.

Usage: report.py FACTS_ENV RUNS_TSV MEM_TSV WRK_RAW OUT_MD
"""
import csv
import statistics
import sys

TARGET_RATIO = 1.0  # Keyway throughput / nginx throughput
TARGET_ADDED_P99_US = 1000
TARGET_MEM_MIB = 16.0
TARGETS = ("direct", "nginx", "keyway", "ceiling", "spin")  # ceiling and spin are optional


def read_facts(path):
    facts = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            facts[k] = v
    return facts


def read_tsv(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f, delimiter="\t"))
    except FileNotFoundError:
        return []


def ms(us):
    return f"{us / 1000:.2f} ms"


def signed_ms(us):
    return f"{'+' if us >= 0 else '−'}{abs(us) / 1000:.2f} ms"


def medians(rows, phase):
    out = {}
    for t in TARGETS:
        rs = [r for r in rows if r["phase"] == phase and r["target"] == t]
        if not rs:
            continue
        med = lambda key: statistics.median(float(r[key]) for r in rs)  # noqa: E731
        out[t] = {
            "rps": med("rps"),
            "p50": med("p50_us"),
            "p90": med("p90_us"),
            "p99": med("p99_us"),
            "cpu": med("cpu_us_per_req") if all(r.get("cpu_us_per_req") for r in rs) else None,
            "user": med("user_us_per_req") if all(r.get("user_us_per_req") for r in rs) else None,
            "sys": med("sys_us_per_req") if all(r.get("sys_us_per_req") for r in rs) else None,
            "runs": len(rs),
            "errors": sum(int(r["non2xx"]) + int(r["socket_errors"]) for r in rs),
        }
    return out


def phase_table(m):
    d = m["direct"]
    lines = [
        "| target | req/s | vs direct | p50 | p99 | added p50 vs direct | added p99 vs direct | CPU per request | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in TARGETS:
        if t not in m:
            continue
        x = m[t]
        cpu = "?" if x["cpu"] is None else f"{x['cpu']:.1f} µs"
        lines.append(
            f"| {t} | {x['rps']:,.0f} | {x['rps'] / d['rps']:.2f}× | {ms(x['p50'])} | {ms(x['p99'])} | "
            f"{'—' if t == 'direct' else signed_ms(x['p50'] - d['p50'])} | "
            f"{'—' if t == 'direct' else signed_ms(x['p99'] - d['p99'])} | "
            f"{cpu} | {x['errors']} |"
        )
    return lines


def main():
    facts_path, runs_path, mem_path, raw_path, out_path = sys.argv[1:6]
    facts = read_facts(facts_path)
    runs = read_tsv(runs_path)
    mem = read_tsv(mem_path)
    load = medians(runs, "load")
    lat = medians(runs, "latency")

    verdicts = []
    ratio_nginx = load["keyway"]["rps"] / load["nginx"]["rps"]
    ratio_direct = load["keyway"]["rps"] / load["direct"]["rps"]
    verdicts.append((
        f"Throughput ≥ {TARGET_RATIO:.1f}× nginx",
        f"{ratio_nginx:.2f}× nginx ({load['keyway']['rps']:,.0f} vs {load['nginx']['rps']:,.0f} req/s, "
        f"{facts['connections']} connections)",
        ratio_nginx >= TARGET_RATIO,
    ))
    if lat:
        added = lat["keyway"]["p99"] - lat["direct"]["p99"]
        verdicts.append((
            "Added p99 ≤ 1 ms (unloaded: " + facts["lat_connections"] + " connection)",
            f"{signed_ms(added)} (p99 {ms(lat['keyway']['p99'])} vs direct {ms(lat['direct']['p99'])}; "
            f"nginx adds {signed_ms(lat['nginx']['p99'] - lat['direct']['p99'])})",
            added <= TARGET_ADDED_P99_US,
        ))
    added_load = load["keyway"]["p99"] - load["direct"]["p99"]
    verdicts.append((
        f"Added p99 ≤ 1 ms (at load: {facts['connections']} connections)",
        f"{signed_ms(added_load)} (p99 {ms(load['keyway']['p99'])} vs direct {ms(load['direct']['p99'])}; "
        f"nginx adds {signed_ms(load['nginx']['p99'] - load['direct']['p99'])})",
        added_load <= TARGET_ADDED_P99_US,
    ))
    if mem:
        growth = {r["transfer"]: (int(r["peak_kib"]) - int(r["baseline_kib"])) / 1024 for r in mem}
        ok = all(r["verified"] == "yes" and r["status"] == "200" for r in mem)
        worst = max(growth.values())
        verdicts.append((
            f"Memory growth ≤ {TARGET_MEM_MIB:.0f} MiB while streaming",
            ", ".join(f"{k} +{v:.1f} MiB" for k, v in growth.items())
            + ("" if ok else " (a transfer did not complete as expected: see below)"),
            ok and worst <= TARGET_MEM_MIB,
        ))
    errors = sum(x["errors"] for p in (load, lat) for x in p.values())

    md = ["# Passthrough benchmark: latest results", ""]
    md.append(f"Run {facts['date']} with `bash bench/run.sh`"
              f" (DURATION={facts['duration']} WARMUP={facts['warmup']} RUNS={facts['runs']} "
              f"THREADS={facts['threads']} CONNECTIONS={facts['connections']} "
              f"LAT_CONNECTIONS={facts['lat_connections']} STREAM_BYTES={facts['stream_bytes']} "
              f"STORE={facts.get('store', 'sqlite')}"
              + (f" KEYWAY_ENV=\"{facts['keyway_env']}\"" if facts.get("keyway_env") else "") + ").")
    if facts.get("note"):
        md += ["", f"**Note:** {facts['note']}"]
    md += ["", "## Machine", "", "| | |", "|---|---|"]
    for k, label in [("nproc", "nproc"), ("cpu", "CPU"), ("memory", "memory"), ("kernel", "kernel"),
                     ("loadavg_start", "load average at start"), ("loadavg_end", "load average at end"),
                     ("compilers_running_start", "compiler processes at start"), ("wrk", "wrk"),
                     ("nginx", "nginx"), ("curl", "curl"), ("python", "python (upload sink)"),
                     ("rustc", "rustc"), ("keyway", "keyway commit")]:
        md.append(f"| {label} | {facts.get(k, '?')} |")

    md += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, measured, ok in verdicts:
        md.append(f"| {name} | {measured} | {'yes' if ok else '**no**'} |")
    if errors:
        md += ["", f"**Warning:** {errors} non-2xx responses or socket errors during the wrk runs."]

    md += ["", f"## Throughput and latency at load (wrk -t{facts['threads']} -c{facts['connections']} "
           f"-d{facts['duration']}, median of {facts['runs']} runs)", ""]
    md += phase_table(load)
    md += ["", f"Keyway/nginx throughput: **{ratio_nginx:.2f}×**; Keyway/direct: **{ratio_direct:.2f}×**; "
           f"nginx/direct: {load['nginx']['rps'] / load['direct']['rps']:.2f}×."]
    if "ceiling" in load:
        c = load["ceiling"]["rps"]
        md += ["", f"Ceiling (bench/ceiling: a bare hyper proxy on Keyway's stack, no auth, log or metrics): "
               f"{c / load['nginx']['rps']:.2f}× nginx; Keyway reaches **{load['keyway']['rps'] / c:.2f}×** of it."]
    if "spin" in load:
        md += ["", f"Spin (the ceiling plus {int(facts.get('spin_ns', 0)) / 1000:g} µs of busy user work per request, "
               f"`TARGETS=… spin`): {load['spin']['rps'] / load['nginx']['rps']:.2f}× nginx."]
    if all(load.get(t, {}).get("cpu") for t in ("nginx", "keyway")):
        k, n = load["keyway"]["cpu"], load["nginx"]["cpu"]
        line = (f"CPU per request (user + system time of the process wrk talks to): nginx {n:.1f} µs, "
                f"Keyway {k:.1f} µs (**{k / n:.1f}×** nginx's)")
        if load.get("ceiling", {}).get("cpu"):
            line += f", ceiling {load['ceiling']['cpu']:.1f} µs"
        md += ["", line + "."]
        split = [t for t in TARGETS if load.get(t, {}).get("user") is not None and load[t].get("sys") is not None]
        if split:
            md += ["", "The same CPU split into user and system time (medians; system time includes the kernel's "
                   "loopback delivery and the wake-ups it causes):", "",
                   "| target | user µs/request | system µs/request |", "|---|---:|---:|"]
            md += [f"| {t} | {load[t]['user']:.1f} | {load[t]['sys']:.1f} |" for t in split]
    if lat:
        md += ["", f"## Latency unloaded (wrk -t{facts['lat_connections']} -c{facts['lat_connections']} "
               f"-d{facts['duration']}, median of {facts['runs']} runs)", ""]
        md += phase_table(lat)

    if mem:
        md += ["", "## Keyway memory while streaming (VmRSS sampled every 100 ms)", "",
               "| transfer | bytes | time | status | complete | RSS before | peak RSS during | growth | VmHWM before → after |",
               "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
        for r in mem:
            base, peak = int(r["baseline_kib"]), int(r["peak_kib"])
            secs = float(r["seconds"])
            rate = int(r["bytes"]) / secs / 2**20 if secs else 0
            md.append(
                f"| {r['transfer']} | {int(r['bytes']):,} | {secs:.1f} s ({rate:,.0f} MiB/s) | {r['status']} | "
                f"{r['verified']} | {base / 1024:.1f} MiB | {peak / 1024:.1f} MiB | +{(peak - base) / 1024:.1f} MiB | "
                f"{int(r['hwm_before_kib']) / 1024:.1f} → {int(r['hwm_after_kib']) / 1024:.1f} MiB |")
        md += ["", f"Keyway RSS after all wrk runs: {int(facts.get('keyway_rss_end_kib', 0)) / 1024:.1f} MiB."]

    md += ["", "## Every run", "", "| phase | target | run | req/s | p50 | p90 | p99 | max | requests | non-2xx | socket errors | CPU per request | user | system |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        md.append(f"| {r['phase']} | {r['target']} | {r['run']} | {float(r['rps']):,.0f} | {ms(int(r['p50_us']))} | "
                  f"{ms(int(r['p90_us']))} | {ms(int(r['p99_us']))} | {ms(int(r['max_us']))} | {int(r['requests']):,} | "
                  f"{r['non2xx']} | {r['socket_errors']} | {r.get('cpu_us_per_req') or '?'} µs | "
                  f"{r.get('user_us_per_req') or '?'} µs | {r.get('sys_us_per_req') or '?'} µs |")
    with open(raw_path) as f:
        raw = f.read().rstrip()
    md += ["", "<details><summary>Raw wrk output (warm-ups included)</summary>", "", "```text", raw, "```", "",
           "</details>", ""]
    with open(out_path, "w") as f:
        f.write("\n".join(md))

    print()
    print(f"Keyway passthrough benchmark — {facts['date']}, {facts['nproc']} × {facts['cpu']}")
    if facts.get("note"):
        print(f"note: {facts['note']}")
    for title, m in [(f"load  -c{facts['connections']}", load), (f"latency -c{facts['lat_connections']}", lat)]:
        if not m:
            continue
        print(f"  {title}:")
        for t in (t for t in TARGETS if t in m):
            x = m[t]
            cpu = "" if x["cpu"] is None else f"   CPU {x['cpu']:5.1f} µs/request"
            print(f"    {t:7} {x['rps']:>10,.0f} req/s   p50 {ms(x['p50']):>9}   p99 {ms(x['p99']):>9}{cpu}")
    for r in mem:
        print(f"  {r['transfer']:8} {int(r['bytes']):,} bytes, complete: {r['verified']}, "
              f"RSS +{(int(r['peak_kib']) - int(r['baseline_kib'])) / 1024:.1f} MiB")
    for name, measured, ok in verdicts:
        print(f"  [{'met' if ok else 'NOT met'}] {name}: {measured}")
    if errors:
        print(f"  warning: {errors} non-2xx responses or socket errors")


if __name__ == "__main__":
    main()
