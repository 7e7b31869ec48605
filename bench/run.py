#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
"""Benchmark: what each tool costs the traced system, side by side with libbpf-tools.

For each tool, a workload runs with no tracer, with ferroscope's tool, with ferroscope's tool in
--floor mode (same hooks, programs that return at once: the least any tracer on these hooks can
cost) and with libbpf-tools' tool, in interleaved rounds. Measured: workload ns/op, the
overhead each tracer adds per operation, the time the kernel accounts to the tracer's BPF
programs per operation (kernel.bpf_stats_enabled is switched on for the run), events seen
against events caused (output to a file), tracer CPU time, time from start to attached, and peak
RSS. Prints a table and writes JSON.

With --starts N it measures only start-up instead: N starts of each tool, no workload, timed
from exec to attached (ferroscope's "attached" line with -v; libbpf-tools' first output line).

Run as root from the repository: bench/run.py [--rounds N | --starts N] [--json PATH] [TOOL...]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")



def bench_configs():
    """tool -> (workload mode, ops, ferroscope args, libbpf-tools args, what marks our events,
    extra ferroscope runs with more options, e.g. [["--containers"]], events per operation
    (tcplife: each connect is a session with two ends, so two rows)),
    from each tool's `[package.metadata.bench]` in tools/<tool>/Cargo.toml: every tool is a
    directory of tools/, and a tool without that table is not benchmarked."""
    configs = {}
    for tool in sorted(os.listdir(os.path.join(ROOT, "tools"))):
        path = os.path.join(ROOT, "tools", tool, "Cargo.toml")
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            b = tomllib.load(f).get("package", {}).get("metadata", {}).get("bench")
        if b:
            configs[tool] = (b["workload"], b["ops"], b.get("args", []), b.get("ref_args", []),
                             b.get("marker"), b.get("variants", []), b.get("events_per_op", 1))
    return configs


TOOLS = bench_configs()


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def proc_stats(pid):
    """(cpu ms, peak RSS KiB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu_ms = (int(fields[11]) + int(fields[12])) * 1000 // TICK
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu_ms, hwm


class Tracer:
    """A tracer started with output to a file, waited on until attached."""

    def __init__(self, argv, ready_on_stderr, workdir):
        self.out_path = os.path.join(workdir, "trace.out")
        self.err_path = os.path.join(workdir, "trace.err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        start = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=self.err)
        self.attach_ms = None
        self.failed = None
        watch = self.err_path if ready_on_stderr else self.out_path
        while time.monotonic() - start < 60:
            if self.p.poll() is not None:
                self.failed = open(self.err_path, "rb").read().decode(errors="replace").strip()
                return
            with open(watch, "rb") as f:
                data = f.read()
            if (b"attached" in data) if ready_on_stderr else data:
                self.attach_ms = (time.monotonic() - start) * 1000
                return
            time.sleep(0.001)
        self.failed = "did not attach within 60 s"

    def stop(self):
        cpu_ms, rss = proc_stats(self.p.pid)
        self.bpf_ns, self.bpf_runs = bpf_stats_of(self.p.pid)
        self.end()
        return cpu_ms, rss

    def end(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.out.close()
        self.err.close()

    def lines(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace").splitlines()

    def lost_reported(self):
        text = open(self.err_path, "rb").read().decode(errors="replace")
        total = 0
        for line in text.splitlines():
            if " lost in total" in line:  # "N events" or "1 event"
                total = int(line.split(":")[1].split()[0])
            elif line.startswith("Lost ") and "events on CPU" in line:  # libbpf-tools
                total += int(line.split()[1])
        return total


def bpf_stats_of(pid):
    """Run time and run count the kernel accounted to the BPF programs `pid` holds
    (kernel.bpf_stats_enabled is on during the benchmark): the exact in-kernel cost, which the
    workload's wall time on a shared 2-CPU VM hides in noise for cheap hooks."""
    ids = set()
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            continue
    ns = runs = 0
    for prog_id in ids:
        out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                             capture_output=True, text=True)
        try:
            prog = json.loads(out.stdout)
        except ValueError:
            continue
        ns += prog.get("run_time_ns", 0)
        runs += prog.get("run_cnt", 0)
    return ns, runs


BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


def run_workload(workload, mode, ops, path):
    p = subprocess.Popen([workload, mode, str(ops), path], stdout=subprocess.PIPE, text=True)
    port = None
    out = []
    for line in p.stdout:
        if line.startswith("port "):
            port = int(line.split()[1])
        else:
            out.append(line)
    p.wait()
    n, ns = out[-1].split()
    return int(n), int(ns), port


def tracer_configs(tool, ours_args=(), ref_args=(), variants=()):
    """How each tracer is started for `tool`: (argv, ready when stderr says "attached"), or None
    where libbpf-tools' tool is not installed. Each variant (extra options of ours) is a tracer
    named by its options."""
    ours = os.path.join(ROOT, "target", "release", tool)
    ref = shutil.which(tool, path="/usr/sbin")
    configs = {
        "ferroscope": ([ours, "-v", *ours_args], True),
        "floor": ([ours, "-v", "--floor", *ours_args], True),
    }
    for v in variants:
        configs[" ".join(v)] = ([ours, "-v", *ours_args, *v], True)
    configs["libbpf-tools"] = (["stdbuf", "-oL", ref, *ref_args], False) if ref else None
    return configs


def startups(args, work):
    """Median, min and max time to attached over args.starts starts of each tracer."""
    results = {}
    for tool in args.tools:
        configs = tracer_configs(tool)
        row = {}
        for name in ("ferroscope", "libbpf-tools"):
            cfg = configs[name]
            if cfg is None:
                row[name] = {"note": "not installed"}
                continue
            times = []
            for _ in range(args.starts):
                tdir = tempfile.mkdtemp(dir=work)
                tracer = Tracer(cfg[0], cfg[1], tdir)
                failed = tracer.failed
                if failed is None:
                    times.append(tracer.attach_ms)
                    tracer.end()
                shutil.rmtree(tdir, ignore_errors=True)
                if failed is not None:
                    row[name] = {"note": "failed to attach: " + failed.splitlines()[-1][:120]}
                    break
            else:
                row[name] = {"median_ms": round(statistics.median(times), 1),
                             "min_ms": round(min(times), 1), "max_ms": round(max(times), 1)}
        results[tool] = row
    return results


def print_startups(results, starts):
    print(f"time to attached over {starts} starts (ms)")
    print(f"{'tool':<11} {'tracer':<13} {'median':>7} {'min':>7} {'max':>7}")
    for tool, row in results.items():
        for i, (name, r) in enumerate(row.items()):
            label = tool if i == 0 else ""
            if "note" in r:
                print(f"{label:<11} {name:<13} {r['note']}")
            else:
                print(f"{label:<11} {name:<13} {r['median_ms']:>7} {r['min_ms']:>7} {r['max_ms']:>7}")


def measure(args, workload, data, target, work):
    results = {}
    for tool in args.tools:
        mode, ops, ours_args, ref_args, marker, variants, per_op = TOOLS[tool]
        path = data if mode == "dread" else target
        configs = {"none": None, **tracer_configs(tool, ours_args, ref_args, variants)}
        tracers = [name for name in configs if name != "none"]
        runs = {name: [] for name in configs}
        notes = {}
        for _ in range(args.rounds):
            for name, cfg in configs.items():
                if name != "none" and cfg is None:
                    notes[name] = "not installed"
                    continue
                tracer = None
                if cfg is not None:
                    tdir = tempfile.mkdtemp(dir=work)
                    tracer = Tracer(cfg[0], cfg[1], tdir)
                    if tracer.failed is not None:
                        notes[name] = "failed to attach: " + tracer.failed.splitlines()[-1][:120]
                        continue
                n, ns, port = run_workload(workload, mode, ops, path)
                rec = {"ns_per_op": ns / n}
                if tracer is not None:
                    time.sleep(0.3)  # let the last events drain to the file
                    cpu_ms, rss = tracer.stop()
                    rec.update(cpu_ms=cpu_ms, rss_kib=rss, attach_ms=round(tracer.attach_ms, 1),
                               bpf_ns_per_op=tracer.bpf_ns / n,
                               bpf_ns_per_run=tracer.bpf_ns / max(tracer.bpf_runs, 1))
                    if marker and name != "floor":
                        if marker == "path":
                            key = target
                        elif marker == "port":
                            key = f" {port}"
                        else:
                            key = marker
                        seen = sum(1 for line in tracer.lines() if key in line)
                        rec.update(seen=seen, expected=n * per_op, lost_reported=tracer.lost_reported())
                    shutil.rmtree(tdir, ignore_errors=True)
                runs[name].append(rec)
        base = statistics.median(r["ns_per_op"] for r in runs["none"])
        summary = {"workload": mode, "ops": ops, "none_ns_per_op": round(base, 1),
                   "tracers": tracers}
        for name in tracers:
            rs = runs[name]
            if not rs:
                summary[name] = {"note": notes.get(name, "no runs")}
                continue
            med = statistics.median(r["ns_per_op"] for r in rs)
            s = {
                "ns_per_op": round(med, 1),
                "overhead_ns_per_op": round(med - base, 1),
                "cpu_ms": statistics.median(r["cpu_ms"] for r in rs),
                "attach_ms": statistics.median(r["attach_ms"] for r in rs),
                "peak_rss_kib": max(r["rss_kib"] for r in rs),
                "bpf_ns_per_op": round(statistics.median(r["bpf_ns_per_op"] for r in rs), 1),
                "bpf_ns_per_run": round(statistics.median(r["bpf_ns_per_run"] for r in rs), 1),
            }
            if "seen" in rs[0]:
                s["events_seen"] = min(r["seen"] for r in rs)
                s["events_expected"] = rs[0]["expected"]
                s["lost_reported"] = max(r["lost_reported"] for r in rs)
            summary[name] = s
        # BPF time above the floor: what the programs' own work costs, without the hook's
        # dispatch and bpf_stats' own clock reads, which every tracer on these hooks pays.
        floor = summary["floor"].get("bpf_ns_per_op")
        for name in tracers:
            if name == "floor":
                continue
            if floor is not None and "bpf_ns_per_op" in summary[name]:
                summary[name]["bpf_net_ns_per_op"] = round(summary[name]["bpf_ns_per_op"] - floor, 1)
        ours, ref = summary["ferroscope"], summary["libbpf-tools"]
        if ref.get("bpf_ns_per_op") and "bpf_ns_per_op" in ours:
            summary["bpf_ratio"] = round(ours["bpf_ns_per_op"] / ref["bpf_ns_per_op"], 2)
            if ref.get("bpf_net_ns_per_op", 0) > 0:
                summary["bpf_net_ratio"] = round(ours["bpf_net_ns_per_op"] / ref["bpf_net_ns_per_op"], 2)
        results[tool] = summary
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--starts", type=int, default=0,
                    help="measure only start-up: this many starts of each tool")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench.json"))
    ap.add_argument("tools", nargs="*", default=list(TOOLS))
    args = ap.parse_args()
    unknown = [t for t in args.tools if t not in TOOLS]
    if unknown:
        ap.error(f"unknown tool {unknown[0]!r} (one of: {', '.join(TOOLS)})")
    if os.geteuid() != 0:
        sys.exit("bench: run as root")

    sh(["cargo", "build", "--release", "--locked", "-q", "--workspace"], cwd=ROOT)
    work = tempfile.mkdtemp(prefix="ferrobench-", dir="/var/tmp")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    if args.starts > 0:
        results = startups(args, work)
        shutil.rmtree(work, ignore_errors=True)
        with open(args.json, "w") as f:
            json.dump({"kernel": os.uname().release, "cpus": os.cpu_count(),
                       "starts": args.starts, "startup": results}, f, indent=2)
        print_startups(results, args.starts)
        print(f"\nJSON: {args.json}")
        return
    workload = os.path.join(work, "workload")
    sh(["cc", "-O2", "-pthread", "-o", workload, os.path.join(ROOT, "bench", "workload.c")])
    # O_DIRECT reads need a file on a real disk; /var/tmp is on the root filesystem.
    data = os.path.join(work, "data")
    sh(["dd", "if=/dev/urandom", f"of={data}", "bs=4096", "count=256", "status=none"])
    target = os.path.join(work, "open-target")
    open(target, "w").close()

    with open(BPF_STATS) as f:
        stats_before = f.read().strip()
    with open(BPF_STATS, "w") as f:
        f.write("1")
    try:
        results = measure(args, workload, data, target, work)
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(stats_before)

    with open(args.json, "w") as f:
        json.dump({"kernel": os.uname().release, "cpus": os.cpu_count(),
                   "rounds": args.rounds, "tools": results}, f, indent=2)
    shutil.rmtree(work, ignore_errors=True)

    hdr = f"{'tool':<11} {'tracer':<13} {'ns/op':>9} {'+ns/op':>9} {'bpf ns/op':>9} {'net':>6} {'events seen':>17} {'lost':>6} {'cpu ms':>7} {'attach ms':>9} {'RSS KiB':>8}"
    print(hdr)
    for tool, s in results.items():
        print(f"{tool:<11} {'none':<13} {s['none_ns_per_op']:>9.1f}")
        for name in s["tracers"]:
            r = s[name]
            if "note" in r:
                print(f"{'':<11} {name:<13} {r['note']}")
                continue
            seen = f"{r['events_seen']}/{r['events_expected']}" if "events_seen" in r else "-"
            lost = str(r.get("lost_reported", "-"))
            net = f"{r['bpf_net_ns_per_op']:.0f}" if "bpf_net_ns_per_op" in r else "-"
            print(f"{'':<11} {name:<13} {r['ns_per_op']:>9.1f} {r['overhead_ns_per_op']:>9.1f} "
                  f"{r['bpf_ns_per_op']:>9.1f} {net:>6} "
                  f"{seen:>17} {lost:>6} {r['cpu_ms']:>7} {r['attach_ms']:>9} {r['peak_rss_kib']:>8}")
        if "bpf_ratio" in s:
            net = f", above the floor {s['bpf_net_ratio']:.2f}" if "bpf_net_ratio" in s else ""
            print(f"{'':<11} ferroscope/libbpf-tools BPF time: {s['bpf_ratio']:.2f}{net}")
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
