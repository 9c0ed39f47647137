#include "data/montage.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "data/image_io.h"

namespace dunet::data {

namespace {

cv::Mat rgb_mat(const Image& image) {
  cv::Mat in(static_cast<int>(image.height), static_cast<int>(image.width),
             CV_8UC(static_cast<int>(image.channels)), const_cast<uint8_t*>(image.pixels.data()));
  cv::Mat rgb;
  if (image.channels == 1) {
    cv::cvtColor(in, rgb, cv::COLOR_GRAY2RGB);
  } else if (image.channels == 4) {
    cv::cvtColor(in, rgb, cv::COLOR_RGBA2RGB);
  } else {
    rgb = in.clone();
  }
  return rgb;
}

Image from_rgb_mat(const cv::Mat& rgb) {
  Image out;
  out.height = rgb.rows;
  out.width = rgb.cols;
  out.channels = 3;
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  out.pixels.assign(contiguous.data, contiguous.data + contiguous.total() * 3);
  return out;
}

cv::Mat label_mat(const LabelImage& labels) {
  return cv::Mat(static_cast<int>(labels.height), static_cast<int>(labels.width), CV_32SC1,
                 const_cast<int32_t*>(labels.labels.data()));
}

void paint_outlines(cv::Mat& rgb, const cv::Mat& labels, Rgb colour) {
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) {
      const int32_t l = labels.at<int32_t>(y, x);
      if (l == 0) continue;
      const bool edge = y == 0 || x == 0 || y + 1 == labels.rows || x + 1 == labels.cols ||
                        labels.at<int32_t>(y - 1, x) != l || labels.at<int32_t>(y + 1, x) != l ||
                        labels.at<int32_t>(y, x - 1) != l || labels.at<int32_t>(y, x + 1) != l;
      if (edge) rgb.at<cv::Vec3b>(y, x) = {colour[0], colour[1], colour[2]};
    }
  }
}

cv::Mat error_panel(const cv::Mat& truth, const cv::Mat& predicted) {
  cv::Mat panel(truth.size(), CV_8UC3, cv::Scalar(0, 0, 0));
  for (int y = 0; y < truth.rows; ++y) {
    for (int x = 0; x < truth.cols; ++x) {
      const bool t = truth.at<int32_t>(y, x) != 0, p = predicted.at<int32_t>(y, x) != 0;
      if (t && p) panel.at<cv::Vec3b>(y, x) = {255, 255, 255};
      if (!t && p) panel.at<cv::Vec3b>(y, x) = {230, 40, 40};
      if (t && !p) panel.at<cv::Vec3b>(y, x) = {40, 90, 255};
    }
  }
  return panel;
}

}  // namespace

Image make_nuclei_overlay(const Image& input, const Image& mask01, const LabelImage& nuclei) {
  DUNET_ASSERT(nuclei.height == input.height && nuclei.width == input.width);
  const Image overlay = make_overlay(input, mask01);
  cv::Mat rgb = rgb_mat(overlay);
  cv::Mat third = rgb(cv::Rect(static_cast<int>(2 * input.width), 0,
                               static_cast<int>(input.width), static_cast<int>(input.height)));
  paint_outlines(third, label_mat(nuclei), {0, 230, 255});
  return from_rgb_mat(rgb);
}

Image draw_outlines(const Image& image, const LabelImage& labels, Rgb colour) {
  DUNET_ASSERT(image.height == labels.height && image.width == labels.width);
  cv::Mat rgb = rgb_mat(image);
  paint_outlines(rgb, label_mat(labels), colour);
  return from_rgb_mat(rgb);
}

Image make_montage(const std::vector<MontageRow>& rows, int64_t panel_height) {
  DUNET_CHECK(!rows.empty() && panel_height > 0, Error, "a montage needs rows and a height");
  std::vector<cv::Mat> strips;
  int max_width = 0;
  for (const MontageRow& row : rows) {
    DUNET_ASSERT(row.truth.height == row.image.height && row.truth.width == row.image.width);
    DUNET_ASSERT(row.predicted.height == row.image.height &&
                 row.predicted.width == row.image.width);
    const double scale = static_cast<double>(panel_height) / static_cast<double>(row.image.height);
    const cv::Size size(std::max(1, static_cast<int>(std::lround(row.image.width * scale))),
                        static_cast<int>(panel_height));
    cv::Mat input, truth, predicted;
    cv::resize(rgb_mat(row.image), input, size, 0, 0,
               scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::resize(label_mat(row.truth), truth, size, 0, 0, cv::INTER_NEAREST);
    cv::resize(label_mat(row.predicted), predicted, size, 0, 0, cv::INTER_NEAREST);
    cv::Mat with_truth = input.clone(), with_prediction = input.clone();
    paint_outlines(with_truth, truth, {40, 220, 40});
    paint_outlines(with_prediction, predicted, {255, 0, 255});
    cv::Mat captioned = input.clone();
    cv::putText(captioned, row.caption, {4, 14}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(255, 255, 0), 1, cv::LINE_AA);
    cv::Mat strip;
    cv::hconcat(
        std::vector<cv::Mat>{captioned, with_truth, with_prediction, error_panel(truth, predicted)},
        strip);
    max_width = std::max(max_width, strip.cols);
    strips.push_back(strip);
  }
  for (cv::Mat& strip : strips) {
    if (strip.cols < max_width) {
      cv::copyMakeBorder(strip, strip, 0, 0, 0, max_width - strip.cols, cv::BORDER_CONSTANT,
                         cv::Scalar(0, 0, 0));
    }
  }
  cv::Mat montage;
  cv::vconcat(strips, montage);
  return from_rgb_mat(montage);
}

}  // namespace dunet::data
