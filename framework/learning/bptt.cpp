#include "framework/learning/bptt.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/learning/loss.hpp"
#include "framework/model/connection_kernels.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/heun.hpp"
#include "framework/model/lanes.hpp"

namespace wuxing {

using detail::sample_rates;

std::vector<double> bptt_gradients(const Network& net, Batch& batch, const IntegratorConfig& integ,
                                   const TrainingConfig& training, std::int64_t steps,
                                   Gradients& grads, PhaseReport* report,
                                   std::vector<int>* predictions) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t size = net.state_size(B);
  const double h = integ.h;
  const double lo = net.config().x_min, hi = net.config().x_max;
  if (grads.coef.size() != static_cast<std::size_t>(L)) grads.reset(net);
  const double scale = 1.0 / static_cast<double>(B);

  // Forward: the Heun stepper with the whole batch stepping together (no per-sample
  // freezing), every state on the tape. A fixed number of steps never settles (tol 0).
  std::vector<double> x(size), k1(size);
  fill_fixed_points(net, B, x.data());
  std::vector<std::vector<double>> states;
  detail::HeunControl control;
  control.h = h;
  control.t_max = std::numeric_limits<double>::infinity();  // the cap is in steps
  control.max_steps =
      steps >= 0
          ? steps
          : std::min<std::int64_t>(integ.max_steps,
                                   static_cast<std::int64_t>(std::ceil(integ.t_max / h - 1e-9)));
  control.tol = steps >= 0 ? 0.0 : integ.tol;
  const detail::Bounds<true> bounds{lo, hi};
  detail::ForwardField field(net, batch);
  PhaseReport stepped;
  const std::int64_t T = detail::heun_integrate<detail::Settle::whole_batch>(
      field, B, x.data(), control, bounds, stepped,
      [&](const double* state, double, std::int64_t) { states.emplace_back(state, state + size); });
  PhaseReport r;
  r.clamp_events = stepped.clamp_events;
  r.sample_settled.assign(B, 0);
  std::vector<double> rate;
  std::vector<char> bad;
  batch.x = x;
  network_rhs(net, batch, x.data(), k1.data());
  sample_rates(size, B, k1.data(), x.data(), lo, hi, rate, bad);
  r.sample_steps.assign(B, T);
  for (std::size_t b = 0; b < B; ++b) {
    r.sample_settled[b] = !bad[b] && rate[b] < integ.tol;
    r.non_finite += bad[b];
  }
  finish_report(net, B, x.data(), r);
  if (report) *report = r;

  std::vector<double> dlds;
  std::vector<double> loss = output_loss(net, batch, training, dlds, predictions);

  // Reverse. xbar = dL/dx_T: dL/ds at the output read elements.
  std::vector<double> xbar(size, 0.0), ybar(size), k1bar(size), k2bar(size), xtbar(size), tmp(size),
      ksum(static_cast<std::size_t>(net.layer_size(1)) * n * B, 0.0);
  std::vector<double> kg(integrated_neurons(net) * 3, 0.0);
  std::vector<double> s;
  const bool drive_readout = net.drive_readout();
  const std::size_t off = net.layer_offset(L, B);
  if (drive_readout) {
    // The loss reads u_k = sum_e u_{k,e} of x_T: seed v = dL/du on every output element. What
    // it reaches is what J^T carries back from layer L (its connections, and the x* offsets of
    // layer L - 1's signals in the K terms); the output neurons' own states never enter the
    // loss, so their part of xbar stays 0 and their K terms are dropped below.
    std::vector<double> v(size, 0.0);
    seed_output_drive(net, B, dlds, v.data());
    network_jt_apply(net, B, x.data(), v.data(), xbar.data());
    std::fill(xbar.begin() + static_cast<std::ptrdiff_t>(off), xbar.end(), 0.0);
    connection_products(net.connections(L), n, B, v.data() + off,
                        presynaptic_signals(net, L, batch, x.data(), s), scale,
                        grads.coef[L - 1].data());
    detail::k_gradient_terms(net, B, x.data(), v.data(), nullptr, scale, kg);
  } else {
    for (int k = 0; k < net.layer_size(L); ++k)
      for (std::size_t b = 0; b < B; ++b)
        xbar[off + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b] =
            dlds[static_cast<std::size_t>(k) * B + b];
  }
  detail::HeunStages stage;
  for (std::int64_t t = T - 1; t >= 0; --t) {
    // Replay the step: k1p = m1 k1(x), xt = x + h k1p, k2p = m2 k2(xt),
    // y = x + h/2 (k1p + k2p), x' = clamp(y). The projection masks m1, m2 and the clamp
    // are piecewise constant, so they pass adjoints through or zero them.
    const std::vector<double>& xs = states[t];
    detail::heun_replay(field, B, xs.data(), h, bounds, stage);
    const std::vector<double>& xt = stage.xt;
    for (std::size_t q = 0; q < size; ++q) {
      const double y = stage.y[q];
      ybar[q] = (y < lo || y > hi) ? 0.0 : xbar[q];  // a clamped value has zero derivative
      k2bar[q] = stage.m2[q] * 0.5 * h * ybar[q];
    }
    network_jt_apply(net, B, xt.data(), k2bar.data(), xtbar.data());
    for (std::size_t q = 0; q < size; ++q)
      k1bar[q] = stage.m1[q] * (0.5 * h * ybar[q] + h * xtbar[q]);
    network_jt_apply(net, B, xs.data(), k1bar.data(), tmp.data());
    for (std::size_t q = 0; q < size; ++q) xbar[q] = ybar[q] + xtbar[q] + tmp[q];
    // Parameter terms of both stages.
    {
      const double* k1b = k1bar.data() + net.layer_offset(1, B);
      const double* k2b = k2bar.data() + net.layer_offset(1, B);
      for (std::size_t q = 0; q < ksum.size(); ++q) ksum[q] += k1b[q] + k2b[q];
    }
    for (int l = 2; l <= L; ++l) {
      s.resize(static_cast<std::size_t>(net.layer_size(l - 1)) * n * B);
      layer_signals(net, l - 1, B, xs.data(), s.data());
      connection_products(net.connections(l), n, B, k1bar.data() + net.layer_offset(l, B), s.data(),
                          scale, grads.coef[l - 1].data());
      layer_signals(net, l - 1, B, xt.data(), s.data());
      connection_products(net.connections(l), n, B, k2bar.data() + net.layer_offset(l, B), s.data(),
                          scale, grads.coef[l - 1].data());
    }
    detail::k_gradient_terms(net, B, xs.data(), k1bar.data(), nullptr, scale, kg);
    detail::k_gradient_terms(net, B, xt.data(), k2bar.data(), nullptr, scale, kg);
  }
  // Input connections: their signals are constant, so one product with the summed stages.
  connection_products(net.connections(1), n, B, ksum.data(), batch.s_in.data(), scale,
                      grads.coef[0].data());
  // x_0 = x*(K) for every element, and the explicit output term -dL/ds dx*/dK.
  {
    std::size_t neuron = 0;
    for (int l = 1; l <= L; ++l)
      for (int i = 0; i < net.layer_size(l); ++i, ++neuron) {
        const auto dxs = detail::fixed_point_derivative(net.equation(), net.K(l, i));
        double w = 0.0;
        const std::size_t o = net.layer_offset(l, B) + static_cast<std::size_t>(i) * n * B;
        for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q) w += xbar[o + q];
        if (l == L && !drive_readout)
          for (std::size_t b = 0; b < B; ++b) w -= dlds[static_cast<std::size_t>(i) * B + b];
        for (int m = 0; m < 3; ++m) kg[neuron * 3 + m] += scale * dxs[m] * w;
      }
  }
  if (drive_readout) drop_output_k_terms(net, kg);
  detail::reduce_k(net, kg, grads);
  return loss;
}

}  // namespace wuxing
