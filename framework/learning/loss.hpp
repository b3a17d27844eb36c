// The loss on the output signals (MODEL.md section 5).
#pragma once

#include <vector>

#include "framework/base/config.hpp"
#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// The output signals s [class][b] the loss reads (network.readout): state: x - x* of each
// output neuron's read element; drive: the total drive each output neuron receives.
std::vector<double> output_signals(const Network& net, const Batch& batch);

// Loss of the output signals: the registered loss training.loss (loss_functions.hpp)
// of every sample. Throws std::invalid_argument for an unregistered name. Fills dL/ds of every
// sample ([class][b]) and returns the per-sample losses; `predictions` receives the argmax.
std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions = nullptr);

// network.readout drive: the loss reads each output neuron's total drive, so dL/du_{k,e} =
// dL/ds_k on every element e. Writes it into the output layer's part of the flat state-shaped
// v (the rest is left alone): where the adjoint and bptt's reverse sweep start.
void seed_output_drive(const Network& net, std::size_t B, const std::vector<double>& dlds,
                       double* v);

// network.readout drive: the output neurons' K's do not enter the loss; their per-neuron K
// terms (the last layer_size(L) x 3 entries of kg) are set to 0.
void drop_output_k_terms(const Network& net, std::vector<double>& kg);

}  // namespace wuxing
