// Owning wrapper for HDF5 ids (files, datasets, spaces, types, attributes) and small helpers
// for the attributes of a shard. Keeps the HDF5 C API out of the rest of data/.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>
#include <vector>

namespace dunet::data::h5 {

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept { *this = std::move(other); }
  Handle& operator=(Handle&& other) noexcept {
    reset();
    std::swap(id_, other.id_);
    std::swap(closer_, other.closer_);
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Turns off HDF5's printing of its error stack; dunet reports errors itself. Idempotent.
void silence_errors();

void write_attr(hid_t object, const char* name, int64_t value);
void write_attr(hid_t object, const char* name, double value);
void write_attr(hid_t object, const char* name, const std::string& value);
void write_attr(hid_t object, const char* name, const std::vector<double>& values);

// Readers return false when the attribute is missing or has another type or size.
bool read_attr(hid_t object, const char* name, int64_t& value);
bool read_attr(hid_t object, const char* name, double& value);
bool read_attr(hid_t object, const char* name, std::string& value);
bool read_attr(hid_t object, const char* name, std::vector<double>& values);

}  // namespace dunet::data::h5
