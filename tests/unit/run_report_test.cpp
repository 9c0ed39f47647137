// trainer/: metrics.csv (rows replaced on a rewind, unreadable files kept aside) and the curves
// picture (each measured point drawn where its panel's frame says, in its series' colour).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "trainer/curves_plot.h"
#include "trainer/metrics_table.h"

namespace dunet::trainer {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("dunet_run_report_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

MetricsRow row_of(double epoch, double loss, std::optional<double> iou = std::nullopt) {
  MetricsRow row(metrics_columns().size());
  row[metrics_column("epoch")] = epoch;
  row[metrics_column("global_step")] = epoch * 10;
  row[metrics_column("learning_rate")] = 1e-3 / epoch;
  row[metrics_column("train_loss")] = loss;
  row[metrics_column("val_iou")] = iou;
  return row;
}

TEST(MetricsTable, WritesAHeaderAndOneRowPerEpochThatReadBackExactly) {
  const fs::path csv = fresh_dir("rows") / "metrics.csv";
  record_metrics_row(csv, row_of(1, 0.7, 0.25));
  const auto rows = record_metrics_row(csv, row_of(2, 0.1 + 0.2));  // not validated
  ASSERT_EQ(rows.size(), 2u);
  const std::string text = read_text(csv);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "epoch,global_step,learning_rate,train_loss,imgs_per_s,data_wait_fraction,"
            "peak_rss_bytes,val_iou,val_dice,val_mean_image_iou,val_dsb_score");
  EXPECT_NE(text.find("\n1,10,0.001,0.7,,,,0.25,,,\n"), std::string::npos) << text;
  const auto read = read_metrics_csv(csv);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1][metrics_column("train_loss")], 0.1 + 0.2);  // bit for bit
  EXPECT_FALSE(read[1][metrics_column("val_iou")].has_value());
}

TEST(MetricsTable, ARowReplacesItsEpochAndLaterOnesLeftBeforeAResume) {
  const fs::path csv = fresh_dir("rewind") / "metrics.csv";
  for (int epoch = 1; epoch <= 4; ++epoch) record_metrics_row(csv, row_of(epoch, 1.0 / epoch));
  // Resumed from the checkpoint of epoch 2: epoch 3 runs again.
  const auto rows = record_metrics_row(csv, row_of(3, 0.5));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2][metrics_column("epoch")], 3.0);
  EXPECT_EQ(rows[2][metrics_column("train_loss")], 0.5);
  EXPECT_EQ(read_metrics_csv(csv).size(), 3u);
}

TEST(MetricsTable, AnUnreadableTableIsKeptAsideAndNamedInTheError) {
  const fs::path dir = fresh_dir("bad");
  const fs::path csv = dir / "metrics.csv";
  std::ofstream(csv) << "epoch,loss\n1,0.5\n";
  try {
    read_metrics_csv(csv);
    FAIL() << "a foreign header was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(csv.string() + ":1: the header"), std::string::npos)
        << e.what();
  }
  record_metrics_row(csv, row_of(1, 0.5));
  EXPECT_EQ(read_text(dir / "metrics.csv.old"), "epoch,loss\n1,0.5\n");
  EXPECT_EQ(read_metrics_csv(csv).size(), 1u);

  std::string good = read_text(csv);
  std::ofstream(csv) << good << "2,20,x,,,,,,,,\n";
  try {
    read_metrics_csv(csv);
    FAIL() << "a cell that is no number was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(":3: 'x' is not a number"), std::string::npos) << e.what();
  }
}

TEST(CurvesPlot, EveryPointIsDrawnWhereItsFrameSaysInItsColour) {
  std::vector<MetricsRow> rows;
  for (int epoch = 1; epoch <= 6; ++epoch) {
    rows.push_back(row_of(epoch, 2.0 / epoch, epoch % 2 == 0 ? std::optional(0.1 * epoch)
                                                              : std::nullopt));
  }
  const std::vector<CurvePanel> panels = run_curves(rows);
  ASSERT_EQ(panels.size(), 3u);
  ASSERT_EQ(panels[2].series[0].points.size(), 3u);  // IoU: the validated epochs only
  const data::Image picture = draw_curves(panels);
  ASSERT_EQ(picture.channels, 3);
  EXPECT_EQ(picture.height, 3 * 220);
  int checked = 0;
  for (size_t p = 0; p < panels.size(); ++p) {
    const PanelFrame frame = panel_frame(panels, p);
    EXPECT_EQ(frame.x_min, 1.0);
    EXPECT_EQ(frame.x_max, 6.0);
    for (const CurveSeries& series : panels[p].series) {
      for (const auto& [x, y] : series.points) {
        const auto [column, row] = frame.pixel(x, y);
        ASSERT_GE(row, frame.top);
        ASSERT_LT(row, frame.top + frame.height);
        const size_t at = (static_cast<size_t>(row) * picture.width + column) * 3;
        EXPECT_EQ(picture.pixels[at], series.colour[0]) << series.name << " at epoch " << x;
        EXPECT_EQ(picture.pixels[at + 1], series.colour[1]) << series.name << " at epoch " << x;
        EXPECT_EQ(picture.pixels[at + 2], series.colour[2]) << series.name << " at epoch " << x;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 6 + 6 + 3);
  // The loss's range is its data's, widened: its highest point (epoch 1) is near the top of
  // the frame, its lowest (epoch 6) near the bottom, in the closed-form place.
  const PanelFrame loss = panel_frame(panels, 0);
  EXPECT_DOUBLE_EQ(loss.y_max, 2.0 + 0.05 * (2.0 - 2.0 / 6));
  EXPECT_EQ(loss.pixel(1, 2.0).first, loss.left);
  EXPECT_EQ(loss.pixel(6, 2.0 / 6).first, loss.left + loss.width - 1);
}

TEST(CurvesPlot, OneEpochOrNoneStillDraws) {
  EXPECT_EQ(draw_curves(run_curves({})).height, 3 * 220);
  const std::vector<CurvePanel> one = run_curves({row_of(1, 0.5, 0.5)});
  const PanelFrame frame = panel_frame(one, 0);
  EXPECT_EQ(frame.x_min, 0.5);
  EXPECT_EQ(frame.x_max, 1.5);
  EXPECT_LT(frame.y_min, 0.5);
  EXPECT_GT(frame.y_max, 0.5);
  EXPECT_EQ(draw_curves(one).width, 900);
}

}  // namespace
}  // namespace dunet::trainer
