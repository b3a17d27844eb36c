#include "framework/learning/loss.hpp"

#include <algorithm>

#include "framework/learning/loss_functions.hpp"
#include "framework/model/connection_kernels.hpp"

namespace wuxing {

std::vector<double> output_signals(const Network& net, const Batch& batch) {
  const int L = net.layer_count() - 1;
  const int C = net.layer_size(L);
  const int n = net.n();
  const std::size_t B = batch.B;
  std::vector<double> s(static_cast<std::size_t>(C) * B, 0.0);
  if (net.drive_readout()) {
    // The total drive of output neuron k over its elements: sum_e u_{k,e}. Layer 1's drive
    // is the batch's u_in already.
    std::vector<double> signals, own;
    const double* u = batch.u_in.data();
    if (L > 1) {
      own.assign(static_cast<std::size_t>(C) * n * B, 0.0);
      gather_drive(net.connections(L), n, B,
                   presynaptic_signals(net, L, batch, batch.x.data(), signals), nullptr,
                   own.data());
      u = own.data();
    }
    for (int k = 0; k < C; ++k)
      for (int e = 0; e < n; ++e)
        for (std::size_t b = 0; b < B; ++b)
          s[static_cast<std::size_t>(k) * B + b] +=
              u[(static_cast<std::size_t>(k) * n + e) * B + b];
    return s;
  }
  const double* xl = batch.x.data() + net.layer_offset(L, B);
  const int oe = net.output_element();
  for (int k = 0; k < C; ++k)
    for (std::size_t b = 0; b < B; ++b)
      s[static_cast<std::size_t>(k) * B + b] =
          xl[(static_cast<std::size_t>(k) * n + oe) * B + b] - net.fixed_point(L, k);
  return s;
}

void seed_output_drive(const Network& net, std::size_t B, const std::vector<double>& dlds,
                       double* v) {
  const int L = net.layer_count() - 1;
  const int n = net.n();
  const std::size_t off = net.layer_offset(L, B);
  for (int k = 0; k < net.layer_size(L); ++k)
    for (int a = 0; a < n; ++a)
      std::copy_n(dlds.data() + static_cast<std::size_t>(k) * B, B,
                  v + off + (static_cast<std::size_t>(k) * n + a) * B);
}

void drop_output_k_terms(const Network& net, std::vector<double>& kg) {
  const int L = net.layer_count() - 1;
  std::fill(kg.end() - static_cast<std::ptrdiff_t>(net.layer_size(L)) * 3, kg.end(), 0.0);
}

std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions) {
  const int L = net.layer_count() - 1;
  const int C = net.layer_size(L);
  const std::size_t B = batch.B;
  const std::vector<double> signals = output_signals(net, batch);
  const LossEntry& entry = loss_registry().at(training.loss);
  dlds.assign(static_cast<std::size_t>(C) * B, 0.0);
  std::vector<double> loss(B, 0.0);
  if (predictions) predictions->assign(B, 0);
  std::vector<double> s(C), scratch(C);
  for (std::size_t b = 0; b < B; ++b) {
    for (int k = 0; k < C; ++k) s[k] = signals[static_cast<std::size_t>(k) * B + b];
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
