# cmake -P: regenerate the checked-in generated/ tree from schema/examples and
# compare it (MODE=check) or rewrite it (MODE=update).
# Inputs: PROTOC, PLUGIN, SCHEMA_DIR, GOLDEN_DIR, WORK_DIR, MODE.
file(REMOVE_RECURSE "${WORK_DIR}")
file(GLOB protos "${SCHEMA_DIR}/*/*.proto")
list(SORT protos)
set(stale "")
foreach(proto IN LISTS protos)
  get_filename_component(dir "${proto}" DIRECTORY)
  get_filename_component(name "${proto}" NAME_WE)
  file(MAKE_DIRECTORY "${WORK_DIR}/${name}")
  execute_process(
    COMMAND "${PROTOC}" -I "${dir}" "--plugin=protoc-gen-wiregen=${PLUGIN}"
            "--wiregen_out=${WORK_DIR}/${name}" "--wiregen_opt=framing=${dir}/${name}.framing.textpb"
            "${proto}"
    RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "protoc-gen-wiregen failed on ${proto}")
  endif()
  foreach(suffix wiregen.h wiregen.cc wiregen.fuzz.cc)
    set(fresh "${WORK_DIR}/${name}/${name}.${suffix}")
    set(golden "${GOLDEN_DIR}/${name}/${name}.${suffix}")
    if(MODE STREQUAL "update")
      file(MAKE_DIRECTORY "${GOLDEN_DIR}/${name}")
      file(COPY_FILE "${fresh}" "${golden}" ONLY_IF_DIFFERENT)
    else()
      execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${fresh}" "${golden}"
                      RESULT_VARIABLE different)
      if(different)
        list(APPEND stale "generated/${name}/${name}.${suffix}")
      endif()
    endif()
  endforeach()
endforeach()
if(stale)
  string(REPLACE ";" "\n  " stale "${stale}")
  message(FATAL_ERROR "generated/ is out of date with the generator:\n  ${stale}\n"
          "Refresh it with: cmake --build build --target wiregen_regenerate\n"
          "and commit the result (diff: git diff generated/).")
endif()
