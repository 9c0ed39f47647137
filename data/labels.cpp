#include "data/labels.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <queue>
#include <tuple>
#include <unordered_map>
#include <utility>

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

namespace {

// Renumbers labels (any positive ids, 0 = none) 1..N by first appearance in raster order.
int32_t renumber_in_raster_order(std::vector<int32_t>& labels) {
  std::unordered_map<int32_t, int32_t> renamed;
  for (int32_t& l : labels) {
    if (l <= 0) {
      l = 0;
      continue;
    }
    const auto [it, inserted] = renamed.try_emplace(l, static_cast<int32_t>(renamed.size() + 1));
    (void)inserted;
    l = it->second;
  }
  return static_cast<int32_t>(renamed.size());
}

}  // namespace

LabelImage split_nuclei(const Image& foreground01, const Image& outline_probability) {
  DUNET_ASSERT(foreground01.channels == 1 && outline_probability.channels == 1);
  DUNET_ASSERT(foreground01.height == outline_probability.height &&
               foreground01.width == outline_probability.width);
  const int rows = static_cast<int>(foreground01.height),
            cols = static_cast<int>(foreground01.width);
  const cv::Mat foreground(rows, cols, CV_8UC1, const_cast<uint8_t*>(foreground01.pixels.data()));
  const cv::Mat outline(rows, cols, CV_8UC1,
                        const_cast<uint8_t*>(outline_probability.pixels.data()));
  // Seeds: off-outline foreground, 4-connected so that a one-pixel bridge does not join two.
  const cv::Mat off_outline = (foreground != 0) & (outline < 128);
  cv::Mat seeds;
  int next = cv::connectedComponents(off_outline, seeds, /*connectivity=*/4, CV_32S);
  cv::Mat regions;
  const int num_regions = cv::connectedComponents(foreground != 0, regions, 8, CV_32S);
  std::vector<char> seeded(static_cast<size_t>(num_regions), 0);
  for (int i = 0; i < rows * cols; ++i) {
    if (seeds.at<int32_t>(i) > 0) seeded[static_cast<size_t>(regions.at<int32_t>(i))] = 1;
  }
  std::vector<int32_t> region_seed(static_cast<size_t>(num_regions), 0);
  for (int r = 1; r < num_regions; ++r) {
    if (!seeded[static_cast<size_t>(r)]) region_seed[static_cast<size_t>(r)] = next++;
  }

  LabelImage out;
  out.height = foreground01.height;
  out.width = foreground01.width;
  out.labels.assign(static_cast<size_t>(rows * cols), 0);
  for (int i = 0; i < rows * cols; ++i) {
    const int32_t own = region_seed[static_cast<size_t>(regions.at<int32_t>(i))];
    out.labels[static_cast<size_t>(i)] = own > 0 ? own : seeds.at<int32_t>(i);
  }
  // Meyer's flooding of the outline probability from the seeds, within the foreground: the
  // lowest pixel first and, at equal height, the one queued first, so that a flat ridge two
  // pixels wide splits down its middle. (cv::watershed orders by the step between neighbours,
  // which lets the first seed to reach a flat ridge flood all of it.) A pixel takes the label
  // most of its labelled 4-neighbours have, and on a tie that of the neighbour that queued it,
  // so that a corner between two nuclei goes to the one it touches along two sides.
  using Entry = std::tuple<uint8_t, int64_t, int>;  // height, age, pixel
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  std::vector<int32_t> queued_by(out.labels.size(), 0);
  int64_t age = 0;
  constexpr std::array<std::pair<int, int>, 4> kSteps{{{-1, 0}, {0, -1}, {0, 1}, {1, 0}}};
  const auto for_each_neighbour = [&](int i, const auto& visit) {
    const int y = i / cols, x = i % cols;
    for (const auto& [dy, dx] : kSteps) {
      const int ny = y + dy, nx = x + dx;
      if (ny >= 0 && ny < rows && nx >= 0 && nx < cols) visit(ny * cols + nx);
    }
  };
  const auto queue_neighbours = [&](int i) {
    for_each_neighbour(i, [&](int n) {
      const auto k = static_cast<size_t>(n);
      if (out.labels[k] != 0 || queued_by[k] != 0 || foreground.at<uint8_t>(n) == 0) return;
      queued_by[k] = out.labels[static_cast<size_t>(i)];
      queue.emplace(outline.at<uint8_t>(n), age++, n);
    });
  };
  std::vector<int> seed_pixels;  // gathered first: queueing must not see later labels
  for (int i = 0; i < rows * cols; ++i) {
    if (out.labels[static_cast<size_t>(i)] != 0) seed_pixels.push_back(i);
  }
  for (const int i : seed_pixels) queue_neighbours(i);
  while (!queue.empty()) {
    const int i = std::get<2>(queue.top());
    queue.pop();
    std::array<std::pair<int32_t, int>, 4> votes{};  // label, neighbours with it
    for_each_neighbour(i, [&](int n) {
      const int32_t l = out.labels[static_cast<size_t>(n)];
      if (l == 0) return;
      for (auto& [label, count] : votes) {
        if (label == l || label == 0) {
          label = l;
          ++count;
          break;
        }
      }
    });
    int32_t chosen = queued_by[static_cast<size_t>(i)];
    int most = 0;
    for (const auto& [label, count] : votes) {
      if (label == chosen) most = std::max(most, count);
    }
    for (const auto& [label, count] : votes) {
      if (count > most) chosen = label, most = count;
    }
    out.labels[static_cast<size_t>(i)] = chosen;
    queue_neighbours(i);
  }
  out.count = renumber_in_raster_order(out.labels);
  return out;
}

void remove_small_nuclei(LabelImage& nuclei, int64_t min_area) {
  if (min_area <= 1 || nuclei.count == 0) return;
  const auto rows = static_cast<int>(nuclei.height), cols = static_cast<int>(nuclei.width);
  std::vector<int32_t>& labels = nuclei.labels;
  std::vector<std::vector<int>> pixels(static_cast<size_t>(nuclei.count) + 1);
  for (int i = 0; i < rows * cols; ++i) {
    const int32_t l = labels[static_cast<size_t>(i)];
    if (l > 0) pixels[static_cast<size_t>(l)].push_back(i);
  }
  const auto area = [&](int32_t l) {
    return static_cast<int64_t>(pixels[static_cast<size_t>(l)].size());
  };
  using Entry = std::pair<int64_t, int32_t>;  // area when queued, label
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> small;
  for (int32_t l = 1; l <= nuclei.count; ++l) {
    if (area(l) > 0 && area(l) < min_area) small.emplace(area(l), l);
  }
  std::unordered_map<int32_t, int64_t> contacts;
  while (!small.empty()) {
    const int64_t queued_area = small.top().first;
    const int32_t l = small.top().second;  // not a structured binding: the lambda below uses it
    small.pop();
    if (area(l) != queued_area) continue;  // grown by a merge, and queued again if still small
    contacts.clear();
    for (const int i : pixels[static_cast<size_t>(l)]) {
      const int y = i / cols, x = i % cols;
      const auto touch = [&](int n) {
        const int32_t other = labels[static_cast<size_t>(n)];
        if (other > 0 && other != l) ++contacts[other];
      };
      if (y > 0) touch(i - cols);
      if (y + 1 < rows) touch(i + cols);
      if (x > 0) touch(i - 1);
      if (x + 1 < cols) touch(i + 1);
    }
    int32_t into = 0;  // the most shared edges, then the larger object, then the lower label
    std::tuple<int64_t, int64_t, int32_t> best{0, 0, 0};
    for (const auto& [other, edges] : contacts) {
      const std::tuple<int64_t, int64_t, int32_t> rank{edges, area(other), -other};
      if (into == 0 || rank > best) into = other, best = rank;
    }
    std::vector<int>& from = pixels[static_cast<size_t>(l)];
    for (const int i : from) labels[static_cast<size_t>(i)] = into;
    if (into != 0) {
      std::vector<int>& to = pixels[static_cast<size_t>(into)];
      to.insert(to.end(), from.begin(), from.end());
      if (area(into) < min_area) small.emplace(area(into), into);
    }
    from.clear();
    from.shrink_to_fit();
  }
  nuclei.count = renumber_in_raster_order(labels);
}

LabelImage find_nuclei(const Image& foreground01, const Image& outline_probability,
                       int64_t min_area) {
  LabelImage nuclei = outline_probability.pixels.empty()
                          ? connected_components(foreground01)
                          : split_nuclei(foreground01, outline_probability);
  remove_small_nuclei(nuclei, min_area);
  return nuclei;
}

void write_label_image(const fs::path& path, const LabelImage& labels) {
  DUNET_CHECK(labels.count <= 65535, DataError, "cannot write '", path.string(),
              "': ", labels.count, " objects do not fit a 16-bit label image");
  cv::Mat image(static_cast<int>(labels.height), static_cast<int>(labels.width), CV_16UC1);
  auto* out = image.ptr<uint16_t>();
  for (size_t i = 0; i < labels.labels.size(); ++i)
    out[i] = static_cast<uint16_t>(labels.labels[i]);
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool tiff = extension == ".tif" || extension == ".tiff";
  std::vector<uchar> encoded;
  // Deflate rather than OpenCV's default LZW, which Python's tifffile reads only with
  // imagecodecs installed; zlib it always has. (8 = COMPRESSION_ADOBE_DEFLATE in libtiff.)
  const std::vector<int> params =
      tiff ? std::vector<int>{cv::IMWRITE_TIFF_COMPRESSION, 8} : std::vector<int>{};
  DUNET_CHECK(cv::imencode(tiff ? ".tiff" : ".png", image, encoded, params), DataError,
              "cannot encode ",
              tiff ? "TIFF" : "PNG", " '", path.string(), "'");
  write_file_durably(path, std::string_view(reinterpret_cast<const char*>(encoded.data()),
                                            encoded.size()));
}

}  // namespace dunet::data
