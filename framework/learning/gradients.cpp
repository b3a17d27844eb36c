#include "framework/learning/gradients.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "framework/learning/loss.hpp"
#include "framework/model/connection_kernels.hpp"

namespace wuxing {

void Gradients::reset(const Network& net) {
  const int L = net.layer_count() - 1;
  coef.resize(L);
  for (int l = 1; l <= L; ++l) coef[l - 1].assign(net.connections(l).size(), 0.0);
  K.assign(net.k_table().size(), {0.0, 0.0, 0.0});
}

// ---------------------------------------------------------------------------------------
// Local gradients
//
// Settled state: F(x, theta) = 0, F = f(x, u(x, theta), theta). The loss L(x, theta)
// depends on theta explicitly through the output signals s = x_out - x*(K). By the
// implicit function theorem, dL/dtheta = dL/dtheta|explicit + lambda^T dF/dtheta with
// lambda = -J^-T dL/dx, the backward phase's fixed point (= dL/du since dF/du = I).
//  - connection c (j -> i, a -> b): dF_{i,b}/dc = s_{j,a}, so dL/dc = lambda_{i,b} s_{j,a}.
//  - K_m of neuron j: its own equations give sum_e lambda_{j,e} df_e/dK_m; its signal
//    s_{j,a} = x_{j,a} - x*_j(K) enters the drive of every downstream (i, b) with
//    dF_{i,b}/dK_m = -c dx*/dK_m; an output neuron's loss gets dL/ds * (-dx*/dK_m). So
//      dL/dK_m = sum_e lambda_{j,e} df_e/dK_m
//                - dx*/dK_m (sum_{c: j->(i,b)} c lambda_{i,b} + [j output] dL/ds_j).
// Both are averaged over the minibatch.

namespace detail {

std::array<double, 3> fixed_point_derivative(const Equation& eq, const KParams& K) {
  return eq.fixed_point_derivative(K);
}

// Adds per-neuron K gradients kg[(neuron) * 3 + m] of layers [first, last) into their K-table
// entries, in neuron order, so that shared entries sum the same whatever the thread count.
void add_k_rows(const Network& net, int first, int last, const std::vector<double>& kg,
                Gradients& grads) {
  std::size_t neuron = 0;
  for (int l = first; l < last; ++l)
    for (int i = 0; i < net.layer_size(l); ++i, ++neuron)
      for (int m = 0; m < 3; ++m) grads.K[net.k_entry(l, i)][m] += kg[neuron * 3 + m];
}

// Per-neuron K gradient from stage adjoints `v` at state `x` (+ the x* terms from bt and
// the explicit output term), added into per-neuron buffers kg[(offset + i) * 3 + m].
void k_gradient_terms(const Network& net, std::size_t B, const double* x, const double* v,
                      const double* explicit_out, double scale, std::vector<double>& kg) {
  const int n = net.n();
  const int L = net.layer_count() - 1;
  std::vector<double> back;
  for (int l = 1; l <= L; ++l) {
    const int N = net.layer_size(l);
    const std::size_t off = net.layer_offset(l, B);
    back.assign(static_cast<std::size_t>(N) * n * B, 0.0);
    if (l < L)
      scatter_back(net.connections(l + 1), n, B, v + net.layer_offset(l + 1, B), back.data());
    std::size_t neuron0 = 0;
    for (int q = 1; q < l; ++q) neuron0 += net.layer_size(q);
    const bool parallel = static_cast<std::size_t>(N) * n * B > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int i = 0; i < N; ++i) {
      std::vector<double> d(static_cast<std::size_t>(n) * B);
      const KParams& K = net.K(l, i);
      const auto dxs = fixed_point_derivative(net.equation(), K);
      const std::size_t o = off + static_cast<std::size_t>(i) * n * B;
      // Sum over the neuron's outgoing transfers (all elements a) and the explicit term.
      double xstar_weight = 0.0;
      for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q)
        xstar_weight += back[static_cast<std::size_t>(i) * n * B + q];
      if (l == L && explicit_out)
        for (std::size_t b = 0; b < B; ++b)
          xstar_weight += explicit_out[static_cast<std::size_t>(i) * B + b];
      for (int m = 0; m < 3; ++m) {
        net.equation().parameter_derivative(net.topology(), K, static_cast<KIndex>(m), x + o,
                                            d.data(), B);
        double acc = 0.0;
        for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q) acc += v[o + q] * d[q];
        kg[(neuron0 + i) * 3 + m] += scale * (acc - dxs[m] * xstar_weight);
      }
    }
  }
}

// Input neuron j (trainable input K's): its signals s_{j,a} = x_{j,a}(K) - x*(K) reach layer 1
// only through the connections, so dL/ds_{j,a} = sum_{c: (j,a)->(i,e)} c lambda_{i,e}, the
// scatter of layer 1's adjoint. Its settled state solves f(x, K) + u = 0, so by the implicit
// function theorem dx/dK_m = G df/dK_m with G = -(J_FF)^-1 (zero on held elements), and
//   dL/dK_m = sum_{a,b} dL/ds_{j,a,b} (G df/dK_m - dx*/dK_m)_{a,b}.
void input_k_gradient(const Network& net, const Batch& batch, const double* lambda1, double scale,
                      Gradients& grads) {
  const int n = net.n();
  const std::size_t B = batch.B;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  const int features = net.layer_size(0);
  if (batch.input_sensitivity.size() != static_cast<std::size_t>(features) * n * nB)
    throw std::logic_error("trainable input K's: set_inputs must keep the input sensitivities");
  std::vector<double> back(static_cast<std::size_t>(features) * nB, 0.0);
  scatter_back(net.connections(1), n, B, lambda1, back.data());
  std::vector<double> kg(static_cast<std::size_t>(features) * 3, 0.0);
  const bool parallel = static_cast<std::size_t>(features) * nB > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int j = 0; j < features; ++j) {
    if (!batch.input_active[j]) continue;  // at rest in every lane: ds/dK = 0
    const KParams& K = net.K(0, j);
    const auto dxs = fixed_point_derivative(net.equation(), K);
    const double xs = net.equation().fixed_point(K);
    const double* s = batch.s_in.data() + static_cast<std::size_t>(j) * nB;
    const double* G = batch.input_sensitivity.data() + static_cast<std::size_t>(j) * n * nB;
    const double* w = back.data() + static_cast<std::size_t>(j) * nB;
    std::vector<double> x(nB), d(nB);
    for (std::size_t q = 0; q < nB; ++q) x[q] = s[q] + xs;
    for (int m = 0; m < 3; ++m) {
      net.equation().parameter_derivative(net.topology(), K, static_cast<KIndex>(m), x.data(),
                                          d.data(), B);
      double acc = 0.0;
      for (int a = 0; a < n; ++a)
        for (std::size_t b = 0; b < B; ++b) {
          double ds = -dxs[m];
          for (int e = 0; e < n; ++e)
            ds += G[(static_cast<std::size_t>(a) * n + e) * B + b] * d[e * B + b];
          acc += w[a * B + b] * ds;
        }
      kg[static_cast<std::size_t>(j) * 3 + m] = scale * acc;
    }
  }
  add_k_rows(net, 0, 1, kg, grads);
}

void reduce_k(const Network& net, const std::vector<double>& kg, Gradients& grads) {
  add_k_rows(net, 1, net.layer_count(), kg, grads);
}

}  // namespace detail

void local_gradients(const Network& net, const Batch& batch, const std::vector<double>& lambda,
                     const std::vector<double>& dlds, bool want_coef, bool want_K,
                     Gradients& grads) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const double scale = 1.0 / static_cast<double>(B);
  if (grads.coef.size() != static_cast<std::size_t>(L)) grads.reset(net);
  if (want_coef) {
    std::vector<double> s;
    for (int l = 1; l <= L; ++l) {
      const double* pre = presynaptic_signals(net, l, batch, batch.x.data(), s);
      connection_products(net.connections(l), n, B, lambda.data() + net.layer_offset(l, B), pre,
                          scale, grads.coef[l - 1].data());
    }
  }
  if (want_K) {
    std::vector<double> kg(integrated_neurons(net) * 3, 0.0);
    const bool drive_readout = net.drive_readout();
    detail::k_gradient_terms(net, B, batch.x.data(), lambda.data(),
                             drive_readout ? nullptr : dlds.data(), scale, kg);
    // readout drive: the output neurons' K's do not enter the loss (their lambda is dL/du, not
    // an adjoint of their own equations), the output neurons come last in kg.
    if (drive_readout) drop_output_k_terms(net, kg);
    detail::reduce_k(net, kg, grads);
    if (net.inputs_trainable())
      detail::input_k_gradient(net, batch, lambda.data() + net.layer_offset(1, B), scale, grads);
  }
}

}  // namespace wuxing
