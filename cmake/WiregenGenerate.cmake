# wiregen_generate(): run protoc and protoc-gen-wiregen on .proto files and add
# the generated codecs and dispatch to a target.
#
#   wiregen_generate(
#     TARGET <target>                 # gets the generated sources, the include
#                                     # directory, wiregen::runtime and protobuf
#     PROTOS <a.proto> [...]          # the protocol descriptions
#     [FRAMING <a.framing.textpb> ...] # one per proto; default: next to the proto,
#                                     # <name>.framing.textpb
#     [IMPORT_DIRS <dir> ...]         # protoc -I; default: each proto's directory
#     [OUT_DIR <dir>])                # default: ${CMAKE_CURRENT_BINARY_DIR}/wiregen
#
# For each <name>.proto it produces <name>.pb.h/.pb.cc (protoc) and
# <name>.wiregen.h/.wiregen.cc (wiregen) in OUT_DIR. They are regenerated when
# the .proto, the framing spec, the templates or the generator change.
# <name>.wiregen.fuzz.cc, the protocol's libFuzzer target, is made beside them
# and compiled only by wiregen_add_fuzz_target() (cmake/WiregenFuzz.cmake).
include_guard(GLOBAL)
include("${CMAKE_CURRENT_LIST_DIR}/WiregenDependencies.cmake")

get_filename_component(WIREGEN_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(WIREGEN_GENERATOR_DIR "${WIREGEN_ROOT}/generator")
set(WIREGEN_FRAMING_PROTO "${WIREGEN_ROOT}/schema/wiregen/framing.proto")
set(WIREGEN_FRAMING_PY_DIR "${CMAKE_BINARY_DIR}/wiregen_python")

# framing_pb2.py, the Python form of the spec format, is made at configure
# time; CMake reconfigures when framing.proto changes.
if(NOT EXISTS "${WIREGEN_FRAMING_PY_DIR}/framing_pb2.py"
   OR "${WIREGEN_FRAMING_PROTO}" IS_NEWER_THAN "${WIREGEN_FRAMING_PY_DIR}/framing_pb2.py")
  file(MAKE_DIRECTORY "${WIREGEN_FRAMING_PY_DIR}")
  get_target_property(_wiregen_protoc protobuf::protoc IMPORTED_LOCATION_NOCONFIG)
  if(NOT _wiregen_protoc)
    set(_wiregen_protoc "${Protobuf_PROTOC_EXECUTABLE}")
  endif()
  execute_process(
    COMMAND "${_wiregen_protoc}" -I "${WIREGEN_ROOT}/schema/wiregen"
            "--python_out=${WIREGEN_FRAMING_PY_DIR}" "${WIREGEN_FRAMING_PROTO}"
    RESULT_VARIABLE _wiregen_failed)
  if(_wiregen_failed)
    message(FATAL_ERROR "wiregen: protoc could not compile ${WIREGEN_FRAMING_PROTO}")
  endif()
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${WIREGEN_FRAMING_PROTO}")

set(WIREGEN_PLUGIN "${CMAKE_BINARY_DIR}/protoc-gen-wiregen")
configure_file("${CMAKE_CURRENT_LIST_DIR}/wiregen-plugin.sh.in" "${WIREGEN_PLUGIN}"
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                GROUP_EXECUTE WORLD_READ WORLD_EXECUTE @ONLY)

file(GLOB_RECURSE WIREGEN_GENERATOR_SOURCES CONFIGURE_DEPENDS
     "${WIREGEN_GENERATOR_DIR}/wiregen/*.py" "${WIREGEN_GENERATOR_DIR}/wiregen/templates/*.j2")
# wiregen_generate() may be called from any directory (a consumer's, above
# add_subdirectory(wiregen)), where this file's variables are not in scope.
set_property(GLOBAL PROPERTY WIREGEN_PLUGIN "${WIREGEN_PLUGIN}")
set_property(GLOBAL PROPERTY WIREGEN_GENERATOR_SOURCES "${WIREGEN_GENERATOR_SOURCES}")

function(wiregen_generate)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TARGET;OUT_DIR" "PROTOS;FRAMING;IMPORT_DIRS")
  if(arg_UNPARSED_ARGUMENTS)
    message(AUTHOR_WARNING "wiregen_generate: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_TARGET OR NOT arg_PROTOS)
    message(FATAL_ERROR "wiregen_generate: TARGET and PROTOS are required")
  endif()
  list(LENGTH arg_PROTOS proto_count)
  list(LENGTH arg_FRAMING framing_count)
  if(framing_count AND NOT framing_count EQUAL proto_count)
    message(FATAL_ERROR "wiregen_generate: give one FRAMING per proto (${proto_count}), "
            "or none to use <name>.framing.textpb next to each proto")
  endif()
  get_property(plugin GLOBAL PROPERTY WIREGEN_PLUGIN)
  get_property(generator_sources GLOBAL PROPERTY WIREGEN_GENERATOR_SOURCES)
  # Imported targets are visible only in the directory that found them.
  if(NOT TARGET protobuf::libprotobuf)
    find_package(Protobuf REQUIRED)
  endif()
  if(NOT arg_OUT_DIR)
    set(arg_OUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/wiregen")
  endif()
  file(MAKE_DIRECTORY "${arg_OUT_DIR}")

  set(index 0)
  foreach(proto IN LISTS arg_PROTOS)
    get_filename_component(proto "${proto}" ABSOLUTE)
    get_filename_component(proto_dir "${proto}" DIRECTORY)
    get_filename_component(proto_name "${proto}" NAME_WE)
    if(framing_count)
      list(GET arg_FRAMING ${index} framing)
      get_filename_component(framing "${framing}" ABSOLUTE)
    else()
      set(framing "${proto_dir}/${proto_name}.framing.textpb")
    endif()
    math(EXPR index "${index} + 1")

    set(import_args)
    set(import_dirs ${arg_IMPORT_DIRS})
    if(NOT import_dirs)
      set(import_dirs "${proto_dir}")
    endif()
    set(relative "")
    foreach(dir IN LISTS import_dirs)
      get_filename_component(dir "${dir}" ABSOLUTE)
      list(APPEND import_args -I "${dir}")
      file(RELATIVE_PATH candidate "${dir}" "${proto}")
      if(NOT relative AND NOT candidate MATCHES "^\\.\\./")
        set(relative "${candidate}")
      endif()
    endforeach()
    if(NOT relative)
      message(FATAL_ERROR "wiregen_generate: ${proto} is not under any IMPORT_DIRS")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem "${relative}")
    set(outputs "${arg_OUT_DIR}/${stem}.pb.h" "${arg_OUT_DIR}/${stem}.pb.cc"
                "${arg_OUT_DIR}/${stem}.wiregen.h" "${arg_OUT_DIR}/${stem}.wiregen.cc")
    set(fuzz_source "${arg_OUT_DIR}/${stem}.wiregen.fuzz.cc")
    add_custom_command(
      OUTPUT ${outputs} "${fuzz_source}"
      COMMAND protobuf::protoc ${import_args} "--cpp_out=${arg_OUT_DIR}" "${proto}"
      COMMAND protobuf::protoc ${import_args} "--plugin=protoc-gen-wiregen=${plugin}"
              "--wiregen_out=${arg_OUT_DIR}" "--wiregen_opt=framing=${framing}" "${proto}"
      DEPENDS "${proto}" "${framing}" ${generator_sources} "${plugin}"
              protobuf::protoc
      COMMENT "wiregen: generating ${stem}.wiregen.h/.cc from ${relative} and ${proto_name}.framing.textpb"
      VERBATIM)
    target_sources(${arg_TARGET} PRIVATE ${outputs})
    set_property(TARGET ${arg_TARGET} APPEND PROPERTY WIREGEN_FUZZ_SOURCES "${fuzz_source}")
  endforeach()
  target_include_directories(${arg_TARGET} PUBLIC "${arg_OUT_DIR}")
  target_link_libraries(${arg_TARGET} PUBLIC wiregen::runtime protobuf::libprotobuf)
endfunction()
