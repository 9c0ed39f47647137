# Warnings for dunet's own targets only; third-party headers come in as SYSTEM includes.
function(dunet_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wno-missing-field-initializers)  # aggregates with defaulted members are idiomatic
  if(DUNET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # GCC 13 and 14 report out-of-bounds accesses inside libstdc++'s vector<bool> as inlined
    # from LibTorch 2.x's autograd headers (torch/csrc/autograd/custom_function.h) into our
    # functions: false positives in code that is not ours (GCC bug 107852 and relatives), which
    # SYSTEM includes cannot hide once inlined. They stay warnings, never errors; GCC 12 (Debian
    # 12) keeps them as errors for our own code.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 13)
      target_compile_options(${target} PRIVATE -Wno-error=array-bounds
        -Wno-error=stringop-overflow -Wno-error=stringop-overread)
    endif()
  endif()
endfunction()
