# cmake -P: configure, build and run tests/cmake/consumer against this tree.
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}"
                        "-DWIREGEN_ROOT=${WIREGEN_ROOT}" "-DWIREGEN_PYTHON=${WIREGEN_PYTHON}"
                RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "configuring the consumer project failed")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY}" -j2 RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "building the consumer project failed")
endif()
execute_process(COMMAND "${BINARY}/ping_pong" RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "the consumer's ping_pong failed")
endif()
