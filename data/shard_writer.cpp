#include "data/shard_writer.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

// HDF5 reports only that a write failed; the system's errno says why (ENOSPC, EROFS, ...).
std::string system_cause() {
  return errno != 0 ? std::strerror(errno) : "is the disk full or the folder read-only?";
}

constexpr hsize_t kChunkBytes = 256 << 10;  // ~one 256x256 RGB image per chunk

h5::Handle create_extendible(hid_t file, const char* name, hid_t type) {
  const hsize_t initial[1] = {0};
  const hsize_t unlimited[1] = {H5S_UNLIMITED};
  h5::Handle space(H5Screate_simple(1, initial, unlimited), H5Sclose);
  h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const hsize_t chunk[1] = {kChunkBytes / H5Tget_size(type)};
  H5Pset_chunk(props.get(), 1, chunk);
  H5Pset_fletcher32(props.get());  // a checksum per chunk: a flipped pixel fails its read
  h5::Handle dataset(
      H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT), H5Dclose);
  DUNET_CHECK(dataset.valid(), DataError, "cannot create dataset '", name, "' in HDF5 file");
  return dataset;
}

template <typename T>
void append_values(hid_t dataset, hid_t type, hsize_t offset, const std::vector<T>& bytes,
                   const fs::path& path) {
  errno = 0;
  const hsize_t new_size[1] = {offset + bytes.size()};
  bool ok = H5Dset_extent(dataset, new_size) >= 0;
  h5::Handle file_space(H5Dget_space(dataset), H5Sclose);
  const hsize_t start[1] = {offset};
  const hsize_t count[1] = {bytes.size()};
  ok = ok &&
       H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0;
  h5::Handle memory_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  ok = ok && H5Dwrite(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT,
                      bytes.data()) >= 0;
  DUNET_CHECK(ok, IoError, "cannot write to shard '", path.string(), "': ", system_cause());
}

}  // namespace

ShardWriter::ShardWriter(fs::path path, int64_t channels)
    : path_(std::move(path)), partial_path_(path_.string() + ".partial"), channels_(channels) {
  h5::silence_errors();
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path());
  file_ = h5::Handle(
      H5Fcreate(partial_path_.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  DUNET_CHECK(file_.valid(), IoError, "cannot create shard file '", partial_path_.string(),
              "': ", system_cause());
  images_ = create_extendible(file_.get(), shard::kImages, H5T_NATIVE_UINT8);
  masks_ = create_extendible(file_.get(), shard::kMasks, H5T_NATIVE_UINT8);
  labels_ = create_extendible(file_.get(), shard::kLabels, H5T_NATIVE_UINT16);
}

ShardWriter::~ShardWriter() {
  if (finished_) return;
  images_.reset();
  masks_.reset();
  labels_.reset();
  file_.reset();
  std::error_code ignored;
  fs::remove(partial_path_, ignored);
}

void ShardWriter::append(const Sample& sample, int64_t source_order) {
  DUNET_CHECK(sample.image.channels == channels_, DataError, "sample '", sample.id, "' has ",
              sample.image.channels, " channels; shard '", path_.string(), "' holds ", channels_);
  DUNET_ASSERT(static_cast<int64_t>(sample.mask.size()) == sample.image.num_pixels());
  DUNET_CHECK(static_cast<int64_t>(sample.labels.size()) == sample.image.num_pixels(), DataError,
              "sample '", sample.id, "' has no nucleus labels; shard '", path_.string(),
              "' needs them (version ", shard::kFormatVersion, ")");
  append_values(images_.get(), H5T_NATIVE_UINT8, static_cast<hsize_t>(num_pixels_ * channels_),
                sample.image.pixels, partial_path_);
  append_values(masks_.get(), H5T_NATIVE_UINT8, static_cast<hsize_t>(num_pixels_), sample.mask,
                partial_path_);
  append_values(labels_.get(), H5T_NATIVE_UINT16, static_cast<hsize_t>(num_pixels_), sample.labels,
                partial_path_);
  index_.insert(index_.end(), {num_pixels_, sample.image.height, sample.image.width, source_order});
  ids_.push_back(sample.id);
  num_pixels_ += sample.image.num_pixels();
}

void ShardWriter::finish(ShardInfo info) {
  DUNET_ASSERT(!finished_);
  const hid_t file = file_.get();
  const hsize_t index_dims[2] = {ids_.size(), static_cast<hsize_t>(shard::kIndexColumns)};
  h5::Handle index_space(H5Screate_simple(2, index_dims, nullptr), H5Sclose);
  h5::Handle index(H5Dcreate2(file, shard::kIndex, H5T_NATIVE_INT64, index_space.get(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose);
  bool ok = index.valid() && (ids_.empty() || H5Dwrite(index.get(), H5T_NATIVE_INT64, H5S_ALL,
                                                       H5S_ALL, H5P_DEFAULT, index_.data()) >= 0);

  h5::Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(string_type.get(), H5T_VARIABLE);
  const hsize_t id_dims[1] = {ids_.size()};
  h5::Handle id_space(H5Screate_simple(1, id_dims, nullptr), H5Sclose);
  h5::Handle ids(H5Dcreate2(file, shard::kIds, string_type.get(), id_space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  std::vector<const char*> id_pointers;
  for (const auto& id : ids_) id_pointers.push_back(id.c_str());
  ok = ok && ids.valid() &&
       (ids_.empty() || H5Dwrite(ids.get(), string_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                 id_pointers.data()) >= 0);
  DUNET_CHECK(ok, IoError, "cannot write the index of shard '", partial_path_.string(),
              "': ", system_cause());

  info.num_samples = num_samples();
  info.channels = channels_;
  h5::write_attr(file, shard::kAttrFormat, std::string(shard::kFormatName));
  h5::write_attr(file, shard::kAttrVersion, shard::kFormatVersion);
  h5::write_attr(file, shard::kAttrSplit, info.split);
  h5::write_attr(file, shard::kAttrNumSamples, info.num_samples);
  h5::write_attr(file, shard::kAttrChannels, info.channels);
  h5::write_attr(file, shard::kAttrShardIndex, info.shard_index);
  h5::write_attr(file, shard::kAttrNumShards, info.num_shards);
  h5::write_attr(file, shard::kAttrSeed, info.split_seed);
  h5::write_attr(file, shard::kAttrValFraction, info.val_fraction);
  h5::write_attr(file, shard::kAttrMean, info.mean);
  h5::write_attr(file, shard::kAttrStd, info.std);
  h5::write_attr(file, shard::kAttrSource, info.source);

  index.reset();
  ids.reset();
  images_.reset();
  masks_.reset();
  labels_.reset();
  DUNET_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0, IoError, "cannot flush shard '",
              partial_path_.string(), "': is the disk full?");
  file_.reset();
  fs::rename(partial_path_, path_);
  finished_ = true;
}

}  // namespace dunet::data
