// Diagnostics that tell a fold from a Hopf bifurcation during training (issue 12): where the
// drives of each layer lie relative to the ends of its neurons' stable response branch, and
// which kind of eigenvalue has crossed at the operating points.
#pragma once

#include <complex>
#include <cstdint>
#include <limits>
#include <vector>

#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// The stable response branch of a layer's neurons (drive on one element b, read at the output
// element): it ends at u = left below and u = right above (+-inf: not within the search),
// with the crossing there (analysis/response.hpp codes: 0 none, 1 fold, 2 Hopf, 3 border).
struct LayerFolds {
  int drive_element = -1;  // -1: the layer's connections drive several elements (no 1-D response)
  double left = -std::numeric_limits<double>::infinity();
  double right = std::numeric_limits<double>::infinity();
  int left_crossing = 0, right_crossing = 0;
};
// Per layer l = 1..L (index l; index 0 unused), from the K's of the layer's first neuron.
std::vector<LayerFolds> layer_folds(const Network& net);

// Drives of the integrated layers over an evaluation, relative to the left end of the
// branch: a histogram of u - left in kBins bins of kBinWidth from kFirstEdge (with under- and
// overflow bins at the ends), and the counts beyond either end.
struct DriveStats {
  static constexpr int kBins = 120;
  static constexpr double kFirstEdge = -2.0, kBinWidth = 0.1;
  std::vector<std::int64_t> histogram = std::vector<std::int64_t>(kBins + 2, 0);
  std::int64_t drives = 0, beyond_left = 0, beyond_right = 0;
  void add(const DriveStats& other);
};
// Adds the drives of every neuron of the settled batch to `stats`.
void accumulate_drives(const Network& net, const Batch& batch, const std::vector<LayerFolds>& folds,
                       DriveStats& stats);

// Eigenvalues with Re > 0: real ones (a fold-type crossing) and complex ones (Hopf-type).
struct CrossingCounts {
  std::int64_t real = 0, complex = 0;
};
CrossingCounts count_crossings(const std::vector<std::complex<double>>& eigenvalues);

}  // namespace wuxing
