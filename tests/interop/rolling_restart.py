#!/usr/bin/env python3
"""Restart two echo servers behind a real HAProxy, one at a time, without losing a request.

usage: rolling_restart.py --server PATH/TO/echo_server [--haproxy haproxy]

Starts two echo_server processes (a and b) with --admin and --shutdown-delay 1000 on fixed
loopback ports, and HAProxy (Debian package haproxy) in TCP mode in front of them, checking
each one's GET /readyz every 100 ms (the configuration is HAPROXY_CONFIG below, the one
docs/operations.md shows). Four client threads then send EchoRequests through HAProxy for the
whole run: connect, 20 requests one at a time (each reply read and compared before the next
request goes), close, again. Meanwhile each server in turn gets SIGTERM; the test waits until
HAProxy has it DOWN, until it exits with 0, starts it again on the same ports and waits until
HAProxy has it UP, letting at least 200 replies pass between the steps. Every request must get
its reply (0 failed, 0 lost), at least 500 requests must have gone through, and each server
must have served again after its restart. HAProxy's stats socket tells the server states and
how many sessions each server took. Exits 0 when all hold, 1 otherwise; a missing haproxy is a
failure, not a skip.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from bench_wire import frame, free_port, varint

DEADLINE = 90  # seconds for the whole check
SHUTDOWN_DELAY_MS = 1000  # echo_server --shutdown-delay: > inter x fall + a connection's life
CLIENT_THREADS = 4
REQUESTS_PER_CONNECTION = 20
REPLIES_BETWEEN_STEPS = 200
MIN_REQUESTS = 500
POLL = 0.05  # seconds between looks at HAProxy, a server or the client's counts

HAPROXY_CONFIG = """\
global
    stats socket {socket} level admin

defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch 1

frontend echo_in
    bind 127.0.0.1:{frontend}
    default_backend echo

backend echo
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1
    server a 127.0.0.1:{a_data} check port {a_admin}
    server b 127.0.0.1:{b_data} check port {b_admin}
"""


class Failure(Exception):
    """The check failed; the message says why."""


def await_state(what, check, deadline):
    """Calls check() every POLL seconds until it returns something true; returns that."""
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(POLL)


def tail(path, limit=2000):
    try:
        with open(path, errors="replace") as log:
            return log.read()[-limit:]
    except OSError as error:
        return f"({error})"


class EchoServer:
    """One echo_server on fixed data and admin ports, started again after each stop."""

    def __init__(self, name, binary, work):
        self.name = name
        self.binary = binary
        self.data_port = free_port()
        self.admin_port = free_port()
        self.log_path = os.path.join(work, f"echo_{name}.log")
        self.process = None

    def start(self, deadline):
        with open(self.log_path, "a") as log:
            log.write(f"--- rolling_restart: starting {self.name}\n")
            offset = log.tell()
            self.process = subprocess.Popen(
                [self.binary, "--listen", f"127.0.0.1:{self.data_port}", "--threads", "1",
                 "--admin", f"127.0.0.1:{self.admin_port}",
                 "--shutdown-delay", str(SHUTDOWN_DELAY_MS)],
                stdout=log, stderr=log)

        def listening():
            if self.process.poll() is not None:
                raise Failure(f"echo_server {self.name} exited with {self.process.returncode} "
                              f"at start:\n{tail(self.log_path)}")
            with open(self.log_path) as log:
                log.seek(offset)
                return f"listening on 127.0.0.1:{self.data_port}" in log.read()

        await_state(f"echo_server {self.name} to listen", listening, deadline)
        await_state(f"echo_server {self.name}'s /readyz", lambda: self.get("/readyz")[0] == 200,
                    deadline)

    def get(self, path):
        """(status, body) of an admin request; (None, error) when the port does not answer."""
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:
            return None, str(error)

    def frames_received(self):
        status, body = self.get("/metrics")
        found = re.search(r"^wiregen_frames_received_total (\d+)", body, re.MULTILINE)
        if status != 200 or not found:
            raise Failure(f"echo_server {self.name}'s /metrics: {status} {body[:200]!r}")
        return int(found.group(1))

    def wait(self, deadline):
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise Failure(f"echo_server {self.name} did not exit after SIGTERM") from None

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class HAProxy:
    def __init__(self, binary, work, servers):
        self.binary = binary
        self.socket_path = os.path.join(work, "haproxy.sock")
        self.config_path = os.path.join(work, "haproxy.cfg")
        self.log_path = os.path.join(work, "haproxy.log")
        self.frontend_port = free_port()
        self.process = None
        a, b = servers
        with open(self.config_path, "w") as config:
            config.write(HAPROXY_CONFIG.format(
                socket=self.socket_path, frontend=self.frontend_port,
                a_data=a.data_port, a_admin=a.admin_port,
                b_data=b.data_port, b_admin=b.admin_port))

    def start(self):
        check = subprocess.run([self.binary, "-c", "-f", self.config_path],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise Failure(f"haproxy -c rejects the configuration: {check.stdout}{check.stderr}")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([self.binary, "-db", "-f", self.config_path],
                                            stdout=log, stderr=log)

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(self.socket_path)
            sock.sendall(line.encode() + b"\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return answer.decode()

    def stats(self):
        """{server name: show stat's row as a dict} for the backend's servers."""
        if self.process.poll() is not None:
            raise Failure(f"haproxy exited with {self.process.returncode}:\n"
                          f"{tail(self.log_path)}")
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "echo" and row.get("svname") in ("a", "b"):
                rows[row["svname"]] = row
        return rows

    def has_status(self, name, wanted):
        """Server `name`'s row when it is UP after a passed check, or DOWN; else None."""
        try:
            row = self.stats()[name]
        except OSError:
            return None  # the stats socket is not there yet
        if wanted == "UP":
            return row if row["status"] == "UP" and row["check_status"] == "L7OK" else None
        return row if row["status"].startswith("DOWN") else None

    def await_status(self, name, wanted, deadline):
        return await_state(f"HAProxy to see server {name} {wanted}",
                           lambda: self.has_status(name, wanted), deadline)


class Client:
    """Threads that send EchoRequests through HAProxy, 20 per connection, until stopped."""

    def __init__(self, port, started):
        self.port = port
        self.started = started
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.next_seq = 1
        self.sent = 0
        self.replies = 0
        self.connections = 0
        self.failures = []  # (seconds since start, what happened)
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(CLIENT_THREADS)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self, deadline):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self.threads)

    def fail(self, what):
        with self.lock:
            self.failures.append((time.monotonic() - self.started, what))

    def run(self):
        while not self.stopping.is_set():
            try:
                peer = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError as error:
                self.fail(f"connect: {error}")
                time.sleep(POLL)
                continue
            with self.lock:
                self.connections += 1
            with peer:
                self.converse(peer)

    def converse(self, peer):
        for i in range(REQUESTS_PER_CONNECTION):
            with self.lock:
                seq = self.next_seq
                self.next_seq += 1
                self.sent += 1
            body = bytes([0x08]) + varint(seq)  # EchoRequest{seq}
            try:
                peer.sendall(frame(1, body))
                length, kind = struct.unpack(">IH", self.receive(peer, 6))
                reply = self.receive(peer, length - 2)
            except (OSError, EOFError) as error:
                self.fail(f"request {i + 1} of its connection (seq {seq}): "
                          f"{type(error).__name__}: {error}")
                return
            if kind != 2 or reply != body:
                self.fail(f"seq {seq}: wrong reply kind {kind} body {reply!r}")
                return
            with self.lock:
                self.replies += 1

    @staticmethod
    def receive(peer, size):
        data = b""
        while len(data) < size:
            chunk = peer.recv(size - len(data))
            if not chunk:
                raise EOFError("connection closed before the reply")
            data += chunk
        return data

    def replied(self):
        with self.lock:
            return self.replies


def restart(server, haproxy, deadline):
    """SIGTERM, DOWN in HAProxy, exit 0, start again, UP in HAProxy; returns timings."""
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)

    def down():
        if server.process.poll() is not None:
            raise Failure(f"echo_server {server.name} exited (code {server.process.returncode}) "
                          "before HAProxy saw it DOWN")
        return haproxy.has_status(server.name, "DOWN")

    await_state(f"HAProxy to see server {server.name} DOWN", down, deadline)
    went_down = time.monotonic() - began
    code = server.wait(deadline)
    exited = time.monotonic() - began
    if code != 0:
        raise Failure(f"echo_server {server.name} exited with {code} after SIGTERM:\n"
                      f"{tail(server.log_path)}")
    sessions_before = int(haproxy.stats()[server.name]["stot"])
    server.start(deadline)
    row = haproxy.await_status(server.name, "UP", deadline)
    up_again = time.monotonic() - began
    return {"down": went_down, "exited": exited, "up": up_again,
            "sessions_before": sessions_before, "stot_at_up": int(row["stot"])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--haproxy", default="haproxy")
    args = parser.parse_args()
    haproxy_binary = shutil.which(args.haproxy) or shutil.which(args.haproxy, path="/usr/sbin")
    if haproxy_binary is None:
        print(f"rolling_restart: {args.haproxy} not found; install the Debian package haproxy "
              "(scripts/install-deps.sh)", file=sys.stderr)
        return 1
    started = time.monotonic()
    deadline = started + DEADLINE
    work = tempfile.mkdtemp(prefix="wiregen-haproxy-")
    servers = [EchoServer("a", args.server, work), EchoServer("b", args.server, work)]
    haproxy = HAProxy(haproxy_binary, work, servers)
    client = None
    ok = False
    try:
        for server in servers:
            server.start(deadline)
        haproxy.start()
        for server in servers:
            haproxy.await_status(server.name, "UP", deadline)

        client = Client(haproxy.frontend_port, started)
        client.start()
        target = REPLIES_BETWEEN_STEPS
        await_state(f"{target} replies", lambda: client.replied() >= target, deadline)
        timings = {}
        for server in servers:
            timings[server.name] = restart(server, haproxy, deadline)
            target = client.replied() + REPLIES_BETWEEN_STEPS
            await_state(f"{target} replies", lambda: client.replied() >= target, deadline)

        def both_served_again():
            stats = haproxy.stats()
            return all(int(stats[s.name]["stot"]) > timings[s.name]["stot_at_up"]
                       for s in servers)

        await_state("both servers to serve after their restart", both_served_again, deadline)
        if not client.stop(deadline):
            raise Failure("client threads still running at the deadline")
        stats = haproxy.stats()
        frames_after = {s.name: s.frames_received() for s in servers}

        lost = client.sent - client.replies
        failed = len(client.failures)
        parts = []
        for s in servers:
            t = timings[s.name]
            before = t["sessions_before"]
            after = int(stats[s.name]["stot"]) - t["stot_at_up"]
            parts.append(f"server {s.name} served {before} then {after} connections "
                         f"({frames_after[s.name]} requests since its restart)")
        restarts = ", ".join(
            f"{name} DOWN in {t['down']:.2f} s, exited in {t['exited']:.2f} s, "
            f"UP in {t['up']:.2f} s" for name, t in timings.items())
        retries = sum(int(stats[s.name]["wretr"] or 0) for s in servers)
        redispatches = sum(int(stats[s.name]["wredis"] or 0) for s in servers)
        connect_errors = sum(int(stats[s.name]["econ"] or 0) for s in servers)
        print(f"rolling_restart: {client.sent} requests, {client.replies} replies, "
              f"{failed} failed, {lost} lost on {client.connections} connections; "
              f"{'; '.join(parts)}; restarts: {restarts}; haproxy: {connect_errors} connect "
              f"errors, {retries} retries, {redispatches} redispatches")

        problems = []
        for when, what in client.failures[:10]:
            problems.append(f"at {when:.2f} s: {what}")
        if failed or lost:
            problems.append(f"{failed} failed and {lost} lost requests, expected none")
        if client.sent < MIN_REQUESTS:
            problems.append(f"only {client.sent} requests, expected at least {MIN_REQUESTS}")
        for s in servers:
            if timings[s.name]["sessions_before"] == 0 or frames_after[s.name] == 0:
                problems.append(f"server {s.name} did not serve both before and after its "
                                "restart")
        for problem in problems:
            print("rolling_restart: " + problem, file=sys.stderr)
        if problems:
            return 1

        haproxy.process.terminate()
        try:
            haproxy.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise Failure("haproxy did not exit after SIGTERM") from None
        for s in servers:
            s.process.send_signal(signal.SIGTERM)
        for s in servers:
            code = s.wait(deadline)
            if code != 0:
                raise Failure(f"echo_server {s.name} exited with {code} at the end")
        ok = True
        return 0
    except Failure as failure:
        print(f"rolling_restart: {failure}", file=sys.stderr)
        if client is not None:
            print(f"rolling_restart: the client so far: {client.sent} requests, "
                  f"{client.replies} replies, failures: {client.failures[:10]}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.stopping.set()
        if haproxy.process is not None and haproxy.process.poll() is None:
            haproxy.process.kill()
            haproxy.process.wait()
        for server in servers:
            server.kill()
        if not ok:
            for path in [s.log_path for s in servers] + [haproxy.log_path]:
                print(f"--- {os.path.basename(path)}:\n{tail(path)}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
