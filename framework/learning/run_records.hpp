// What a run records beside its per-epoch metrics: the final parameters of each layer and,
// with record.stability, each epoch's operating-point eigenvalues and fold diagnostics.
#pragma once

#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/learning/fold_diagnostics.hpp"
#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// Summary of layer l's parameters (K's, fixed points, coefficient statistics).
LayerParameters layer_parameters(const Network& net, int l);
// Whether every coefficient and K is finite.
bool parameters_finite(const Network& net);

// The stability record of one epoch: the operating-point eigenvalues of the first
// record.stability_samples test samples that settle (an unsettled end state is no fixed
// point), the counts of unstable real (fold-type) and complex (Hopf-type) eigenvalues, each
// layer's response folds and the test set's drive histogram relative to them. Sets
// max_re_lambda to the largest real part (-inf when no sample settled).
StabilityRecord stability_record(const Network& net, const Dataset& test,
                                 const ExperimentConfig& config, int epoch,
                                 const std::vector<LayerFolds>& folds, const DriveStats& drives,
                                 double& max_re_lambda);

}  // namespace wuxing
