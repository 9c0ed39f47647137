#include "trainer/curves_plot.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace dunet::trainer {

namespace {

constexpr int kWidth = 900;
constexpr int kPanelHeight = 220;
constexpr int kLeft = 80;     // y labels
constexpr int kRight = 170;   // legend
constexpr int kTop = 28;      // title
constexpr int kBottom = 30;   // epoch labels
constexpr int kDotRadius = 3;

std::pair<double, double> widen(double low, double high) {
  if (low > high) return {0.0, 1.0};  // no points
  if (high == low) {
    const double pad = std::max(std::abs(low) * 0.1, 1e-12);
    return {low - pad, high + pad};
  }
  const double pad = (high - low) * 0.05;
  return {low - pad, high + pad};
}

std::pair<double, double> epoch_range(const std::vector<CurvePanel>& panels) {
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (const CurvePanel& panel : panels) {
    for (const CurveSeries& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        low = std::min(low, x);
        high = std::max(high, x);
      }
    }
  }
  if (low > high) return {0.0, 1.0};
  if (low == high) return {low - 0.5, high + 0.5};
  return {low, high};
}

cv::Scalar scalar(const data::Rgb& colour) {
  return {static_cast<double>(colour[0]), static_cast<double>(colour[1]),
          static_cast<double>(colour[2])};
}

void text(cv::Mat& canvas, const std::string& words, cv::Point at, double scale = 0.4) {
  cv::putText(canvas, words, at, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
}

void add_series(CurvePanel& panel, const std::vector<MetricsRow>& rows, const std::string& column,
                const std::string& name, data::Rgb colour) {
  const size_t epoch = metrics_column("epoch");
  const size_t value = metrics_column(column);
  CurveSeries series{name, colour, {}};
  for (const MetricsRow& row : rows) {
    if (row[epoch] && row[value] && std::isfinite(*row[value])) {
      series.points.emplace_back(*row[epoch], *row[value]);
    }
  }
  panel.series.push_back(std::move(series));
}

}  // namespace

std::pair<int, int> PanelFrame::pixel(double x, double y) const {
  const double column = left + (x - x_min) / (x_max - x_min) * (width - 1);
  const double row = top + (y_max - y) / (y_max - y_min) * (height - 1);
  return {static_cast<int>(std::lround(column)), static_cast<int>(std::lround(row))};
}

std::vector<CurvePanel> run_curves(const std::vector<MetricsRow>& rows) {
  CurvePanel loss{"training loss (mean of the epoch)", {}};
  add_series(loss, rows, "train_loss", "train loss", {31, 119, 180});
  CurvePanel rate{"learning rate (at the epoch's end)", {}};
  add_series(rate, rows, "learning_rate", "learning rate", {255, 127, 14});
  CurvePanel validation{"validation", {}, /*fixed_range=*/true, 0.0, 1.0};
  add_series(validation, rows, "val_iou", "pixel IoU", {44, 160, 44});
  add_series(validation, rows, "val_dice", "Dice", {148, 103, 189});
  add_series(validation, rows, "val_dsb_score", "DSB2018 score", {214, 39, 40});
  return {loss, rate, validation};
}

PanelFrame panel_frame(const std::vector<CurvePanel>& panels, size_t index) {
  const CurvePanel& panel = panels.at(index);
  PanelFrame frame;
  frame.left = kLeft;
  frame.top = static_cast<int>(index) * kPanelHeight + kTop;
  frame.width = kWidth - kLeft - kRight;
  frame.height = kPanelHeight - kTop - kBottom;
  std::tie(frame.x_min, frame.x_max) = epoch_range(panels);
  if (panel.fixed_range) {
    frame.y_min = panel.y_min;
    frame.y_max = panel.y_max;
  } else {
    double low = std::numeric_limits<double>::infinity();
    double high = -low;
    for (const CurveSeries& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        low = std::min(low, y);
        high = std::max(high, y);
      }
    }
    std::tie(frame.y_min, frame.y_max) = widen(low, high);
  }
  return frame;
}

data::Image draw_curves(const std::vector<CurvePanel>& panels) {
  const int height = std::max<int>(1, static_cast<int>(panels.size())) * kPanelHeight;
  cv::Mat canvas(height, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (size_t p = 0; p < panels.size(); ++p) {
    const CurvePanel& panel = panels[p];
    const PanelFrame frame = panel_frame(panels, p);
    const cv::Rect area(frame.left, frame.top, frame.width, frame.height);
    for (int line = 1; line < 4; ++line) {  // quarter lines
      const int y = frame.top + line * (frame.height - 1) / 4;
      cv::line(canvas, {frame.left, y}, {frame.left + frame.width - 1, y},
               cv::Scalar(225, 225, 225));
    }
    cv::rectangle(canvas, area, cv::Scalar(120, 120, 120));
    text(canvas, panel.title, {frame.left, frame.top - 9}, 0.5);
    text(canvas, fmt::format("{:.3g}", frame.y_max), {6, frame.top + 10});
    text(canvas, fmt::format("{:.3g}", (frame.y_min + frame.y_max) / 2),
         {6, frame.top + frame.height / 2 + 4});
    text(canvas, fmt::format("{:.3g}", frame.y_min), {6, frame.top + frame.height});
    const int below = frame.top + frame.height + 16;
    text(canvas, fmt::format("epoch {:g}", frame.x_min), {frame.left, below});
    text(canvas, fmt::format("{:g}", frame.x_max), {frame.left + frame.width - 24, below});
    for (size_t s = 0; s < panel.series.size(); ++s) {
      const CurveSeries& series = panel.series[s];
      const int y = frame.top + 12 + static_cast<int>(s) * 18;
      const int x = frame.left + frame.width + 12;
      cv::line(canvas, {x, y - 4}, {x + 20, y - 4}, scalar(series.colour), 2);
      text(canvas, series.name, {x + 26, y});
      for (size_t i = 1; i < series.points.size(); ++i) {
        const auto [x0, y0] = frame.pixel(series.points[i - 1].first, series.points[i - 1].second);
        const auto [x1, y1] = frame.pixel(series.points[i].first, series.points[i].second);
        cv::line(canvas, {x0, y0}, {x1, y1}, scalar(series.colour), 1, cv::LINE_AA);
      }
    }
    // Dots last, so that a line never hides a measured point.
    for (const CurveSeries& series : panel.series) {
      for (const auto& [x, y] : series.points) {
        const auto [column, row] = frame.pixel(x, y);
        cv::circle(canvas, {column, row}, kDotRadius, scalar(series.colour), cv::FILLED);
      }
    }
  }
  data::Image picture;
  picture.height = canvas.rows;
  picture.width = canvas.cols;
  picture.channels = 3;
  picture.pixels.assign(canvas.data, canvas.data + canvas.total() * canvas.elemSize());
  return picture;
}

}  // namespace dunet::trainer
