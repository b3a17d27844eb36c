// Training loop, optimizers, PID and reproducibility (MODEL.md section 6).
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/learning/optimizer.hpp"
#include "framework/learning/rules.hpp"
#include "framework/learning/training.hpp"
#include "framework/model/connectivity.hpp"

using namespace wuxing;

namespace {

// Two Gaussian blobs per class in pixel space: learnable, not trivial.
DatasetSplit blob_data(int features, int classes, int train, int test, std::uint64_t seed) {
  DatasetSplit split;
  Rng rng(seed);
  std::vector<std::vector<double>> centers(classes, std::vector<double>(features));
  for (auto& c : centers)
    for (double& v : c) v = rng.uniform();
  auto fill = [&](Dataset& d, int count) {
    d.features = features;
    d.classes = classes;
    for (int s = 0; s < count; ++s) {
      const int y = static_cast<int>(rng.below(classes));
      d.labels.push_back(static_cast<std::uint8_t>(y));
      for (int j = 0; j < features; ++j) {
        const double v = std::clamp(centers[y][j] + 0.25 * rng.normal(), 0.0, 1.0);
        d.pixels.push_back(static_cast<std::uint8_t>(std::lround(v * 255)));
      }
    }
  };
  fill(split.train, train);
  fill(split.test, test);
  return split;
}

ExperimentConfig small_config(const std::string& rule) {
  ExperimentConfig c;
  c.seed = 5;
  c.network.hidden = {6};
  c.network.connectivity = Connectivity::fixed;
  c.integrator.h = 0.2;
  c.integrator.tol = 1e-5;
  c.integrator.backward_tol = 1e-5;
  c.training.rule = rule;
  c.training.learning_rate = 0.05;
  c.training.lr_schedule = LrSchedule::constant;
  c.training.batch_size = 60;  // three chunks of the minibatch (25, 25, 10) run in parallel
  c.training.epochs = 2;
  return c;
}

void check_identical(const RunResult& a, const RunResult& b) {
  REQUIRE(a.epochs.size() == b.epochs.size());
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    CHECK(a.epochs[e].train_loss == b.epochs[e].train_loss);
    CHECK(a.epochs[e].test_loss == b.epochs[e].test_loss);
    CHECK(a.epochs[e].test_accuracy == b.epochs[e].test_accuracy);
    CHECK(a.epochs[e].trouble.clamp_events == b.epochs[e].trouble.clamp_events);
  }
  REQUIRE(a.parameters.size() == b.parameters.size());
  for (std::size_t l = 0; l < a.parameters.size(); ++l) {
    CHECK(a.parameters[l].coef_mean == b.parameters[l].coef_mean);
    CHECK(a.parameters[l].coef_std == b.parameters[l].coef_std);
    CHECK(a.parameters[l].K3 == b.parameters[l].K3);
  }
}

}  // namespace

TEST_CASE("optimizers: one step of sgd, momentum and adam") {
  std::vector<double> p{1.0, -2.0}, g{0.5, -1.0};
  Optimizer sgd(OptimizerKind::sgd, 0.9, 2);
  sgd.apply(p.data(), g.data(), 0.1);
  CHECK(p[0] == doctest::Approx(0.95));
  CHECK(p[1] == doctest::Approx(-1.9));
  Optimizer mom(OptimizerKind::momentum, 0.9, 2);
  p = {0.0, 0.0};
  mom.apply(p.data(), g.data(), 0.1);
  mom.apply(p.data(), g.data(), 0.1);
  CHECK(p[0] == doctest::Approx(-0.1 * 0.5 - 0.1 * (0.9 * 0.5 + 0.5)));
  Optimizer adam(OptimizerKind::adam, 0.9, 2);
  p = {0.0, 0.0};
  adam.apply(p.data(), g.data(), 0.01);  // the first Adam step is lr * sign(g)
  CHECK(p[0] == doctest::Approx(-0.01).epsilon(1e-6));
  CHECK(p[1] == doctest::Approx(0.01).epsilon(1e-6));
  TrainingConfig t;
  t.learning_rate = 0.3;
  t.lr_schedule = LrSchedule::inverse_epoch;
  CHECK(scheduled_lr(t, 2) == doctest::Approx(0.1));
  t.lr_schedule = LrSchedule::constant;
  CHECK(scheduled_lr(t, 2) == doctest::Approx(0.3));
  t.lr_schedule = LrSchedule::cosine;
  t.epochs = 4;
  CHECK(scheduled_lr(t, 0) == 0.3);
  CHECK(scheduled_lr(t, 2) == doctest::Approx(0.15));
  CHECK(scheduled_lr(t, 3) == doctest::Approx(0.3 * 0.5 * (1 - std::sqrt(0.5))));
}

TEST_CASE("decoupled weight decay shrinks each weight by lr * weight_decay of itself") {
  std::vector<double> p{2.0, -1.0};
  decay_weights(p.data(), p.size(), 0.1 * 0.5);
  CHECK(p[0] == doctest::Approx(1.9));
  CHECK(p[1] == doctest::Approx(-0.95));
  const std::vector<double> keep = p;
  decay_weights(p.data(), p.size(), 0.0);
  CHECK(p == keep);  // no decay leaves the bits alone
}

TEST_CASE("PID controller: proportional, leaky clamped integral, derivative") {
  PidConfig cfg;
  cfg.kp = 2.0;
  cfg.ki = 0.5;
  cfg.kd = 1.0;
  cfg.integral_leak = 0.5;
  cfg.integral_clamp = 1.2;
  PidController pid(cfg, 1);
  double g = 1.0;
  pid.transform(&g);  // I = 1, no derivative on the first step
  CHECK(g == doctest::Approx(2.0 + 0.5 * 1.0));
  g = 1.0;
  pid.transform(&g);  // I = 0.5 + 1 = 1.5 -> clamped 1.2, D = 0
  CHECK(g == doctest::Approx(2.0 + 0.5 * 1.2));
  g = 3.0;
  pid.transform(&g);  // I = 0.6 + 3 -> 1.2, D = 2
  CHECK(g == doctest::Approx(6.0 + 0.6 + 2.0));
}

TEST_CASE("epoch order is a seeded permutation") {
  const auto a = epoch_order(100, 3, 0, true);
  const auto b = epoch_order(100, 3, 0, true);
  const auto c = epoch_order(100, 3, 1, true);
  CHECK(a == b);
  CHECK(a != c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 100; ++i) CHECK(sorted[i] == i);
  CHECK(epoch_order(5, 3, 0, false) == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("every rule learns the blobs, with results bit-identical for 1 and 2 threads") {
  const DatasetSplit data = blob_data(12, 3, 240, 100, 9);
  // Every registered rule (framework/learning/rules.hpp), so that a new one is checked too.
  REQUIRE(rule_registry().names().size() >= 5);
  for (const std::string& rule : rule_registry().names()) {
    ExperimentConfig c = small_config(rule);
    c.training.epochs = 3;
    c.training.optimizer = OptimizerKind::adam;
    c.training.learning_rate = 0.02;
    if (rule == "fixed_point") {
      c.training.trainable_K = {"K3", "K1"};
      c.training.train_connections_too = true;
    }
    if (rule == "pid") {
      c.training.pid.kp = 1.0;
      c.training.pid.ki = 0.2;
      c.training.pid.kd = 0.1;
    }
    const RunResult one = run_training(c, data, {}, 1);
    const RunResult two = run_training(c, data, {}, 2);
    INFO("rule ", rule);
    MESSAGE(rule, ": test accuracy ", one.epochs.back().test_accuracy);
    CHECK(one.status == "ok");
    check_identical(one, two);
    // Chance is 1/3; every rule must do clearly better after two epochs.
    CHECK(one.epochs.back().test_accuracy > 0.6);
  }
}

TEST_CASE("forward_method solve and table: learn, bit-identical for 1 and 2 threads") {
  const DatasetSplit data = blob_data(12, 3, 240, 100, 9);
  for (const ForwardMethod method : {ForwardMethod::solve, ForwardMethod::table}) {
    ExperimentConfig c = small_config("connection");
    c.training.epochs = 3;
    c.training.optimizer = OptimizerKind::adam;
    c.training.learning_rate = 0.02;
    c.network.x_min = 0.5;
    c.network.x_max = 1.5;
    c.integrator.forward_method = method;
    c.integrator.backward_method = BackwardMethod::solve;
    const RunResult one = run_training(c, data, {}, 1);
    const RunResult two = run_training(c, data, {}, 2);
    INFO("forward_method ", std::string(option_name(method)));
    CHECK(one.status == "ok");
    check_identical(one, two);
    CHECK(one.epochs.back().test_accuracy > 0.6);
    CHECK(one.epochs.back().unsettled_fraction == 0.0);
    CHECK(one.epochs.back().trouble.solve_fallbacks == 0);
  }
}

TEST_CASE("parallel loops inside one chunk keep results bit-identical") {
  // One chunk per minibatch, and layers large enough for the per-neuron and
  // per-connection loops to run in parallel.
  const DatasetSplit data = blob_data(30, 3, 50, 20, 13);
  for (const char* rule : {"connection", "bptt"}) {
    ExperimentConfig c = small_config(rule);
    c.integrator.t_max = 30;
    c.integrator.backward_t_max = 30;
    c.network.hidden = {40};
    c.network.connectivity = Connectivity::uniform_random;
    c.training.batch_size = 25;
    c.training.epochs = 1;
    const RunResult one = run_training(c, data, {}, 1);
    const RunResult two = run_training(c, data, {}, 2);
    INFO("rule ", rule);
    check_identical(one, two);
  }
}

TEST_CASE("K-only training moves the K's and keeps them in range") {
  const DatasetSplit data = blob_data(12, 3, 200, 100, 10);
  ExperimentConfig c = small_config("fixed_point");
  c.training.learning_rate = 1.0;
  c.model.K3_range = {0.4, 0.6};
  const RunResult r = run_training(c, data, {}, 1);
  CHECK(r.status == "ok");
  bool moved = false;
  for (const auto& p : r.parameters)
    for (double k3 : p.K3) {
      CHECK(k3 >= 0.4);
      CHECK(k3 <= 0.6);
      moved = moved || k3 != 0.5;
    }
  CHECK(moved);
  std::int64_t clamps = 0;
  for (const auto& e : r.epochs) clamps += e.trouble.k_clamp_events;
  CHECK(clamps > 0);  // lr 1 pushes some K3 against the narrow range
}

TEST_CASE("pin_fixed_point: K1 and K3 train, K2 follows, every fixed point stays put") {
  const auto eq = make_equation("jiang-r1");
  const KParams K{1.2, 0.4, 0.3};
  const auto d = detail::pinned_k2_derivative(*eq, K, 1.5);  // K2 = (K1 - K3) / 1.5
  CHECK(d[0] == doctest::Approx(1.0 / 1.5).epsilon(1e-9));
  CHECK(d[1] == doctest::Approx(-1.0 / 1.5).epsilon(1e-9));

  const DatasetSplit data = blob_data(12, 3, 200, 100, 10);
  ExperimentConfig c = small_config("fixed_point");
  c.training.trainable_K = {"K1", "K3"};
  c.training.pin_fixed_point = true;
  c.training.optimizer = OptimizerKind::adam;
  c.model.input_sharing = InputSharing::per_neuron;
  c.model.K3_range = {0.3, 0.9};
  const RunResult r = run_training(c, data, {}, 1);
  CHECK(r.status == "ok");
  bool moved = false;
  for (const auto& p : r.parameters) {
    for (double xs : p.fixed_points) CHECK(xs == doctest::Approx(1.0).epsilon(1e-12));
    for (double k1 : p.K1) moved = moved || k1 != 1.0;
  }
  CHECK(moved);
  c.training.trainable_K = {"K2"};
  CHECK_THROWS_AS(run_training(c, data, {}, 1), std::invalid_argument);
}

TEST_CASE("records: stability, probes, parameters; stop request ends the run cleanly") {
  const DatasetSplit data = blob_data(8, 2, 60, 30, 11);
  ExperimentConfig c = small_config("connection");
  c.training.epochs = 1;
  c.record.stability = true;
  c.record.stability_samples = 2;
  c.record.probe_samples = {0, 3};
  c.record.probe_layers = {0, 1};
  c.record.trajectory_stride = 5;
  int epochs_seen = 0, progress_calls = 0;
  RunObserver obs;
  obs.on_epoch = [&](const EpochMetrics&) { ++epochs_seen; };
  obs.on_progress = [&](int, std::int64_t, std::int64_t, double) { ++progress_calls; };
  const RunResult r = run_training(c, data, obs, 1);
  CHECK(epochs_seen == 1);
  CHECK(progress_calls >= 1);
  REQUIRE(r.stability.size() == 1);
  CHECK(r.stability[0].eigenvalues.size() == 2 * (6 + 2) * 5);
  CHECK(r.epochs[0].max_re_lambda < 0.0);
  REQUIRE(r.trajectories.size() == 4);
  const Trajectory& t = r.trajectories[1];
  CHECK(t.sample == 0);
  CHECK(t.layer == 1);
  CHECK(t.neurons == 2);
  CHECK(t.values.size() == t.times.size() * 2 * 5);
  CHECK(t.times.size() > 3);
  REQUIRE(r.parameters.size() == 2);
  CHECK(r.parameters[0].connections == 8 * 6);
  CHECK(r.parameters[0].fixed_points.size() == 6);
  std::atomic<bool> stop{true};
  RunObserver stopper;
  stopper.stop = &stop;
  const RunResult s = run_training(c, data, stopper, 1);
  CHECK(s.status == "failed");
  CHECK(s.reason.find("stopped") != std::string::npos);
}

TEST_CASE("a diverging run is reported as numerical trouble, not a crash") {
  const DatasetSplit data = blob_data(12, 3, 100, 50, 12);
  ExperimentConfig c = small_config("connection");
  c.training.learning_rate = 1e6;
  c.network.x_max = 1e300;
  c.network.x_min = -1e300;
  const RunResult r = run_training(c, data, {}, 1);
  CHECK(r.status == "numerical_trouble");
  CHECK(!r.reason.empty());
}

TEST_CASE("samples whose phases do not settle are left out of the local gradient") {
  const DatasetSplit data = blob_data(12, 3, 60, 20, 14);
  ExperimentConfig c = small_config("connection");
  c.training.epochs = 1;
  c.integrator.t_max = 1.0;  // nobody settles
  const RunResult r = run_training(c, data, {}, 1);
  CHECK(r.epochs[0].trouble.excluded_samples == 60);
  CHECK(r.epochs[0].unsettled_fraction == doctest::Approx(1.0));
  ExperimentConfig fresh = c;
  fresh.training.learning_rate = 0.0;
  const RunResult untouched = run_training(fresh, data, {}, 1);
  CHECK(r.parameters[0].coef_mean == untouched.parameters[0].coef_mean);
  CHECK(r.parameters[1].coef_std == untouched.parameters[1].coef_std);
}
