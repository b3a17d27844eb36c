// GCC 12 reports a false -Wmaybe-uninitialized / -Wuninitialized inside Eigen's AVX-512 GEMM
// packing (the intrinsics' self-initialised __Y); it is not in our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "framework/learning/mlp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "framework/base/checkpoint.hpp"
#include "framework/learning/loss_functions.hpp"
#include "framework/learning/optimizer.hpp"
#include "framework/learning/rules.hpp"
#include "framework/model/connectivity.hpp"

namespace wuxing {

Mlp::Mlp(const ExperimentConfig& config, int features, int classes) {
  const auto& t = config.training;
  activation_ = t.mlp_activation;
  loss_ = loss_registry().at(t.loss).columns;
  if (!loss_)
    throw std::invalid_argument(
        fmt::format("training.loss '{}' has no column form for mlp_backprop", t.loss));
  // The MLP's logits are its last layer's outputs, which learn their own scale.
  loss_settings_ = t;
  loss_settings_.logit_scale = 1.0;
  std::vector<int> sizes{features};
  for (int h : config.network.hidden) sizes.push_back(h);
  sizes.push_back(classes);
  Rng rng(stream_seed(config.seed, RngStream::mlp));
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const double scale = config.network.init_scale / std::sqrt(static_cast<double>(sizes[l]));
    Eigen::MatrixXd w(sizes[l + 1], sizes[l]);
    for (int i = 0; i < w.rows(); ++i)
      for (int j = 0; j < w.cols(); ++j)
        w(i, j) = config.network.init == WeightInit::uniform ? scale * (2.0 * rng.uniform() - 1.0)
                                                             : scale * rng.normal();
    W.push_back(std::move(w));
    b.push_back(Eigen::VectorXd::Zero(sizes[l + 1]));
  }
}

double Mlp::forward(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                    std::vector<Eigen::MatrixXd>& acts, Eigen::MatrixXd& dz,
                    std::vector<int>* predictions) const {
  acts.clear();
  acts.push_back(X);
  for (std::size_t l = 0; l < W.size(); ++l) {
    Eigen::MatrixXd z = (W[l] * acts.back()).colwise() + b[l];
    if (l + 1 < W.size()) {
      switch (activation_) {
        case MlpActivation::tanh:
          z = z.array().tanh().matrix();
          break;
        case MlpActivation::sigmoid:
          z = (1.0 / (1.0 + (-z.array()).exp())).matrix();
          break;
        case MlpActivation::hard_tanh:
          z = z.array().max(-1.0).min(1.0).matrix();
          break;
      }
    }
    acts.push_back(std::move(z));
  }
  const Eigen::MatrixXd& z = acts.back();
  const long B = z.cols();
  if (predictions) {
    predictions->assign(B, 0);
    for (long c = 0; c < B; ++c) {
      Eigen::Index best;
      z.col(c).maxCoeff(&best);
      (*predictions)[c] = static_cast<int>(best);
    }
  }
  dz.resize(z.rows(), B);
  const double loss = loss_(z.data(), static_cast<int>(z.rows()), static_cast<int>(B),
                            labels.data(), loss_settings_, dz.data());
  return loss / B;
}

double Mlp::gradient(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                     std::vector<Eigen::MatrixXd>& gW, std::vector<Eigen::VectorXd>& gb,
                     std::vector<int>* predictions) const {
  std::vector<Eigen::MatrixXd> acts;
  Eigen::MatrixXd delta;
  const double loss = forward(X, labels, acts, delta, predictions);
  const double inv = 1.0 / static_cast<double>(X.cols());
  gW.resize(W.size());
  gb.resize(W.size());
  for (std::size_t l = W.size(); l-- > 0;) {
    gW[l] = inv * delta * acts[l].transpose();
    gb[l] = inv * delta.rowwise().sum();
    if (l > 0) {
      Eigen::MatrixXd back = W[l].transpose() * delta;
      const Eigen::ArrayXXd a = acts[l].array();
      switch (activation_) {
        case MlpActivation::tanh:
          delta = (back.array() * (1.0 - a * a)).matrix();
          break;
        case MlpActivation::sigmoid:
          delta = (back.array() * a * (1.0 - a)).matrix();
          break;
        case MlpActivation::hard_tanh:
          // Slope 1 inside (-1, 1), 0 where the unit is held at a bound.
          delta = (back.array() * (a.abs() < 1.0).cast<double>()).matrix();
          break;
      }
    }
  }
  return loss;
}

double Mlp::evaluate(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                     std::vector<int>& predictions) const {
  std::vector<Eigen::MatrixXd> acts;
  Eigen::MatrixXd dz;
  return forward(X, labels, acts, dz, &predictions);
}

Eigen::MatrixXd batch_matrix(const Dataset& data, const std::vector<std::size_t>& indices) {
  Eigen::MatrixXd X(data.features, static_cast<long>(indices.size()));
  for (std::size_t c = 0; c < indices.size(); ++c)
    for (int j = 0; j < data.features; ++j) X(j, static_cast<long>(c)) = data.pixel(indices[c], j);
  return X;
}

namespace {

std::vector<int> labels_of(const Dataset& d, const std::vector<std::size_t>& idx) {
  std::vector<int> y(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) y[i] = d.labels[idx[i]];
  return y;
}

// The backprop baseline as a Learner for the epoch loop (framework/learning/epoch_loop.hpp).
class MlpLearner final : public Learner {
 public:
  MlpLearner(const ExperimentConfig& config, int features, int classes)
      : mlp_(config, features, classes), weight_decay_(config.training.weight_decay) {
    for (std::size_t l = 0; l < mlp_.W.size(); ++l) {
      opt_W_.emplace_back(config.training.optimizer, config.training.momentum, mlp_.W[l].size());
      opt_b_.emplace_back(config.training.optimizer, config.training.momentum, mlp_.b[l].size());
    }
  }

  std::string step(const Dataset& train, const std::vector<std::size_t>& indices, double lr,
                   int epoch, std::size_t start, BatchStats& seen, EpochMetrics&) override {
    const auto y = labels_of(train, indices);
    std::vector<Eigen::MatrixXd> gW;
    std::vector<Eigen::VectorXd> gb;
    std::vector<int> pred;
    const double loss = mlp_.gradient(batch_matrix(train, indices), y, gW, gb, &pred);
    if (!std::isfinite(loss))
      return fmt::format("non-finite loss in epoch {} at sample {}", epoch + 1, start);
    // Rounded product, then the sum: not one fused multiply-add (which the compiler may form
    // here, -ffp-contract=fast), so that stored results stay bit-identical to the loop this
    // replaced.
    const volatile double batch_loss = loss * static_cast<double>(indices.size());
    seen.loss_sum += batch_loss;
    seen.samples += indices.size();
    for (std::size_t i = 0; i < indices.size(); ++i) seen.correct += pred[i] == y[i];
    for (std::size_t l = 0; l < mlp_.W.size(); ++l) {
      decay_weights(mlp_.W[l].data(), static_cast<std::size_t>(mlp_.W[l].size()),
                    lr * weight_decay_);
      opt_W_[l].apply(mlp_.W[l].data(), gW[l].data(), lr);
      opt_b_[l].apply(mlp_.b[l].data(), gb[l].data(), lr);
    }
    return {};
  }

  void end_epoch(const Dataset& test, const BatchStats& seen, int, EpochMetrics& m,
                 RunResult&) override {
    double test_loss = 0.0;
    std::int64_t test_correct = 0;
    for (std::size_t start = 0; start < test.size(); start += 1000) {
      std::vector<std::size_t> idx;
      for (std::size_t i = start; i < std::min(test.size(), start + 1000); ++i) idx.push_back(i);
      const auto y = labels_of(test, idx);
      std::vector<int> pred;
      test_loss += mlp_.evaluate(batch_matrix(test, idx), y, pred) * idx.size();
      for (std::size_t i = 0; i < idx.size(); ++i) test_correct += pred[i] == y[i];
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m.train_accuracy = seen.samples ? static_cast<double>(seen.correct) / seen.samples : nan;
    m.train_loss = seen.samples ? seen.loss_sum / seen.samples : nan;
    m.test_accuracy = test.size() ? static_cast<double>(test_correct) / test.size() : nan;
    m.test_loss = test.size() ? test_loss / test.size() : nan;
    m.max_re_lambda = nan;
  }

  void finish(const Dataset&, RunResult& result) override {
    for (std::size_t l = 0; l < mlp_.W.size(); ++l) {
      LayerParameters p;
      const Eigen::MatrixXd& w = mlp_.W[l];
      p.connections = w.size();
      p.coef_mean = w.mean();
      p.coef_std = std::sqrt(std::max(0.0, w.array().square().mean() - p.coef_mean * p.coef_mean));
      p.coef_min = w.minCoeff();
      p.coef_max = w.maxCoeff();
      result.parameters.push_back(p);
    }
  }

  // Checkpoints (framework/base/checkpoint.hpp): the weights and the optimizer states.
  void save_state(TrainingState& s) const override {
    for (std::size_t l = 0; l < mlp_.W.size(); ++l) {
      s.put(fmt::format("W/{}", l), {mlp_.W[l].data(), mlp_.W[l].data() + mlp_.W[l].size()});
      s.put(fmt::format("b/{}", l), {mlp_.b[l].data(), mlp_.b[l].data() + mlp_.b[l].size()});
      s.put(fmt::format("opt/W/{}", l), opt_W_[l].state());
      s.put(fmt::format("opt/b/{}", l), opt_b_[l].state());
    }
  }
  void load_state(const TrainingState& s) override {
    for (std::size_t l = 0; l < mlp_.W.size(); ++l) {
      const auto& w = s.get(fmt::format("W/{}", l), mlp_.W[l].size());
      const auto& bias = s.get(fmt::format("b/{}", l), mlp_.b[l].size());
      std::copy(w.begin(), w.end(), mlp_.W[l].data());
      std::copy(bias.begin(), bias.end(), mlp_.b[l].data());
      opt_W_[l].set_state(s.get(fmt::format("opt/W/{}", l)));
      opt_b_[l].set_state(s.get(fmt::format("opt/b/{}", l)));
    }
  }
  std::size_t progress_every() const override { return 50; }

 private:
  Mlp mlp_;
  double weight_decay_;
  std::vector<Optimizer> opt_W_, opt_b_;
};

}  // namespace

std::unique_ptr<Learner> make_mlp_learner(const ExperimentConfig& config, int features,
                                          int classes) {
  return std::make_unique<MlpLearner>(config, features, classes);
}

WUXING_REGISTER_RULE(mlp_backprop) {
  return {"mlp_backprop", "baseline: a plain MLP of the same layer sizes trained by backprop",
          &make_mlp_learner};
}

}  // namespace wuxing
