# Warnings for dunet's own targets only; third-party headers come in as SYSTEM includes.
function(dunet_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wno-missing-field-initializers)  # aggregates with defaulted members are idiomatic
  if(DUNET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
