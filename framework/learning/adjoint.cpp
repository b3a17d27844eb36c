// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (the
// intrinsics' self-initialised __Y; -Wuninitialized at -O2, as in the sanitizer build); it is
// not in our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "framework/learning/adjoint.hpp"

#include <Eigen/Dense>
#include <algorithm>

#include "framework/learning/loss.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/generic_integration.hpp"
#include "framework/model/heun.hpp"
#include "framework/model/operating_point.hpp"

namespace wuxing {
namespace {

// The report of an adjoint solved rather than integrated (no steps): sample b settled when its
// lambda is finite and `stable(b)` holds (its operating point is Hurwitz-stable).
template <class Stable>
void report_solved(const std::vector<double>& lambda, std::size_t B, const Stable& stable,
                   PhaseReport& r) {
  std::vector<double> rate;
  std::vector<char> bad;
  detail::sample_rates(lambda.size(), B, lambda.data(), nullptr, 0.0, 0.0, rate, bad);
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 0);
  for (std::size_t b = 0; b < B; ++b) {
    r.non_finite += bad[b];
    r.sample_settled[b] = !bad[b] && stable(b);
  }
}

// The backward phase's fixed point directly: 0 = D (J^T lambda + e) with lambda = 0 on the
// clamped elements. J_net is block lower triangular (a feedforward cascade of neurons), so
// layer by layer from the output: lambda_j = -(J_jj^T)_FF^-1 (e_j + the connections' terms
// from layer l + 1)_F over the neuron's free elements F, sample by sample. The ODE settles
// there exactly when every (J_jj)_FF is Hurwitz-stable, which is what `settled` reports.
void solve_adjoint(const Network& net, const Batch& batch, const double* D, const double* e,
                   std::vector<double>& lambda, PhaseReport& r) {
  using Small = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 16, 16>;
  using SmallVec = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 16, 1>;
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  std::vector<double> back(nB);
  std::vector<char> stable(B, 1);
  Eigen::VectorXd xj(n);
  std::vector<int> free;
  for (int l = L; l >= 1; --l) {
    for (int j = 0; j < net.layer_size(l); ++j) {
      const std::size_t o = net.layer_offset(l, B) + static_cast<std::size_t>(j) * nB;
      std::fill(back.begin(), back.end(), 0.0);
      if (l < L)
        scatter_pre(net.connections(l + 1), n, B, lambda.data() + net.layer_offset(l + 1, B), j,
                    back.data());
      for (std::size_t b = 0; b < B; ++b) {
        free.clear();
        for (int a = 0; a < n; ++a) {
          xj(a) = batch.x[o + a * B + b];
          if (D[o + a * B + b] != 0.0) free.push_back(a);
        }
        if (free.empty()) continue;
        const Eigen::MatrixXd J = net.equation().jacobian(net.topology(), net.K(l, j), xj);
        const Eigen::Index m = static_cast<Eigen::Index>(free.size());
        Small JF(m, m);
        SmallVec rhs(m);
        for (Eigen::Index p = 0; p < m; ++p) {
          for (Eigen::Index q = 0; q < m; ++q) JF(p, q) = J(free[p], free[q]);
          const std::size_t at = o + free[p] * B + b;
          rhs(p) = -(back[free[p] * B + b] + e[at]);
        }
        if (!wuxing::detail::hurwitz_stable(JF)) stable[b] = 0;
        const SmallVec y = JF.transpose().partialPivLu().solve(rhs);
        for (Eigen::Index p = 0; p < m; ++p) lambda[o + free[p] * B + b] = y(p);
      }
    }
  }
  report_solved(
      lambda, B, [&](std::size_t b) { return stable[b] != 0; }, r);
}

}  // namespace

// The same fixed point from the sensitivities a solved forward phase left (batch.sensitivity:
// G = -(J_FF)^-1 per neuron and sample, zero on the clamped elements), so that
// lambda_j = G_j^T (e_j + the connections' terms from layer l + 1): a small matrix-vector
// product per neuron instead of a factorisation. Samples without a sensitivity (the solve
// fell back to integration) are left to solve_adjoint.
void adjoint_from_sensitivity(const Network& net, const Batch& batch, const double* e,
                              std::vector<double>& lambda) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  std::vector<double> r(nB);
  std::size_t first_block = integrated_neurons(net);
  // readout drive: the output layer's lambda is dL/du, set by the caller.
  const int top = net.drive_readout() ? L - 1 : L;
  if (top < L) first_block -= net.layer_size(L);
  for (int l = top; l >= 1; --l) {
    first_block -= net.layer_size(l);
    for (int j = 0; j < net.layer_size(l); ++j) {
      const std::size_t k = first_block + j;
      const std::size_t o = k * nB;
      std::copy(e + o, e + o + nB, r.begin());
      if (l < L)
        scatter_pre(net.connections(l + 1), n, B, lambda.data() + net.layer_offset(l + 1, B), j,
                    r.data());
      const double* G = batch.sensitivity.data() + k * n * nB;
      double* lj = lambda.data() + o;
      for (int c = 0; c < n; ++c) {
        double* out = lj + static_cast<std::size_t>(c) * B;
        std::fill(out, out + B, 0.0);
        for (int p = 0; p < n; ++p) {
          const double* g = G + (static_cast<std::size_t>(p) * n + c) * B;
          const double* rp = r.data() + static_cast<std::size_t>(p) * B;
          for (std::size_t b = 0; b < B; ++b) out[b] += g[b] * rp[b];
        }
      }
    }
  }
}

PhaseReport backward_phase(const Network& net, const Batch& batch, const std::vector<double>& dlds,
                           const IntegratorConfig& integ, std::vector<double>& lambda,
                           const std::vector<char>* held) {
  PhaseReport r;
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t size = net.state_size(B);
  const double lo = net.config().x_min, hi = net.config().x_max;
  // D: 1 for free elements, 0 for those clamped at the end of the forward phase. A clamped
  // element is a constant of the clamped system, so its adjoint stays 0 and passes nothing on.
  std::vector<double> D(size);
  for (std::size_t q = 0; q < size; ++q) D[q] = (batch.x[q] <= lo || batch.x[q] >= hi) ? 0.0 : 1.0;
  if (held)
    for (std::size_t q = 0; q < size; ++q)
      if ((*held)[q]) D[q] = 0.0;
  std::vector<double> e(size, 0.0);
  const std::size_t off = net.layer_offset(L, B);
  // readout drive: the loss reads the output neurons' drives, so lambda there is dL/du itself,
  // a constant of the backward phase (mask 0, set below); their own dynamics do not enter.
  const bool drive_readout = net.drive_readout();
  if (drive_readout)
    std::fill(D.begin() + static_cast<std::ptrdiff_t>(off), D.end(), 0.0);
  else
    for (int k = 0; k < net.layer_size(L); ++k)
      for (std::size_t b = 0; b < B; ++b) {
        const std::size_t q =
            off + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b;
        e[q] = D[q] * dlds[static_cast<std::size_t>(k) * B + b];
      }
  detail::AdjointField field(net, B, batch.x.data(), D.data(), e.data());
  auto rhs = [&](const double* v, double* out) {
    detail::eval_all(field, static_cast<std::size_t>(n) * B, v, out);
  };
  // The start of every backward computation below: 0, except that readout drive fixes the
  // output layer's lambda at dL/du.
  auto initial_lambda = [&](std::vector<double>& v) {
    v.assign(size, 0.0);
    if (drive_readout) seed_output_drive(net, B, dlds, v.data());
  };
  initial_lambda(lambda);
  const double t_max = integ.backward_t_max;
  if (integ.backward_method == BackwardMethod::solve) {
    if (batch.sensitivity.empty()) {
      solve_adjoint(net, batch, D.data(), e.data(), lambda, r);
    } else {
      adjoint_from_sensitivity(net, batch, e.data(), lambda);
      // Samples the forward solve integrated instead: their adjoint by factorisation, which
      // also judges whether their operating point is stable.
      PhaseReport factorised;
      if (std::find(batch.solved.begin(), batch.solved.end(), 0) != batch.solved.end()) {
        std::vector<double> other;
        initial_lambda(other);
        solve_adjoint(net, batch, D.data(), e.data(), other, factorised);
        for (std::size_t b = 0; b < B; ++b)
          if (!batch.solved[b])
            for (std::size_t q = b; q < size; q += B) lambda[q] = other[q];
      }
      report_solved(
          lambda, B, [&](std::size_t b) { return batch.solved[b] || factorised.sample_settled[b]; },
          r);
    }
  } else if (integrated_per_lane(integ.method)) {
    detail::heun_integrate<detail::Settle::per_lane>(
        field, B, lambda.data(), {integ.h, t_max, integ.max_steps, integ.backward_tol},
        detail::Bounds<false>{}, r);
  } else {
    detail::generic_integration(integ.method, size, B, lambda.data(), rhs, integ, t_max,
                                integ.backward_tol, false, lo, hi, r);
  }
  r.unsettled = 0;
  for (std::size_t b = 0; b < B; ++b) {
    if (!r.sample_settled[b]) ++r.unsettled;
    r.steps_total += r.sample_steps[b];
    r.max_steps = std::max(r.max_steps, r.sample_steps[b]);
  }
  return r;
}

}  // namespace wuxing
