#include "framework/learning/loss.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace wuxing {

std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions) {
  const int L = net.layer_count() - 1;
  const int C = net.layer_size(L);
  const int n = net.n();
  const std::size_t B = batch.B;
  const double* xl = batch.x.data() + net.layer_offset(L, B);
  const int oe = net.output_element();
  const bool ce = training.loss == "cross_entropy";
  if (!ce && training.loss != "mse")
    throw std::invalid_argument(
        fmt::format("training.loss '{}' must be cross_entropy or mse", training.loss));
  dlds.assign(static_cast<std::size_t>(C) * B, 0.0);
  std::vector<double> loss(B, 0.0);
  if (predictions) predictions->assign(B, 0);
  std::vector<double> s(C), p(C);
  for (std::size_t b = 0; b < B; ++b) {
    for (int k = 0; k < C; ++k)
      s[k] = xl[(static_cast<std::size_t>(k) * n + oe) * B + b] - net.fixed_point(L, k);
    const int y = batch.labels[b];
    int best = 0;
    for (int k = 1; k < C; ++k)
      if (s[k] > s[best]) best = k;
    if (predictions) (*predictions)[b] = best;
    if (ce) {
      double zmax = -std::numeric_limits<double>::infinity();
      for (int k = 0; k < C; ++k) zmax = std::max(zmax, training.logit_scale * s[k]);
      double sum = 0.0;
      for (int k = 0; k < C; ++k) sum += (p[k] = std::exp(training.logit_scale * s[k] - zmax));
      for (int k = 0; k < C; ++k) p[k] /= sum;
      loss[b] = -(training.logit_scale * s[y] - zmax - std::log(sum));
      for (int k = 0; k < C; ++k)
        dlds[static_cast<std::size_t>(k) * B + b] = training.logit_scale * (p[k] - (k == y));
    } else {
      for (int k = 0; k < C; ++k) {
        const double d = s[k] - (k == y ? training.target_amplitude : 0.0);
        loss[b] += 0.5 * d * d;
        dlds[static_cast<std::size_t>(k) * B + b] = d;
      }
    }
  }
  return loss;
}

}  // namespace wuxing
