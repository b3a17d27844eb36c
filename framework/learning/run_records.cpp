#include "framework/learning/run_records.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/model/forward_phase.hpp"
#include "framework/model/operating_point.hpp"

namespace wuxing {

LayerParameters layer_parameters(const Network& net, int l) {
  LayerParameters p;
  bool shared = true;
  for (int i = 1; i < net.layer_size(l); ++i)
    shared = shared && net.k_entry(l, i) == net.k_entry(l, 0);
  const int count = shared ? 1 : net.layer_size(l);
  for (int i = 0; i < count; ++i) {
    p.K1.push_back(net.K(l, i).K1);
    p.K2.push_back(net.K(l, i).K2);
    p.K3.push_back(net.K(l, i).K3);
  }
  for (int i = 0; i < net.layer_size(l); ++i) p.fixed_points.push_back(net.fixed_point(l, i));
  const auto& c = net.connections(l).coef;
  p.connections = static_cast<std::int64_t>(c.size());
  if (!c.empty()) {
    double sum = 0.0, sq = 0.0;
    p.coef_min = c[0];
    p.coef_max = c[0];
    for (double v : c) {
      sum += v;
      sq += v * v;
      p.coef_min = std::min(p.coef_min, v);
      p.coef_max = std::max(p.coef_max, v);
    }
    p.coef_mean = sum / c.size();
    p.coef_std = std::sqrt(std::max(0.0, sq / c.size() - p.coef_mean * p.coef_mean));
  }
  return p;
}

bool parameters_finite(const Network& net) {
  for (int l = 1; l < net.layer_count(); ++l)
    for (double v : net.connections(l).coef)
      if (!std::isfinite(v)) return false;
  for (const auto& K : net.k_table())
    if (!std::isfinite(K.K1) || !std::isfinite(K.K2) || !std::isfinite(K.K3)) return false;
  return true;
}

StabilityRecord stability_record(const Network& net, const Dataset& test,
                                 const ExperimentConfig& config, int epoch,
                                 const std::vector<LayerFolds>& folds, const DriveStats& drives,
                                 double& max_re_lambda) {
  std::vector<std::size_t> idx;
  for (int i = 0; i < config.record.stability_samples && i < static_cast<int>(test.size()); ++i)
    idx.push_back(i);
  Batch batch;
  set_inputs(net, test.pixels.data(), test.features, test.pixel_scale, idx, test.labels.data(),
             batch);
  const PhaseReport fr = forward_phase(net, batch, config.integrator);
  StabilityRecord rec;
  rec.epoch = epoch;
  double best = -std::numeric_limits<double>::infinity();
  double settled = 0;
  for (std::size_t b = 0; b < idx.size(); ++b) {
    if (!fr.sample_settled[b]) continue;
    ++settled;
    const auto ev = operating_point_eigenvalues(net, idx.size(), batch.x.data(), b);
    for (const auto& v : ev) best = std::max(best, v.real());
    rec.eigenvalues.insert(rec.eigenvalues.end(), ev.begin(), ev.end());
  }
  const CrossingCounts crossings = count_crossings(rec.eigenvalues);
  auto& d = rec.diagnostics;
  d["settled_samples"] = {settled};
  d["unsettled_samples_left_out"] = {static_cast<double>(idx.size()) - settled};
  d["unstable_real_eigenvalues"] = {static_cast<double>(crossings.real)};
  d["unstable_complex_eigenvalues"] = {static_cast<double>(crossings.complex)};
  for (std::size_t l = 1; l < folds.size(); ++l) {
    d["fold_left"].push_back(folds[l].left);
    d["fold_right"].push_back(folds[l].right);
    d["fold_left_crossing"].push_back(folds[l].left_crossing);
    d["fold_right_crossing"].push_back(folds[l].right_crossing);
  }
  d["drive_histogram"].assign(drives.histogram.begin(), drives.histogram.end());
  d["drive_histogram_edges"] = {DriveStats::kFirstEdge, DriveStats::kBinWidth};
  d["drives"] = {static_cast<double>(drives.drives)};
  d["drives_beyond_left_fold"] = {static_cast<double>(drives.beyond_left)};
  d["drives_beyond_right_fold"] = {static_cast<double>(drives.beyond_right)};
  max_re_lambda = best;
  return rec;
}

}  // namespace wuxing
