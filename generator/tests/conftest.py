"""Shared set-up for the generator's tests.

framing_pb2 is not checked in: it is generated here from
schema/wiregen/framing.proto with protoc (or taken from the directory named by
WIREGEN_FRAMING_PY_DIR), and put on sys.path with the generator's sources
before any wiregen module is imported.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, Iterable, List

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR_DIR = REPO / "generator"
FRAMING_PROTO = REPO / "schema" / "wiregen" / "framing.proto"
EXAMPLES = REPO / "schema" / "examples"
PROTOC = os.environ.get("PROTOC") or shutil.which("protoc") or "/usr/bin/protoc"

# The path diagnostics of spec_errors() name.
SPEC_PATH = "spec.framing.textpb"


def _framing_py_dir() -> str:
    given = os.environ.get("WIREGEN_FRAMING_PY_DIR")
    if given:
        if not os.path.isfile(os.path.join(given, "framing_pb2.py")):
            raise RuntimeError(f"WIREGEN_FRAMING_PY_DIR={given} has no framing_pb2.py")
        return given
    out_dir = tempfile.mkdtemp(prefix="wiregen-framing-py-")
    atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
    subprocess.run(
        [PROTOC, "-I", str(FRAMING_PROTO.parent), f"--python_out={out_dir}", str(FRAMING_PROTO)],
        check=True,
    )
    return out_dir


FRAMING_PY_DIR = _framing_py_dir()
for _path in (str(GENERATOR_DIR), FRAMING_PY_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from google.protobuf import descriptor_pb2  # noqa: E402
from google.protobuf.compiler import plugin_pb2  # noqa: E402

from wiregen.diagnostics import SpecError  # noqa: E402
from wiregen.framing import load_spec  # noqa: E402
from wiregen.validate import validate  # noqa: E402

# The bench protocol's messages, as validate() sees them: full name -> file.
BENCH_MESSAGES = {"bench.EchoRequest": "echo.proto", "bench.EchoReply": "echo.proto"}


def dedent(text: str) -> str:
    """textwrap.dedent without the leading newline of a triple-quoted string."""
    return textwrap.dedent(text).lstrip("\n")


def spec_errors(text: str, messages: Dict[str, str] = None, path: str = SPEC_PATH) -> List:
    """The diagnostics of loading and validating `text`; [] if it is valid."""
    try:
        validate(load_spec(path, dedent(text)), BENCH_MESSAGES if messages is None else messages)
    except SpecError as error:
        return error.diagnostics
    return []


def compile_protos(
    root: Path, files: Dict[str, str], inputs: Iterable[str] = None
) -> List[descriptor_pb2.FileDescriptorProto]:
    """Write `files` (name -> text) under `root` and compile them with protoc.

    Returns the descriptors of `inputs` (default: every file) and of their
    imports, dependencies first, as protoc hands them to a plugin.
    """
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dedent(text))
    out = root / "descriptors.pb"
    subprocess.run(
        [PROTOC, "-I", str(root), f"--descriptor_set_out={out}", "--include_imports",
         *(inputs or files)],
        check=True,
        cwd=root,
    )
    return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


def make_request(
    protos: Iterable[descriptor_pb2.FileDescriptorProto],
    generate: Iterable[str],
    parameter: str,
) -> plugin_pb2.CodeGeneratorRequest:
    request = plugin_pb2.CodeGeneratorRequest(parameter=parameter)
    request.proto_file.extend(protos)
    request.file_to_generate.extend(generate)
    return request


@pytest.fixture(scope="session")
def example_protos(tmp_path_factory) -> Dict[str, List[descriptor_pb2.FileDescriptorProto]]:
    """The descriptors of schema/examples/<name>/<name>.proto, by name."""
    result = {}
    for name in ("echo", "chat"):
        source = EXAMPLES / name / f"{name}.proto"
        result[name] = compile_protos(
            tmp_path_factory.mktemp(name), {source.name: source.read_text()}
        )
    return result


@pytest.fixture(scope="session")
def protoc_compile(tmp_path_factory):
    """compile_protos() into a fresh directory, once per distinct input."""
    cache = {}

    def run(files: Dict[str, str], inputs: Iterable[str] = None):
        key = (tuple(sorted(files.items())), tuple(inputs or ()))
        if key not in cache:
            cache[key] = compile_protos(tmp_path_factory.mktemp("protos"), files, inputs)
        return cache[key]

    return run
