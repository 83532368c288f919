#!/usr/bin/env python3
"""Turn one bench/run.sh results dir into tables and target checks.

usage: report.py RESULTS_DIR
       report.py --bg HYPERFINE_JSON   (prints the background CPU of one measurement: % and ms)

Reads env.txt, params.env, commands.tsv, hf/*.json (hyperfine), rss.tsv,
pipe.tsv, pipe-rss.tsv and rss/*.txt (GNU time -v); prints the report and writes it to RESULTS_DIR/report.md,
with the target checks also in RESULTS_DIR/targets.json.
"""

import csv
import json
import os
import re
import sys

# The targets (see BENCHMARKS.md).
MIN_THROUGHPUT_VS_LIMIT = 0.9  # (a) jobs/s at least 0.9x the spawn limit
MAX_GROUP_COST = 1.05  # (b), (c) at most 5% over (a)
MIN_GBPS = 1.0  # (d) through fanout's grouping
MAX_BELOW_UNGROUP = 0.20  # (d) group never more than 20% below ungroup
MIN_ITEMS_PER_S = 2e6  # (e)
MAX_RSS_KB = 16 * 1024  # (f) 16 MiB at the large N
RSS_INDEPENDENCE_KB = 1024  # (f) large N may exceed small N by at most 1 MiB (or 10%)
MAX_STARTUP_OVER_XARGS_S = 1e-3  # (g)
MIN_BATCH_SPEEDUP = 100  # (h) batched items/s vs one job per item (a)
MIN_PIPE_PART_VS_GNU = 2.0  # (i) fanout --pipe-part vs GNU --pipe-part, speed ratio
MIN_PIPE_VS_GNU = 3.0  # (i) fanout --pipe vs GNU --pipe, both from a pipe


def load_params(d):
    p = {}
    for line in open(os.path.join(d, "params.env")):
        k, _, v = line.strip().partition("=")
        if k:
            p[k] = int(v) if v.isdigit() else v
    return p


def load_hf(d):
    """{(workload, tool): {median, min, max, mean, n, cmd}} in commands.tsv order."""
    rows = {}
    for line in open(os.path.join(d, "commands.tsv")):
        workload, tool, n, cmd = line.rstrip("\n").split("\t", 3)
        path = os.path.join(d, "hf", f"{workload}__{tool.replace(' ', '_')}.json")
        if not os.path.exists(path):
            continue
        r = json.load(open(path))["results"][0]
        times = sorted(r["times"])
        med = r.get("median")
        if med is None:
            k = len(times)
            med = times[k // 2] if k % 2 else (times[k // 2 - 1] + times[k // 2]) / 2
        rows[(workload, tool)] = dict(
            median=med, min=min(times), max=max(times), mean=r["mean"],
            user=r.get("user"), system=r.get("system"), runs=len(times),
            n=int(n), cmd=cmd, bg=background(path[:-5] + ".cpu", r),
        )
    return rows


# CPU time that hyperfine itself uses per invocation (its shell calibration and
# bookkeeping; measured here at about 0.03-0.06 s), not counted as background.
HYPERFINE_OWN_S = 0.06


def background_cpu(path, r):
    """(% of all CPUs, CPU seconds) that other processes used while the command
    was measured: busy CPU time on the machine (/proc/stat, before and after
    hyperfine) minus the measured command's own user+system time (mean x warm-up
    and timed runs) and hyperfine's own."""
    if not os.path.exists(path) or r.get("user") is None:
        return None
    b0, t0, b1, t1, hz, _ncpu, count = (float(x) for x in open(path).read().split())
    total_s = (t1 - t0) / hz
    if total_s <= 0:
        return None
    other_s = max(0.0, (b1 - b0) / hz - (r["user"] + r["system"]) * count - HYPERFINE_OWN_S)
    return other_s / total_s * 100, other_s


def background(path, r):
    b = background_cpu(path, r)
    return None if b is None else b[0]


def bg(r):
    return "-" if r.get("bg") is None else f"{r['bg']:.0f}%"


def load_tsv(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def with_time_v(d, row):
    """row plus kb, wall and rc from its GNU time -v report rss/LABEL.txt."""
    path = os.path.join(d, "rss", row["label"] + ".txt")
    txt = open(path).read() if os.path.exists(path) else ""
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
    w = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", txt)
    rc = re.search(r"^exit (\d+)", txt, re.M)
    row["kb"] = int(m.group(1)) if m else None
    row["wall"] = w.group(1) if w else "?"
    row["rc"] = int(rc.group(1)) if rc else None
    return row


def load_rss(d):
    out = []
    for row in load_tsv(d, "rss.tsv"):
        row = with_time_v(d, row)
        row["n"] = int(row["n"])
        out.append(row)
    return out


def load_pipe(d):
    """(i): one row per check run (workload, tool, input, file, status, lines, blocks, expected)."""
    return load_tsv(d, "pipe.tsv")


def load_pipe_rss(d):
    """(i): fanout's peak RSS runs (label, mode, bytes, status, command, kb, wall, rc)."""
    out = []
    for row in load_tsv(d, "pipe-rss.tsv"):
        row = with_time_v(d, row)
        row["bytes"] = int(row["bytes"])
        out.append(row)
    return out


def cpu(r, n):
    """user+system CPU per job in us (the runner and its jobs), from hyperfine's means."""
    if r.get("user") is None or r.get("system") is None:
        return "-"
    return f"{(r['user'] + r['system']) / n * 1e6:.0f}"


def fmt_s(x):
    return f"{x:.3f}"


def main():
    if sys.argv[1] == "--bg":  # run.sh: the background load of one measurement, in %
        path = sys.argv[2]
        b = background_cpu(path[:-5] + ".cpu", json.load(open(path))["results"][0])
        print("0 0" if b is None else f"{round(b[0])} {round(b[1] * 1000)}")
        return
    d = sys.argv[1]
    p = load_params(d)
    hf = load_hf(d)
    rss = load_rss(d)
    pipe_rows = load_pipe(d)
    lines = []
    say = lines.append

    say(f"# fanout benchmark report ({p['MODE']} run)")
    say("")
    say("```")
    say(open(os.path.join(d, "env.txt")).read().rstrip())
    say("```")
    say("")
    say(f"hyperfine: --warmup {p['WARMUP']} --runs {p['RUNS']} (start-up: -N --warmup 3 --runs {p['G_RUNS']}; "
        f"(i): after one check run, the slow peers --runs {p.get('I_SLOW_RUNS', '-')} without warm-up); "
        "median over the runs, min and max beside it. All at -j2 on this machine."
        + ("" if p.get("ROWS", "abcdefghi") == "abcdefghi" else f" Rows run: {', '.join(p['ROWS'])} (BENCH_ROWS)."))
    say("Columns: us/job = median / N; above limit = (median - spawn-limit median, same workload and N) / N; "
        "x limit = median / spawn-limit median; x fanout = median / fanout's median (fanout -k for -k rows); "
        "CPU us/job = mean user+system time of the runner and its jobs / N (less sensitive to other load on the machine than wall time); "
        "bg = share of the machine's CPUs that other processes used during the measurement (0% = the measurement had the machine alone).")

    # ---------------------------------------------------------- (a)-(c) tiny jobs
    workloads = []
    for (w, _t) in hf:
        if (w.startswith("true-") or w.startswith("echo-")) and w not in workloads:
            workloads.append(w)
    for w in workloads:
        tools = [t for (ww, t) in hf if ww == w]
        kind, n = w.split("-N")
        limit_tool = "spawn-limit" if kind == "true" else "spawn-limit-capture"
        limit = hf.get((w, limit_tool))
        desc = {"true": "`true ITEM` (no output)",
                "echo": "`echo ITEM`, output to a file (grouped where the tool groups)"}[kind]
        say("")
        say(f"### {desc}, N={n}")
        say("")
        say("| tool | median s | min s | max s | jobs/s | us/job | above limit us/job | x limit | x fanout | CPU us/job | bg |")
        say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t in tools:
            r = hf[(w, t)]
            n_ = r["n"]
            ref_name = "fanout-k" if t.endswith("-k") and (w, "fanout-k") in hf and t != "fanout-k" else "fanout"
            ref = hf.get((w, ref_name))
            above = f"{(r['median'] - limit['median']) / n_ * 1e6:+.0f}" if limit else "-"
            xl = f"{r['median'] / limit['median']:.2f}x" if limit else "-"
            xf = f"{r['median'] / ref['median']:.2f}x" if ref else "-"
            say(f"| {t} | {fmt_s(r['median'])} | {fmt_s(r['min'])} | {fmt_s(r['max'])} | "
                f"{n_ / r['median']:.0f} | {r['median'] / n_ * 1e6:.0f} | {above} | {xl} | {xf} | {cpu(r, n_)} | {bg(r)} |")

    # ---------------------------------------------------------- (d) output
    total = p["D_JOBS"] * p["D_BYTES"]
    out_rows = [(t, r) for (w, t), r in hf.items() if w == "output"]
    if out_rows:
        say("")
        say(f"### output throughput: {p['D_JOBS']} jobs each printing {p['D_BYTES']} bytes "
            f"({total / 1e9:.2f} GB) to a file")
        say("")
        say("| tool | median s | min s | max s | GB/s | x fanout | bg |")
        say("|---|---:|---:|---:|---:|---:|---:|")
        fo = hf.get(("output", "fanout"))
        for t, r in out_rows:
            xf = f"{r['median'] / fo['median']:.2f}x" if fo else "-"
            say(f"| {t} | {fmt_s(r['median'])} | {fmt_s(r['min'])} | {fmt_s(r['max'])} | "
                f"{total / r['median'] / 1e9:.2f} | {xf} | {bg(r)} |")

    # ---------------------------------------------------------- (e) dry run
    dr = [(w, t, r) for (w, t), r in hf.items() if w.startswith("dryrun-")]
    if dr:
        say("")
        say("### `--dry-run` (render only, output to /dev/null)")
        say("")
        say("| tool | N | median s | min s | max s | items/s | bg |")
        say("|---|---:|---:|---:|---:|---:|---:|")
        for w, t, r in dr:
            say(f"| {t} | {r['n']} | {fmt_s(r['median'])} | {fmt_s(r['min'])} | {fmt_s(r['max'])} | "
                f"{r['n'] / r['median'] / 1e6:.2f} M | {bg(r)} |")

    # ---------------------------------------------------------- (f) RSS
    if rss:
        say("")
        say("### peak RSS (GNU time -v, Maximum resident set size)")
        say("")
        say("| run | tool | N | max RSS MiB | max RSS KB | wall | exit |")
        say("|---|---|---:|---:|---:|---|---:|")
        for r in rss:
            kb = r["kb"]
            rc = r["rc"]
            note = " (timeout)" if rc == 124 else ""
            say(f"| {r['what']} | {r['tool']} | {r['n']} | {kb / 1024:.1f} | {kb} | {r['wall']} | {rc}{note} |"
                if kb is not None else f"| {r['what']} | {r['tool']} | {r['n']} | ? | ? | {r['wall']} | {rc} |")

    # ---------------------------------------------------------- (g) start-up
    st = [(t, r) for (w, t), r in hf.items() if w == "startup"]
    if st:
        say("")
        say("### start-up: one item (`true x`), hyperfine -N")
        say("")
        say("| tool | median ms | min ms | max ms | vs xargs ms | bg |")
        say("|---|---:|---:|---:|---:|---:|")
        xa = hf.get(("startup", "xargs"))
        for t, r in st:
            dx = f"{(r['median'] - xa['median']) * 1e3:+.2f}" if xa else "-"
            say(f"| {t} | {r['median'] * 1e3:.2f} | {r['min'] * 1e3:.2f} | {r['max'] * 1e3:.2f} | {dx} | {bg(r)} |")

    # ---------------------------------------------------------- (h) batches
    hb = [(w, t, r) for (w, t), r in hf.items() if w.startswith("batch-")]
    if hb:
        say("")
        say(f"### batches: {p['H_N']} items, -j2 (fanout with its per-item journal)")
        say("")
        say("| job | tool | median s | min s | max s | items/s | x xargs -n500 | bg |")
        say("|---|---|---:|---:|---:|---:|---:|---:|")
        for w, t, r in hb:
            xa = hf.get((w, "xargs-n500"))
            xx = f"{r['median'] / xa['median']:.2f}x" if xa else "-"
            say(f"| {w.split('-')[1]} | {t} | {fmt_s(r['median'])} | {fmt_s(r['min'])} | {fmt_s(r['max'])} | "
                f"{r['n'] / r['median']:.0f} | {xx} | {bg(r)} |")

    # ---------------------------------------------------------- (i) --pipe
    pipe = load_pipe(d)
    prss = load_pipe_rss(d)
    pw = [(w, t, r) for (w, t), r in hf.items() if w.startswith("pipe-")]
    if pipe or pw:
        ib = p.get("I_BYTES", 0)
        big = {(c["workload"], c["tool"]): c for c in pipe if c["file"] == "big.txt"}
        edge = {(c["workload"], c["tool"]): c for c in pipe if c["file"] == "edge.txt"}
        exp = next((c["expected"] for c in pipe if c["file"] == "big.txt"), "?")
        say("")
        say(f"### --pipe throughput: {ib / 1e6:.0f} MB of text ({exp} lines) in the page cache, -j2")
        say("")
        say("Input: `pipe` = `cat FILE |` into the tool, `file` = the tool reads FILE (`-a FILE`). "
            "x ref = median / the one-process reference's median (`cat FILE | wc -l` for `wc -l`, "
            "`cat FILE | cat >/dev/null` for `cat`); x fanout = median / fanout's (same job, same input, same --block). "
            "lines = the sum of the jobs' `wc -l` against `wc -l FILE`; edge = the same on a 5 MB file "
            "whose last line has no newline; blocks = the number of jobs (lines of output).")
        say("")
        say("| job | tool | input | median s | min s | max s | GB/s | x ref | x fanout | lines | edge | blocks | bg |")
        say("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
        order = []
        for c in pipe:
            k = (c["workload"], c["tool"])
            if k not in order:
                order.append(k)
        for k in order:
            w, t = k
            c, e, r = big.get(k), edge.get(k), hf.get(k)
            job = "`wc -l`" if w == "pipe-wc" else "`cat >/dev/null`"
            inp = (c or e)["input"]
            ref = hf.get((w, "cat-wc-l" if w == "pipe-wc" else "cat-cat"))
            fo = hf.get((w, "fanout-pipe" if inp == "pipe" else
                         "fanout-pipe-part-block1M" if t.endswith("-block1M") else "fanout-pipe-part"))
            status = c["status"] if c else e["status"]

            def count(x):
                if x is None:
                    return "-"
                if x["status"] == "ok":
                    return "exact" if x["lines"] != "-" else "ok"
                if x["status"] == "WRONG":
                    return f"**WRONG** ({x['lines']}, want {x['expected']})"
                return f"**{x['status']}**"

            if r:
                wrong = status == "WRONG"
                gbps = "(wrong)" if wrong else f"{ib / r['median'] / 1e9:.2f}"
                xr = f"{r['median'] / ref['median']:.2f}x" if ref else "-"
                xf = f"{r['median'] / fo['median']:.2f}x" if fo else "-"
                say(f"| {job} | {t} | {inp} | {fmt_s(r['median'])} | {fmt_s(r['min'])} | {fmt_s(r['max'])} | "
                    f"{gbps} | {xr} | {xf} | {count(c)} | {count(e)} | {c['blocks'] if c else '-'} | {bg(r)} |")
            else:
                say(f"| {job} | {t} | {inp} | - | - | - | - | - | - | {count(c)} | {count(e)} | - | - |")
        if prss:
            say("")
            say("Peak RSS of fanout (GNU time -v, Maximum resident set size; `wc -l` jobs, -j2, the default --block: "
                "1M for --pipe, 10 blocks per job slot for --pipe-part):")
            say("")
            say("| mode | input MB | max RSS MiB | max RSS KB | wall | lines |")
            say("|---|---:|---:|---:|---|---|")
            for r in prss:
                kb = r["kb"]
                say(f"| {r['mode']} | {r['bytes'] / 1e6:.0f} | {'?' if kb is None else f'{kb / 1024:.1f}'} | "
                    f"{'?' if kb is None else kb} | {r['wall']} | {'exact' if r['status'] == 'ok' else '**' + r['status'] + '**'} |")

    # ---------------------------------------------------------- targets
    checks = []

    def check(name, ok, measured, want):
        checks.append(dict(target=name, ok=ok, measured=measured, want=want))

    N = p["N"]
    ta = hf.get((f"true-N{N}", "fanout"))
    la = hf.get((f"true-N{N}", "spawn-limit"))
    if ta and la:
        frac = la["median"] / ta["median"]
        check("(a) dispatch: fanout jobs/s vs spawn limit", frac >= MIN_THROUGHPUT_VS_LIMIT,
              f"{frac:.3f}x the limit ({N / ta['median']:.0f} vs {N / la['median']:.0f} jobs/s; "
              f"time ratio {ta['median'] / la['median']:.3f}x, {(ta['median'] - la['median']) / N * 1e6:+.0f} us/job; "
              f"CPU {cpu(ta, N)} vs {cpu(la, N)} us/job)",
              f">= {MIN_THROUGHPUT_VS_LIMIT}x (time ratio <= {1 / MIN_THROUGHPUT_VS_LIMIT:.3f}x)")
    lb = hf.get((f"echo-N{N}", "spawn-limit-capture"))
    for key, name in (("fanout", "(b) grouped `echo {}` to a file vs (a)"),
                      ("fanout-k", "(c) -k `echo {}` to a file vs (a)")):
        tb = hf.get((f"echo-N{N}", key))
        if ta and tb:
            ratio = tb["median"] / ta["median"]
            ctx = f"; CPU {cpu(tb, N)} vs {cpu(ta, N)} us/job"
            if lb and la:
                ctx += (f"; for context the limit's own echo-captured/true ratio is {lb['median'] / la['median']:.3f}x, "
                       f"and fanout is {tb['median'] / lb['median']:.3f}x the captured-echo limit")
            check(name, ratio <= MAX_GROUP_COST,
                  f"{ratio:.3f}x fanout's (a) time ({tb['median']:.3f} s vs {ta['median']:.3f} s){ctx}",
                  f"<= {MAX_GROUP_COST}x")
    dg = hf.get(("output", "fanout"))
    du = hf.get(("output", "fanout-ungroup"))
    if dg:
        g = total / dg["median"] / 1e9
        check("(d) output through grouping", g >= MIN_GBPS, f"{g:.2f} GB/s", f">= {MIN_GBPS} GB/s")
        if du:
            u = total / du["median"] / 1e9
            check("(d) group vs --output ungroup", g >= (1 - MAX_BELOW_UNGROUP) * u,
                  f"{g / u:.2f}x ungroup ({g:.2f} vs {u:.2f} GB/s)", f">= {1 - MAX_BELOW_UNGROUP:.2f}x")
    de = hf.get((f"dryrun-N{p['E_N']}", "fanout"))
    if de:
        rate = p["E_N"] / de["median"]
        check("(e) --dry-run rate", rate >= MIN_ITEMS_PER_S, f"{rate / 1e6:.2f} M items/s",
              f">= {MIN_ITEMS_PER_S / 1e6:.0f} M items/s")
    by = {r["label"]: r for r in rss}
    fs, fl = by.get("fanout-dryrun-small"), by.get("fanout-dryrun-large")
    if fl and fl["kb"]:
        check(f"(f) peak RSS, --dry-run {p['F_LARGE']} items", fl["kb"] <= MAX_RSS_KB,
              f"{fl['kb'] / 1024:.1f} MiB", f"<= {MAX_RSS_KB // 1024} MiB")
    if fs and fl and fs["kb"] and fl["kb"]:
        grow = fl["kb"] - fs["kb"]
        check(f"(f) RSS independent of N ({p['F_SMALL']} -> {p['F_LARGE']} items)",
              grow <= max(RSS_INDEPENDENCE_KB, 0.1 * fs["kb"]),
              f"{fs['kb'] / 1024:.1f} -> {fl['kb'] / 1024:.1f} MiB ({grow:+d} KB)", "growth <= 1 MiB or 10%")
    frs, fr = by.get("fanout-real-small"), by.get("fanout-real")
    if frs and fr and frs["kb"] and fr["kb"]:
        grow = fr["kb"] - frs["kb"]
        check(f"(f) real jobs: RSS <= 16 MiB and independent of N ({p['F_REAL_SMALL']} -> {p['F_REAL']} jobs)",
              fr["kb"] <= MAX_RSS_KB and grow <= max(RSS_INDEPENDENCE_KB, 0.1 * frs["kb"]),
              f"{frs['kb'] / 1024:.1f} -> {fr['kb'] / 1024:.1f} MiB ({grow:+d} KB)", "<= 16 MiB, growth <= 1 MiB or 10%")
    sf, sx = hf.get(("startup", "fanout")), hf.get(("startup", "xargs"))
    if sf and sx:
        dlt = sf["median"] - sx["median"]
        check("(g) start-up vs xargs", dlt <= MAX_STARTUP_OVER_XARGS_S,
              f"{dlt * 1e3:+.2f} ms ({sf['median'] * 1e3:.2f} vs {sx['median'] * 1e3:.2f} ms)",
              f"<= +{MAX_STARTUP_OVER_XARGS_S * 1e3:.0f} ms")

    for job in ("true", "echo"):
        w = f"batch-{job}-N{p['H_N']}"
        fb, xb = hf.get((w, "fanout-n500")), hf.get((w, "xargs-n500"))
        if fb and xb:
            check(f"(h) -n500 `{job}` vs xargs -P2 -n500", fb["median"] <= xb["median"],
                  f"{xb['median'] / fb['median']:.2f}x xargs' items/s ({fb['median']:.2f} vs {xb['median']:.2f} s)",
                  ">= 1.0x")
    fb = hf.get((f"batch-true-N{p['H_N']}", "fanout-n500"))
    if fb and ta:
        speedup = (p["H_N"] / fb["median"]) / (N / ta["median"])
        check("(h) batched items/s vs one job per item (a)", speedup >= MIN_BATCH_SPEEDUP,
              f"{speedup:.0f}x ({p['H_N'] / fb['median']:.0f} vs {N / ta['median']:.0f} items/s)",
              f">= {MIN_BATCH_SPEEDUP}x")

    # (i) --pipe
    pstat = {(c["workload"], c["tool"], c["file"]): c["status"] for c in load_pipe(d)}

    def fanout_ok(w, t):
        return pstat.get((w, t, "big.txt")) == "ok" and pstat.get((w, t, "edge.txt"), "ok") == "ok"

    def speed_check(name, w, t, peer, want):
        f, g = hf.get((w, t)), hf.get((w, peer))
        if f and g:
            x = g["median"] / f["median"]
            note = "" if fanout_ok(w, t) else "; fanout's count is WRONG"
            check(name, x >= want and not note,
                  f"{x:.2f}x {peer}'s speed ({f['median']:.3f} vs {g['median']:.3f} s; "
                  f"{p['I_BYTES'] / f['median'] / 1e9:.2f} vs {p['I_BYTES'] / g['median'] / 1e9:.2f} GB/s){note}",
                  f">= {want:.0f}x")

    for w, job in (("pipe-wc", "`wc -l`"), ("pipe-cat", "`cat >/dev/null`")):
        speed_check(f"(i) --pipe-part {job} vs GNU --pipe-part", w, "fanout-pipe-part", "gnu-pipe-part", MIN_PIPE_PART_VS_GNU)
    for w, job in (("pipe-wc", "`wc -l`"), ("pipe-cat", "`cat >/dev/null`")):
        speed_check(f"(i) --pipe from a pipe, {job}, vs GNU --pipe", w, "fanout-pipe", "gnu-pipe", MIN_PIPE_VS_GNU)
    for t, ref, name, want in (
            ("fanout-pipe", "cat-wc-l", "(i) `cat FILE \\| fanout --pipe wc -l` vs `cat FILE \\| wc -l`", "no slower"),
            ("fanout-pipe-part", "wc-l-file", "(i) moonshot: `--pipe-part -a FILE wc -l` vs `wc -l FILE`", "as fast")):
        f, r = hf.get(("pipe-wc", t)), hf.get(("pipe-wc", ref))
        if f and r:
            x = f["median"] / r["median"]
            note = "" if fanout_ok("pipe-wc", t) else "; fanout's count is WRONG"
            check(name, x <= 1.0 and not note, f"{x:.2f}x its time ({f['median']:.3f} vs {r['median']:.3f} s){note}",
                  f"<= 1.00x ({want})")
    fan = [(f"{t} {w} on {f}", s) for (w, t, f), s in pstat.items()
           if t.startswith("fanout") and not s.startswith("skipped")]
    fan += [(f"{r['label']} ({r['bytes'] / 1e6:.0f} MB)", r["status"]) for r in load_pipe_rss(d)]
    if fan:
        bad = [f"{k}: {s}" for k, s in fan if s != "ok"]
        peers = sorted({f"{k[1]} ({k[2]})" for k, s in pstat.items() if not k[1].startswith("fanout") and s == "WRONG"})
        check("(i) every fanout line count exact (and every run ends well)", not bad,
              (f"{len(fan) - len(bad)} of {len(fan)} runs exact" + (": " + "; ".join(bad) if bad else "") +
               ("; peers WRONG: " + ", ".join(peers) if peers else "; every peer's count exact too")),
              "all exact")
    prs = {r["label"]: r for r in load_pipe_rss(d)}
    for mode, s, b in (("--pipe (from a pipe)", "pipe-rss-pipe-small", "pipe-rss-pipe-big"),
                       ("--pipe-part", "pipe-rss-part-small", "pipe-rss-part-big")):
        rs, rb = prs.get(s), prs.get(b)
        if rs and rb and rs["kb"] and rb["kb"]:
            grow = rb["kb"] - rs["kb"]
            check(f"(i) {mode} peak RSS flat in the input size ({rs['bytes'] / 1e6:.0f} -> {rb['bytes'] / 1e6:.0f} MB)",
                  grow <= max(RSS_INDEPENDENCE_KB, 0.1 * rs["kb"]),
                  f"{rs['kb'] / 1024:.1f} -> {rb['kb'] / 1024:.1f} MiB ({grow:+d} KB)", "growth <= 1 MiB or 10%")

    say("")
    say("### targets")
    say("")
    say("| target | measured | wanted | result |")
    say("|---|---|---|---|")
    for c in checks:
        say(f"| {c['target']} | {c['measured']} | {c['want']} | **{'PASS' if c['ok'] else 'FAIL'}** |")
    npass = sum(c["ok"] for c in checks)
    failed = [c["target"].split(" ")[0] for c in checks if not c["ok"]]
    failed = [f + ("" if failed.count(f) == 1 else f" x{failed.count(f)}") for f in dict.fromkeys(failed)]
    say("")
    say(f"{npass} of {len(checks)} targets PASS" + ("" if npass == len(checks) else ": FAIL " + ", ".join(failed)))

    # Exact commands, with the run's paths shortened to names.
    short = [(p[k], v) for k, v in (
        ("WORK", "$W"), ("FANOUT", "fanout"), ("SL", "spawn-limit"), ("RP", "rust-parallel"),
        ("XARGS", "xargs"), ("PARALLEL", "parallel")) if p.get(k)]
    short.sort(key=lambda kv: -len(kv[0]))

    def shorten(cmd):
        for path, name in short:
            cmd = cmd.replace(path, name)
        return cmd

    say("")
    say("### exact commands")
    say("")
    say("hyperfine runs the ones with redirections under `sh -c`. Paths shortened: " +
        ", ".join(f"`{name}` = {path}" for path, name in short) +
        f"; `$W/items/N` holds `seq 1 N`, `$W/items/one` the line `x`" +
        ("; (i): `$W/pipe/big.txt` is the generated text file, `$W/out/i-out` the jobs' counts (checked)."
         if pipe_rows else "."))
    say("")
    say("```")
    for line in open(os.path.join(d, "commands.tsv")):
        w, t, n, cmd = line.rstrip("\n").split("\t", 3)
        say(f"[{w} / {t}] {shorten(cmd)}")
    if rss:
        for r in rss:
            say(f"[rss / {r['label']}] /usr/bin/time -v {shorten(r['command'])} > /dev/null")
    for r in load_pipe_rss(d):
        say(f"[rss / {r['label']}] {shorten(r['command'])} > OUT")
    say("```")

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    open(os.path.join(d, "report.md"), "w").write(text)
    json.dump(checks, open(os.path.join(d, "targets.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
