#include "framework/learning/fold_diagnostics.hpp"

#include <algorithm>
#include <cmath>

#include "analysis/response.hpp"
#include "framework/model/connection_kernels.hpp"

namespace wuxing {

std::vector<LayerFolds> layer_folds(const Network& net) {
  std::vector<LayerFolds> folds(net.layer_count());
  for (int l = 1; l < net.layer_count(); ++l) {
    const ConnectionSet& cs = net.connections(l);
    if (cs.size() == 0) continue;
    if (std::any_of(cs.b.begin(), cs.b.end(), [&](int b) { return b != cs.b[0]; })) continue;
    // One response per layer: only where every neuron has the same K's (trained per-neuron K's
    // give each neuron its own folds, which one layer-wide figure would misstate).
    bool same_K = true;
    for (int i = 1; i < net.layer_size(l) && same_K; ++i) {
      const KParams& a = net.K(l, 0);
      const KParams& b = net.K(l, i);
      same_K = a.K1 == b.K1 && a.K2 == b.K2 && a.K3 == b.K3;
    }
    if (!same_K) continue;
    LayerFolds& f = folds[l];
    f.drive_element = cs.b[0];
    const ResponseFolds r =
        find_folds(net.equation(), net.topology(), net.K(l, 0), f.drive_element,
                   net.output_element(), net.config().x_min, net.config().x_max);
    f.left = r.left.u;
    f.right = r.right.u;
    f.left_crossing = static_cast<int>(r.left.crossing);
    f.right_crossing = static_cast<int>(r.right.crossing);
  }
  return folds;
}

void DriveStats::add(const DriveStats& other) {
  for (std::size_t k = 0; k < histogram.size(); ++k) histogram[k] += other.histogram[k];
  drives += other.drives;
  beyond_left += other.beyond_left;
  beyond_right += other.beyond_right;
}

void accumulate_drives(const Network& net, const Batch& batch, const std::vector<LayerFolds>& folds,
                       DriveStats& stats) {
  const int n = net.n();
  const std::size_t B = batch.B, nB = static_cast<std::size_t>(n) * B;
  std::vector<double> u, fixed;
  for (int l = 1; l < net.layer_count(); ++l) {
    const LayerFolds& f = folds[l];
    if (f.drive_element < 0) continue;
    const double* drive = batch.u_in.data();
    if (l > 1) {
      fixed.resize(net.layer_size(l - 1));
      for (int j = 0; j < net.layer_size(l - 1); ++j) fixed[j] = net.fixed_point(l - 1, j);
      u.assign(static_cast<std::size_t>(net.layer_size(l)) * nB, 0.0);
      gather_drive(net.connections(l), n, B, batch.x.data() + net.layer_offset(l - 1, B),
                   fixed.data(), u.data());
      drive = u.data();
    }
    for (int i = 0; i < net.layer_size(l); ++i)
      for (std::size_t b = 0; b < B; ++b) {
        const double v = drive[(static_cast<std::size_t>(i) * n + f.drive_element) * B + b];
        ++stats.drives;
        stats.beyond_left += v < f.left;
        stats.beyond_right += v > f.right;
        const double rel = std::isfinite(f.left) ? v - f.left : v;
        const double pos = (rel - DriveStats::kFirstEdge) / DriveStats::kBinWidth;
        const int bin = pos < 0 ? 0 : std::min(DriveStats::kBins + 1, 1 + static_cast<int>(pos));
        ++stats.histogram[bin];
      }
  }
}

CrossingCounts count_crossings(const std::vector<std::complex<double>>& eigenvalues) {
  CrossingCounts c;
  for (const auto& z : eigenvalues) {
    if (!(z.real() > 0.0)) continue;
    if (std::abs(z.imag()) <= 1e-9 * std::max(1.0, std::abs(z.real())))
      ++c.real;
    else
      ++c.complex;
  }
  return c;
}

}  // namespace wuxing
