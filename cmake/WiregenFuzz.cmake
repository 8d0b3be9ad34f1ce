# wiregen_add_fuzz_target(): the libFuzzer target of one generated protocol,
# <name>.wiregen.fuzz.cc over tools/fuzz/wiregen_fuzz.hpp (docs/reliability.md).
#
#   wiregen_add_fuzz_target(<program>
#     PROTOCOL <target>   # the library wiregen_generate() made
#     [PROTO <name>]      # which of its .proto files (name without .proto);
#                         # default: its only one
#     [CORPUS <dir>]      # seed inputs: with it, a ctest entry fuzz.<program>
#     [RUNS <n>])         # runs the target over them for n inputs (50000)
#
# Needs a Clang with libFuzzer (Debian: clang-14, libfuzzer-14-dev). Configure
# with -DWIREGEN_FUZZ=ON, which builds everything for coverage with
# AddressSanitizer and UndefinedBehaviorSanitizer.
include_guard(GLOBAL)

get_filename_component(WIREGEN_FUZZ_RUNNER "${CMAKE_CURRENT_LIST_DIR}/run_fuzz_target.cmake"
                       ABSOLUTE)
get_filename_component(WIREGEN_FUZZ_HARNESS_DIR "${CMAKE_CURRENT_LIST_DIR}/../tools/fuzz"
                       ABSOLUTE)

# Instruments what is built after it for libFuzzer's coverage and the
# sanitizers; called once, at the top, by a build made for fuzzing.
macro(wiregen_fuzz_instrument)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WIREGEN_FUZZ needs Clang with libFuzzer: configure with "
                        "-DCMAKE_CXX_COMPILER=clang++-14 (Debian: clang-14 libfuzzer-14-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endmacro()

# A libFuzzer program from `sources`, with a ctest entry when CORPUS is given.
function(wiregen_add_fuzzer program)
  cmake_parse_arguments(arg "" "CORPUS;RUNS" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${program} ${arg_SOURCES})
  # The harness (tools/fuzz/wiregen_fuzz.hpp) quiets protobuf's log.
  if(NOT TARGET protobuf::libprotobuf)
    find_package(Protobuf REQUIRED)
  endif()
  target_include_directories(${program} PRIVATE "${WIREGEN_FUZZ_HARNESS_DIR}")
  target_link_libraries(${program} PRIVATE ${arg_LIBRARIES} protobuf::libprotobuf)
  target_link_options(${program} PRIVATE -fsanitize=fuzzer)
  if(arg_CORPUS)
    if(NOT arg_RUNS)
      set(arg_RUNS 50000)
    endif()
    add_test(NAME fuzz.${program}
             COMMAND "${CMAKE_COMMAND}" "-DPROGRAM=$<TARGET_FILE:${program}>"
                     "-DSEEDS=${arg_CORPUS}" "-DWORK=${CMAKE_CURRENT_BINARY_DIR}/${program}.corpus"
                     "-DRUNS=${arg_RUNS}" -P "${WIREGEN_FUZZ_RUNNER}")
    set_tests_properties(fuzz.${program} PROPERTIES TIMEOUT 120)
  endif()
endfunction()

function(wiregen_add_fuzz_target program)
  cmake_parse_arguments(arg "" "PROTOCOL;PROTO;CORPUS;RUNS" "" ${ARGN})
  if(NOT arg_PROTOCOL)
    message(FATAL_ERROR "wiregen_add_fuzz_target(${program}): PROTOCOL is required, e.g. "
                        "PROTOCOL echo_protocol")
  endif()
  get_target_property(sources ${arg_PROTOCOL} WIREGEN_FUZZ_SOURCES)
  if(NOT sources)
    message(FATAL_ERROR "wiregen_add_fuzz_target(${program}): ${arg_PROTOCOL} has no "
                        "wiregen_generate() output")
  endif()
  if(arg_PROTO)
    list(FILTER sources INCLUDE REGEX "(^|/)${arg_PROTO}\\.wiregen\\.fuzz\\.cc$")
  endif()
  list(LENGTH sources count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "wiregen_add_fuzz_target(${program}): name one of the protos of "
                        "${arg_PROTOCOL} with PROTO <name>")
  endif()
  wiregen_add_fuzzer(${program} SOURCES ${sources} LIBRARIES ${arg_PROTOCOL}
                     CORPUS "${arg_CORPUS}" RUNS "${arg_RUNS}")
endfunction()
