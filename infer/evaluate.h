// `dunet eval`: a checkpoint scored on a DSB2018-layout folder (<id>/images/<id>.png, one mask
// file per nucleus in <id>/masks/). Nuclei are those of Predictor::predict: split along the
// predicted outlines where the model has an outline channel, else the connected components of
// the predicted foreground. Per image: pixel IoU and Dice, the DSB2018 score (model/instance_score.h) and
// the count error; over the folder: pixel IoU and Dice from summed counts and the mean score.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "infer/predictor.h"
#include "model/instance_score.h"

namespace dunet::infer {

struct EvalOptions {
  std::filesystem::path input;
  std::filesystem::path out;  // the report folder
  // Only these samples of the input (e.g. a prepared set's held-out split); empty = all.
  std::vector<std::string> only_ids;
  PredictOptions predict;
};

struct ImageEvaluation {
  std::string id;
  std::string kind;  // data::image_kind: grey or colour, dark or light ground
  int64_t width = 0;
  int64_t height = 0;
  int64_t true_positives = 0;  // foreground pixels
  int64_t false_positives = 0;
  int64_t false_negatives = 0;
  model::InstanceScore nuclei;

  double pixel_iou() const;  // 1 when neither truth nor prediction has foreground
  double dice() const;
};

struct EvalReport {
  std::vector<ImageEvaluation> images;
  double pixel_iou = 0;  // from counts summed over all images
  double dice = 0;
  double mean_dsb_score = 0;  // mean of the images' scores
};

// Scores every sample of `options.input` and writes, in `options.out`: images.csv (one row
// per image), summary.json (the global figures, and the same per image kind),
// labels/<id>.png (the predicted nuclei as a
// 16-bit label image) and worst.png (data/montage.h: the ten lowest DSB2018 scores). Each file appears whole or not at all. Throws ConfigError when the
// report folder is, or lies inside, the input folder, and DataError when an id of
// `only_ids` is not in the input.
EvalReport evaluate_folder(const Predictor& predictor, const EvalOptions& options);

}  // namespace dunet::infer
