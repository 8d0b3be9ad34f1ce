# Build step of the Java interop peers (cmake -P): protoc --java_out for the
# bench protocol's .proto, then javac in two passes, so that protoc's generated
# code (which we do not own) is compiled quietly and ours with every lint on.
#
#   -DPROTOC= -DPROTO= -DJAVAC= -DCLASSPATH= -DSOURCES=<list> -DOUT= -DWERROR=ON|OFF
foreach(var PROTOC PROTO JAVAC CLASSPATH SOURCES OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build_java.cmake: -D${var}= is required")
  endif()
endforeach()

# Start clean: a class left from a deleted or renamed source must not linger.
file(REMOVE_RECURSE "${OUT}/gen" "${OUT}/classes")
file(MAKE_DIRECTORY "${OUT}/gen" "${OUT}/classes")

get_filename_component(proto_dir "${PROTO}" DIRECTORY)
execute_process(
  COMMAND "${PROTOC}" "--proto_path=${proto_dir}" "--java_out=${OUT}/gen" "${PROTO}"
  RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "build_java.cmake: protoc --java_out failed for ${PROTO}")
endif()

# The generated file names follow the .proto's java options; find them rather than guess.
file(GLOB_RECURSE generated "${OUT}/gen/*.java")
execute_process(
  COMMAND "${JAVAC}" --release 17 -encoding UTF-8 -nowarn -cp "${CLASSPATH}"
          -d "${OUT}/classes" ${generated}
  RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "build_java.cmake: javac failed on protoc's output; is protobuf.jar "
          "(libprotobuf-java) the same version as protoc?")
endif()

set(werror)
if(WERROR)
  set(werror -Werror)
endif()
execute_process(
  COMMAND "${JAVAC}" --release 17 -encoding UTF-8 -Xlint:all ${werror}
          -cp "${OUT}/classes:${CLASSPATH}" -d "${OUT}/classes" ${SOURCES}
  RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "build_java.cmake: javac failed on the interop sources")
endif()
