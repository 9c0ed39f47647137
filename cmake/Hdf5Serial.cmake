# HDF5, serial thread-safe flavour, C API. Debian's plain hdf5.pc may point at the MPI flavour
# when libhdf5-openmpi-dev is installed too, so ask for hdf5-serial explicitly.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HDF5_SERIAL REQUIRED IMPORTED_TARGET hdf5-serial)
add_library(hdf5::hdf5 INTERFACE IMPORTED)
target_link_libraries(hdf5::hdf5 INTERFACE PkgConfig::HDF5_SERIAL)
