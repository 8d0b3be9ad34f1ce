#!/usr/bin/env python3
"""Check echo_server's JSON Lines log from outside.

usage: echo_logging.py --server PATH/TO/echo_server

Starts echo_server with --log debug --log-format json on a free loopback port, echoes one
request on one connection, sends one frame of an unknown message id on another, closes both,
then stops the server with SIGTERM. Every line the server wrote to stderr that starts with "{"
must parse as JSON, and the records must tell, in order: listening, running, the connections
opening and closing (the bad one with unknown_message_id after a frame_error naming id 9),
draining and stopped. Exits 0 when they do, 1 otherwise.
"""

import argparse
import json
import select
import signal
import socket
import subprocess
import sys
import time

from bench_wire import frame

DEADLINE = 20  # seconds for the whole check


def read_records(proc, until, deadline):
    """Reads stderr lines until `until(records)` holds; returns (records, other lines)."""
    records, other = [], []
    buffer = b""
    while not until(records):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out; records so far: {[r['event'] for r in records]}")
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if not ready:
            continue
        chunk = proc.stderr.read1(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = line.decode()
            if text.startswith("{"):
                records.append(json.loads(text))  # a line that is not JSON fails here
            else:
                other.append(text)
    return records, other


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    deadline = time.monotonic() + DEADLINE
    proc = subprocess.Popen(
        [args.server, "--listen", "127.0.0.1:0", "--threads", "1", "--log", "debug",
         "--log-format", "json"], stderr=subprocess.PIPE)
    try:
        records, _ = read_records(proc, lambda rs: any(r["event"] == "listening" for r in rs),
                                  deadline)
        address = next(r["address"] for r in records if r["event"] == "listening")
        host, port = address.rsplit(":", 1)

        with socket.create_connection((host, int(port)), timeout=10) as good:
            good.sendall(frame(1, bytes([0x08, 0x05])))  # EchoRequest{seq: 5}
            reply = b""
            while len(reply) < 8:
                reply += good.recv(64)
            assert reply == frame(2, bytes([0x08, 0x05])), reply
        more, _ = read_records(
            proc, lambda rs: any(r["event"] == "connection_closed" for r in rs), deadline)
        records += more
        with socket.create_connection((host, int(port)), timeout=10) as bad:
            bad.sendall(frame(9, b""))
            while bad.recv(64):
                pass  # until the server closes it

        more, _ = read_records(
            proc, lambda rs: any(r["event"] == "connection_closed" for r in rs), deadline)
        records += more
        proc.send_signal(signal.SIGTERM)
        more, _ = read_records(proc, lambda rs: any(
            r["event"] == "server_state" and r["fields"]["state"] == "stopped" for r in rs),
            deadline)
        records += more
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()

    events = [r["event"] if r["event"] != "server_state" else r["fields"]["state"]
              for r in records]
    print("echo_logging: " + " ".join(events))
    expected_order = ["listening", "running", "connection_opened", "connection_closed",
                      "connection_opened", "frame_error", "connection_closed", "draining",
                      "stopped"]
    problems = []
    if events != expected_order:
        problems.append(f"events {events}, expected {expected_order}")
    else:
        opened = [r for r in records if r["event"] == "connection_opened"]
        closed = [r for r in records if r["event"] == "connection_closed"]
        bad = next(r for r in records if r["event"] == "frame_error")
        if [r["conn"] for r in opened] != [r["conn"] for r in closed]:
            problems.append("open and close records do not name the same connections")
        if closed[0]["level"] != "debug" or closed[0]["error"]["message"] != "End of file":
            problems.append(f"the good connection's close: {closed[0]}")
        if closed[0]["fields"]["frames_in"] != "1" or closed[0]["fields"]["frames_out"] != "1":
            problems.append(f"the good connection's counts: {closed[0]['fields']}")
        if (bad["level"], bad["fields"]["id"], bad["conn"]) != ("warning", "9", opened[1]["conn"]):
            problems.append(f"the frame error: {bad}")
        if closed[1]["level"] != "info" or closed[1]["error"]["category"] != "wiregen":
            problems.append(f"the bad connection's close: {closed[1]}")
        if proc.returncode != 0:
            problems.append(f"echo_server exited with {proc.returncode}")
    for problem in problems:
        print("echo_logging: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
