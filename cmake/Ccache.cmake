# Use ccache when it is installed; the precompiled torch header needs its pch sloppiness.
find_program(DUNET_CCACHE ccache)
if(DUNET_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_NOHASHDIR=1" "CCACHE_BASEDIR=${CMAKE_SOURCE_DIR}"  # other clones (CI) hit the cache
      ${DUNET_CCACHE})
endif()
