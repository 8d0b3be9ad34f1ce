#!/usr/bin/env python3
"""A real Prometheus scrapes echo_server's admin port.

usage: prometheus_scrape.py --server PATH/TO/echo_server [--prometheus prometheus]

Starts echo_server with --admin on loopback, echoes 37 requests, then starts Prometheus (Debian
package prometheus) with a configuration that scrapes the admin port every second, and asks
Prometheus's HTTP API for wiregen_frames_received_total until it says 37 (at most 60 s). Also
checks `up` and that `promtool check metrics` accepts what /metrics served. Exits 0 when all
hold, 1 otherwise.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from bench_wire import frame, free_port

REQUESTS = 37


def query(port, promql):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    results = answer["data"]["result"]
    return results[0]["value"][1] if results else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--prometheus", default="prometheus")
    args = parser.parse_args()
    for tool in (args.prometheus, "promtool"):
        if shutil.which(tool) is None:
            print(f"prometheus_scrape: {tool} not found; install the Debian package prometheus "
                  "(scripts/install-deps.sh --test)", file=sys.stderr)
            return 1
    work = tempfile.mkdtemp(prefix="wiregen-prometheus-")
    server = subprocess.Popen([args.server, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                              stderr=subprocess.PIPE, text=True)
    prometheus = None
    try:
        data_port = admin_port = None
        for line in server.stderr:  # bounded by the ctest timeout
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            data_port = int(found.group(1)) if found else data_port
            found = re.search(r"admin on http://127\.0\.0\.1:(\d+)/", line)
            if found:
                admin_port = int(found.group(1))
                break
        with socket.create_connection(("127.0.0.1", data_port), timeout=10) as peer:
            for seq in range(1, REQUESTS + 1):
                peer.sendall(frame(1, bytes([0x08, seq])))
            expected = b"".join(frame(2, bytes([0x08, seq])) for seq in range(1, REQUESTS + 1))
            replies = b""
            while len(replies) < len(expected):
                replies += peer.recv(4096)
            assert replies == expected

        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
            exposition = r.read()
        lint = subprocess.run(["promtool", "check", "metrics"], input=exposition,
                              capture_output=True)
        if lint.returncode != 0:
            print(f"prometheus_scrape: promtool: {lint.stdout!r} {lint.stderr!r}",
                  file=sys.stderr)
            return 1

        web_port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as out:
            out.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                      "scrape_configs:\n  - job_name: wiregen\n    static_configs:\n"
                      f"      - targets: ['127.0.0.1:{admin_port}']\n")
        log = open(os.path.join(work, "prometheus.log"), "w")
        prometheus = subprocess.Popen(
            [args.prometheus, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(work, 'data')}",
             f"--web.listen-address=127.0.0.1:{web_port}"], stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        frames = up = None
        while time.monotonic() < deadline:
            try:
                frames = query(web_port, 'wiregen_frames_received_total{job="wiregen"}')
                up = query(web_port, 'up{job="wiregen"}')
            except OSError:
                pass  # Prometheus still starting
            if frames == str(REQUESTS) and up == "1":
                break
            time.sleep(0.2)  # polling Prometheus's API: it scrapes on its own schedule
        print(f"prometheus_scrape: Prometheus on :{web_port} scraped :{admin_port}: "
              f"wiregen_frames_received_total = {frames}, up = {up}")
        if frames != str(REQUESTS) or up != "1":
            log.flush()
            print(open(os.path.join(work, "prometheus.log")).read()[-2000:], file=sys.stderr)
            return 1
        return 0
    finally:
        for process in (prometheus, server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
