# LibTorch as an imported target with SYSTEM includes, plus one shared precompiled header.
# A translation unit with <torch/torch.h> costs ~30 s and 1.2 GB; the PCH is built once and
# reused by every target that compiles torch code (same flags required, hence one helper).
add_library(dunet_torch INTERFACE)
target_link_libraries(dunet_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(dunet_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(dunet_torch INTERFACE ${TORCH_CXX_FLAGS})

add_library(dunet_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(dunet_torch_pch PUBLIC dunet_torch)
target_precompile_headers(dunet_torch_pch PRIVATE <torch/torch.h>)
dunet_target_warnings(dunet_torch_pch)  # -Wpedantic changes predefined macros: must match

function(dunet_use_torch target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_link_libraries(${target} PRIVATE dunet_torch)
    target_compile_options(${target} PRIVATE -fPIC)  # the PCH is PIC; executables default to PIE
  else()
    target_link_libraries(${target} PUBLIC dunet_torch)
  endif()
  target_precompile_headers(${target} REUSE_FROM dunet_torch_pch)
endfunction()
