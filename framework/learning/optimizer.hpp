// First-order optimizers and the distributed PID controller (P2) over flat parameter blocks.
// Gradients are averaged over the minibatch before they get here.
#pragma once

#include <string>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/learning/layer.hpp"

namespace wuxing {

// One optimizer state per parameter block (a connection set, the K table, an MLP layer).
class Optimizer {
 public:
  Optimizer(OptimizerKind kind, double momentum, std::size_t size);
  // params -= lr * step(grad). Adam uses beta1 = 0.9, beta2 = 0.999, eps = 1e-8 with bias
  // correction; momentum is the heavy-ball form v = mu v + g, params -= lr v.
  void apply(double* params, const double* grad, double lr);
  std::size_t size() const { return size_; }
  OptimizerKind kind() const { return kind_; }
  // The moving state (checkpoints): step count, then the moment buffers.
  std::vector<double> state() const;
  void set_state(const std::vector<double>& state);  // throws std::invalid_argument on a bad size

 private:
  OptimizerKind kind_;
  double mu_;
  std::size_t size_;
  std::vector<double> m_, v_;
  long t_ = 0;
};

// Per-parameter PID on the gradient signal: v_t = kp g_t + ki I_t + kd (g_t - g_{t-1}),
// I_t = clamp((1 - leak) I_{t-1} + g_t, +-integral_clamp). The output v replaces the
// gradient handed to the optimizer (with sgd: update = -lr v_t).
class PidController {
 public:
  PidController(const PidConfig& config, std::size_t size);
  void transform(double* g);  // g <- v, in place
  // The moving state (checkpoints): first-step flag, integral, previous gradient.
  std::vector<double> state() const;
  void set_state(const std::vector<double>& state);  // throws std::invalid_argument on a bad size

 private:
  PidConfig cfg_;
  std::vector<double> integral_, previous_;
  bool first_ = true;
};

// Learning rate of epoch `epoch` (0-based): constant, lr / (1 + epoch) for inverse_epoch, or
// lr (1 + cos(pi epoch / epochs)) / 2 for cosine (one value per epoch, lr in the first).
double scheduled_lr(const TrainingConfig& training, int epoch);

// Decoupled weight decay: params -= factor * params (factor = lr * weight_decay); nothing when
// factor is 0, so that runs without decay stay bit-identical.
void decay_weights(double* params, std::size_t size, double factor);

}  // namespace wuxing
