#include "data/image_io.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/durable_write.h"
#include "core/error.h"

namespace dunet::data {

namespace fs = std::filesystem;

namespace {

enum class Format { kPng, kTiff, kJpeg, kOther };

// By content, not by name: the first bytes of each format's files.
Format sniff_format(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const auto starts = [&head, n = in.gcount()](std::initializer_list<unsigned char> magic) {
    return n >= static_cast<std::streamsize>(magic.size()) &&
           std::equal(magic.begin(), magic.end(), head);
  };
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return Format::kPng;
  if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return Format::kTiff;
  if (starts({0xff, 0xd8, 0xff})) return Format::kJpeg;
  return Format::kOther;
}

// Decodes a PNG, TIFF or JPEG as it is stored (depth and channels unchanged), 16-bit scaled
// to 8, or throws a DataError naming the file.
cv::Mat decode(const fs::path& path, const char* what, Format* format_out = nullptr) {
  std::error_code ec;
  DUNET_CHECK(fs::is_regular_file(path, ec), DataError, what, " '", path.string(),
              "' does not exist or is not a file");
  const auto num_bytes = fs::file_size(path, ec);
  DUNET_CHECK(!ec && num_bytes > 0, DataError, what, " '", path.string(),
              "' is empty (0 bytes); expected a ", kImageFormats, " file");
  const Format format = sniff_format(path);
  DUNET_CHECK(format != Format::kOther, DataError, what, " '", path.string(), "' is not a ",
              kImageFormats, " file (none of their signatures in its first bytes)");
  if (format_out != nullptr) *format_out = format;
  const char* name = format == Format::kPng ? "PNG" : format == Format::kTiff ? "TIFF" : "JPEG";
  cv::Mat mat;
  try {
    mat = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw DataError(std::string(what) + " '" + path.string() + "' could not be decoded as " + name +
                    ": " + e.what());
  }
  DUNET_CHECK(!mat.empty(), DataError, what, " '", path.string(), "' (", num_bytes,
              " bytes) could not be decoded: the ", name, " is truncated or corrupt");
  DUNET_CHECK(mat.depth() == CV_8U || mat.depth() == CV_16U, DataError, what, " '", path.string(),
              "' has ", cv::depthToString(mat.depth()), " samples; expected 8- or 16-bit ",
              "integers");
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
  Format format = Format::kOther;
  const cv::Mat raw = decode(path, "mask", &format);
  cv::Mat grey;
  if (raw.channels() == 1) {
    grey = raw;
  } else {
    DUNET_CHECK(raw.channels() == 3 || raw.channels() == 4, DataError, "mask '", path.string(),
                "' has ", raw.channels(), " channels; expected a 1-channel mask");
    cv::cvtColor(raw, grey, raw.channels() == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  }
  // Lossless masks: any non-zero value is foreground (0/255, 0/1 or instance ids). JPEG's
  // compression noise is not, so there a pixel must be more than half on.
  cv::Mat binary;
  cv::threshold(grey, binary, format == Format::kJpeg ? 127 : 0, 1, cv::THRESH_BINARY);
  Image mask = from_mat(binary);
  return mask;
}

std::string encode_png(const Image& image) {
  DUNET_ASSERT(image.channels == 1 || image.channels == 3 || image.channels == 4);
  DUNET_ASSERT(static_cast<int64_t>(image.pixels.size()) ==
               image.height * image.width * image.channels);
  cv::Mat mat = to_mat(image);
  cv::Mat bgr;
  if (image.channels == 3) {
    cv::cvtColor(mat, bgr, cv::COLOR_RGB2BGR);
  } else if (image.channels == 4) {
    cv::cvtColor(mat, bgr, cv::COLOR_RGBA2BGRA);
  } else {
    bgr = mat;
  }
  std::vector<uchar> png;
  bool encoded = false;
  try {
    encoded = cv::imencode(".png", bgr, png);
  } catch (const cv::Exception& e) {
    throw DataError(std::string("cannot encode PNG: ") + e.what());
  }
  DUNET_CHECK(encoded, DataError, "cannot encode PNG of ", image.width, "x", image.height);
  return {png.begin(), png.end()};
}

void write_png(const fs::path& path, const Image& image) {
  // Encoded in memory, then written whole or not at all: a failed write leaves an earlier
  // file at `path` as it was.
  std::string png;
  try {
    png = encode_png(image);
  } catch (const DataError& e) {
    throw DataError("'" + path.string() + "': " + e.what());
  }
  write_file_durably(path, png);
}

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".jpg" || ext == ".jpeg";
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
