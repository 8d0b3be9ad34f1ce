# wiregen_warnings: the warning flags wiregen's own code and generated code
# build with. Linked PRIVATE, so consumers never inherit them.
include_guard(GLOBAL)
add_library(wiregen_warnings INTERFACE)
target_compile_options(wiregen_warnings INTERFACE -Wall -Wextra -Wpedantic
                                                  $<$<BOOL:${WIREGEN_WERROR}>:-Werror>)
