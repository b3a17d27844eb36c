#include "framework/learning/epoch_loop.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "framework/base/random.hpp"
#include "framework/learning/learner.hpp"
#include "framework/learning/optimizer.hpp"
#include "framework/learning/rules.hpp"
#include "framework/model/connectivity.hpp"

namespace wuxing {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<std::size_t> epoch_order(std::size_t size, std::uint64_t seed, int epoch,
                                     bool shuffle) {
  std::vector<std::size_t> order(size);
  for (std::size_t i = 0; i < size; ++i) order[i] = i;
  if (!shuffle) return order;
  Engine engine(stream_seed(seed, RngStream::shuffle, static_cast<std::uint64_t>(epoch)));
  shuffle_from_back(order, engine);
  return order;
}

RunResult run_training(const ExperimentConfig& config, const DatasetSplit& data,
                       const RunObserver& observer, int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  const auto t_run = std::chrono::steady_clock::now();
  RunResult result;
  const Dataset& train = data.train;
  const Dataset& test = data.test;
  if (train.size() == 0) throw std::invalid_argument("training set is empty");
  if (config.training.batch_size <= 0)
    throw std::invalid_argument(
        fmt::format("training.batch_size = {} must be > 0", config.training.batch_size));
  const auto learner =
      rule_registry().at(config.training.rule).make(config, train.features, train.classes);
  if (observer.resume) learner->load_state(*observer.resume);
  const int first_epoch = resume_into(result, observer);
  const auto save_state = [&](TrainingState& s) { learner->save_state(s); };
  const std::size_t B = config.training.batch_size;
  for (int epoch = first_epoch; epoch < config.training.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = scheduled_lr(config.training, epoch);
    const auto order = epoch_order(train.size(), config.seed, epoch, config.data.shuffle);
    BatchStats seen;
    EpochMetrics m;
    m.epoch = epoch + 1;
    bool stopped = false;
    std::size_t batches = 0;
    for (std::size_t start = 0; start < order.size(); start += B) {
      if (observer.stop && observer.stop->load()) {
        stopped = true;
        break;
      }
      std::vector<std::size_t> idx(order.begin() + start,
                                   order.begin() + std::min(order.size(), start + B));
      const std::string trouble = learner->step(train, idx, lr, epoch, start, seen, m);
      if (!trouble.empty()) {
        result.status = "numerical_trouble";
        result.reason = trouble;
        break;
      }
      if (observer.on_progress &&
          (++batches % learner->progress_every() == 0 || start + B >= order.size()))
        observer.on_progress(epoch + 1, static_cast<std::int64_t>(seen.samples),
                             static_cast<std::int64_t>(order.size()),
                             seen.samples ? static_cast<double>(seen.correct) / seen.samples : 0.0);
    }
    learner->end_epoch(test, seen, epoch, m, result);
    m.wall_seconds = seconds_since(t0);
    if (!close_epoch(result, std::move(m), observer, stopped, save_state)) break;
  }
  learner->finish(test, result);
  result.wall_seconds = seconds_since(t_run);
  return result;
}

}  // namespace wuxing
