# The rooms' layering, made a build rule. Each room's target gets one include root of its own
# (build/rooms/<target>) holding links to just the rooms it may include, so an #include of any
# other room fails to compile. A SEES entry is a room ("data") or one file of a room
# ("kernels/fast_paths.h", the single door of kernels/ that model/ may use).
# tests/layering/check_includes.sh reads the same SEES lists from each room's CMakeLists.txt.
#
#   dunet_room(<target> SEES <room or room/file.h>...)
function(dunet_room target)
  cmake_parse_arguments(ARG "" "" "SEES" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/rooms/${target})
  file(REMOVE_RECURSE ${root})
  foreach(entry IN LISTS ARG_SEES)
    if(NOT EXISTS ${DUNET_SOURCE_ROOT}/${entry})
      message(FATAL_ERROR "dunet_room(${target}): no ${entry} in the source tree")
    endif()
    get_filename_component(parent ${root}/${entry} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${DUNET_SOURCE_ROOT}/${entry} ${root}/${entry} SYMBOLIC)
  endforeach()
  target_include_directories(${target} PRIVATE ${root})
endfunction()
