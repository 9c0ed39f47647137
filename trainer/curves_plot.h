// The picture of a run's curves, <output_dir>/curves.png, redrawn after every epoch: training
// loss, learning rate, and the validation scores (pixel IoU, Dice, DSB2018 score) by epoch.
// Drawn with OpenCV: panels stacked top to bottom, each with its title, its y range at the
// left, the epochs below and a legend at the right; every point is a dot on its line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "data/montage.h"
#include "data/sample.h"
#include "trainer/metrics_table.h"

namespace dunet::trainer {

struct CurveSeries {
  std::string name;
  data::Rgb colour;
  std::vector<std::pair<double, double>> points;  // (epoch, value), by epoch
};

struct CurvePanel {
  std::string title;
  std::vector<CurveSeries> series;
  // The y axis: [y_min, y_max] when fixed (scores); otherwise the data's range, widened a
  // little so that no point sits on the frame.
  bool fixed_range = false;
  double y_min = 0;
  double y_max = 1;
};

// Where draw_curves puts a panel's plot area, and a point in it.
struct PanelFrame {
  int left = 0, top = 0, width = 0, height = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  std::pair<int, int> pixel(double x, double y) const;  // (column, row), rounded
};

// The panels of metrics.csv's rows: loss, learning rate, validation scores.
std::vector<CurvePanel> run_curves(const std::vector<MetricsRow>& rows);

// The frame of panel `index` of `panels` in draw_curves' picture.
PanelFrame panel_frame(const std::vector<CurvePanel>& panels, size_t index);

// An RGB picture of `panels`.
data::Image draw_curves(const std::vector<CurvePanel>& panels);

}  // namespace dunet::trainer
