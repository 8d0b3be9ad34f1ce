# Stands in for a test whose component is missing here (cmake -P): fails with
# the reason found at configure time, so a missing JDK, jar or library is
# never a pass.
message(FATAL_ERROR "${REASON}")
