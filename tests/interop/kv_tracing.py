#!/usr/bin/env python3
"""Check the tracing example's one line per call.

usage: kv_tracing.py --example PATH/TO/kv_tracing

Runs `kv_tracing --listen 127.0.0.1:0 --demo`, which serves the kv protocol with a message
observer and makes three calls from a client of its own: a put, a get of what it put, and a get
of a missing key. Its stdout must be exactly three call lines, in order, each naming the rpc,
the connection, the request id, the outcome (the last failed with status 404), a handler time,
and the sizes of the request and reply frames. Exits 0 when it is, 1 otherwise.
"""

import argparse
import re
import subprocess
import sys

LINE = re.compile(r"call (?P<rpc>Store\.\w+) conn=(?P<conn>\d+) request_id=(?P<id>\d+) "
                  r"(?P<outcome>\w+)(?: status=(?P<status>\d+))? handler=(?P<us>[\d.]+)us "
                  r"in=(?P<in>\d+)B out=(?P<out>\d+)B")

# rpc, request id, outcome, status, request frame size, reply frame size: a 10-byte header
# (u32 length, u16 type, u32 request id) and the protobuf payload.
EXPECTED = [
    ("Store.Put", "1", "ok", None, 10 + 14, 10 + 0),       # {key: colour, value: blue}; {}
    ("Store.Get", "2", "ok", None, 10 + 8, 10 + 6),        # {key: colour}; {value: blue}
    ("Store.Get", "3", "failed", "404", 10 + 6, 10 + 16),  # {key: size}; {404, "no key size"}
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--example", required=True)
    args = parser.parse_args()
    done = subprocess.run([args.example, "--listen", "127.0.0.1:0", "--demo"],
                          capture_output=True, text=True, timeout=30)
    print(done.stdout, end="")
    problems = []
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    if len(lines) != len(EXPECTED):
        problems.append(f"{len(lines)} lines, expected {len(EXPECTED)}")
    conns = set()
    for line, (rpc, request_id, outcome, status, size_in, size_out) in zip(lines, EXPECTED):
        match = LINE.fullmatch(line)
        if not match:
            problems.append(f"not a call line: {line!r}")
            continue
        got = (match["rpc"], match["id"], match["outcome"], match["status"], int(match["in"]),
               int(match["out"]))
        expected = (rpc, request_id, outcome, status, size_in, size_out)
        if got != expected:
            problems.append(f"{line!r}: expected {expected}")
        if not 0 < float(match["us"]) < 5e6:
            problems.append(f"{line!r}: handler time out of range")
        conns.add(match["conn"])
    if len(conns) != 1:
        problems.append(f"the calls came on one connection, the lines name {sorted(conns)}")
    for problem in problems:
        print(f"kv_tracing: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
