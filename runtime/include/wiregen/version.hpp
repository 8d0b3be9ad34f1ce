#pragma once

/// The interface generated code is written against. Generated headers
/// static_assert on it, so stale generated code fails to compile with a clear
/// message instead of misbehaving. Bump it with generator/wiregen/__init__.py.
#define WIREGEN_ABI_VERSION 1

#define WIREGEN_VERSION_STRING "0.1.0"
