#include "framework/base/experiment.hpp"

#include <fmt/format.h>

#include <cmath>

#include "framework/base/checkpoint.hpp"

namespace wuxing {

std::optional<RunStatus> parse_run_status(std::string_view name) {
  for (RunStatus s :
       {RunStatus::ok, RunStatus::failed, RunStatus::numerical_trouble, RunStatus::pruned})
    if (s.name() == name) return s;
  return std::nullopt;
}

bool close_epoch(RunResult& result, EpochMetrics m, const RunObserver& observer, bool stopped,
                 const std::function<void(TrainingState&)>& save_state) {
  const int epoch = m.epoch;
  if (result.status == RunStatus::ok &&
      !(std::isfinite(m.test_loss) && std::isfinite(m.train_loss))) {
    result.status = RunStatus::numerical_trouble;
    result.reason = fmt::format("non-finite loss in epoch {}", epoch);
  }
  result.epochs.push_back(std::move(m));
  // Durable before it is reported: an epoch the user saw finish is never lost.
  if (observer.on_checkpoint && save_state && !stopped && result.status == RunStatus::ok) {
    TrainingState state;
    save_state(state);
    state.epochs_done = epoch;
    state.epochs = result.epochs;
    state.stability = result.stability;
    observer.on_checkpoint(state);
  }
  // An epoch cut short by a stop is not reported as finished (the run is not stored).
  if (observer.on_epoch && !stopped) observer.on_epoch(result.epochs.back());
  if (stopped) {
    result.status = RunStatus::failed;
    result.reason = fmt::format("stopped on request during epoch {}", epoch);
  }
  return result.status == RunStatus::ok;
}

int resume_into(RunResult& result, const RunObserver& observer) {
  if (!observer.resume) return 0;
  result.epochs = observer.resume->epochs;
  result.stability = observer.resume->stability;
  return observer.resume->epochs_done;
}

}  // namespace wuxing
