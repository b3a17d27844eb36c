#include "tests/fake/fake_trainer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/trainers.hpp"

namespace wuxing::testing {

RunResult fake_train_experiment(const ExperimentConfig& config, const RunObserver& observer,
                                int threads, int sleep_ms) {
  (void)threads;  // by contract the result must not depend on it
  if (config.training.learning_rate >= 2.0)
    throw std::runtime_error("fake trainer: learning_rate >= 2 throws");
  const std::uint64_t h = fnv1a64(canonical_yaml(config));
  const double base = static_cast<double>(h % 1000) / 1000.0;  // in [0, 1)
  RunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t samples = config.data.train_size;
  // The fake's state is its epoch count: checkpoints carry only the metrics so far.
  const auto save_nothing = [](TrainingState&) {};
  for (int e = resume_into(r, observer) + 1; e <= config.training.epochs; ++e) {
    if (observer.stop && observer.stop->load()) break;
    // Sleep in slices so that a stop is seen promptly.
    for (int slept = 0; slept < sleep_ms; slept += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10, sleep_ms - slept)));
      if (observer.on_progress)
        observer.on_progress(
            e, std::min<std::int64_t>(samples, samples * (slept + 10) / std::max(sleep_ms, 1)),
            samples, 0.5);
    }
    if (observer.stop && observer.stop->load()) break;
    EpochMetrics m;
    m.epoch = e;
    m.train_accuracy = 0.5 + 0.4 * base * e / config.training.epochs;
    m.test_accuracy = m.train_accuracy - 0.01 * config.model.K3;
    m.train_loss = 1.0 / (e + base);
    m.test_loss = m.train_loss + 0.05;
    m.unsettled_fraction = 0.01 * base;
    m.clamp_fraction = 0.001 * e;
    m.max_re_lambda = -config.model.K3;
    m.mean_steps = 100 + e;
    m.trouble.unsettled_samples = static_cast<std::int64_t>(h % 7);
    m.wall_seconds = sleep_ms / 1000.0;
    if (config.training.learning_rate >= 1.0) {
      m.train_loss = NAN;
      r.status = RunStatus::numerical_trouble;
      r.reason = "fake trainer: diverged (learning_rate >= 1)";
    }
    if (!close_epoch(r, m, observer, false, save_nothing)) break;
  }
  const int layers = static_cast<int>(config.network.hidden.size()) + 1;
  for (int l = 0; l < layers; ++l) {
    LayerParameters p;
    p.K1 = {config.model.K1};
    p.K2 = {config.model.K2};
    p.K3 = {config.model.K3};
    p.fixed_points = {(config.model.K1 - config.model.K3) / config.model.K2};
    p.coef_mean = base;
    p.connections = 10 * (l + 1);
    r.parameters.push_back(p);
  }
  for (int s : config.record.probe_samples) {
    for (int l : config.record.probe_layers) {
      Trajectory t;
      t.sample = s;
      t.layer = l;
      t.neurons = 3;
      t.elements = config.model.n;
      for (int i = 0; i < 20; ++i) {
        t.times.push_back(0.1 * i);
        for (int n = 0; n < t.neurons * t.elements; ++n) t.values.push_back(base + 0.01 * i + n);
      }
      r.trajectories.push_back(std::move(t));
    }
  }
  if (config.record.stability)
    for (const auto& e : r.epochs)
      r.stability.push_back({e.epoch, {{-config.model.K3, 0.5}, {-config.model.K3, -0.5}}, {}});
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

namespace {

struct Gate {
  int free_runs = 0;
  std::filesystem::path dir;
};

// WUXING_FAKE_GATE=<N>:<dir>, or nothing when it is not set.
std::optional<Gate> gate_from_environment() {
  const char* text = std::getenv("WUXING_FAKE_GATE");
  if (!text) return std::nullopt;
  const std::string value = text;
  const auto colon = value.find(':');
  if (colon == std::string::npos || colon == 0)
    throw std::runtime_error("WUXING_FAKE_GATE: expected <runs>:<directory>, got '" + value + "'");
  return Gate{std::stoi(value.substr(0, colon)), value.substr(colon + 1)};
}

// Past the gate's free runs: announce the wait (a file written whole, then renamed) and wait
// for the test's go-ahead, the file <dir>/open, or for a stop.
void pass_gate(const Gate& gate, const RunObserver& observer) {
  static std::atomic<int> started{0};
  if (started.fetch_add(1) < gate.free_runs) return;
  namespace fs = std::filesystem;
  const fs::path part = gate.dir / "blocked.part";
  std::ofstream(part) << "blocked\n";
  fs::rename(part, gate.dir / "blocked");
  while (!fs::exists(gate.dir / "open")) {
    if (observer.stop && observer.stop->load()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a file: an event
  }
}

}  // namespace

Trainer trainer_from_environment() {
  if (const char* fake = std::getenv("WUXING_FAKE_TRAINER")) {
    const int sleep_ms = std::atoi(fake);
    fmt::print(stderr,
               "wuxing: WUXING_FAKE_TRAINER is set: using the test-only fake trainer ({} ms "
               "per epoch)\n",
               sleep_ms);
    const std::optional<Gate> gate = gate_from_environment();
    return [sleep_ms, gate](const ExperimentConfig& c, const RunObserver& o, int threads) {
      if (gate) pass_gate(*gate, o);
      return fake_train_experiment(c, o, threads, sleep_ms);
    };
  }
  return production_trainer();
}

}  // namespace wuxing::testing
