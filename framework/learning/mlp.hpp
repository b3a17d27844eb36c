// The conventional baseline (`mlp_backprop`): an ordinary MLP with the Wuxing network's
// layer sizes, trained by backpropagation on the same data, seeds, epochs and optimizer.
#pragma once

#include <Eigen/Dense>
#include <memory>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/learning/layer.hpp"
#include "framework/learning/learner.hpp"
#include "framework/learning/loss_functions.hpp"

namespace wuxing {

class Mlp {
 public:
  // Hidden activation training.mlp_activation (tanh | sigmoid | hard_tanh, the clamp of z to
  // [-1, 1]: the shape of a Wuxing neuron in a band value range); linear output with the
  // loss training.loss in its column form (loss_functions.hpp; cross_entropy with logit scale
  // 1, mse against one-hot targets of amplitude target_amplitude). Throws
  // std::invalid_argument for a loss without a column form. Weights ~ init * init_scale /
  // sqrt(fan_in), biases 0.
  Mlp(const ExperimentConfig& config, int features, int classes);

  // Mean loss over the columns of X (features x B); gradients are means too.
  double gradient(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                  std::vector<Eigen::MatrixXd>& gW, std::vector<Eigen::VectorXd>& gb,
                  std::vector<int>* predictions = nullptr) const;
  // Per-sample losses and predictions without gradients.
  double evaluate(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                  std::vector<int>& predictions) const;

  std::vector<Eigen::MatrixXd> W;
  std::vector<Eigen::VectorXd> b;

 private:
  double forward(const Eigen::MatrixXd& X, const std::vector<int>& labels,
                 std::vector<Eigen::MatrixXd>& acts, Eigen::MatrixXd& dz,
                 std::vector<int>* predictions) const;
  MlpActivation activation_ = MlpActivation::tanh;
  ColumnsLoss loss_ = nullptr;    // training.loss's column form (loss_functions.hpp)
  TrainingConfig loss_settings_;  // training, with logit_scale 1
};

// Pixels of samples `indices` as a features x B matrix.
Eigen::MatrixXd batch_matrix(const Dataset& data, const std::vector<std::size_t>& indices);

// The MLP as a Learner for the epoch loop (framework/learning/epoch_loop.hpp).
std::unique_ptr<Learner> make_mlp_learner(const ExperimentConfig& config, int features,
                                          int classes);

}  // namespace wuxing
