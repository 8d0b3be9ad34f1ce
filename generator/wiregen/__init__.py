"""protoc-gen-wiregen: framing spec + .proto descriptors -> C++ codecs and dispatch."""

__version__ = "0.1.0"

# Generated headers static_assert against the runtime's WIREGEN_ABI_VERSION;
# bump both together whenever generated code needs a different runtime.
RUNTIME_ABI = 1
