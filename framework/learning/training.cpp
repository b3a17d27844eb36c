#include "framework/learning/training.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "framework/base/checkpoint.hpp"
#include "framework/learning/run_records.hpp"
#include "framework/learning/unsettled.hpp"

namespace wuxing {
namespace {

void add_report(PhaseReport& into, const PhaseReport& r) {
  into.unsettled += r.unsettled;
  into.steps_total += r.steps_total;
  into.max_steps = std::max(into.max_steps, r.max_steps);
  into.step_cap_hits += r.step_cap_hits;
  into.clamp_events += r.clamp_events;
  into.clamped_elements += r.clamped_elements;
  into.non_finite += r.non_finite;
  into.solve_fallbacks += r.solve_fallbacks;
  into.solve_unstable += r.solve_unstable;
}

void add_stats(BatchStats& into, const BatchStats& s) {
  into.samples += s.samples;
  into.loss_sum += s.loss_sum;
  into.correct += s.correct;
  add_report(into.forward, s.forward);
  add_report(into.backward, s.backward);
  into.input_clamps += s.input_clamps;
  into.excluded += s.excluded;
  into.held += s.held;
}

void add_grads(Gradients& into, const Gradients& g) {
  for (std::size_t l = 0; l < into.coef.size(); ++l)
    for (std::size_t c = 0; c < into.coef[l].size(); ++c) into.coef[l][c] += g.coef[l][c];
  for (std::size_t e = 0; e < into.K.size(); ++e)
    for (int m = 0; m < 3; ++m) into.K[e][m] += g.K[e][m];
}

std::vector<std::vector<std::size_t>> split(const std::vector<std::size_t>& indices,
                                            std::size_t chunk) {
  std::vector<std::vector<std::size_t>> parts;
  for (std::size_t i = 0; i < indices.size(); i += chunk)
    parts.emplace_back(indices.begin() + i, indices.begin() + std::min(indices.size(), i + chunk));
  return parts;
}

}  // namespace

namespace detail {
std::array<double, 2> pinned_k2_derivative(const Equation& eq, const KParams& K, double x_star) {
  // Central differences of the variant's own K2(K1, K3); exact up to rounding where K2 is
  // linear in K1 and K3, as for jiang-r1.
  const auto k2 = [&](const KParams& k) { return eq.with_fixed_point(k, x_star).K2; };
  return {k_central_difference(K, 0, k2), k_central_difference(K, 2, k2)};
}
}  // namespace detail

Trainer::Trainer(const ExperimentConfig& config, int features, int classes, const WuxingRule& rule)
    : config_(config),
      net_(config, features, classes),
      want_coef_(rule.connections),
      want_K_(rule.K),
      bptt_(rule.bptt),
      pid_(rule.pid) {
  const TrainingConfig& t = config.training;
  for (const auto& name : t.trainable_K) {
    const std::optional<KIndex> k = k_index(name);
    if (!k)
      throw std::invalid_argument(
          fmt::format("training.trainable_K entry '{}' must be K1, K2 or K3", name));
    k_mask_[static_cast<std::size_t>(*k)] = true;
  }
  if (t.pin_fixed_point) {
    if (k_mask_[1])
      throw std::invalid_argument(
          "training.trainable_K: K2 follows K1 and K3 when training.pin_fixed_point is set");
    for (const KParams& K : net_.k_table()) pinned_x_.push_back(net_.equation().fixed_point(K));
  }
  if (want_K_ && config.model.sharing != Sharing::per_neuron)
    fmt::print(stderr,
               "note: training K's with model.sharing = {} (gradients are summed over "
               "the neurons that share them)\n",
               option_name(config.model.sharing));
  for (int l = 1; l < net_.layer_count(); ++l) {
    coef_opt_.emplace_back(t.optimizer, t.momentum, net_.connections(l).size());
    if (pid_) coef_pid_.emplace_back(config.training.pid, net_.connections(l).size());
  }
  k_opt_ = std::make_unique<Optimizer>(t.optimizer, t.momentum, net_.k_table().size() * 3);
  if (pid_)
    k_pid_ = std::make_unique<PidController>(config.training.pid, net_.k_table().size() * 3);
}

BatchStats Trainer::gradient(const Dataset& data, const std::vector<std::size_t>& indices,
                             Gradients& grads) {
  net_.input_signal(0, data.pixel_scale);  // fill the cache before the threads share it
  const auto parts = split(indices, kChunk);
  std::vector<Gradients> part_grads(parts.size());
  std::vector<BatchStats> part_stats(parts.size());
  const double total = static_cast<double>(indices.size());
#pragma omp parallel for schedule(dynamic, 1) if (parts.size() > 1)
  for (std::size_t p = 0; p < parts.size(); ++p) {
    Batch batch;
    set_inputs(net_, data.pixels.data(), data.features, data.pixel_scale, parts[p],
               data.labels.data(), batch, want_K_ && net_.inputs_trainable());
    Gradients& g = part_grads[p];
    g.reset(net_);
    BatchStats& st = part_stats[p];
    st.samples = parts[p].size();
    st.input_clamps = batch.input_clamps;
    std::vector<int> pred;
    std::vector<double> loss;
    if (bptt_) {
      PhaseReport fr;
      loss = bptt_gradients(net_, batch, config_.integrator, config_.training, -1, g, &fr, &pred);
      fr.sample_steps.clear();
      fr.sample_settled.clear();
      st.forward = fr;
    } else {
      st.forward = forward_phase(net_, batch, config_.integrator);
      std::vector<double> dlds, lambda;
      loss = output_loss(net_, batch, config_.training, dlds, &pred);
      // A sample whose forward phase did not reach a fixed point, or whose adjoint did not
      // settle (an unstable operating point makes it grow without bound), has no
      // steady-state gradient: it contributes nothing (both counts are reported), unless
      // training.unsettled_policy exclude_element holds only its moving elements.
      std::vector<char> held, usable = st.forward.sample_settled;
      if (config_.training.unsettled_policy == UnsettledPolicy::exclude_element &&
          st.forward.unsettled > 0)
        st.held = detail::hold_slow_elements(net_, batch, st.forward.sample_settled,
                                             config_.integrator.tol, held, usable);
      st.backward = backward_phase(net_, batch, dlds, config_.integrator, lambda,
                                   held.empty() ? nullptr : &held);
      const std::size_t B = batch.B;
      for (std::size_t b = 0; b < B; ++b) {
        if (usable[b] && st.backward.sample_settled[b]) continue;
        ++st.excluded;
        for (std::size_t q = b; q < lambda.size(); q += B) lambda[q] = 0.0;
        for (std::size_t q = b; q < dlds.size(); q += B) dlds[q] = 0.0;
      }
      st.forward.sample_steps.clear();
      st.forward.sample_settled.clear();
      local_gradients(net_, batch, lambda, dlds, want_coef_, want_K_, g);
    }
    // Chunk gradients are means over the chunk; reweight to the minibatch mean.
    const double w = static_cast<double>(parts[p].size()) / total;
    for (auto& v : g.coef)
      for (double& c : v) c *= w;
    for (auto& k : g.K)
      for (double& c : k) c *= w;
    for (std::size_t b = 0; b < loss.size(); ++b) {
      st.loss_sum += loss[b];
      st.correct += pred[b] == batch.labels[b];
    }
  }
  grads.reset(net_);
  BatchStats stats;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    add_grads(grads, part_grads[p]);
    add_stats(stats, part_stats[p]);
  }
  return stats;
}

std::int64_t Trainer::apply(Gradients& grads, double lr) {
  std::int64_t clamps = 0;
  if (want_coef_) {
    for (int l = 1; l < net_.layer_count(); ++l) {
      double* g = grads.coef[l - 1].data();
      if (pid_) coef_pid_[l - 1].transform(g);
      auto& coef = net_.connections(l).coef;
      decay_weights(coef.data(), coef.size(), lr * config_.training.weight_decay);
      coef_opt_[l - 1].apply(coef.data(), g, lr);
    }
  }
  if (want_K_) {
    auto& table = net_.k_table();
    std::vector<double> flat(table.size() * 3), g(table.size() * 3);
    for (std::size_t e = 0; e < table.size(); ++e) {
      flat[3 * e] = table[e].K1;
      flat[3 * e + 1] = table[e].K2;
      flat[3 * e + 2] = table[e].K3;
      for (int m = 0; m < 3; ++m) g[3 * e + m] = k_mask_[m] ? grads.K[e][m] : 0.0;
      if (!pinned_x_.empty()) {
        // K2 = K2(K1, K3) keeps x* (jiang-r1: (K1 - K3) / x*): the chain rule carries dL/dK2.
        const auto dk2 = detail::pinned_k2_derivative(net_.equation(), table[e], pinned_x_[e]);
        if (k_mask_[0]) g[3 * e] += grads.K[e][1] * dk2[0];
        if (k_mask_[2]) g[3 * e + 2] += grads.K[e][1] * dk2[1];
      }
    }
    if (pid_) k_pid_->transform(g.data());
    k_opt_->apply(flat.data(), g.data(), lr);
    const ModelConfig& mc = config_.model;
    auto keep = [&](double v, const Range& r) {
      if (v < r.min) {
        ++clamps;
        return r.min;
      }
      if (v > r.max) {
        ++clamps;
        return r.max;
      }
      return v;
    };
    for (std::size_t e = 0; e < table.size(); ++e) {
      KParams K{flat[3 * e], flat[3 * e + 1], flat[3 * e + 2]};
      if (k_mask_[0]) K.K1 = keep(K.K1, mc.K1_range);
      if (k_mask_[1]) K.K2 = keep(K.K2, mc.K2_range);
      if (k_mask_[2]) K.K3 = keep(K.K3, mc.K3_range);
      // A positive fixed point needs K1 > K3: keep a margin of 1 % of K1.
      if (!(K.K1 - K.K3 > 0.01 * K.K1)) {
        ++clamps;
        if (k_mask_[2])
          K.K3 = 0.99 * K.K1;
        else
          K.K1 = K.K3 / 0.99;
      }
      if (!pinned_x_.empty()) K = net_.equation().with_fixed_point(K, pinned_x_[e]);
      table[e] = K;
    }
  }
  return clamps;
}

BatchStats Trainer::evaluate(const Dataset& data, const std::vector<std::size_t>& indices,
                             std::size_t chunk, DriveStats* drives,
                             const std::vector<LayerFolds>* folds) {
  net_.input_signal(0, data.pixel_scale);
  const auto parts = split(indices, chunk);
  std::vector<BatchStats> part_stats(parts.size());
  std::vector<DriveStats> part_drives(drives ? parts.size() : 0);
#pragma omp parallel for schedule(dynamic, 1) if (parts.size() > 1)
  for (std::size_t p = 0; p < parts.size(); ++p) {
    Batch batch;
    set_inputs(net_, data.pixels.data(), data.features, data.pixel_scale, parts[p],
               data.labels.data(), batch);
    BatchStats& st = part_stats[p];
    st.samples = parts[p].size();
    st.input_clamps = batch.input_clamps;
    PhaseReport fr = forward_phase(net_, batch, config_.integrator);
    fr.sample_steps.clear();
    fr.sample_settled.clear();
    st.forward = fr;
    if (drives) accumulate_drives(net_, batch, *folds, part_drives[p]);
    std::vector<double> dlds;
    std::vector<int> pred;
    const auto loss = output_loss(net_, batch, config_.training, dlds, &pred);
    for (std::size_t b = 0; b < loss.size(); ++b) {
      st.loss_sum += loss[b];
      st.correct += pred[b] == batch.labels[b];
    }
  }
  BatchStats stats;
  for (const auto& s : part_stats) add_stats(stats, s);
  for (const auto& d : part_drives) drives->add(d);
  return stats;
}

// Checkpoints: everything that changes from one epoch to the next.
void Trainer::save_state(TrainingState& s) const {
  for (int l = 1; l < net_.layer_count(); ++l) {
    s.put(fmt::format("coef/{}", l), net_.connections(l).coef);
    s.put(fmt::format("opt/coef/{}", l), coef_opt_[l - 1].state());
    if (pid_) s.put(fmt::format("pid/coef/{}", l), coef_pid_[l - 1].state());
  }
  std::vector<double> K;
  for (const auto& k : net_.k_table()) K.insert(K.end(), {k.K1, k.K2, k.K3});
  s.put("K", std::move(K));
  s.put("opt/K", k_opt_->state());
  if (pid_) s.put("pid/K", k_pid_->state());
}

void Trainer::load_state(const TrainingState& s) {
  for (int l = 1; l < net_.layer_count(); ++l) {
    auto& coef = net_.connections(l).coef;
    coef = s.get(fmt::format("coef/{}", l), coef.size());
    coef_opt_[l - 1].set_state(s.get(fmt::format("opt/coef/{}", l)));
    if (pid_) coef_pid_[l - 1].set_state(s.get(fmt::format("pid/coef/{}", l)));
  }
  auto& table = net_.k_table();
  const auto& K = s.get("K", 3 * table.size());
  for (std::size_t e = 0; e < table.size(); ++e) table[e] = {K[3 * e], K[3 * e + 1], K[3 * e + 2]};
  k_opt_->set_state(s.get("opt/K"));
  if (pid_) k_pid_->set_state(s.get("pid/K"));
}

namespace {

// The Wuxing network's rules (connection, fixed_point, pid, bptt) as a Learner.
class WuxingLearner final : public Learner {
 public:
  WuxingLearner(const ExperimentConfig& config, int features, int classes, const WuxingRule& rule)
      : config_(config), trainer_(config, features, classes, rule) {
    const Network& net = trainer_.network();
    for (int l = 1; l < net.layer_count(); ++l) neuron_elements_ += net.layer_size(l);
    neuron_elements_ *= net.n();
  }

  std::string step(const Dataset& train, const std::vector<std::size_t>& indices, double lr,
                   int epoch, std::size_t start, BatchStats& seen, EpochMetrics& m) override {
    Gradients g;
    const BatchStats s = trainer_.gradient(train, indices, g);
    add_stats(seen, s);
    bool finite = std::isfinite(s.loss_sum) && s.forward.non_finite == 0;
    for (const auto& v : g.coef)
      for (double c : v) finite = finite && std::isfinite(c);
    if (!finite)
      return fmt::format("non-finite loss or gradient in epoch {} at sample {}", epoch + 1, start);
    m.trouble.k_clamp_events += trainer_.apply(g, lr);
    if (!parameters_finite(trainer_.network()))
      return fmt::format("non-finite parameters after the update at sample {} of epoch {}", start,
                         epoch + 1);
    return {};
  }

  void end_epoch(const Dataset& test, const BatchStats& tr, int epoch, EpochMetrics& m,
                 RunResult& result) override {
    const Network& net = trainer_.network();
    // With record.stability: the drives relative to each layer's response folds, over the
    // whole test set.
    std::vector<LayerFolds> folds;
    DriveStats drives;
    if (config_.record.stability) folds = layer_folds(net);
    std::vector<std::size_t> test_idx(test.size());
    for (std::size_t i = 0; i < test.size(); ++i) test_idx[i] = i;
    const BatchStats te = trainer_.evaluate(test, test_idx, 100,
                                            config_.record.stability ? &drives : nullptr, &folds);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m.train_accuracy = tr.samples ? static_cast<double>(tr.correct) / tr.samples : nan;
    m.train_loss = tr.samples ? tr.loss_sum / tr.samples : nan;
    m.test_accuracy = te.samples ? static_cast<double>(te.correct) / te.samples : nan;
    m.test_loss = te.samples ? te.loss_sum / te.samples : nan;
    const double phases = static_cast<double>(tr.samples + te.samples);
    m.unsettled_fraction =
        phases > 0 ? (tr.forward.unsettled + te.forward.unsettled) / phases : 0.0;
    m.clamp_fraction = phases > 0 ? (tr.forward.clamped_elements + te.forward.clamped_elements) /
                                        (phases * neuron_elements_)
                                  : 0.0;
    m.mean_steps = phases > 0 ? (tr.forward.steps_total + te.forward.steps_total) / phases : 0.0;
    m.trouble.unsettled_samples = tr.forward.unsettled + te.forward.unsettled;
    m.trouble.backward_unsettled = tr.backward.unsettled;
    m.trouble.step_cap_hits =
        tr.forward.step_cap_hits + te.forward.step_cap_hits + tr.backward.step_cap_hits;
    m.trouble.clamp_events = tr.forward.clamp_events + te.forward.clamp_events;
    m.trouble.non_finite = tr.forward.non_finite + te.forward.non_finite + tr.backward.non_finite;
    m.trouble.input_clamps = tr.input_clamps + te.input_clamps;
    m.trouble.excluded_samples = tr.excluded;
    m.trouble.solve_fallbacks = tr.forward.solve_fallbacks + te.forward.solve_fallbacks;
    m.trouble.held_elements = tr.held;
    m.max_re_lambda = nan;
    if (config_.record.stability && test.size() > 0)
      result.stability.push_back(
          stability_record(net, test, config_, epoch + 1, folds, drives, m.max_re_lambda));
  }

  void finish(const Dataset& test, RunResult& result) override {
    Network& net = trainer_.network();
    record_probes(net, test, result);
    for (int l = 1; l < net.layer_count(); ++l)
      result.parameters.push_back(layer_parameters(net, l));
  }

  void save_state(TrainingState& state) const override { trainer_.save_state(state); }
  void load_state(const TrainingState& state) override { trainer_.load_state(state); }
  std::size_t progress_every() const override { return 20; }

 private:
  // Probe trajectories on the test set after the last epoch (record.probe_samples).
  void record_probes(const Network& net, const Dataset& test, RunResult& result) const {
    if (config_.record.probe_samples.empty() || test.size() == 0) return;
    std::vector<std::size_t> idx;
    for (int s : config_.record.probe_samples) {
      if (s < 0 || s >= static_cast<int>(test.size()))
        throw std::invalid_argument(fmt::format(
            "record.probe_samples entry {} is outside the test set (size {})", s, test.size()));
      idx.push_back(s);
    }
    std::vector<int> layers = config_.record.probe_layers;
    if (layers.empty())
      for (int l = 0; l + 1 < net.layer_count(); ++l) layers.push_back(l);
    Batch batch;
    set_inputs(net, test.pixels.data(), test.features, test.pixel_scale, idx, test.labels.data(),
               batch);
    std::vector<TrajectoryProbe> probes;
    for (std::size_t b = 0; b < idx.size(); ++b)
      for (int l : layers) {
        if (l < 0 || l + 1 >= net.layer_count())
          throw std::invalid_argument(fmt::format("record.probe_layers entry {} is outside 0..{}",
                                                  l, net.layer_count() - 2));
        TrajectoryProbe p;
        p.layer = l + 1;
        p.sample = b;
        p.stride = config_.record.trajectory_stride;
        probes.push_back(std::move(p));
      }
    forward_phase(net, batch, config_.integrator, &probes);
    for (std::size_t q = 0; q < probes.size(); ++q) {
      Trajectory t;
      t.sample = static_cast<int>(idx[probes[q].sample]);
      t.layer = probes[q].layer - 1;
      t.times = std::move(probes[q].times);
      t.values = std::move(probes[q].values);
      t.neurons = net.layer_size(probes[q].layer);
      t.elements = net.n();
      result.trajectories.push_back(std::move(t));
    }
  }

  ExperimentConfig config_;
  Trainer trainer_;
  std::size_t neuron_elements_ = 0;
};

}  // namespace

std::unique_ptr<Learner> make_wuxing_learner(const ExperimentConfig& config, int features,
                                             int classes, const WuxingRule& rule) {
  return std::make_unique<WuxingLearner>(config, features, classes, rule);
}
}  // namespace wuxing
