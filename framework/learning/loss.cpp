#include "framework/learning/loss.hpp"

#include "framework/learning/loss_functions.hpp"

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
  const LossEntry& entry = loss_registry().at(training.loss);
  dlds.assign(static_cast<std::size_t>(C) * B, 0.0);
  std::vector<double> loss(B, 0.0);
  if (predictions) predictions->assign(B, 0);
  std::vector<double> s(C), scratch(C);
  for (std::size_t b = 0; b < B; ++b) {
    for (int k = 0; k < C; ++k)
      s[k] = xl[(static_cast<std::size_t>(k) * n + oe) * B + b] - net.fixed_point(L, k);
    int best = 0;
    for (int k = 1; k < C; ++k)
      if (s[k] > s[best]) best = k;
    if (predictions) (*predictions)[b] = best;
    loss[b] =
        entry.sample(s.data(), C, batch.labels[b], training, dlds.data() + b, B, scratch.data());
  }
  return loss;
}

}  // namespace wuxing
