#include "data/shard_reader.h"

#include "core/error.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

int64_t dataset_length(hid_t dataset, int rank, hsize_t* dims) {
  h5::Handle space(H5Dget_space(dataset), H5Sclose);
  if (H5Sget_simple_extent_ndims(space.get()) != rank) return -1;
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<int64_t>(dims[0]);
}

bool is_unsigned_integer(hid_t dataset, size_t bytes) {
  h5::Handle type(H5Dget_type(dataset), H5Tclose);
  return H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == bytes &&
         H5Tget_sign(type.get()) == H5T_SGN_NONE;
}

bool is_uint8(hid_t dataset) { return is_unsigned_integer(dataset, 1); }

}  // namespace

ShardReader::ShardReader(fs::path path) : path_(std::move(path)) {
  open_file();
  read_header();
  const auto open = [this](const char* dataset) {
    h5::Handle handle(H5Dopen2(file_.get(), dataset, H5P_DEFAULT), H5Dclose);
    if (!handle.valid()) throw fail("dataset '" + std::string(dataset) + "' is missing");
    return handle;
  };
  images_ = open(shard::kImages);
  masks_ = open(shard::kMasks);
  if (version_ >= 2) labels_ = open(shard::kLabels);
  read_index(open(shard::kIndex).get());
  read_ids(open(shard::kIds).get());
}

DataError ShardReader::fail(const std::string& what) const {
  return DataError("shard '" + path_.string() + "': " + what);
}

void ShardReader::open_file() {
  h5::silence_errors();
  const std::string name = path_.string();
  if (!fs::is_regular_file(path_)) throw fail("no such file");
  if (H5Fis_hdf5(name.c_str()) <= 0) {
    throw fail("not an HDF5 file (or truncated); create shards with `dunet prepare`");
  }
  file_ = h5::Handle(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file_.valid()) throw fail("cannot open the HDF5 file: it is truncated or corrupt");
}

void ShardReader::read_header() {
  const hid_t file = file_.get();
  std::string format;
  if (!h5::read_attr(file, shard::kAttrFormat, format) || format != shard::kFormatName) {
    throw fail("an HDF5 file but not a dunet shard (root attribute 'format' is not \"" +
               std::string(shard::kFormatName) + "\"); create shards with `dunet prepare`");
  }
  int64_t version = 0;
  h5::read_attr(file, shard::kAttrVersion, version);
  if (version < shard::kOldestReadableVersion || version > shard::kFormatVersion) {
    throw fail("format version " + std::to_string(version) + ", but this dunet reads versions " +
               std::to_string(shard::kOldestReadableVersion) + " to " +
               std::to_string(shard::kFormatVersion) + "; re-create it with `dunet prepare`");
  }
  version_ = version;
  const bool attrs_ok = h5::read_attr(file, shard::kAttrSplit, info_.split) &&
                        h5::read_attr(file, shard::kAttrNumSamples, info_.num_samples) &&
                        h5::read_attr(file, shard::kAttrChannels, info_.channels) &&
                        h5::read_attr(file, shard::kAttrShardIndex, info_.shard_index) &&
                        h5::read_attr(file, shard::kAttrNumShards, info_.num_shards) &&
                        h5::read_attr(file, shard::kAttrSeed, info_.split_seed) &&
                        h5::read_attr(file, shard::kAttrValFraction, info_.val_fraction) &&
                        h5::read_attr(file, shard::kAttrMean, info_.mean) &&
                        h5::read_attr(file, shard::kAttrStd, info_.std) &&
                        h5::read_attr(file, shard::kAttrSource, info_.source);
  if (!attrs_ok) throw fail("missing or mistyped header attributes (written by another tool?)");
  if (info_.channels != 1 && info_.channels != 3) {
    throw fail("channels = " + std::to_string(info_.channels) + "; expected 1 or 3");
  }
  if (static_cast<int64_t>(info_.mean.size()) != info_.channels ||
      static_cast<int64_t>(info_.std.size()) != info_.channels) {
    throw fail("'mean'/'std' attributes must have one value per channel");
  }
}

void ShardReader::read_index(hid_t index) {
  hsize_t dims[2] = {0, 0};
  const int64_t num_image_bytes = dataset_length(images_.get(), 1, dims);
  const int64_t num_mask_bytes = dataset_length(masks_.get(), 1, dims);
  if (num_image_bytes < 0 || num_mask_bytes < 0 || !is_uint8(images_.get()) ||
      !is_uint8(masks_.get())) {
    throw fail("'images' and 'masks' must be 1-D uint8 datasets");
  }
  if (dataset_length(index, 2, dims) != info_.num_samples ||
      dims[1] != static_cast<hsize_t>(shard::kIndexColumns)) {
    throw fail("'index' must have shape [" + std::to_string(info_.num_samples) + ", " +
               std::to_string(shard::kIndexColumns) + "] (num_samples attribute)");
  }
  index_.resize(static_cast<size_t>(info_.num_samples * shard::kIndexColumns));
  if (info_.num_samples > 0 &&
      H5Dread(index, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, index_.data()) < 0) {
    throw fail("cannot read 'index': the file is truncated or corrupt");
  }
  for (int64_t i = 0; i < info_.num_samples; ++i) {
    const int64_t* r = row(i);
    if (r[0] < 0 || r[1] <= 0 || r[2] <= 0 || r[0] + r[1] * r[2] > num_mask_bytes) {
      throw fail("index row " + std::to_string(i) + " points outside 'masks'");
    }
  }
  if (labels_.valid()) {
    if (dataset_length(labels_.get(), 1, dims) != num_mask_bytes ||
        !is_unsigned_integer(labels_.get(), 2)) {
      throw fail("'labels' must be a 1-D uint16 dataset as long as 'masks'");
    }
  }
  if (num_image_bytes != num_mask_bytes * info_.channels) {
    throw fail("'images' holds " + std::to_string(num_image_bytes) + " bytes; expected " +
               std::to_string(num_mask_bytes * info_.channels) + " (masks x channels)");
  }
}

void ShardReader::read_ids(hid_t ids) {
  hsize_t dims[2] = {0, 0};
  h5::Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(string_type.get(), H5T_VARIABLE);
  if (dataset_length(ids, 1, dims) != info_.num_samples) {
    throw fail("'ids' must hold num_samples strings");
  }
  std::vector<char*> raw(static_cast<size_t>(info_.num_samples), nullptr);
  if (info_.num_samples > 0 &&
      H5Dread(ids, string_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
    throw fail("cannot read 'ids'");
  }
  for (char* s : raw) {
    ids_.emplace_back(s == nullptr ? "" : s);
  }
  h5::Handle id_space(H5Dget_space(ids), H5Sclose);
  if (info_.num_samples > 0) {
    H5Dvlen_reclaim(string_type.get(), id_space.get(), H5P_DEFAULT, raw.data());
  }
}

const int64_t* ShardReader::row(int64_t i) const {
  DUNET_CHECK(i >= 0 && i < info_.num_samples, DataError, "shard '", path_.string(), "': sample ",
              i, " out of range [0, ", info_.num_samples, ")");
  return index_.data() + i * shard::kIndexColumns;
}

template <typename T>
void ShardReader::read_range(hid_t dataset, hid_t type, int64_t offset, std::vector<T>& out) const {
  h5::Handle file_space(H5Dget_space(dataset), H5Sclose);
  const hsize_t start[1] = {static_cast<hsize_t>(offset)};
  const hsize_t count[1] = {out.size()};
  h5::Handle memory_space(H5Screate_simple(1, count, nullptr), H5Sclose);
  const bool ok =
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0 &&
      H5Dread(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT, out.data()) >= 0;
  DUNET_CHECK(ok, DataError, "shard '", path_.string(), "': cannot read ", out.size(),
              " values at offset ", offset, ": the file is truncated or corrupt");
}

Sample ShardReader::read(int64_t i) const {
  const int64_t* r = row(i);
  Sample sample;
  sample.id = ids_[static_cast<size_t>(i)];
  sample.image.height = r[1];
  sample.image.width = r[2];
  sample.image.channels = info_.channels;
  sample.image.pixels.resize(static_cast<size_t>(r[1] * r[2] * info_.channels));
  sample.mask.resize(static_cast<size_t>(r[1] * r[2]));
  read_range(images_.get(), H5T_NATIVE_UINT8, r[0] * info_.channels, sample.image.pixels);
  read_range(masks_.get(), H5T_NATIVE_UINT8, r[0], sample.mask);
  if (labels_.valid()) {
    sample.labels.resize(sample.mask.size());
    read_range(labels_.get(), H5T_NATIVE_UINT16, r[0], sample.labels);
  }
  return sample;
}

}  // namespace dunet::data
