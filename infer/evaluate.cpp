#include "infer/evaluate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/durable_write.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/image_io.h"
#include "data/image_kind.h"
#include "data/labels.h"
#include "data/montage.h"
#include "data/source_layout.h"

namespace dunet::infer {

namespace fs = std::filesystem;

namespace {

double ratio_or_one(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 1.0;
}

// The report folder must not be the input folder or inside it.
void check_out_is_not_input(const EvalOptions& options) {
  const fs::path input = fs::weakly_canonical(options.input);
  const fs::path out = fs::weakly_canonical(options.out);
  const auto [end, unused] = std::mismatch(input.begin(), input.end(), out.begin(), out.end());
  (void)unused;
  DUNET_CHECK(end != input.end(), ConfigError, "--out '", options.out.string(),
              "' is the input folder or lies inside it; choose a report folder elsewhere");
}

constexpr size_t kWorstShown = 10;

// Worse first: the lower DSB2018 score, then the lower pixel IoU, then the id.
bool worse(const ImageEvaluation& a, const ImageEvaluation& b) {
  if (a.nuclei.score() != b.nuclei.score()) return a.nuclei.score() < b.nuclei.score();
  if (a.pixel_iou() != b.pixel_iou()) return a.pixel_iou() < b.pixel_iou();
  return a.id < b.id;
}

// The images scored worst so far, with what the montage draws of them.
class WorstImages {
 public:
  void offer(const ImageEvaluation& e, data::Image image, data::LabelImage truth,
             data::LabelImage predicted) {
    if (rows_.size() == kWorstShown && !worse(e, rows_.back().first)) return;
    rows_.push_back(
        {e,
         {fmt::format("{} score {:.3f} IoU {:.3f}", e.id, e.nuclei.score(), e.pixel_iou()),
          std::move(image), std::move(truth), std::move(predicted)}});
    std::sort(rows_.begin(), rows_.end(),
              [](const auto& a, const auto& b) { return worse(a.first, b.first); });
    if (rows_.size() > kWorstShown) rows_.pop_back();
  }

  std::vector<data::MontageRow> rows() const {
    std::vector<data::MontageRow> out;
    for (const auto& [evaluation, row] : rows_) out.push_back(row);
    return out;
  }

 private:
  std::vector<std::pair<ImageEvaluation, data::MontageRow>> rows_;
};

ImageEvaluation evaluate_sample(const Predictor& predictor, const data::SourceSample& sample,
                                const EvalOptions& options, WorstImages& worst) {
  const data::Image image = data::read_image(sample.image, predictor.in_channels());
  const data::LabelImage truth = data::read_instance_masks(sample.masks);
  DUNET_CHECK(truth.height == image.height && truth.width == image.width, DataError, "masks of '",
              sample.id, "' are ", truth.width, "x", truth.height, " but its image is ",
              image.width, "x", image.height);
  infer::Prediction prediction = predictor.predict(image, options.predict);
  const data::Image& mask = prediction.mask;
  const data::LabelImage& predicted = prediction.nuclei;
  data::write_label_image(options.out / "labels" / (sample.id + ".png"), predicted);

  ImageEvaluation e;
  e.id = sample.id;
  e.kind = data::image_kind(image);
  e.width = image.width;
  e.height = image.height;
  for (size_t i = 0; i < mask.pixels.size(); ++i) {
    const bool t = truth.labels[i] != 0, p = mask.pixels[i] != 0;
    e.true_positives += t && p;
    e.false_positives += !t && p;
    e.false_negatives += t && !p;
  }
  e.nuclei = model::dsb_instance_score(truth.labels, predicted.labels);
  worst.offer(e, image, truth, predicted);
  return e;
}

std::string images_csv(const std::vector<ImageEvaluation>& images) {
  std::string csv =
      "id,kind,width,height,true_nuclei,predicted_nuclei,count_error,pixel_tp,pixel_fp,pixel_fn,"
      "pixel_iou,dice,dsb_score\n";
  for (const auto& e : images) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.17g},{:.17g},{:.17g}\n", e.id, e.kind,
                       e.width,
                       e.height, e.nuclei.true_objects, e.nuclei.predicted_objects,
                       e.nuclei.count_error(), e.true_positives, e.false_positives,
                       e.false_negatives, e.pixel_iou(), e.dice(), e.nuclei.score());
  }
  return csv;
}

// The samples named in `ids` (all when empty); every id must be there.
std::vector<data::SourceSample> only(std::vector<data::SourceSample> samples,
                                     const std::vector<std::string>& ids, const fs::path& input) {
  if (ids.empty()) return samples;
  std::map<std::string, data::SourceSample> by_id;
  for (auto& s : samples) by_id.emplace(s.id, std::move(s));
  std::vector<data::SourceSample> chosen;
  for (const auto& id : ids) {
    const auto it = by_id.find(id);
    DUNET_CHECK(it != by_id.end(), DataError, "sample '", id, "' of the held-out split is not in '",
                input.string(), "' (expected ", (input / id / "images").string(), ")");
    chosen.push_back(it->second);
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return chosen;
}

// Pixel IoU and Dice from summed counts, and the mean DSB2018 score, of some images.
nlohmann::ordered_json figures(const std::vector<const ImageEvaluation*>& images) {
  double tp = 0, fp = 0, fn = 0, score_sum = 0;
  for (const ImageEvaluation* e : images) {
    tp += static_cast<double>(e->true_positives);
    fp += static_cast<double>(e->false_positives);
    fn += static_cast<double>(e->false_negatives);
    score_sum += e->nuclei.score();
  }
  return {{"images", images.size()},
          {"pixel_iou", ratio_or_one(tp, tp + fp + fn)},
          {"dice", ratio_or_one(2 * tp, 2 * tp + fp + fn)},
          {"mean_dsb2018_score", images.empty() ? 0.0 : score_sum / static_cast<double>(images.size())}};
}

// The figures per image kind, kinds in name order.
nlohmann::ordered_json figures_by_kind(const std::vector<ImageEvaluation>& images) {
  std::map<std::string, std::vector<const ImageEvaluation*>> kinds;
  for (const auto& e : images) kinds[e.kind].push_back(&e);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [kind, members] : kinds) out[kind] = figures(members);
  return out;
}

}  // namespace

double ImageEvaluation::pixel_iou() const {
  return ratio_or_one(static_cast<double>(true_positives),
                      static_cast<double>(true_positives + false_positives + false_negatives));
}

double ImageEvaluation::dice() const {
  return ratio_or_one(2.0 * static_cast<double>(true_positives),
                      static_cast<double>(2 * true_positives + false_positives + false_negatives));
}

EvalReport evaluate_folder(const Predictor& predictor, const EvalOptions& options) {
  check_out_is_not_input(options);
  const std::vector<data::SourceSample> samples =
      only(data::scan_dsb_layout(options.input), options.only_ids, options.input);
  DUNET_CHECK(!samples.empty(), DataError, "no samples to score in '", options.input.string(), "'");
  EvalReport report;
  ProgressBar bar("eval", static_cast<int64_t>(samples.size()), /*enabled=*/true);
  double tp = 0, fp = 0, fn = 0, score_sum = 0;
  WorstImages worst;
  for (size_t i = 0; i < samples.size(); ++i) {
    ImageEvaluation e = evaluate_sample(predictor, samples[i], options, worst);
    tp += static_cast<double>(e.true_positives);
    fp += static_cast<double>(e.false_positives);
    fn += static_cast<double>(e.false_negatives);
    score_sum += e.nuclei.score();
    report.images.push_back(std::move(e));
    bar.update(static_cast<int64_t>(i + 1), samples[i].id);
  }
  bar.finish();
  report.pixel_iou = ratio_or_one(tp, tp + fp + fn);
  report.dice = ratio_or_one(2 * tp, 2 * tp + fp + fn);
  report.mean_dsb_score = score_sum / static_cast<double>(samples.size());

  write_file_durably(options.out / "images.csv", images_csv(report.images));
  const nlohmann::ordered_json summary{{"images", report.images.size()},
                                       {"pixel_iou", report.pixel_iou},
                                       {"dice", report.dice},
                                       {"mean_dsb2018_score", report.mean_dsb_score},
                                       {"threshold", options.predict.threshold},
                                       {"tile_size", predictor.window_size(options.predict)},
                                       {"tta", options.predict.tta},
                                       {"min_nucleus_area", options.predict.min_nucleus_area},
                                       {"input", options.input.string()},
                                       {"by_kind", figures_by_kind(report.images)}};
  write_file_durably(options.out / "summary.json", summary.dump(2) + "\n");
  data::write_png(options.out / "worst.png", data::make_montage(worst.rows()));
  return report;
}

}  // namespace dunet::infer
