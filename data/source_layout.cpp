#include "data/source_layout.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "data/image_io.h"
#include "data/labels.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

bool is_hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// The image files of `dir`, sorted. Any other visible file is refused by name: a mask that
// is silently skipped would train its nuclei as background.
std::vector<fs::path> sorted_images(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (is_hidden(entry.path()) || entry.is_directory()) continue;
    DUNET_CHECK(has_image_extension(entry.path()), DataError, "'", entry.path().string(),
                "' is not a ", kImageFormats,
                " file (by its name); dunet reads only those: ", "convert it, or move it out of '",
                dir.string(), "'");
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// images/<id>.<ext> for the first image extension that exists.
std::optional<fs::path> named_image(const fs::path& images_dir, const std::string& id) {
  for (const char* ext : {".png", ".tif", ".tiff", ".jpg", ".jpeg"}) {
    if (fs::exists(images_dir / (id + ext))) return images_dir / (id + ext);
  }
  return std::nullopt;
}

void check_folder(const fs::path& dir, const char* what) {
  DUNET_CHECK(fs::exists(dir), DataError, what, " folder '", dir.string(), "' does not exist");
  DUNET_CHECK(fs::is_directory(dir), DataError, what, " '", dir.string(), "' is not a folder");
}

}  // namespace

std::vector<SourceSample> scan_dsb_layout(const fs::path& root) {
  check_folder(root, "input");
  std::vector<fs::path> sample_dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && !is_hidden(entry.path())) sample_dirs.push_back(entry.path());
  }
  std::sort(sample_dirs.begin(), sample_dirs.end());
  DUNET_CHECK(!sample_dirs.empty(), DataError, "input folder '", root.string(),
              "' holds no sample folders; expected the DSB2018 layout "
              "<id>/images/<id>.png and <id>/masks/*.png");

  std::vector<SourceSample> samples;
  for (const auto& dir : sample_dirs) {
    SourceSample s;
    s.id = dir.filename().string();
    const fs::path images_dir = dir / "images";
    DUNET_CHECK(fs::is_directory(images_dir), DataError, "sample folder '", dir.string(),
                "' has no images/ folder; expected ", (images_dir / (s.id + ".png")).string());
    if (const auto named = named_image(images_dir, s.id)) {
      s.image = *named;
    } else {
      const auto images = sorted_images(images_dir);
      DUNET_CHECK(images.size() == 1, DataError, "sample folder '", dir.string(),
                  "': expected image ", (images_dir / (s.id + ".png")).string(), " (found ",
                  images.size(), " image files in images/)");
      s.image = images.front();
    }
    const fs::path masks_dir = dir / "masks";
    DUNET_CHECK(fs::is_directory(masks_dir), DataError, "sample '", s.id,
                "' has no masks folder ('", masks_dir.string(),
                "'); every training sample needs its per-nucleus masks");
    s.masks = sorted_images(masks_dir);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<SourceSample> scan_paired_layout(const fs::path& images_dir,
                                             const fs::path& masks_dir) {
  check_folder(images_dir, "images");
  check_folder(masks_dir, "masks");
  const auto images = sorted_images(images_dir);
  DUNET_CHECK(!images.empty(), DataError, "images folder '", images_dir.string(), "' holds no ",
              kImageFormats, " files");
  std::vector<SourceSample> samples;
  for (const auto& image : images) {
    // The same name, in any image format (an image.tif may have its mask as image.png).
    fs::path mask = masks_dir / image.filename();
    if (!fs::exists(mask)) {
      if (const auto other = named_image(masks_dir, image.stem().string())) mask = *other;
    }
    DUNET_CHECK(fs::exists(mask), DataError, "image '", image.string(), "' has no mask: expected '",
                (masks_dir / image.filename()).string(), "' (same file name)");
    samples.push_back({image.stem().string(), image, {mask}, /*mask_per_nucleus=*/false});
  }
  return samples;
}

Sample load_source_sample(const SourceSample& source, int64_t channels) {
  Sample sample;
  sample.id = source.id;
  sample.image = read_image(source.image, channels);
  const auto num_pixels = static_cast<size_t>(sample.image.num_pixels());
  sample.mask.assign(num_pixels, 0);
  std::vector<int32_t> labels(num_pixels, 0);
  for (size_t k = 0; k < source.masks.size(); ++k) {
    const fs::path& mask_path = source.masks[k];
    const Image mask = read_mask(mask_path);
    DUNET_CHECK(mask.height == sample.image.height && mask.width == sample.image.width, DataError,
                "mask '", mask_path.string(), "' is ", mask.width, "x", mask.height,
                " but its image '", source.image.string(), "' is ", sample.image.width, "x",
                sample.image.height, "; masks must have their image's size");
    for (size_t i = 0; i < num_pixels; ++i) {
      if (mask.pixels[i] == 0) continue;
      sample.mask[i] = 1;
      labels[i] = static_cast<int32_t>(k + 1);  // where nuclei overlap, the later file wins
    }
  }
  auto count = static_cast<int64_t>(source.masks.size());
  if (!source.mask_per_nucleus) {
    const Image foreground{sample.image.height, sample.image.width, 1, sample.mask};
    LabelImage components = connected_components(foreground);
    labels = std::move(components.labels);
    count = components.count;
  }
  DUNET_CHECK(count <= 65535, DataError, "sample '", source.id, "' has ", count,
              " nuclei; at most 65535 fit its 16-bit labels");
  sample.labels.assign(labels.begin(), labels.end());
  return sample;
}

}  // namespace dunet::data
