# ASan + UBSan on the whole build when DUNET_SANITIZE is on.
if(DUNET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
