"""I/O only: CodeGeneratorRequest on stdin, CodeGeneratorResponse on stdout.

Set WIREGEN_DUMP_REQUEST=<file> to save the raw request, e.g. to turn a real
protoc invocation into a test fixture.
"""

import os
import sys

from google.protobuf.compiler import plugin_pb2

from wiregen.generate import generate


def main() -> None:
    data = sys.stdin.buffer.read()
    dump_path = os.environ.get("WIREGEN_DUMP_REQUEST")
    if dump_path:
        with open(dump_path, "wb") as dump:
            dump.write(data)
    request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    response = generate(request)
    sys.stdout.buffer.write(response.SerializeToString())
