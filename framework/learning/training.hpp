// Training rules on a Wuxing network (MODEL.md section 6); the epoch loop that drives them is
// framework/learning/epoch_loop.hpp (included here for the callers of run_training).
#pragma once

#include <memory>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/bptt.hpp"
#include "framework/learning/epoch_loop.hpp"
#include "framework/learning/fold_diagnostics.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/layer.hpp"
#include "framework/learning/learner.hpp"
#include "framework/learning/loss.hpp"
#include "framework/learning/optimizer.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/operating_point.hpp"

namespace wuxing {

// What a rule on the Wuxing network trains and how it gets its gradient: each registered rule
// (wuxing_rules.cpp) makes one from the config.
struct WuxingRule {
  bool connections = true;  // updates the connection coefficients
  bool K = false;           // updates the K's of training.trainable_K
  bool bptt = false;        // the exact gradient through every Heun step instead of the adjoint
  bool pid = false;         // a PID controller (training.pid) between gradient and optimizer
};

// Owns the network, the optimizers and the rule. A minibatch is processed in chunks of
// kChunk samples (in parallel over chunks); chunk gradients are added in chunk order, so
// the result does not depend on the number of threads.
namespace detail {
// dK2/dK1 and dK2/dK3 of the K2 that keeps the fixed point at x_star (training.pin_fixed_point).
std::array<double, 2> pinned_k2_derivative(const Equation& eq, const KParams& K, double x_star);
}  // namespace detail

class Trainer {
 public:
  static constexpr std::size_t kChunk = 25;

  Trainer(const ExperimentConfig& config, int features, int classes, const WuxingRule& rule);
  Network& network() { return net_; }
  const Network& network() const { return net_; }

  // Mean gradient of the minibatch `indices` of `data` under the configured rule.
  BatchStats gradient(const Dataset& data, const std::vector<std::size_t>& indices,
                      Gradients& grads);
  // Optimizer step (after PID when the rule is pid); K's are clamped to their ranges.
  // Returns the number of K clamps.
  std::int64_t apply(Gradients& grads, double lr);
  // Forward phase and loss only, in parallel over chunks of `chunk` samples.
  // With `drives`, also the drives of every neuron relative to its layer's folds.
  BatchStats evaluate(const Dataset& data, const std::vector<std::size_t>& indices,
                      std::size_t chunk = 100, DriveStats* drives = nullptr,
                      const std::vector<LayerFolds>* folds = nullptr);

  // Checkpoints (framework/base/checkpoint.hpp): parameters, optimizer and PID states.
  void save_state(TrainingState& state) const;
  void load_state(const TrainingState& state);  // throws on a state of another shape

  bool trains_connections() const { return want_coef_; }
  bool trains_K() const { return want_K_; }

 private:
  ExperimentConfig config_;
  Network net_;
  bool want_coef_ = true, want_K_ = false, bptt_ = false, pid_ = false;
  std::array<bool, 3> k_mask_{false, false, false};
  std::vector<double> pinned_x_;  // per K-table entry: its fixed point (pin_fixed_point)
  std::vector<Optimizer> coef_opt_;
  std::unique_ptr<Optimizer> k_opt_;
  std::vector<PidController> coef_pid_;
  std::unique_ptr<PidController> k_pid_;
};

// The Wuxing network's rules as a Learner for the epoch loop (framework/learning/epoch_loop.hpp).
std::unique_ptr<Learner> make_wuxing_learner(const ExperimentConfig& config, int features,
                                             int classes, const WuxingRule& rule);

}  // namespace wuxing
