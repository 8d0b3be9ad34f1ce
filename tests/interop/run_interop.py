"""Run one interop scenario: a server on a free loopback port, then clients against it.

usage: run_interop.py [--timeout S] SERVER <argv...> CLIENT <argv...> [CLIENT <argv...>]...

The server is started with its argv as given (it must listen on port 0) and is ready when it
prints `listening on HOST:PORT` on stderr, as echo_server and NettyEchoServer both do; every
`{port}` in a client's argv is replaced by that port and `{pid}` by the server's process id.
The clients run one after another and must each exit 0; then the server gets SIGTERM and must stop with status 0. Everything shares
one deadline, so a hung server or client fails the test instead of stalling ctest.
"""

import re
import signal
import subprocess
import sys
import threading
import time

READY = re.compile(r"listening on \S+:(\d+)\s*$")


def parse(argv):
    """Split argv at the SERVER and CLIENT keywords."""
    timeout = 60.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    if argv[:1] != ["SERVER"]:
        raise SystemExit(__doc__)
    commands = []
    for word in argv:
        if word in ("SERVER", "CLIENT"):
            commands.append([])
        else:
            commands[-1].append(word)
    if len(commands) < 2 or not all(commands):
        raise SystemExit(__doc__)
    return timeout, commands[0], commands[1:]


class ServerOutput(threading.Thread):
    """Forwards the server's stderr to ours and notes the port from its readiness line.

    Reading on until EOF also keeps the pipe drained, so the server never blocks on it.
    """

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.port = None
        self.ready = threading.Event()  # set at the readiness line, or at EOF

    def run(self):
        for line in self.stream:
            sys.stderr.write(f"[server] {line}")
            match = READY.search(line)
            if match and self.port is None:
                self.port = match.group(1)
                self.ready.set()
        self.ready.set()


def main() -> int:
    timeout, server_argv, clients = parse(sys.argv[1:])
    deadline = time.monotonic() + timeout

    def left():
        return max(0.1, deadline - time.monotonic())

    start = time.monotonic()
    server = subprocess.Popen(server_argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, errors="replace")
    output = ServerOutput(server.stderr)
    output.start()
    try:
        # An event, not a sleep: the line is printed once the socket listens.
        if not output.ready.wait(min(20.0, left())) or output.port is None:
            waited = time.monotonic() - start
            try:  # stderr closed: the server is most likely exiting; report its status
                status = server.wait(timeout=2)
            except subprocess.TimeoutExpired:
                status = "none, still running"
            print(f"run_interop: FAILED: server not ready after {waited:.1f} s "
                  f"(exit status {status}): {' '.join(server_argv)}", file=sys.stderr)
            return 1
        print(f"run_interop: server ready on port {output.port} after "
              f"{time.monotonic() - start:.2f} s", flush=True)

        for argv in clients:
            argv = [word.replace("{port}", output.port).replace("{pid}", str(server.pid))
                    for word in argv]
            began = time.monotonic()
            try:
                status = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=left()).returncode
            except subprocess.TimeoutExpired:
                print(f"run_interop: FAILED: client still running at the {timeout:.0f} s "
                      f"deadline: {' '.join(argv)}", file=sys.stderr)
                return 1
            print(f"run_interop: client exit {status} after {time.monotonic() - began:.2f} s",
                  flush=True)
            if status != 0:
                print(f"run_interop: FAILED: client exit status {status}: {' '.join(argv)}",
                      file=sys.stderr)
                return 1
            if server.poll() is not None:
                print(f"run_interop: FAILED: server exited early with status {server.returncode}",
                      file=sys.stderr)
                return 1

        # SIGTERM, not SIGINT: a shell that starts ctest in the background may have made its
        # children ignore SIGINT, and the JVM then leaves SIGINT ignored.
        server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(timeout=min(15.0, left()))
        except subprocess.TimeoutExpired:
            print("run_interop: FAILED: server did not stop within 15 s of SIGTERM",
                  file=sys.stderr)
            return 1
        output.join(timeout=5)
        print(f"run_interop: server exit {status}; total {time.monotonic() - start:.2f} s",
              flush=True)
        return 0 if status == 0 else 1
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
