# cmake -P: one bounded fuzzing run for ctest. Starts from an empty working
# corpus (new inputs go there, never into the checked-in seeds), runs
# PROGRAM over SEEDS for RUNS inputs with a fixed seed, and fails on a crash
# or a violated invariant (its input is written to WORK).
# Inputs: PROGRAM, SEEDS, WORK, RUNS.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(
  COMMAND "${PROGRAM}" -runs=${RUNS} -seed=1 -print_final_stats=1 -timeout=10
          "-artifact_prefix=${WORK}/" "${WORK}" "${SEEDS}"
  RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${PROGRAM} failed (${failed}); the input is in ${WORK}/")
endif()
