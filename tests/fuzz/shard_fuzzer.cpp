// Fuzzes the shard reader's validation: the input decides the header attributes, the index
// rows and the dataset sizes of a well-formed HDF5 file (fuzzing HDF5's own parser is not our
// job). Opening and reading must give samples or a DataError, nothing else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/hdf5_handle.h"
#include "data/shard_format.h"
#include "data/shard_reader.h"

namespace {

namespace h5 = dunet::data::h5;
namespace shard = dunet::data::shard;

struct Input {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  int64_t next(int64_t lo, int64_t hi) {
    uint64_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | (at < size ? data[at++] : 0);
    return lo + static_cast<int64_t>(v % static_cast<uint64_t>(hi - lo + 1));
  }
};

void write_dataset(hid_t file, const char* name, hid_t type, std::vector<hsize_t> dims,
                   const void* values) {
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  h5::Handle set(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  h5::silence_errors();
  Input in{data, size};
  char path[] = "/tmp/dunet-shard-fuzz-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return 0;
  close(fd);
  {
    h5::Handle file(H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    const bool ours = in.next(0, 7) != 0;
    h5::write_attr(file.get(), shard::kAttrFormat, std::string(ours ? shard::kFormatName : "x"));
    h5::write_attr(file.get(), shard::kAttrVersion, in.next(0, 2));
    h5::write_attr(file.get(), shard::kAttrSplit, std::string("train"));
    const int64_t num_samples = in.next(0, 4);
    h5::write_attr(file.get(), shard::kAttrNumSamples,
                   in.next(0, 7) == 0 ? in.next(-2, 6) : num_samples);
    const int64_t channels = in.next(0, 4);
    h5::write_attr(file.get(), shard::kAttrChannels, channels);
    for (const char* name : {shard::kAttrShardIndex, shard::kAttrNumShards, shard::kAttrSeed}) {
      h5::write_attr(file.get(), name, in.next(-1, 3));
    }
    h5::write_attr(file.get(), shard::kAttrValFraction, 0.5);
    h5::write_attr(file.get(), shard::kAttrMean,
                   std::vector<double>(static_cast<size_t>(in.next(0, 4)), 0.5));
    h5::write_attr(file.get(), shard::kAttrStd,
                   std::vector<double>(static_cast<size_t>(in.next(0, 4)), 0.2));
    h5::write_attr(file.get(), shard::kAttrSource, std::string("fuzz"));
    const int64_t num_mask_bytes = in.next(0, 256);
    std::vector<uint8_t> masks(static_cast<size_t>(num_mask_bytes), 1);
    std::vector<uint8_t> images(static_cast<size_t>(num_mask_bytes * in.next(0, 4)), 7);
    if (in.next(0, 9) != 0)
      write_dataset(file.get(), shard::kMasks, H5T_NATIVE_UINT8, {masks.size()}, masks.data());
    if (in.next(0, 9) != 0)
      write_dataset(file.get(), shard::kImages, H5T_NATIVE_UINT8, {images.size()}, images.data());
    std::vector<int64_t> index;
    for (int64_t i = 0; i < num_samples * shard::kIndexColumns; ++i)
      index.push_back(in.next(-3, 300));
    if (in.next(0, 9) != 0 && !index.empty()) {
      write_dataset(file.get(), shard::kIndex, H5T_NATIVE_INT64,
                    {static_cast<hsize_t>(num_samples), static_cast<hsize_t>(shard::kIndexColumns)},
                    index.data());
    }
    h5::Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(string_type.get(), H5T_VARIABLE);
    std::vector<const char*> ids(static_cast<size_t>(num_samples), "id");
    if (in.next(0, 9) != 0 && !ids.empty()) {
      write_dataset(file.get(), shard::kIds, string_type.get(), {ids.size()}, ids.data());
    }
  }
  try {
    const dunet::data::ShardReader reader(path);
    for (int64_t i = 0; i < reader.size(); ++i) reader.read(i);
  } catch (const dunet::DataError&) {
  }
  unlink(path);
  return 0;
}
