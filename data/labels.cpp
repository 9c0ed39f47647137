#include "data/labels.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/durable_write.h"
#include "core/error.h"
#include "data/image_io.h"

namespace dunet::data {

namespace fs = std::filesystem;

LabelImage read_instance_masks(const std::vector<fs::path>& masks) {
  LabelImage out;
  for (size_t k = 0; k < masks.size(); ++k) {
    const Image mask = read_mask(masks[k]);
    if (k == 0) {
      out.height = mask.height;
      out.width = mask.width;
      out.labels.assign(static_cast<size_t>(mask.num_pixels()), 0);
    }
    DUNET_CHECK(mask.height == out.height && mask.width == out.width, DataError, "mask '",
                masks[k].string(), "' is ", mask.width, "x", mask.height, " but '",
                masks.front().string(), "' is ", out.width, "x", out.height);
    const auto label = static_cast<int32_t>(k + 1);
    for (size_t i = 0; i < mask.pixels.size(); ++i) {
      if (mask.pixels[i] != 0) out.labels[i] = label;
    }
  }
  out.count = static_cast<int32_t>(masks.size());
  return out;
}

LabelImage connected_components(const Image& mask01) {
  DUNET_ASSERT(mask01.channels == 1);
  cv::Mat mask(static_cast<int>(mask01.height), static_cast<int>(mask01.width), CV_8UC1,
               const_cast<uint8_t*>(mask01.pixels.data()));
  cv::Mat labels;
  const int n = cv::connectedComponents(mask, labels, /*connectivity=*/8, CV_32S);
  LabelImage out;
  out.height = mask01.height;
  out.width = mask01.width;
  out.count = n - 1;  // label 0 is the background
  out.labels.assign(labels.begin<int32_t>(), labels.end<int32_t>());
  return out;
}

void write_label_png(const fs::path& path, const LabelImage& labels) {
  DUNET_CHECK(labels.count <= 65535, DataError, "cannot write '", path.string(),
              "': ", labels.count, " objects do not fit a 16-bit label image");
  cv::Mat image(static_cast<int>(labels.height), static_cast<int>(labels.width), CV_16UC1);
  auto* out = image.ptr<uint16_t>();
  for (size_t i = 0; i < labels.labels.size(); ++i)
    out[i] = static_cast<uint16_t>(labels.labels[i]);
  std::vector<uchar> png;
  DUNET_CHECK(cv::imencode(".png", image, png), DataError, "cannot encode PNG '", path.string(),
              "'");
  write_file_durably(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace dunet::data
