#include "data/image_io.h"

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

bool has_png_signature(const fs::path& path) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::ifstream in(path, std::ios::binary);
  unsigned char head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  return in.gcount() == 8 && std::equal(head, head + 8, kSignature);
}

// Decodes any PNG as it is stored (depth and channels unchanged), or throws a DataError.
cv::Mat decode(const fs::path& path, const char* what) {
  std::error_code ec;
  DUNET_CHECK(fs::is_regular_file(path, ec), DataError, what, " '", path.string(),
              "' does not exist or is not a file");
  const auto num_bytes = fs::file_size(path, ec);
  DUNET_CHECK(!ec && num_bytes > 0, DataError, what, " '", path.string(),
              "' is empty (0 bytes); expected a PNG file");
  DUNET_CHECK(has_png_signature(path), DataError, what, " '", path.string(),
              "' is not a PNG file (no PNG signature in its first 8 bytes)");
  cv::Mat mat = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  DUNET_CHECK(!mat.empty(), DataError, what, " '", path.string(), "' (", num_bytes,
              " bytes) could not be decoded: the PNG is truncated or corrupt");
  DUNET_CHECK(mat.depth() == CV_8U || mat.depth() == CV_16U, DataError, what, " '", path.string(),
              "' has an unsupported sample type; expected 8- or 16-bit PNG");
  if (mat.depth() == CV_16U) {
    cv::Mat eight;
    mat.convertTo(eight, CV_8U, 1.0 / 257.0);
    mat = eight;
  }
  return mat;
}

Image from_mat(const cv::Mat& mat) {
  Image image;
  image.height = mat.rows;
  image.width = mat.cols;
  image.channels = mat.channels();
  const cv::Mat contiguous = mat.isContinuous() ? mat : mat.clone();
  image.pixels.assign(contiguous.data,
                      contiguous.data + contiguous.total() * contiguous.elemSize());
  return image;
}

cv::Mat to_mat(const Image& image) {
  const int type = CV_8UC(static_cast<int>(image.channels));
  return cv::Mat(static_cast<int>(image.height), static_cast<int>(image.width), type,
                 const_cast<uint8_t*>(image.pixels.data()));
}

}  // namespace

Image read_image(const fs::path& path, int64_t channels) {
  DUNET_ASSERT(channels == 1 || channels == 3);
  const cv::Mat raw = decode(path, "image");
  const int stored = raw.channels();
  DUNET_CHECK(stored == 1 || stored == 3 || stored == 4, DataError, "image '", path.string(),
              "' has ", stored, " channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)");
  cv::Mat converted;
  if (channels == 3) {
    const int code = stored == 1   ? cv::COLOR_GRAY2RGB
                     : stored == 3 ? cv::COLOR_BGR2RGB
                                   : cv::COLOR_BGRA2RGB;
    cv::cvtColor(raw, converted, code);
  } else if (stored == 1) {
    converted = raw;
  } else {
    cv::cvtColor(raw, converted, stored == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  }
  return from_mat(converted);
}

Image read_mask(const fs::path& path) {
  const cv::Mat raw = decode(path, "mask");
  cv::Mat grey;
  if (raw.channels() == 1) {
    grey = raw;
  } else {
    DUNET_CHECK(raw.channels() == 3 || raw.channels() == 4, DataError, "mask '", path.string(),
                "' has ", raw.channels(), " channels; expected a 1-channel mask");
    cv::cvtColor(raw, grey, raw.channels() == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  }
  cv::Mat binary;
  cv::threshold(grey, binary, 0, 1, cv::THRESH_BINARY);
  Image mask = from_mat(binary);
  return mask;
}

void write_png(const fs::path& path, const Image& image) {
  DUNET_ASSERT(image.channels == 1 || image.channels == 3 || image.channels == 4);
  DUNET_ASSERT(static_cast<int64_t>(image.pixels.size()) ==
               image.height * image.width * image.channels);
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  cv::Mat mat = to_mat(image);
  cv::Mat bgr;
  if (image.channels == 3) {
    cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
  } else if (image.channels == 4) {
    cv::cvtColor(mat, bgr, cv::COLOR_RGBA2BGRA);
  } else {
    bgr = mat;
  }
  bool written = false;
  try {
    written = cv::imwrite(path.string(), bgr);
  } catch (const cv::Exception& e) {
    throw DataError("cannot write PNG '" + path.string() + "': " + e.what());
  }
  DUNET_CHECK(written, DataError, "cannot write PNG '", path.string(),
              "': check that the folder is writable");
}

Image make_overlay(const Image& input, const Image& mask01) {
  DUNET_ASSERT(input.height == mask01.height && input.width == mask01.width);
  cv::Mat in = to_mat(input);
  cv::Mat rgb;
  if (input.channels == 1) {
    cv::cvtColor(in, rgb, cv::COLOR_GRAY2RGB);
  } else if (input.channels == 4) {
    cv::cvtColor(in, rgb, cv::COLOR_RGBA2RGB);
  } else {
    rgb = in.clone();
  }
  cv::Mat mask = to_mat(mask01) * 255;
  cv::Mat mask_rgb;
  cv::cvtColor(mask, mask_rgb, cv::COLOR_GRAY2RGB);

  // Foreground tinted yellow-green, outlines in magenta, so both show on grey and stained images.
  cv::Mat blended = rgb.clone();
  cv::Mat tint(rgb.size(), rgb.type(), cv::Scalar(255, 255, 0));
  cv::Mat mixed;
  cv::addWeighted(rgb, 0.55, tint, 0.45, 0.0, mixed);
  mixed.copyTo(blended, mask);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  cv::drawContours(blended, contours, -1, cv::Scalar(255, 0, 255), 1);

  cv::Mat side_by_side;
  cv::hconcat(std::vector<cv::Mat>{rgb, mask_rgb, blended}, side_by_side);
  return from_mat(side_by_side);
}

}  // namespace dunet::data
