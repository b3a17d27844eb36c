// FROZEN COPY, for bench/bench_heun.cpp only: bptt_gradients (framework/learning/bptt.cpp) as it
// was before the one Heun stepper (framework/model/heun.hpp) replaced it, at commit cffad4e. The
// benchmark times it against the new code path in the same run and checks that both give the same
// bits. Not built into the library; do not edit (it is the reference the ratio is measured
// against).
#pragma once

#include <algorithm>
#include <cmath>

#include "framework/learning/bptt.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/connection_kernels.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/lanes.hpp"

namespace wuxing::bench_before {

using namespace wuxing;
using detail::project;
using detail::sample_rates;

inline std::vector<double> bptt_gradients(const Network& net, Batch& batch,
                                          const IntegratorConfig& integ,
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

  // Forward: plain Heun (no per-sample freezing), all states kept.
  std::vector<double> x(size), k1(size), k2(size), xt(size);
  fill_fixed_points(net, B, x.data());
  std::vector<std::vector<double>> states;
  states.push_back(x);
  const std::int64_t cap =
      steps >= 0
          ? steps
          : std::min<std::int64_t>(integ.max_steps,
                                   static_cast<std::int64_t>(std::ceil(integ.t_max / h - 1e-9)));
  PhaseReport r;
  r.sample_settled.assign(B, 0);
  std::vector<double> rate;
  std::vector<char> bad;
  std::int64_t T = 0;
  while (true) {
    network_rhs(net, batch, x.data(), k1.data());
    for (std::size_t q = 0; q < size; ++q) project(x[q], k1[q], lo, hi);
    if (steps < 0) {
      sample_rates(size, B, k1.data(), nullptr, lo, hi, rate, bad);
      bool all = true;
      for (std::size_t b = 0; b < B; ++b) all = all && rate[b] < integ.tol;
      if (all) break;
    }
    if (T >= cap) break;
    for (std::size_t q = 0; q < size; ++q) xt[q] = x[q] + h * k1[q];
    network_rhs(net, batch, xt.data(), k2.data());
    for (std::size_t q = 0; q < size; ++q) project(xt[q], k2[q], lo, hi);
    for (std::size_t q = 0; q < size; ++q) {
      double v = x[q] + 0.5 * h * (k1[q] + k2[q]);
      if (v < lo) {
        v = lo;
        ++r.clamp_events;
      } else if (v > hi) {
        v = hi;
        ++r.clamp_events;
      }
      x[q] = v;
    }
    states.push_back(x);
    ++T;
  }
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
  {
    const std::size_t off = net.layer_offset(L, B);
    for (int k = 0; k < net.layer_size(L); ++k)
      for (std::size_t b = 0; b < B; ++b)
        xbar[off + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b] =
            dlds[static_cast<std::size_t>(k) * B + b];
  }
  std::vector<double> kg(integrated_neurons(net) * 3, 0.0);
  std::vector<double> s, m1(size);
  for (std::int64_t t = T - 1; t >= 0; --t) {
    // Recompute the step: k1p = m1 k1(x), xt = x + h k1p, k2p = m2 k2(xt),
    // y = x + h/2 (k1p + k2p), x' = clamp(y). The projection masks m1, m2 and the clamp
    // are piecewise constant, so they pass adjoints through or zero them.
    const std::vector<double>& xs = states[t];
    network_rhs(net, batch, xs.data(), k1.data());
    for (std::size_t q = 0; q < size; ++q) m1[q] = project(xs[q], k1[q], lo, hi);
    for (std::size_t q = 0; q < size; ++q) xt[q] = xs[q] + h * k1[q];
    network_rhs(net, batch, xt.data(), k2.data());
    for (std::size_t q = 0; q < size; ++q) {
      const double m2 = project(xt[q], k2[q], lo, hi);
      const double y = xs[q] + 0.5 * h * (k1[q] + k2[q]);
      ybar[q] = (y < lo || y > hi) ? 0.0 : xbar[q];  // a clamped value has zero derivative
      k2bar[q] = m2 * 0.5 * h * ybar[q];
    }
    network_jt_apply(net, B, xt.data(), k2bar.data(), xtbar.data());
    for (std::size_t q = 0; q < size; ++q) k1bar[q] = m1[q] * (0.5 * h * ybar[q] + h * xtbar[q]);
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
        if (l == L)
          for (std::size_t b = 0; b < B; ++b) w -= dlds[static_cast<std::size_t>(i) * B + b];
        for (int m = 0; m < 3; ++m) kg[neuron * 3 + m] += scale * dxs[m] * w;
      }
  }
  detail::reduce_k(net, kg, grads);
  return loss;
}

}  // namespace wuxing::bench_before
