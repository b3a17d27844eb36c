// The loss on the output signals (MODEL.md section 5).
#pragma once

#include <vector>

#include "framework/config.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// Loss of the output signals. Per sample: cross_entropy -log softmax(scale * s)_y or
// mse 0.5 * sum_k (s_k - t_k)^2. Fills dL/ds of every sample ([class][b]) and returns
// the per-sample losses; `predictions` receives the argmax.
std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions = nullptr);

}  // namespace wuxing
