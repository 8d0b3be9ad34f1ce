# wiregen_add_load_tool(): a load generator for one generated protocol.
#
#   wiregen_add_load_tool(<program>
#     PROTOCOL <target>        # the library wiregen_generate() made
#     HEADER <name.wiregen.h>  # its generated header
#     NAMESPACE <ns>)          # its namespace (the .proto package, :: between parts)
#
# The program is tools/load/wiregen_load.hpp over <ns>::protocol: K
# connections with D requests in flight each, an rpc or a message chosen by
# name, the request in protobuf text format; it prints one JSON report.
# See docs/performance.md, "A load generator for any protocol".
function(wiregen_add_load_tool program)
  cmake_parse_arguments(arg "" "PROTOCOL;HEADER;NAMESPACE" "" ${ARGN})
  if(NOT arg_PROTOCOL OR NOT arg_HEADER OR NOT arg_NAMESPACE)
    message(FATAL_ERROR "wiregen_add_load_tool(${program}): PROTOCOL, HEADER and NAMESPACE "
                        "are required, e.g. PROTOCOL echo_protocol HEADER echo.wiregen.h "
                        "NAMESPACE bench")
  endif()
  set(main "${CMAKE_CURRENT_BINARY_DIR}/${program}_main.cpp")
  file(CONFIGURE OUTPUT "${main}" @ONLY CONTENT
"// Made by wiregen_add_load_tool(${program}): the load generator of @arg_NAMESPACE@::protocol.
#include \"@arg_HEADER@\"
#include \"wiregen_load.hpp\"

int main(int argc, char** argv) {
  return wiregen::load::main<@arg_NAMESPACE@::protocol>(argc, argv);
}
")
  add_executable(${program} "${main}")
  target_link_libraries(${program} PRIVATE ${arg_PROTOCOL} wiregen::load_tool)
endfunction()
