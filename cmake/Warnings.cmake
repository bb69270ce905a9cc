# Strict warning set for ringfold's own (host) code; -Werror unless RINGFOLD_WERROR=OFF.
set(RINGFOLD_WARNINGS -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
    -Wshadow -Wno-unused-parameter -Wvla)
if(RINGFOLD_WERROR)
  list(APPEND RINGFOLD_WARNINGS -Werror)
endif()
function(ringfold_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:${RINGFOLD_WARNINGS}>)
endfunction()
