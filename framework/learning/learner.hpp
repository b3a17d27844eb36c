// What a training rule offers the one epoch loop (run_training, framework/learning/epoch_loop.cpp):
// the Wuxing network's rules (framework/learning/training.hpp) and the backprop MLP baseline
// (framework/learning/mlp.hpp) both implement Learner, so that shuffling, progress, stopping,
// checkpoints and the epoch's records are written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/base/checkpoint.hpp"
#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/learning/layer.hpp"
#include "framework/model/phase.hpp"

namespace wuxing {

// What one minibatch (or one evaluation pass) saw.
struct BatchStats {
  std::size_t samples = 0;
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  PhaseReport forward;  // summed over chunks (sample vectors left empty)
  PhaseReport backward;
  std::int64_t input_clamps = 0;
  std::int64_t excluded = 0;  // samples left out of the gradient (a phase did not settle)
  std::int64_t held = 0;      // unsettled samples' elements held constant (exclude_element)
};

class Learner {
 public:
  virtual ~Learner() = default;
  // The gradient of the minibatch `indices` of `train` (which starts at position `start` of
  // epoch `epoch`'s order) and the update at rate `lr`. Adds the minibatch's figures into
  // `seen` and its trouble counts into `metrics`. Returns "" or why the run cannot go on (a
  // non-finite loss, gradient or parameter).
  virtual std::string step(const Dataset& train, const std::vector<std::size_t>& indices, double lr,
                           int epoch, std::size_t start, BatchStats& seen,
                           EpochMetrics& metrics) = 0;
  // After an epoch's minibatches (`seen`): the test pass and the epoch's figures in `metrics`,
  // and any per-epoch record in `result`.
  virtual void end_epoch(const Dataset& test, const BatchStats& seen, int epoch,
                         EpochMetrics& metrics, RunResult& result) = 0;
  // After the last epoch: the final parameters (and probes) into `result`.
  virtual void finish(const Dataset& test, RunResult& result) = 0;
  // Checkpoints (framework/base/checkpoint.hpp): parameters and optimizer states.
  virtual void save_state(TrainingState& state) const = 0;
  virtual void load_state(const TrainingState& state) = 0;  // throws on another shape
  // Minibatches between two progress reports.
  virtual std::size_t progress_every() const = 0;
};

}  // namespace wuxing
