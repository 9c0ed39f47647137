#include "data/hdf5_handle.h"

#include "core/error.h"

namespace dunet::data::h5 {

namespace {

Handle scalar_space() { return {H5Screate(H5S_SCALAR), H5Sclose}; }

void write_raw(hid_t object, const char* name, hid_t type, hid_t space, const void* data) {
  if (H5Aexists(object, name) > 0) H5Adelete(object, name);
  Handle attr(H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  // An empty attribute (null dataspace) has nothing to write; HDF5 must not see a null buffer.
  const bool ok = attr.valid() && (data == nullptr || H5Awrite(attr.get(), type, data) >= 0);
  DUNET_CHECK(ok, DataError, "cannot write HDF5 attribute '", name, "'");
}

Handle open_attr(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return {};
  return {H5Aopen(object, name, H5P_DEFAULT), H5Aclose};
}

// Number of elements of an attribute, or -1 when it is not a simple numeric one of `cls`.
hssize_t numeric_count(const Handle& attr, H5T_class_t cls) {
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != cls) return -1;
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  return H5Sget_simple_extent_npoints(space.get());
}

}  // namespace

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void write_attr(hid_t object, const char* name, int64_t value) {
  write_raw(object, name, H5T_NATIVE_INT64, scalar_space().get(), &value);
}

void write_attr(hid_t object, const char* name, double value) {
  write_raw(object, name, H5T_NATIVE_DOUBLE, scalar_space().get(), &value);
}

void write_attr(hid_t object, const char* name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  write_raw(object, name, type.get(), scalar_space().get(), value.data());
}

void write_attr(hid_t object, const char* name, const std::vector<double>& values) {
  if (values.empty()) {  // found by tests/fuzz/shard_fuzzer.cpp
    Handle space(H5Screate(H5S_NULL), H5Sclose);
    write_raw(object, name, H5T_NATIVE_DOUBLE, space.get(), nullptr);
    return;
  }
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  write_raw(object, name, H5T_NATIVE_DOUBLE, space.get(), values.data());
}

bool read_attr(hid_t object, const char* name, int64_t& value) {
  Handle attr = open_attr(object, name);
  if (!attr.valid() || numeric_count(attr, H5T_INTEGER) != 1) return false;
  return H5Aread(attr.get(), H5T_NATIVE_INT64, &value) >= 0;
}

bool read_attr(hid_t object, const char* name, double& value) {
  Handle attr = open_attr(object, name);
  if (!attr.valid() || numeric_count(attr, H5T_FLOAT) != 1) return false;
  return H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) >= 0;
}

bool read_attr(hid_t object, const char* name, std::string& value) {
  Handle attr = open_attr(object, name);
  if (!attr.valid()) return false;
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) return false;
  const size_t size = H5Tget_size(type.get());
  std::string text(size, '\0');
  if (H5Aread(attr.get(), type.get(), text.data()) < 0) return false;
  text.resize(text.find('\0') == std::string::npos ? size : text.find('\0'));
  value = text;
  return true;
}

bool read_attr(hid_t object, const char* name, std::vector<double>& values) {
  Handle attr = open_attr(object, name);
  if (!attr.valid()) return false;
  const hssize_t count = numeric_count(attr, H5T_FLOAT);
  if (count < 0) return false;
  values.resize(static_cast<size_t>(count));
  return count == 0 || H5Aread(attr.get(), H5T_NATIVE_DOUBLE, values.data()) >= 0;
}

}  // namespace dunet::data::h5
