// Running one experiment: the contract between the training code, which implements
// train_experiment() (framework/learning/train_experiment.hpp), and the pipeline (runner, store,
// CLI), which calls it.
#pragma once

#include <atomic>
#include <complex>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "framework/base/config.hpp"

namespace wuxing {

// Numerical trouble seen in one epoch. None of it passes silently.
struct TroubleCounts {
  std::int64_t unsettled_samples = 0;   // forward phase hit t_max before steady state
  std::int64_t backward_unsettled = 0;  // backward phase hit its t_max
  std::int64_t step_cap_hits = 0;
  std::int64_t clamp_events = 0;      // element values pushed back into [x_min, x_max]
  std::int64_t non_finite = 0;        // NaN or Inf seen
  std::int64_t k_clamp_events = 0;    // trained K's pushed back into their ranges (or K1 > K3)
  std::int64_t input_clamps = 0;      // settled input-neuron elements outside [x_min, x_max]
  std::int64_t excluded_samples = 0;  // left out of a local-rule gradient: a phase did not settle
  // forward_method solve/table: forward phases integrated because the solve did not converge
  // or reached an unstable state
  std::int64_t solve_fallbacks = 0;
  // training.unsettled_policy exclude_element: elements of unsettled samples held as constants
  // in the backward phase (the rest of each such sample kept in the gradient)
  std::int64_t held_elements = 0;
};

struct EpochMetrics {
  int epoch = 0;                // 1-based
  double train_accuracy = 0.0;  // in [0, 1], over the epoch's training samples
  double test_accuracy = 0.0;
  double train_loss = 0.0;
  double test_loss = 0.0;
  double unsettled_fraction = 0.0;  // of forward phases, train and test
  double clamp_fraction = 0.0;      // clamped elements at the end of forward phases
  double max_re_lambda = 0.0;       // operating point's max Re eigenvalue (if recorded, else NaN)
  double mean_steps = 0.0;          // integrator steps per forward phase
  double wall_seconds = 0.0;
  TroubleCounts trouble;
};

// Time x neuron x element values of one layer for one probe sample.
struct Trajectory {
  int sample = 0;
  int layer = 0;
  std::vector<double> times;
  std::vector<double> values;  // row-major [time][neuron][element]
  int neurons = 0;
  int elements = 0;
};

struct LayerParameters {
  std::vector<double> K1, K2, K3;    // per neuron (length 1 when shared)
  std::vector<double> fixed_points;  // per neuron
  double coef_mean = 0, coef_std = 0, coef_min = 0, coef_max = 0;
  std::int64_t connections = 0;
};

struct StabilityRecord {
  int epoch = 0;
  std::vector<std::complex<double>> eigenvalues;  // of the operating point's Jacobian
  // Named per-epoch diagnostics stored beside the eigenvalues (docs/results-format.md):
  // the fold positions, the drive histogram and the crossing counts.
  std::map<std::string, std::vector<double>> diagnostics;
};

// How a run ended: ok, failed (an exception, or stopped), numerical_trouble (NaN, divergence,
// not settling, chance level) or pruned (stopped early by a tuner). Stored as its name
// (docs/results-format.md) and parsed back where a results file is read (parse_run_status).
// A name written in the code is checked: when assigned (`result.status = "numerical_trouble"`)
// by the compiler, a misspelt one does not build; when compared (`status == "ok"`, as tests do)
// at run time, a misspelt one throws std::invalid_argument instead of comparing unequal.
class RunStatus {
 public:
  enum Value : std::uint8_t { ok, failed, numerical_trouble, pruned };
  constexpr RunStatus(Value value = ok) : value_(value) {}
  consteval RunStatus(const char* name) : value_(from_name(name)) {}
  constexpr Value value() const { return value_; }
  constexpr std::string_view name() const { return kNames[value_]; }
  friend constexpr bool operator==(RunStatus a, RunStatus b) { return a.value_ == b.value_; }
  template <std::size_t N>
  friend bool operator==(RunStatus a, const char (&name)[N]) {
    return a.value_ == checked(name);
  }

 private:
  static constexpr std::string_view kNames[] = {"ok", "failed", "numerical_trouble", "pruned"};
  static consteval Value from_name(const char* name) {
    for (std::uint8_t i = 0; i < std::size(kNames); ++i)
      if (kNames[i] == name) return static_cast<Value>(i);
    throw "unknown run status";  // at compile time: the build fails here
  }
  static Value checked(std::string_view name) {
    for (std::uint8_t i = 0; i < std::size(kNames); ++i)
      if (kNames[i] == name) return static_cast<Value>(i);
    throw std::invalid_argument("unknown run status '" + std::string(name) + "'");
  }
  Value value_;
};
// The status named `name`, or none when it names none.
std::optional<RunStatus> parse_run_status(std::string_view name);

struct RunResult {
  RunStatus status = RunStatus::ok;
  std::string reason;  // why, when not ok
  std::vector<EpochMetrics> epochs;
  std::vector<LayerParameters> parameters;  // one per non-input layer
  std::vector<Trajectory> trajectories;
  std::vector<StabilityRecord> stability;
  double wall_seconds = 0.0;
};

struct TrainingState;  // framework/base/checkpoint.hpp

struct RunObserver {
  // Called at progress points inside an epoch (samples done of total), from the
  // thread that called train_experiment().
  std::function<void(int epoch, std::int64_t done, std::int64_t total, double running_accuracy)>
      on_progress;
  std::function<void(const EpochMetrics&)> on_epoch;
  // Set by the caller to ask for a clean stop between minibatches.
  const std::atomic<bool>* stop = nullptr;
  // Checkpoints (framework/base/checkpoint.hpp). on_checkpoint, when set, gets the state to resume
  // from after every finished epoch, before on_epoch reports it; resume, when set, is such a
  // state to go on from instead of starting at epoch 1.
  std::function<void(const TrainingState&)> on_checkpoint;
  const TrainingState* resume = nullptr;
};

// The end of an epoch, shared by the trainers: stores and reports the epoch's metrics, marks
// the run numerical_trouble when its losses are not finite and failed when it was stopped.
// Returns whether training goes on.
// save_state, when given, fills a checkpoint's trainer state (parameters, optimizers).
bool close_epoch(RunResult& result, EpochMetrics metrics, const RunObserver& observer, bool stopped,
                 const std::function<void(TrainingState&)>& save_state = {});

// With observer.resume: the metrics and stability records so far into `result`, and the
// number of epochs done (the 0-based epoch to go on from). Without: 0.
int resume_into(RunResult& result, const RunObserver& observer);

}  // namespace wuxing
