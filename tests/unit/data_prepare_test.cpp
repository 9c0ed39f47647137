// PNG folders -> HDF5 shards -> the same pixels; and every kind of bad input gets one clear
// error that names the file, with nothing already written damaged.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "data/augment.h"
#include "data/hdf5_handle.h"
#include "data/image_io.h"
#include "data/image_kind.h"
#include "data/labels.h"
#include "data/montage.h"
#include "data/nucleus_table.h"
#include "data/prepare.h"
#include "data/shard_reader.h"
#include "data/shard_set.h"
#include "tests/fixtures/fixtures.h"

namespace dunet::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

PrepareOptions options_for(const fs::path& out, int64_t shards = 2, double val = 0.4) {
  PrepareOptions o;
  o.out_dir = out;
  o.num_shards = shards;
  o.val_fraction = val;
  o.seed = 3;
  return o;
}

template <typename Fn>
std::string data_error(Fn&& fn) {
  try {
    fn();
  } catch (const DataError& e) {
    return e.what();
  }
  return "no error";
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Objects of a predicted foreground are its 8-connected components (diagonal neighbours join,
// as skimage.measure.label's default); truth comes one mask file per nucleus; label PNGs are
// 16-bit and read back exactly.
// Outlines and the eval montage, on shapes whose outlines are known pixel by pixel.
TEST(Montage, OutlinesAndPanelsPixelByPixel) {
  Image grey{9, 9, 1, std::vector<uint8_t>(81, 100)};
  LabelImage square{9, 9, 1, std::vector<int32_t>(81, 0)};
  for (int y = 2; y < 7; ++y)
    for (int x = 2; x < 7; ++x) square.labels[static_cast<size_t>(y * 9 + x)] = 1;
  const Image outlined = draw_outlines(grey, square, {255, 0, 0});
  ASSERT_EQ(outlined.channels, 3);
  int red = 0;
  for (int y = 0; y < 9; ++y) {
    for (int x = 0; x < 9; ++x) {
      const uint8_t* p = &outlined.pixels[static_cast<size_t>((y * 9 + x) * 3)];
      const bool ring =
          y >= 2 && y < 7 && x >= 2 && x < 7 && (y == 2 || y == 6 || x == 2 || x == 6);
      EXPECT_EQ(p[0], ring ? 255 : 100) << x << "," << y;
      EXPECT_EQ(p[1], ring ? 0 : 100) << x << "," << y;
      red += ring;
    }
  }
  EXPECT_EQ(red, 16);

  // Two rows: 48 high (scaled 2/3 to 32) and 32 high (kept), the second padded to the first.
  Image wide{48, 64, 3, std::vector<uint8_t>(48 * 64 * 3, 50)};
  LabelImage truth{48, 64, 1, std::vector<int32_t>(48 * 64, 0)};
  LabelImage predicted = truth;
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      if (x < 30) truth.labels[static_cast<size_t>(y * 64 + x)] = 1;       // the left part
      if (x >= 15) predicted.labels[static_cast<size_t>(y * 64 + x)] = 1;  // the right part
    }
  }
  Image small{32, 32, 1, std::vector<uint8_t>(32 * 32, 0)};
  LabelImage none{32, 32, 0, std::vector<int32_t>(32 * 32, 0)};
  const Image montage = make_montage({{"a", wide, truth, predicted}, {"b", small, none, none}}, 32);
  ASSERT_EQ(montage.channels, 3);
  EXPECT_EQ(montage.height, 64);
  EXPECT_EQ(montage.width, 43 * 4);
  const auto at = [&](int64_t x, int64_t y) {
    const uint8_t* p = &montage.pixels[static_cast<size_t>((y * montage.width + x) * 3)];
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  const int64_t errors = 43 * 3;  // the fourth panel of the first row
  EXPECT_EQ(at(errors + 2, 20), (std::array<int, 3>{40, 90, 255}));     // true, missed: blue
  EXPECT_EQ(at(errors + 15, 20), (std::array<int, 3>{255, 255, 255}));  // found: white
  EXPECT_EQ(at(errors + 40, 20), (std::array<int, 3>{230, 40, 40}));    // false positive: red
  EXPECT_EQ(at(43 + 5, 0), (std::array<int, 3>{40, 220, 40}));        // the truth's top edge, green
  EXPECT_EQ(at(43 + 5, 20), (std::array<int, 3>{50, 50, 50}));        // inside it, the input
  EXPECT_EQ(at(43 * 2 + 40, 31), (std::array<int, 3>{255, 0, 255}));  // prediction's bottom edge
  EXPECT_EQ(at(43 * 4 - 1, 40), (std::array<int, 3>{0, 0, 0}));       // the second row's padding
}

// Touching nuclei, split by their outlines: the watershed gives back exactly the true nuclei,
// also where they touch the image's edge; a foreground blob that is all outline is a nucleus.
TEST(Labels, OutlinesSplitTouchingNucleiExactly) {
  const int64_t h = 24, w = 30;
  std::vector<uint16_t> truth(static_cast<size_t>(h * w), 0);
  const auto box = [&](int64_t y0, int64_t x0, int64_t y1, int64_t x1, uint16_t label) {
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) truth[static_cast<size_t>(y * w + x)] = label;
  };
  box(3, 2, 13, 12, 1);  // touches nucleus 2 along x = 12
  box(3, 12, 13, 22, 2);
  box(13, 5, 24, 15, 3);  // touches 1 and 2 below, and the image's bottom edge
  box(2, 26, 4, 28, 4);   // 2 x 2: every pixel is an outline
  // The outlines as the training target draws them, over the whole image.
  std::vector<float> outline(static_cast<size_t>(h * w));
  std::vector<uint16_t> square(static_cast<size_t>(w * w), 0);
  std::copy(truth.begin(), truth.end(), square.begin());
  std::vector<float> square_outline(static_cast<size_t>(w * w));
  nucleus_outlines(square, w, square_outline.data());
  Image foreground{h, w, 1, std::vector<uint8_t>(static_cast<size_t>(h * w))};
  Image probability{h, w, 1, std::vector<uint8_t>(static_cast<size_t>(h * w))};
  for (size_t i = 0; i < truth.size(); ++i) {
    foreground.pixels[i] = truth[i] != 0;
    probability.pixels[i] = square_outline[i] > 0 ? 255 : 0;
  }
  EXPECT_EQ(connected_components(foreground).count, 2) << "without outlines, touching nuclei merge";
  const LabelImage nuclei = split_nuclei(foreground, probability);
  EXPECT_EQ(nuclei.count, 4);
  // The same partition: labels are renumbered in raster order, which here keeps 1..4 except
  // nucleus 4 (first pixel at row 2) comes first.
  const std::map<int32_t, uint16_t> expected_of{{1, 4}, {2, 1}, {3, 2}, {4, 3}};
  for (size_t i = 0; i < truth.size(); ++i) {
    const int32_t got = nuclei.labels[i];
    ASSERT_EQ(got == 0, truth[i] == 0) << i;
    if (got != 0) {
      ASSERT_EQ(expected_of.at(got), truth[i]) << "pixel " << i % w << "," << i / w;
    }
  }
}

TEST(Labels, ComponentsInstanceMasksAndLabelPngs) {
  Image mask;
  mask.height = 6;
  mask.width = 8;
  mask.channels = 1;
  mask.pixels.assign(48, 0);
  const auto set = [&](int y, int x) { mask.pixels[static_cast<size_t>(y * 8 + x)] = 1; };
  set(0, 0), set(1, 1), set(2, 2);  // one diagonal object
  set(0, 6), set(0, 7), set(1, 7);  // another
  set(5, 4);                        // a single pixel
  const LabelImage components = connected_components(mask);
  EXPECT_EQ(components.count, 3);
  const auto at = [&](int y, int x) { return components.labels[static_cast<size_t>(y * 8 + x)]; };
  EXPECT_EQ(at(0, 0), at(2, 2));
  EXPECT_EQ(at(0, 6), at(1, 7));
  EXPECT_NE(at(0, 0), at(0, 6));
  EXPECT_NE(at(5, 4), 0);
  EXPECT_EQ(at(3, 3), 0);

  TempDir tmp;
  cv::Mat a = cv::Mat::zeros(6, 8, CV_8UC1), b = cv::Mat::zeros(6, 8, CV_8UC1);
  a.at<uint8_t>(1, 1) = 255;
  b.at<uint8_t>(4, 5) = 255;
  b.at<uint8_t>(4, 6) = 255;
  cv::imwrite((tmp / "a.png").string(), a);
  cv::imwrite((tmp / "b.png").string(), b);
  const LabelImage truth = read_instance_masks({tmp / "a.png", tmp / "b.png"});
  EXPECT_EQ(truth.count, 2);
  EXPECT_EQ(truth.labels[1 * 8 + 1], 1);
  EXPECT_EQ(truth.labels[4 * 8 + 6], 2);
  EXPECT_EQ(std::count(truth.labels.begin(), truth.labels.end(), 0), 45);
  cv::imwrite((tmp / "small.png").string(), cv::Mat::zeros(5, 8, CV_8UC1));
  EXPECT_THROW(read_instance_masks({tmp / "a.png", tmp / "small.png"}), DataError);

  LabelImage many = truth;
  many.labels[0] = 40000;
  write_label_image(tmp / "labels.png", many);
  const cv::Mat back = cv::imread((tmp / "labels.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(back.type(), CV_16UC1);
  EXPECT_EQ(back.at<uint16_t>(0, 0), 40000);
  EXPECT_EQ(back.at<uint16_t>(4, 6), 2);
  write_label_image(tmp / "labels.TIF", many);  // the extension chooses TIFF
  const cv::Mat tiff = cv::imread((tmp / "labels.TIF").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(tiff.type(), CV_16UC1);
  EXPECT_EQ(cv::norm(tiff, back, cv::NORM_INF), 0.0);
  std::ifstream tiff_file(tmp / "labels.TIF", std::ios::binary);
  std::string magic(2, '\0');
  tiff_file.read(magic.data(), 2);
  EXPECT_TRUE(magic == "II" || magic == "MM") << "not a TIFF file";
  many.count = 70000;
  EXPECT_THROW(write_label_image(tmp / "too_many.png", many), DataError);
}

// A label image drawn as rows of characters: '.' is background, '1'..'9' a label.
LabelImage drawn_labels(const std::vector<std::string>& rows) {
  LabelImage out;
  out.height = static_cast<int64_t>(rows.size());
  out.width = static_cast<int64_t>(rows.front().size());
  for (const std::string& row : rows) {
    for (const char c : row) {
      out.labels.push_back(c == '.' ? 0 : c - '0');
      out.count = std::max(out.count, out.labels.back());
    }
  }
  return out;
}

TEST(Labels, SmallNucleiMergeIntoTheNeighbourTheyTouchMostElseGo) {
  // 3 touches 1 and 2 along one edge each: the larger, 1, takes it. 4 and 5 touch nothing.
  LabelImage specks = drawn_labels({"111...",  //
                                    "111322",  //
                                    "111.22",  //
                                    "....22",  //
                                    "4.55..",  //
                                    "..5..."});
  remove_small_nuclei(specks, 4);
  EXPECT_EQ(specks.labels, drawn_labels({"111...",  //
                                         "111122",  //
                                         "111.22",  //
                                         "....22",  //
                                         "......",  //
                                         "......"})
                               .labels);
  EXPECT_EQ(specks.count, 2);

  // Shared edges come before size: 3 touches 1 twice and 2 three times.
  LabelImage fragment = drawn_labels({"11132",  //
                                      "11132",  //
                                      "11122",  //
                                      "....2",  //
                                      "....2"});
  remove_small_nuclei(fragment, 3);
  EXPECT_EQ(fragment.labels, drawn_labels({"11122",  //
                                           "11122",  //
                                           "11122",  //
                                           "....2",  //
                                           "....2"})
                                 .labels);

  // Two specks that touch: the smaller joins the larger, which stays if the two reach the
  // minimum together and goes otherwise. Labels are renumbered in raster order.
  const LabelImage pair = drawn_labels({"..77766", "1......"});
  LabelImage kept = pair;
  remove_small_nuclei(kept, 5);
  EXPECT_EQ(kept.labels, drawn_labels({"..11111", "......."}).labels);
  EXPECT_EQ(kept.count, 1);
  LabelImage gone = pair;
  remove_small_nuclei(gone, 6);
  EXPECT_EQ(gone.count, 0);
  EXPECT_EQ(std::count(gone.labels.begin(), gone.labels.end(), 0), 14);

  LabelImage untouched = pair;
  remove_small_nuclei(untouched, 1);
  EXPECT_EQ(untouched.labels, pair.labels);
  EXPECT_EQ(untouched.count, 7);

  // find_nuclei without an outline map: connected components, then the same rule.
  Image foreground{3, 5, 1, {1, 1, 0, 0, 1,  //
                             1, 1, 0, 0, 0,  //
                             0, 0, 0, 1, 0}};
  EXPECT_EQ(find_nuclei(foreground, Image{}, 0).count, 3);
  const LabelImage big = find_nuclei(foreground, Image{}, 2);
  EXPECT_EQ(big.count, 1);
  EXPECT_EQ(std::count(big.labels.begin(), big.labels.end(), 1), 4);
}

TEST(Labels, NucleusMeasurementsInClosedForm) {
  // Nucleus 1: the 3 x 2 box x 1..3, y 2..3; nucleus 2: an L of 3 pixels; label 3 has no pixels.
  LabelImage labels{5, 6, 3, std::vector<int32_t>(30, 0)};
  for (int y = 2; y <= 3; ++y)
    for (int x = 1; x <= 3; ++x) labels.labels[static_cast<size_t>(y * 6 + x)] = 1;
  for (const int p : {0 * 6 + 5, 1 * 6 + 5, 1 * 6 + 4}) labels.labels[static_cast<size_t>(p)] = 2;
  Image image{5, 6, 2, std::vector<uint8_t>(60)};
  for (size_t p = 0; p < 30; ++p) {
    image.pixels[2 * p] = static_cast<uint8_t>(p);  // channel 0 = the pixel's index
    image.pixels[2 * p + 1] = 7;
  }
  const auto rows = measure_nuclei(labels, image);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_EQ(rows[0].area, 6);
  EXPECT_DOUBLE_EQ(rows[0].centroid_x, 2.0);
  EXPECT_DOUBLE_EQ(rows[0].centroid_y, 2.5);
  EXPECT_EQ(std::vector<int64_t>({rows[0].bbox_x, rows[0].bbox_y, rows[0].bbox_width,
                                  rows[0].bbox_height}),
            std::vector<int64_t>({1, 2, 3, 2}));
  EXPECT_DOUBLE_EQ(rows[0].mean_intensity[0], (13 + 14 + 15 + 19 + 20 + 21) / 6.0);
  EXPECT_DOUBLE_EQ(rows[0].mean_intensity[1], 7.0);
  EXPECT_EQ(rows[1].area, 3);
  EXPECT_DOUBLE_EQ(rows[1].centroid_x, 14.0 / 3.0);
  EXPECT_DOUBLE_EQ(rows[1].centroid_y, 2.0 / 3.0);
  EXPECT_EQ(std::vector<int64_t>({rows[1].bbox_x, rows[1].bbox_y, rows[1].bbox_width,
                                  rows[1].bbox_height}),
            std::vector<int64_t>({4, 0, 2, 2}));
  EXPECT_DOUBLE_EQ(rows[1].mean_intensity[0], (5 + 11 + 10) / 3.0);
  EXPECT_EQ(rows[2].area, 0);

  TempDir tmp;
  write_nucleus_csv(tmp / "nuclei.csv", rows, 2);
  std::ifstream in(tmp / "nuclei.csv");
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header,
            "label,area,centroid_x,centroid_y,bbox_x,bbox_y,bbox_width,bbox_height,mean_grey,"
            "mean_alpha");
  EXPECT_EQ(first, "1,6,2.000,2.500,1,2,3,2,17.000,7.000");
}

TEST(Prepare, RoundTripKeepsEveryPixelAndSize) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 5, {40, 33}, {48, 57});
  const auto result = prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out"));
  EXPECT_EQ(result.num_train + result.num_val, 5);
  EXPECT_EQ(result.num_val, 2);
  EXPECT_EQ(result.train_shards.size(), 2u);

  std::set<std::string> seen;
  for (const auto& paths : {result.train_shards, result.val_shards}) {
    for (const auto& path : paths) {
      const ShardReader shard(path);
      for (int64_t i = 0; i < shard.size(); ++i) {
        const Sample s = shard.read(i);
        const int64_t index = std::stoll(s.id.substr(5)) - 1000;
        const auto expected =
            testing::known_sample(index, index % 2 == 0 ? 40 : 33, index % 2 == 0 ? 48 : 57);
        EXPECT_EQ(s.image.height, expected.image.height) << s.id;
        EXPECT_EQ(s.image.width, expected.image.width) << s.id;
        EXPECT_EQ(s.image.pixels, expected.image.pixels) << s.id;  // RGBA stored -> RGB back
        EXPECT_EQ(s.mask, expected.union_mask) << s.id;
        EXPECT_EQ(s.labels, expected.labels) << s.id << ": one label per mask file";
        EXPECT_EQ(shard.source_order(i), index);
        EXPECT_TRUE(seen.insert(s.id).second) << s.id << " is in two shards";
      }
    }
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(Prepare, SplitIsSeededAndRecordedInTheShards) {
  EXPECT_EQ(validation_positions(100, 0.1, 7), validation_positions(100, 0.1, 7));
  EXPECT_NE(validation_positions(100, 0.1, 7), validation_positions(100, 0.1, 8));
  EXPECT_EQ(validation_positions(100, 0.1, 7).size(), 10u);
  EXPECT_EQ(validation_positions(10, 0.01, 7).size(), 1u);  // at least one when asked
  EXPECT_EQ(validation_positions(10, 0.0, 7).size(), 0u);
  EXPECT_EQ(validation_positions(10, 1.0, 7).size(), 10u);

  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 6);
  const auto result = prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0.5));
  const ShardReader val(result.val_shards.at(0));
  EXPECT_EQ(val.info().split, "val");
  EXPECT_EQ(val.info().split_seed, 3);
  EXPECT_DOUBLE_EQ(val.info().val_fraction, 0.5);
  const auto positions = validation_positions(6, 0.5, 3);
  for (int64_t i = 0; i < val.size(); ++i) {
    EXPECT_EQ(val.source_order(i), positions[static_cast<size_t>(i)]);
  }
}

TEST(Prepare, StatisticsAreThoseOfTheTrainingPixels) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 3);
  const auto result = prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0));
  double sum[3] = {0, 0, 0}, sum_sq[3] = {0, 0, 0};
  double n = 0;
  for (int64_t i = 0; i < 3; ++i) {
    const auto s = testing::known_sample(i, 40, 48);
    for (size_t p = 0; p < s.image.pixels.size(); ++p) {
      const double v = s.image.pixels[p] / 255.0;
      sum[p % 3] += v;
      sum_sq[p % 3] += v * v;
    }
    n += static_cast<double>(s.image.num_pixels());
  }
  const ShardReader shard(result.train_shards.at(0));
  for (int c = 0; c < 3; ++c) {
    const double mean = sum[c] / n;
    EXPECT_NEAR(shard.info().mean[static_cast<size_t>(c)], mean, 1e-9);
    EXPECT_NEAR(shard.info().std[static_cast<size_t>(c)], std::sqrt(sum_sq[c] / n - mean * mean),
                1e-9);
  }
}

TEST(Prepare, GreyOutputAndGenericLayout) {
  TempDir tmp;
  const auto s = testing::known_sample(0, 20, 30);
  write_png(tmp / "images" / "a.png", s.image);
  Image mask{20, 30, 1, std::vector<uint8_t>(s.union_mask.size())};
  for (size_t i = 0; i < mask.pixels.size(); ++i) mask.pixels[i] = s.union_mask[i] * 255;
  write_png(tmp / "masks" / "a.png", mask);
  auto options = options_for(tmp / "out", 1, 0);
  options.channels = 1;
  const auto result = prepare_shards(scan_paired_layout(tmp / "images", tmp / "masks"), options);
  const Sample back = ShardReader(result.train_shards.at(0)).read(0);
  EXPECT_EQ(back.id, "a");
  EXPECT_EQ(back.image.channels, 1);
  EXPECT_EQ(back.mask, s.union_mask);
  EXPECT_EQ(back.labels, s.labels) << "one mask file: its connected components are the nuclei";
  // Grey = 0.299 R + 0.587 G + 0.114 B (OpenCV), checked on the first pixel.
  const double grey =
      0.299 * s.image.pixels[0] + 0.587 * s.image.pixels[1] + 0.114 * s.image.pixels[2];
  EXPECT_NEAR(back.image.pixels[0], grey, 1.0);

  fs::remove(tmp / "masks" / "a.png");
  EXPECT_NE(data_error([&] {
              scan_paired_layout(tmp / "images", tmp / "masks");
            }).find("has no mask: expected '" + (tmp / "masks" / "a.png").string()),
            std::string::npos);
}

TEST(PrepareErrors, EmptyOrMissingInputFolder) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  EXPECT_NE(data_error([&] { scan_dsb_layout(tmp / "empty"); }).find("holds no sample folders"),
            std::string::npos);
  EXPECT_NE(data_error([&] { scan_dsb_layout(tmp / "nope"); }).find("does not exist"),
            std::string::npos);
}

TEST(PrepareErrors, SampleWithoutMasksFolder) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 2);
  fs::remove_all(tmp / "in" / "known1001" / "masks");
  EXPECT_NE(data_error([&] {
              scan_dsb_layout(tmp / "in");
            }).find("sample 'known1001' has no masks folder"),
            std::string::npos);
}

TEST(PrepareErrors, BrokenImagesAreNamed) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 1);
  const fs::path image = tmp / "in" / "known1000" / "images" / "known1000.png";
  const std::string good = file_bytes(image);
  const auto samples = scan_dsb_layout(tmp / "in");

  testing::write_bytes(image, "");
  EXPECT_NE(data_error([&] {
              load_source_sample(samples[0], 3);
            }).find("image '" + image.string() + "' is empty (0 bytes)"),
            std::string::npos);
  testing::write_bytes(image, "this is a text file, not a picture");
  EXPECT_NE(data_error([&] {
              load_source_sample(samples[0], 3);
            }).find("is not a PNG, TIFF or JPEG file"),
            std::string::npos);
  testing::write_bytes(image, good.substr(0, good.size() / 2));
  EXPECT_NE(data_error([&] {
              load_source_sample(samples[0], 3);
            }).find("could not be decoded: the PNG is truncated or corrupt"),
            std::string::npos);
}

// 16-bit images are scaled to 8 bits; masks with other values than 0/255 (e.g. 0/1 or
// instance ids) count every non-zero pixel as foreground.
TEST(Prepare, SixteenBitImagesAndNonBinaryMasksAreConverted) {
  TempDir tmp;
  const fs::path image = tmp / "in" / "s16" / "images" / "s16.png";
  const fs::path mask = tmp / "in" / "s16" / "masks" / "ids.png";
  fs::create_directories(image.parent_path());
  fs::create_directories(mask.parent_path());
  cv::Mat wide(4, 5, CV_16UC1);
  for (int i = 0; i < 20; ++i) wide.at<uint16_t>(i / 5, i % 5) = static_cast<uint16_t>(i * 3000);
  ASSERT_TRUE(cv::imwrite(image.string(), wide));
  cv::Mat ids = cv::Mat::zeros(4, 5, CV_8UC1);
  ids.at<uint8_t>(0, 0) = 1;
  ids.at<uint8_t>(1, 1) = 7;
  ids.at<uint8_t>(3, 4) = 200;
  ASSERT_TRUE(cv::imwrite(mask.string(), ids));
  const Sample s = load_source_sample(scan_dsb_layout(tmp / "in").at(0), 1);
  EXPECT_EQ(s.image.channels, 1);
  EXPECT_EQ(s.image.pixels[1], static_cast<uint8_t>(std::lround(3000 / 257.0)));
  EXPECT_EQ(s.image.pixels[19], static_cast<uint8_t>(std::lround(57000 / 257.0)));
  EXPECT_EQ(std::count(s.mask.begin(), s.mask.end(), 1), 3);
  EXPECT_EQ(s.mask[0], 1);
  EXPECT_EQ(s.mask[6], 1);
  EXPECT_EQ(s.mask[19], 1);
}

// Microscopy data comes as TIFF, often 16-bit, and as JPEG: images and masks in any of them
// are read by content; a mask is never skipped for its format.
TEST(Prepare, TiffAndJpegImagesAndMasksAreRead) {
  TempDir tmp;
  const fs::path dir = tmp / "in" / "t16";
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "masks");
  cv::Mat wide(6, 8, CV_16UC1);
  for (int i = 0; i < 48; ++i) wide.at<uint16_t>(i / 8, i % 8) = static_cast<uint16_t>(i * 1000);
  ASSERT_TRUE(cv::imwrite((dir / "images" / "t16.tif").string(), wide));
  cv::Mat first = cv::Mat::zeros(6, 8, CV_16UC1), second = cv::Mat::zeros(6, 8, CV_8UC1);
  first.at<uint16_t>(0, 0) = 65535;         // a 16-bit TIFF mask
  second(cv::Rect(4, 2, 4, 4)).setTo(255);  // a JPEG mask: a block survives compression
  ASSERT_TRUE(cv::imwrite((dir / "masks" / "a.tiff").string(), first));
  ASSERT_TRUE(cv::imwrite((dir / "masks" / "b.jpg").string(), second));
  const auto sources = scan_dsb_layout(tmp / "in");
  ASSERT_EQ(sources.at(0).masks.size(), 2u);
  const Sample s = load_source_sample(sources.at(0), 1);
  EXPECT_EQ(s.image.width, 8);
  EXPECT_EQ(s.image.pixels[5], static_cast<uint8_t>(std::lround(5000 / 257.0)));
  EXPECT_EQ(s.image.pixels[47], static_cast<uint8_t>(std::lround(47000 / 257.0)));
  EXPECT_EQ(s.mask[0], 1);
  int64_t block = 0;
  for (int y = 2; y < 6; ++y) {
    for (int x = 4; x < 8; ++x) block += s.mask[static_cast<size_t>(y * 8 + x)];
  }
  EXPECT_EQ(block, 16);
  EXPECT_EQ(std::count(s.mask.begin(), s.mask.end(), 1), 17);

  // A JPEG image in the paired layout, its mask a PNG of the same stem.
  cv::Mat colour(6, 8, CV_8UC3, cv::Scalar(40, 80, 120));
  fs::create_directories(tmp / "images");
  ASSERT_TRUE(cv::imwrite((tmp / "images" / "c.jpeg").string(), colour));
  write_png(tmp / "masks" / "c.png", Image{6, 8, 1, std::vector<uint8_t>(48, 255)});
  const auto paired = scan_paired_layout(tmp / "images", tmp / "masks");
  ASSERT_EQ(paired.size(), 1u);
  EXPECT_EQ(paired[0].masks.at(0), tmp / "masks" / "c.png");
  EXPECT_EQ(load_source_sample(paired[0], 3).image.channels, 3);
}

TEST(PrepareErrors, FilesOfOtherFormatsAreRefusedByName) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 1);
  const fs::path stray = tmp / "in" / "known1000" / "masks" / "m9.bmp";
  testing::write_bytes(stray, "BM not really");
  EXPECT_NE(data_error([&] {
              scan_dsb_layout(tmp / "in");
            }).find("'" + stray.string() + "' is not a PNG, TIFF or JPEG file"),
            std::string::npos);
  fs::remove(stray);
  // Named like an image but holding something else: refused by its content.
  const fs::path fake = tmp / "in" / "known1000" / "masks" / "m9.tif";
  testing::write_bytes(fake, "GIF89a....");
  const auto samples = scan_dsb_layout(tmp / "in");
  EXPECT_NE(data_error([&] {
              load_source_sample(samples[0], 3);
            }).find("mask '" + fake.string() + "' is not a PNG, TIFF or JPEG file"),
            std::string::npos);
  // Float samples are not images dunet can scale.
  cv::Mat floats(4, 4, CV_32FC1, cv::Scalar(0.5));
  ASSERT_TRUE(cv::imwrite(fake.string(), floats));
  EXPECT_NE(data_error([&] { load_source_sample(samples[0], 3); }).find("32F samples"),
            std::string::npos);
}

TEST(PrepareErrors, MaskOfAnotherSize) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 1);
  const fs::path mask = tmp / "in" / "known1000" / "masks" / "m1.png";
  write_png(mask, Image{10, 12, 1, std::vector<uint8_t>(120, 255)});
  EXPECT_NE(data_error([&] {
              load_source_sample(scan_dsb_layout(tmp / "in")[0], 3);
            }).find("mask '" + mask.string() + "' is 12x10 but its image"),
            std::string::npos);
}

TEST(PrepareErrors, ExistingShardsAreNeverDamaged) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 4);
  const auto first = prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0.25));
  const std::string before = file_bytes(first.train_shards.at(0));

  // Without --overwrite: refused.
  EXPECT_NE(data_error([&] {
              prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0.25));
            }).find("already holds shards; pass --overwrite"),
            std::string::npos);
  // With --overwrite but a corrupt sample half-way: the old shards stay as they were.
  testing::write_bytes(tmp / "in" / "known1002" / "images" / "known1002.png", "broken");
  auto options = options_for(tmp / "out", 1, 0.25);
  options.overwrite = true;
  EXPECT_NE(data_error([&] {
              prepare_shards(scan_dsb_layout(tmp / "in"), options);
            }).find("known1002.png"),
            std::string::npos);
  EXPECT_EQ(file_bytes(first.train_shards.at(0)), before);
  for (const auto& entry : fs::directory_iterator(tmp / "out")) {
    EXPECT_NE(entry.path().extension(), ".partial") << "left behind: " << entry.path();
  }
}

// A set is published as a unit with its manifest, and used only when the files agree with it.
TEST(ShardSet, ManifestGuardsTheSet) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 6);
  const auto result =
      prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 3, 0.34));
  ASSERT_TRUE(fs::exists(tmp / "out" / "manifest.json"));
  EXPECT_FALSE(fs::exists(tmp / ".out.staging"));
  const ShardSet set(result.train_shards);
  EXPECT_EQ(set.fingerprint(), ShardSet(result.train_shards).fingerprint());
  EXPECT_NE(set.fingerprint(), ShardSet({result.train_shards.at(0)}).fingerprint());
  const fs::path shard = result.train_shards.at(1);
  const std::string good = file_bytes(shard);

  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  testing::write_bytes(shard, flipped);
  EXPECT_NE(data_error([&] {
              ShardSet s(result.train_shards);
            }).find("'" + shard.string() + "' does not match the checksum in its manifest"),
            std::string::npos);
  testing::write_bytes(shard, good.substr(0, good.size() - 100));
  EXPECT_NE(data_error([&] { ShardSet s(result.train_shards); }).find("but its manifest says"),
            std::string::npos);
  testing::write_bytes(shard, good);
  fs::remove(result.train_shards.at(2));
  EXPECT_NE(data_error([&] {
              ShardSet s({result.train_shards.at(0)});
            }).find("is incomplete: '" + result.train_shards.at(2).filename().string()),
            std::string::npos);
  fs::remove(tmp / "out" / "manifest.json");
  EXPECT_NE(
      data_error([&] { ShardSet s({result.train_shards.at(0)}); }).find("has no manifest.json"),
      std::string::npos);
}

// A flipped pixel is caught by HDF5's per-chunk checksum even without the manifest.
TEST(ShardErrors, FlippedPixelFailsItsRead) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 1);
  const auto result = prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0));
  const fs::path shard = result.train_shards.at(0);
  const Sample sample = load_source_sample(scan_dsb_layout(tmp / "in").at(0), 3);
  std::string bytes = file_bytes(shard);
  // The image's first row, as stored: find it and flip one bit.
  const std::string row(sample.image.pixels.begin(), sample.image.pixels.begin() + 48);
  const size_t at = bytes.find(row);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 7] = static_cast<char>(bytes[at + 7] ^ 1);
  testing::write_bytes(shard, bytes);
  const ShardReader reader(shard);
  EXPECT_NE(data_error([&] { reader.read(0); }).find("truncated or corrupt"), std::string::npos);
}

TEST(PrepareErrors, ReplacingASetKeepsOtherFilesAndLeavesNoStaging) {
  TempDir tmp;
  testing::write_known_dsb(tmp / "in", 6);
  auto options = options_for(tmp / "out", 3, 0.34);
  prepare_shards(scan_dsb_layout(tmp / "in"), options);
  // Replaced by a smaller set: nothing of the old one is left, published at once.
  options.num_shards = 1;
  options.overwrite = true;
  fs::create_directories(tmp / ".out.staging");  // left by a prepare that was killed
  testing::write_bytes(tmp / ".out.staging" / "train-00000-of-00003.h5.partial", "half");
  const auto second = prepare_shards(scan_dsb_layout(tmp / "in"), options);
  EXPECT_EQ(list_shards(tmp / "out", "train"), second.train_shards);
  EXPECT_EQ(second.train_shards.size(), 1u);
  EXPECT_FALSE(fs::exists(tmp / ".out.staging"));
  EXPECT_NO_THROW(ShardSet s(second.train_shards));
  // A folder with other files is never replaced, so they cannot go with the old set.
  testing::write_bytes(tmp / "out" / "notes.txt", "mine");
  EXPECT_NE(data_error([&] {
              prepare_shards(scan_dsb_layout(tmp / "in"), options);
            }).find("holds 'notes.txt', which is not part of a shard set"),
            std::string::npos);
  EXPECT_EQ(file_bytes(tmp / "out" / "notes.txt"), "mine");
}

TEST(ShardErrors, FilesThatAreNotOurShards) {
  TempDir tmp;
  testing::write_bytes(tmp / "text.h5", "not hdf5 at all");
  EXPECT_NE(data_error([&] { ShardReader r(tmp / "text.h5"); }).find("not an HDF5 file"),
            std::string::npos);

  const std::string foreign = (tmp / "foreign.h5").string();
  H5Fclose(H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_NE(data_error([&] { ShardReader r(foreign); }).find("not a dunet shard"),
            std::string::npos);

  testing::write_known_dsb(tmp / "in", 2);
  const auto shards =
      prepare_shards(scan_dsb_layout(tmp / "in"), options_for(tmp / "out", 1, 0)).train_shards;
  const std::string bytes = file_bytes(shards.at(0));
  testing::write_bytes(tmp / "truncated.h5", bytes.substr(0, bytes.size() / 2));
  const std::string truncated = data_error([&] { ShardReader r(tmp / "truncated.h5"); });
  EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;

  // Ours, but from a future version, or with an index that does not fit the data.
  fs::copy_file(shards.at(0), tmp / "v3.h5");
  {
    h5::Handle f(H5Fopen((tmp / "v3.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    h5::write_attr(f.get(), "format_version", int64_t{3});
  }
  EXPECT_NE(data_error([&] {
              ShardReader r(tmp / "v3.h5");
            }).find("format version 3, but this dunet reads versions 1 to 2"),
            std::string::npos);
  // Version 1 (before nucleus labels) is still read, without labels; version 2 needs them.
  fs::copy_file(shards.at(0), tmp / "v1.h5");
  fs::copy_file(shards.at(0), tmp / "v2_without_labels.h5");
  for (const char* name : {"v1.h5", "v2_without_labels.h5"}) {
    h5::Handle f(H5Fopen((tmp / name).c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    ASSERT_GE(H5Ldelete(f.get(), "labels", H5P_DEFAULT), 0);
  }
  {
    h5::Handle f(H5Fopen((tmp / "v1.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    h5::write_attr(f.get(), "format_version", int64_t{1});
  }
  const ShardReader v1(tmp / "v1.h5");
  EXPECT_FALSE(v1.has_labels());
  EXPECT_TRUE(v1.read(0).labels.empty());
  EXPECT_EQ(v1.read(0).mask, ShardReader(shards.at(0)).read(0).mask);
  EXPECT_TRUE(ShardReader(shards.at(0)).has_labels());
  EXPECT_NE(data_error([&] {
              ShardReader r(tmp / "v2_without_labels.h5");
            }).find("dataset 'labels' is missing"),
            std::string::npos);
  fs::copy_file(shards.at(0), tmp / "shape.h5");
  {
    h5::Handle f(H5Fopen((tmp / "shape.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    h5::write_attr(f.get(), "num_samples", int64_t{3});
  }
  EXPECT_NE(
      data_error([&] { ShardReader r(tmp / "shape.h5"); }).find("'index' must have shape [3, 4]"),
      std::string::npos);
}

TEST(ShardSet, GlobsThatMatchNothingAreNamed) {
  TempDir tmp;
  const std::string e =
      data_error([&] { expand_globs({(tmp / "nothing-*.h5").string()}, "data.train"); });
  EXPECT_NE(e.find("data.train: pattern '" + (tmp / "nothing-*.h5").string() + "' matches no file"),
            std::string::npos)
      << e;
  EXPECT_NE(data_error([&] { expand_globs({}, "data.train"); }).find("data.train is empty"),
            std::string::npos);
}

// A few real DSB2018 samples (RGBA, many non-overlapping masks): the mask is their union.
TEST(Prepare, RealDsbSamples) {
  const fs::path real = testing::real_dsb_dir();
  if (real.empty()) GTEST_SKIP() << "../shared/data/dsb2018/train not present";
  TempDir tmp;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(real)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  dirs.resize(3);
  fs::create_directories(tmp / "in");
  for (const auto& d : dirs) fs::create_directory_symlink(d, tmp / "in" / d.filename());
  const auto samples = scan_dsb_layout(tmp / "in");
  ASSERT_EQ(samples.size(), 3u);
  const auto result = prepare_shards(samples, options_for(tmp / "out", 1, 0));
  const ShardReader shard(result.train_shards.at(0));
  for (int64_t i = 0; i < 3; ++i) {
    const Sample s = shard.read(i);
    int64_t expected_foreground = 0;
    for (const auto& m : samples[static_cast<size_t>(i)].masks) {
      const Image mask = read_mask(m);
      for (const auto v : mask.pixels) expected_foreground += v;
    }
    int64_t foreground = 0;
    for (const auto v : s.mask) foreground += v;
    EXPECT_EQ(foreground, expected_foreground) << s.id;  // masks never overlap in stage1_train
    EXPECT_GT(foreground, 0);
    EXPECT_EQ(s.image.channels, 3);
  }
}


// Kinds by their definition: the mean channel spread against 8 grey levels, the median channel
// mean against 128, on images made for each side of both limits.
TEST(ImageKind, ColourAndGroundByTheirLimits) {
  const auto image = [](int64_t h, int64_t w, std::function<std::array<uint8_t, 3>(int64_t)> at) {
    Image im{h, w, 3, std::vector<uint8_t>(static_cast<size_t>(h * w * 3))};
    for (int64_t i = 0; i < h * w; ++i) {
      const auto p = at(i);
      std::copy(p.begin(), p.end(), im.pixels.begin() + i * 3);
    }
    return im;
  };
  using Px = std::array<uint8_t, 3>;
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t) { return Px{20, 20, 20}; })), "grey-dark");
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t) { return Px{200, 200, 200}; })), "grey-light");
  // A spread of exactly 8 is still grey, 9 is colour.
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t) { return Px{100, 108, 104}; })), "grey-dark");
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t) { return Px{200, 191, 195}; })), "colour-light");
  // The median, not the mean: 9 of 16 pixels at mean 128 make a light ground whatever the rest.
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t i) { return i < 9 ? Px{128, 128, 128} : Px{0, 0, 0}; })),
            "grey-light");
  EXPECT_EQ(image_kind(image(4, 4, [](int64_t i) { return i < 7 ? Px{255, 255, 255} : Px{127, 127, 127}; })),
            "grey-dark");
  // Stained tissue: purple nuclei on a light pink ground.
  EXPECT_EQ(image_kind(image(8, 8, [](int64_t i) { return i % 4 == 0 ? Px{90, 40, 140} : Px{235, 200, 220}; })),
            "colour-light");
  Image grey{3, 3, 1, std::vector<uint8_t>(9, 30)};
  EXPECT_EQ(image_kind(grey), "grey-dark");
}

}  // namespace
}  // namespace dunet::data
