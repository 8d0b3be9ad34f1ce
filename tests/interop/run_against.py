"""Start an echo server on a free loopback port, run a client against it,
then stop the server with SIGINT and require a clean exit from both.

usage: run_against.py ECHO_SERVER BENCH_CLIENT_PY
"""

import re
import signal
import subprocess
import sys


def main() -> int:
    server_path, client_path = sys.argv[1:3]
    server = subprocess.Popen([server_path, "--listen", "127.0.0.1:0", "--threads", "2"],
                              stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stderr.readline()  # blocks until the server listens
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", banner)
        if not match:
            print(f"run_against: unexpected server output: {banner!r}", file=sys.stderr)
            return 1
        client = subprocess.run([sys.executable, client_path, "--connect",
                                 f"127.0.0.1:{match.group(1)}", "--connections", "4",
                                 "--requests", "300", "--pipeline", "32"], timeout=60)
        server.send_signal(signal.SIGINT)
        server_status = server.wait(timeout=30)
        print(f"run_against: client exit {client.returncode}, server exit {server_status}")
        return 0 if client.returncode == 0 and server_status == 0 else 1
    finally:
        if server.poll() is None:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
