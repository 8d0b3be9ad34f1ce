#!/usr/bin/env python3
"""Run the bench protocol's scenarios against every server, side by side.

usage: bench/run.py [--build DIR] [--rounds N] [--duration S] [--idle N] [--scale N] [--quick]

Each round runs every scenario against every server, in an order that rotates from round to
round, with the server pinned to core 0 and the load generator to core 1: bench/load/echo_load
for the bench protocol's servers, bench/grpc/grpc_echo_load (same scenarios, same figures) for
gRPC's unary and bidi-streaming echo. The gRPC baselines run when they were built (gRPC
installed); otherwise they are left out and said so. A figure is the median over the rounds; a
target that compares two servers takes the median of their ratios within each round (the two
ran in the same round, seconds apart), and shows each round's ratio and the ratio of the
medians beside it. Server CPU per message is the server's user+system time over the whole load
run divided by every reply it sent, warm-up included. Idle memory is the growth of the server's
resident set while the load generator holds N idle connections, divided by N; for wiregen also
after each connection made one 64-byte request (10,000 connections) and one 1 MiB echo (50).
Scale-out: N connections (100,000 by default) held against several wiregen echo_server
processes sharing one port with SO_REUSEPORT (this machine caps a process at 20,000
descriptors), each load process from its own 127.0.0.x source address; reported are the
connections each server process holds and their RSS growth per connection.

Writes bench/results/latest.json, docs/performance-throughput.svg and the results section of
docs/performance.md (between its "results:begin" and "results:end" markers).
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"listening on \S+:(\d+)")
# name: (server, load generator, the load generator's extra arguments)
SERVERS = {
    "wiregen": ("examples/echo_server", "bench/echo_load", []),
    "epoll": ("bench/epoll_echo_server", "bench/echo_load", []),
    "asio": ("bench/asio_echo_server", "bench/echo_load", []),
    "grpc-bidi": ("bench/grpc_echo_server", "bench/grpc_echo_load", ["--mode", "stream"]),
    "grpc-unary": ("bench/grpc_echo_server", "bench/grpc_echo_load", ["--mode", "unary"]),
}
LABELS = {
    "wiregen": "wiregen echo_server",
    "epoll": "hand-written epoll + protobuf",
    "asio": "typical hand-written Asio",
    "grpc-bidi": "gRPC C++ bidi streaming",
    "grpc-unary": "gRPC C++ unary",
}
COLOURS = {"wiregen": "#2b6cb0", "epoll": "#718096", "asio": "#dd6b20", "grpc-bidi": "#38a169",
           "grpc-unary": "#9ae6b4"}
# The two gRPC rows are one server: its idle memory is measured once, under this label.
IDLE_SERVERS = {**{n: LABELS[n] for n in ("wiregen", "epoll", "asio")}, "grpc-bidi": "gRPC C++"}
# Idle after traffic (wiregen only): label, connections, payload each echoed once first.
AFTER_TRAFFIC = [
    ("after one 64 B request", 10000, 64),
    ("after one 1 MiB echo", 50, 1024 * 1024),
]
SCENARIOS = [
    # name, connections, depth, payload
    ("ping-pong", 1, 1, 64),
    ("64x16, 64 B", 64, 16, 64),
    ("64x16, 4 KiB", 64, 16, 4096),
    ("1000x1, 64 B", 1000, 1, 64),
]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    """A server under test on core 0, on a free port, until stop()."""

    def __init__(self, build, name, server_args=()):
        self.process = subprocess.Popen(
            ["taskset", "-c", "0", str(build / SERVERS[name][0]), "--listen", "127.0.0.1:0",
             *server_args], stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            match = READY.search(line)
            if match:
                self.port = int(match.group(1))
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{name} did not start")

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def available(build):
    """The servers whose programs are built, in SERVERS order."""
    names = [n for n, (server, client, _) in SERVERS.items()
             if (build / server).exists() and (build / client).exists()]
    for missing in sorted(set(SERVERS) - set(names)):
        print(f"{missing}: not built, left out (scripts/bench.sh installs what it needs)")
    return names


def load(build, name, port, args, timeout):
    _, client, extra = SERVERS[name]
    command = ["taskset", "-c", "1", str(build / client), "--connect", f"127.0.0.1:{port}",
               *extra, *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{client} failed: {result.stdout} {result.stderr}")
    return json.loads(result.stdout)


def run_scenario(build, name, scenario, duration, server_args=()):
    _, connections, depth, payload = scenario
    server = Server(build, name, server_args)
    try:
        before = cpu_seconds(server.pid)
        figures = load(build, name, server.port,
                       ["--connections", connections, "--depth", depth, "--payload", payload,
                        "--warmup", 1, "--duration", duration], timeout=duration + 60)
        used = cpu_seconds(server.pid) - before
    finally:
        server.stop()
    figures["server_cpu_us_per_msg"] = used * 1e6 / max(1, figures["total_messages"])
    return figures


def run_idle(build, name, count, echo_first=None):
    """RSS growth per connection while `count` connections are held idle, each of which first
    echoed one message of `echo_first` payload bytes when that is set."""
    server = Server(build, name)
    holder = None
    try:
        time.sleep(0.2)  # let the server settle after start-up before the baseline
        before = rss_kib(server.pid)
        holder = subprocess.Popen(
            ["taskset", "-c", "1", str(build / SERVERS[name][1]), "--connect",
             f"127.0.0.1:{server.port}", "--idle", str(count)] +
            ([] if echo_first is None else ["--echo-first", str(echo_first)]),
            stdout=subprocess.PIPE, text=True)
        report = json.loads(holder.stdout.readline())
        if report.get("idle") != count:
            raise RuntimeError(f"idle connections: {report}")
        deadline = time.monotonic() + 60
        while open_fds(server.pid) < count and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the server's descriptor table: nothing to await
        accepted = open_fds(server.pid)
        after = rss_kib(server.pid)
    finally:
        if holder:
            holder.send_signal(signal.SIGTERM)
            holder.wait(timeout=30)
        server.stop()
    return {"connections": count, "accepted_fds": accepted, "rss_before_kib": before,
            "rss_after_kib": after, "bytes_per_connection": (after - before) * 1024 / count}


def start_sharing(build, port):
    """A wiregen echo_server on core 0 joining (or, with port 0, opening) a SO_REUSEPORT port."""
    process = subprocess.Popen(
        ["taskset", "-c", "0", str(build / SERVERS["wiregen"][0]), "--listen",
         f"127.0.0.1:{port}", "--threads", "1", "--reuse-port",
         # The holders connect for longer than the 30 s first-frame deadline and never send.
         "--first-frame-timeout", "0"],
        stderr=subprocess.PIPE, text=True)
    match = READY.search(process.stderr.readline())
    if not match:
        process.kill()
        raise RuntimeError("echo_server --reuse-port did not start")
    return process, int(match.group(1))


def run_scale(build, total, per_process=17000):
    count = -(-total // per_process)
    servers, holders = [], []
    try:
        first, port = start_sharing(build, 0)
        servers.append(first)
        for _ in range(count - 1):
            servers.append(start_sharing(build, port)[0])
        time.sleep(0.2)  # let the servers settle after start-up before the baseline
        fds_before = [open_fds(s.pid) for s in servers]
        rss_before = [rss_kib(s.pid) for s in servers]
        for index in range(count):
            share = total // count + (1 if index < total % count else 0)
            holder = subprocess.Popen(
                ["taskset", "-c", "1", str(build / "bench/echo_load"), "--connect",
                 f"127.0.0.1:{port}", "--idle", str(share), "--bind", f"127.0.0.{index + 2}"],
                stdout=subprocess.PIPE, text=True)
            holders.append(holder)
            report = json.loads(holder.stdout.readline())
            if report.get("idle") != share:
                raise RuntimeError(f"scale: {report}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            held = [open_fds(s.pid) - b for s, b in zip(servers, fds_before)]
            if sum(held) >= total:
                break
            time.sleep(0.1)  # polling the servers' descriptor tables: nothing to await
        growth = [rss_kib(s.pid) - b for s, b in zip(servers, rss_before)]
    finally:
        for holder in holders:
            holder.send_signal(signal.SIGTERM)
            holder.wait(timeout=60)
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return {"connections": total, "processes": count, "held": sum(held), "per_process": held,
            "bytes_per_connection": sum(growth) * 1024 / max(1, sum(held))}


def measure_metrics_cost(build, rounds, duration):
    """wiregen's server CPU per message with its per-type metrics on (the default) and off
    (--no-metrics) at 64x16, 64 B: each round runs both, in alternating order, so that the
    paired ratio cancels the machine's drift. Three rounds at least: the cost sought is a few
    percent, below one run's noise."""
    scenario = next(s for s in SCENARIOS if s[0] == "64x16, 64 B")
    cost = {"on": [], "off": []}
    for round_index in range(max(3, rounds)):
        runs = [("on", ()), ("off", ("--no-metrics",))]
        for label, server_args in runs if round_index % 2 == 0 else reversed(runs):
            figures = run_scenario(build, "wiregen", scenario, duration, server_args)
            cost[label].append(figures["server_cpu_us_per_msg"])
            print(f"metrics {label:>3} round {round_index + 1}: "
                  f"{figures['server_cpu_us_per_msg']:.3f} us cpu/msg", flush=True)
    return cost


def median_of(rounds, key):
    return statistics.median(r[key] for r in rounds)


def measure(build, rounds, duration, idle, scale):
    names = available(build)
    samples = {(s[0], n): [] for s in SCENARIOS for n in names}
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for scenario in SCENARIOS:
            for name in order:
                figures = run_scenario(build, name, scenario, duration)
                samples[(scenario[0], name)].append(figures)
                print(f"round {round_index + 1} {scenario[0]:>14} {name:>8}: "
                      f"{figures['msgs_per_s']:>10.0f} msg/s  p50 {figures['p50_us']:>8.1f} us  "
                      f"{figures['server_cpu_us_per_msg']:.3f} us cpu/msg", flush=True)
    results = {"scenarios": {}, "per_round": {}, "idle": {},
               "metrics_cost": measure_metrics_cost(build, rounds, duration)}
    keys = ("msgs_per_s", "p50_us", "p99_us", "p999_us", "server_cpu_us_per_msg")
    for scenario in SCENARIOS:
        results["scenarios"][scenario[0]] = {
            name: {key: median_of(samples[(scenario[0], name)], key) for key in keys}
            for name in names}
        # Each round's figures too: the targets compare servers round by round.
        results["per_round"][scenario[0]] = {
            name: [{key: r[key] for key in keys} for r in samples[(scenario[0], name)]]
            for name in names}
    for name in names:
        if name in IDLE_SERVERS:
            results["idle"][name] = run_idle(build, name, idle)
            print(f"idle {IDLE_SERVERS[name]}: "
                  f"{results['idle'][name]['bytes_per_connection']:.0f} bytes/conn", flush=True)
    results["after_traffic"] = {}
    for label, count, payload in AFTER_TRAFFIC:
        figures = run_idle(build, "wiregen", count, payload)
        results["after_traffic"][label] = figures
        print(f"idle {label}: {figures['bytes_per_connection']:.0f} bytes/conn", flush=True)
    if scale:
        results["scale"] = run_scale(build, scale)
        print(f"scale: {results['scale']['held']} connections over "
              f"{results['scale']['processes']} processes {results['scale']['per_process']}, "
              f"{results['scale']['bytes_per_connection']:.0f} bytes/conn", flush=True)
    return results


def machine():
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return f"{os.cpu_count()} cores, {model}, Linux {os.uname().release}"


def paired_ratio(results, scenario, key, name, baseline):
    """`name`'s figure over `baseline`'s: the median of the ratios within each round (the two
    ran in the same round, seconds apart, so the machine's drift between rounds cancels), each
    round's ratio, and the ratio of the medians over all rounds, which mixes rounds."""
    rounds = results["per_round"][scenario]
    ratios = [a[key] / b[key] for a, b in zip(rounds[name], rounds[baseline])]
    s = results["scenarios"][scenario]
    return statistics.median(ratios), ratios, s[name][key] / s[baseline][key]


def ratio_text(ratio, digits=2):
    paired, ratios, of_medians = ratio
    return (f"{paired:.{digits}f}x (rounds: {', '.join(f'{r:.{digits}f}' for r in ratios)}; "
            f"ratio of medians {of_medians:.{digits}f}x)")


def targets(results):
    """(target, measured, met) rows of the issue's targets; ratios are paired by round."""
    s = results["scenarios"]
    rows = []
    cpu = paired_ratio(results, "64x16, 64 B", "server_cpu_us_per_msg", "wiregen", "epoll")
    rows.append(("64x16, 64 B: server CPU per message <= 1.10x the epoll loop",
                 ratio_text(cpu), cpu[0] <= 1.10))
    cpu_big = paired_ratio(results, "64x16, 4 KiB", "server_cpu_us_per_msg", "wiregen", "epoll")
    rows.append(("64x16, 4 KiB: server CPU per message <= 1.15x the epoll loop",
                 ratio_text(cpu_big), cpu_big[0] <= 1.15))
    if "grpc-bidi" in s["64x16, 64 B"]:
        rate = paired_ratio(results, "64x16, 64 B", "msgs_per_s", "wiregen", "grpc-bidi")
        rows.append(("64x16, 64 B: messages per second >= 15x gRPC bidi streaming",
                     ratio_text(rate, 1), rate[0] >= 15))
    else:
        rows.append(("64x16, 64 B: messages per second >= 15x gRPC bidi streaming",
                     "gRPC not built", False))
    p50 = paired_ratio(results, "ping-pong", "p50_us", "wiregen", "epoll")
    rows.append(("ping-pong: p50 latency <= 1.05x the epoll loop", ratio_text(p50),
                 p50[0] <= 1.05))
    big = paired_ratio(results, "64x16, 4 KiB", "msgs_per_s", "wiregen", "epoll")
    rows.append(("64x16, 4 KiB: messages per second >= 0.8x the epoll loop", ratio_text(big),
                 big[0] >= 0.8))
    if "metrics_cost" in results:
        cost = results["metrics_cost"]
        ratios = [a / b for a, b in zip(cost["on"], cost["off"])]
        paired = statistics.median(ratios)
        rows.append(("64x16, 64 B: server CPU per message with per-type metrics <= 1.03x "
                     "without (--no-metrics)",
                     f"{paired:.3f}x (rounds: {', '.join(f'{r:.3f}' for r in ratios)})",
                     paired <= 1.03))
    idle = results["idle"]["wiregen"]
    rows.append((f"idle: <= 1 KiB of server RSS per connection at {idle['connections']}",
                 f"{idle['bytes_per_connection']:.0f} B", idle["bytes_per_connection"] <= 1024))
    for (label, count, _), bound in zip(AFTER_TRAFFIC, (600, 4096)):
        v = results["after_traffic"][label]
        rows.append((f"idle {label} each, {count:,} connections: <= {bound:,} B of server RSS "
                     "per connection", f"{v['bytes_per_connection']:,.0f} B",
                     v["bytes_per_connection"] <= bound))
    if "scale" in results:
        scale = results["scale"]
        rows.append((f"{scale['connections']:,} connections over SO_REUSEPORT processes",
                     f"{scale['held']:,} held by {scale['processes']} processes, "
                     f"{scale['bytes_per_connection']:.0f} B each",
                     scale["held"] >= scale["connections"]))
    return rows


def svg(results):
    """A grouped bar chart of messages per second, one group per scenario."""
    names = list(next(iter(results["scenarios"].values())))
    colours = COLOURS
    width, height, left, bottom, top = 960, 340, 70, 60, 30
    plot_w, plot_h = width - left - 20, height - bottom - top
    peak = max(v["msgs_per_s"] for sc in results["scenarios"].values() for v in sc.values())
    group_w = plot_w / len(SCENARIOS)
    bar_w = group_w * 0.8 / len(names)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="18" font-size="14">Messages per second (median), server on '
             'one core</text>']
    for step in range(6):
        value = peak * step / 5
        y = top + plot_h - plot_h * step / 5
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" '
                     'stroke="#e2e8f0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{value / 1e6:.1f}M</text>')
    for g, scenario in enumerate(SCENARIOS):
        x0 = left + g * group_w + group_w * 0.1
        for i, name in enumerate(names):
            value = results["scenarios"][scenario[0]][name]["msgs_per_s"]
            h = plot_h * value / peak
            x = x0 + i * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{h:.1f}" fill="{colours[name]}"/>')
        parts.append(f'<text x="{left + g * group_w + group_w / 2:.1f}" '
                     f'y="{top + plot_h + 18}" text-anchor="middle">{scenario[0]}</text>')
    x = 20
    for name in names:  # the legend, each entry as wide as its label (about 6.5 px a letter)
        parts.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" '
                     f'fill="{colours[name]}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 12}" font-size="11">{LABELS[name]}</text>')
        x += 16 + len(LABELS[name]) * 6.5 + 20
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown(results, rounds, duration):
    lines = [f"Measured {results['date']} on {results['machine']}: {rounds} rounds of "
             f"{duration} s per scenario and server (after 1 s of warm-up), medians; server "
             "pinned to core 0, load to core 1.", "",
             "| scenario | server | msgs/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/msg |",
             "|---|---|---|---|---|---|---|"]
    for scenario, by_server in results["scenarios"].items():
        for name, v in by_server.items():
            lines.append(f"| {scenario} | {LABELS[name]} | {v['msgs_per_s']:,.0f} | "
                         f"{v['p50_us']:.1f} | {v['p99_us']:.1f} | {v['p999_us']:.1f} | "
                         f"{v['server_cpu_us_per_msg']:.3f} |")
    lines += ["", "| idle connections | server | RSS growth per connection |", "|---|---|---|"]
    for name, v in results["idle"].items():
        lines.append(f"| {v['connections']:,} | {IDLE_SERVERS[name]} | "
                     f"{v['bytes_per_connection']:,.0f} bytes |")
    lines += ["", "| wiregen echo_server, idle after traffic | connections | RSS growth per "
              "connection |", "|---|---|---|"]
    for label, v in results["after_traffic"].items():
        lines.append(f"| {label} each | {v['connections']:,} | "
                     f"{v['bytes_per_connection']:,.0f} bytes |")
    if "scale" in results:
        scale = results["scale"]
        lines += ["", f"Scale-out: {scale['connections']:,} idle connections against "
                  f"{scale['processes']} wiregen echo_server processes sharing the port with "
                  f"SO_REUSEPORT; the kernel gave them "
                  f"{', '.join(f'{n:,}' for n in scale['per_process'])} connections, "
                  f"{scale['bytes_per_connection']:,.0f} bytes of RSS growth per connection."]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for target, measured, met in targets(results):
        lines.append(f"| {target} | {measured} | {'yes' if met else 'no'} |")
    lines += ["", "![messages per second](performance-throughput.svg)"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--idle", type=int, default=19000)
    parser.add_argument("--scale", type=int, default=100000,
                        help="connections for the SO_REUSEPORT scale-out run; 0 skips it")
    parser.add_argument("--quick", action="store_true",
                        help="1 round of 1 s and 1,000 idle connections: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.idle, args.scale = 1, 1.0, 1000, 20000
    build = Path(args.build)
    results = measure(build, args.rounds, args.duration, args.idle, args.scale)
    results["date"] = time.strftime("%Y-%m-%d")
    results["machine"] = machine()
    results["rounds"], results["duration_s"] = args.rounds, args.duration
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "docs" / "performance-throughput.svg").write_text(svg(results))
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    doc.write_text(f"{head}{begin}\n{markdown(results, args.rounds, args.duration)}\n{end}{tail}")
    for target, measured, met in targets(results):
        print(f"{'met' if met else 'NOT MET':>8}  {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
