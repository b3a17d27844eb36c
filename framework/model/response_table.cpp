#include "framework/model/response_table.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace wuxing {
namespace {

// Drives beyond this are solved, not tabulated: a trained network's drives lie well inside.
constexpr double kTableDrive = 8.0;
// Distinct tables kept per process (each about 30 doubles per grid point).
constexpr std::size_t kMaxTables = 16;
// Grid points solved together, as the lanes of one solve_neuron call.
constexpr std::size_t kLanes = 256;
// Largest change of the sensitivity across an interval, relative to its size, that is still
// interpolated (see the constructor).
constexpr double kSmooth = 1e-2;

}  // namespace

ResponseTable::ResponseTable(const Equation& eq, const Topology& topo, const KParams& K,
                             int drive_element, const NeuronSolveOptions& options, double step,
                             double u_max)
    : n_(topo.n), drive_(drive_element), u0_(-u_max), step_(step) {
  const int n = n_;
  const std::size_t points = static_cast<std::size_t>(std::llround(2.0 * u_max / step)) + 1;
  x_.assign(points * n, 0.0);
  G_.assign(points * n * n, 0.0);
  mask_.assign(points, kNone);
  std::vector<double> u, x, G;
  std::vector<SolveOutcome> outcome;
  for (std::size_t p0 = 0; p0 < points; p0 += kLanes) {
    const std::size_t B = std::min(kLanes, points - p0);
    u.assign(static_cast<std::size_t>(n) * B, 0.0);
    for (std::size_t b = 0; b < B; ++b)
      u[static_cast<std::size_t>(drive_) * B + b] = u0_ + static_cast<double>(p0 + b) * step_;
    x.resize(static_cast<std::size_t>(n) * B);
    G.resize(static_cast<std::size_t>(n) * n * B);
    outcome.resize(B);
    linear_start(eq, topo, K, u.data(), B, options, x.data());
    solve_neuron(eq, topo, K, u.data(), B, options, x.data(), G.data(), outcome.data());
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t p = p0 + b;
      if (outcome[b] != SolveOutcome::settled) continue;
      std::uint32_t mask = 0;
      for (int e = 0; e < n; ++e) {
        const double v = x[e * B + b];
        x_[p * n + e] = v;
        if (v <= options.lo) mask |= 1u << e;
        if (v >= options.hi) mask |= 1u << (16 + e);
      }
      mask_[p] = mask;
      for (int q = 0; q < n * n; ++q) G_[p * n * n + q] = G[q * B + b];
    }
  }
  // An interval is used where both ends settled with the same clamped elements and the
  // sensitivity changes by under kSmooth of its size across it: near a fold G grows without
  // bound and x(u) has unbounded curvature, and there the drive is solved exactly.
  usable_.assign(points - 1, 0);
  for (std::size_t p = 0; p + 1 < points; ++p) {
    if (mask_[p] == kNone || mask_[p] != mask_[p + 1]) continue;
    double change = 0.0, size = 1.0;
    for (int q = 0; q < n * n; ++q) {
      change = std::max(change, std::abs(G_[(p + 1) * n * n + q] - G_[p * n * n + q]));
      size = std::max(size, std::abs(G_[p * n * n + q]));
    }
    usable_[p] = change <= kSmooth * size;
  }
}

void ResponseTable::lookup(const double* u, std::size_t B, double* x, double* G,
                           char* answered) const {
  const int n = n_;
  const std::size_t last = mask_.size() - 1;
  for (std::size_t b = 0; b < B; ++b) {
    answered[b] = 0;
    const double pos = (u[b] - u0_) / step_;
    if (!(pos >= 0.0 && pos < static_cast<double>(last))) continue;
    const std::size_t k = static_cast<std::size_t>(pos);
    if (!usable_[k]) continue;
    answered[b] = 1;
    // Cubic Hermite on [u_k, u_k+1] with the exact slopes dx/du = G e_b at both ends.
    const double t = pos - static_cast<double>(k);
    const double t2 = t * t, t3 = t2 * t;
    const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + t, h01 = -2 * t3 + 3 * t2,
                 h11 = t3 - t2;
    const double* x0 = x_.data() + k * n;
    const double* x1 = x0 + n;
    const double* G0 = G_.data() + k * n * n;
    const double* G1 = G0 + n * n;
    const std::uint32_t mask = mask_[k];
    for (int e = 0; e < n; ++e) {
      const double d0 = G0[e * n + drive_] * step_, d1 = G1[e * n + drive_] * step_;
      x[e * B + b] = h00 * x0[e] + h10 * d0 + h01 * x1[e] + h11 * d1;
      // A clamped element is exactly at its bound (the weights sum to 1 only up to rounding).
      if (mask & (1u << e)) x[e * B + b] = x0[e];
      if (mask & (1u << (16 + e))) x[e * B + b] = x0[e];
    }
    for (int q = 0; q < n * n; ++q) G[q * B + b] = (1.0 - t) * G0[q] + t * G1[q];
  }
}

const ResponseTable* response_table(const Equation& eq, const Topology& topo, const KParams& K,
                                    int drive_element, const NeuronSolveOptions& options,
                                    double step) {
  using Key = std::tuple<std::string, int, int, int, double, double, double, int, double, double,
                         double, int, double>;
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<ResponseTable>> tables;
  const Key key{std::string(eq.name()),
                topo.n,
                topo.g,
                topo.k,
                K.K1,
                K.K2,
                K.K3,
                drive_element,
                options.lo,
                options.hi,
                options.tol,
                options.max_iterations,
                step};
  std::lock_guard<std::mutex> lock(mutex);
  auto it = tables.find(key);
  if (it != tables.end()) return it->second.get();
  if (tables.size() >= kMaxTables) return nullptr;
  auto table =
      std::make_unique<ResponseTable>(eq, topo, K, drive_element, options, step, kTableDrive);
  return tables.emplace(key, std::move(table)).first->second.get();
}

}  // namespace wuxing
