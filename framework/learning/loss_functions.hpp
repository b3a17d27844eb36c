// The table of losses on the output signals (MODEL.md section 5; framework/base/registry.hpp
// explains the mechanism). A loss is one function of one sample's output signals,
// registered at namespace scope inside `namespace wuxing`:
//
//   WUXING_REGISTER_LOSS(mse) { return {"mse", "one line", &mse_sample}; }
//
// output_loss() (loss.hpp), the mlp_backprop baseline (mlp.cpp, through `columns`), spec
// validation of training.loss, `wuxing run --help` and the docs' test read this table.
#pragma once

#include <cstddef>
#include <string>

#include "framework/base/config.hpp"
#include "framework/base/registry.hpp"
#include "framework/learning/layer.hpp"

namespace wuxing {

// Loss of one sample: s[0..classes) are its output signals, label its class. Writes
// dL/ds_k to dlds[k * stride] for every k and returns L. `scratch` has room for `classes`
// doubles. Reads its parameters (logit_scale, target_amplitude, ...) from `training`.
using SampleLoss = double (*)(const double* s, int classes, int label,
                              const TrainingConfig& training, double* dlds, std::size_t stride,
                              double* scratch);

// The same loss on the columns of a column-major classes x count matrix z (sample c's signals at
// z[c * classes], its class labels[c]), computed with Eigen's vectorised kernels: for a model
// that keeps its outputs as such a matrix (mlp_backprop). Writes dL/dz (same layout) to dz and
// returns the summed loss. Its own form, not a loop over `sample`: Eigen's exp and sums differ
// from std::exp's in the last bits, and the MLP baseline's stored results came from this form.
using ColumnsLoss = double (*)(const double* z, int classes, int count, const int* labels,
                               const TrainingConfig& training, double* dz);

struct LossEntry {
  std::string name;         // the spec's training.loss
  std::string description;  // one line: the formula
  SampleLoss sample;
  ColumnsLoss columns = nullptr;  // nullptr: not available to mlp_backprop
};

const Registry<LossEntry>& loss_registry();

}  // namespace wuxing

#define WUXING_REGISTER_LOSS(id) WUXING_DETAIL_REGISTRATION(LossEntry, loss, id)
