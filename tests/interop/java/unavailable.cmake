# Stands in for a Java interop test that cannot run here (cmake -P): fails with
# the reason found at configure time, so a missing JDK or jar is never a pass.
message(FATAL_ERROR "${REASON}")
