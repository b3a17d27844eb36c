// Network kernels (issue "Performance"): forward-phase throughput of the fused Heun kernel
// against odeint's Heun on the flattened state, training samples/s against the MLP
// baseline, achieved GFLOP/s (compare with peak_fma in the same run), the 2-thread
// speed-up (with a bit-identity check), heap use, and scaling with width and n.
// Real MNIST subsets (scripts/setup) are the inputs.
//
// Built only when the network code exists (framework/network.cpp; see CMakeLists.txt).
#if defined(WUXING_BENCH_NETWORK)

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <omp.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>

#include "bench/bench_support.hpp"
#include "framework/base/config.hpp"
#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/bptt.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/learning/training.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/operating_point.hpp"
#include "framework/pipeline/spec.hpp"

// ---------------------------------------------------------------------------------------
// Heap accounting: every operator new/delete of the binary goes through these counters
// (malloc_usable_size on both sides so that unsized deletes balance). Eigen's aligned
// allocations use malloc directly and are not counted (the MLP's are, in part, missed).
namespace {
std::atomic<std::int64_t> g_live{0}, g_peak{0};

void* counted_alloc(std::size_t size) {
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  std::int64_t live = g_live.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)),
                                       std::memory_order_relaxed) +
                      static_cast<std::int64_t>(malloc_usable_size(p));
  std::int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return p;
}
void counted_free(void* p) {
  if (!p) return;
  g_live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) { return counted_alloc(size); }
void* operator new[](std::size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

using namespace wuxing;

// MNIST subsets shared by all benchmarks (loaded once).
const DatasetSplit* mnist(benchmark::State& state) {
  return bench::mnist_subsets(state, 1000, 500);
}

// The quickstart's settings with the given hidden layer and element count, one epoch.
ExperimentConfig network_config(int hidden, int n) {
  ExperimentConfig c = bench::quickstart_config(hidden);
  c.model.n = n;
  c.training.epochs = 1;
  return c;
}

// FLOPs of one fused-Heun forward phase, from the kernel's structure (network.cpp):
// an rhs evaluation costs 7 per integrated element (jiang-r1: 4 mul, 3 add) plus, for
// layers l >= 2, 1 per element of layer l-1 (signal s = x - x*) and 2 per connection
// (gather_drive); a step is 2 evaluations + 2 (stage) + 3 (update) per element, and each
// sample gets one more evaluation (the test that freezes it). Counted per sample over its
// own steps (`steps_total` sums them): frozen samples are dropped from the working arrays.
double forward_flops(const Network& net, std::size_t B, std::int64_t steps_total) {
  const double n = net.n();
  double elems = 0, coupling = 0;
  for (int l = 1; l < net.layer_count(); ++l) {
    elems += n * net.layer_size(l);
    if (l >= 2)
      coupling += n * net.layer_size(l - 1) + 2.0 * static_cast<double>(net.connections(l).size());
  }
  const double rhs = 7.0 * elems + coupling;
  const double steps = static_cast<double>(steps_total);
  return (2.0 * steps + static_cast<double>(B)) * rhs + steps * 5.0 * elems;
}

Batch make_batch(const Network& net, const Dataset& data, std::size_t B) {
  std::vector<std::size_t> idx(B);
  for (std::size_t i = 0; i < B; ++i) idx[i] = i;
  Batch batch;
  set_inputs(net, data.pixels.data(), data.features, data.pixel_scale, idx, data.labels.data(),
             batch);
  return batch;
}

// One forward phase of B test samples through 784 -> [hidden] -> 10, n elements, at the
// quickstart's step settings. args: hidden (0: none), n, B. `per_sample`: integrate each
// sample's network on its own (a batch of 1), as a plain odeint system for one network
// would, instead of the batch-innermost state whose element updates vectorise.
void BM_Forward(benchmark::State& state, std::string method, bool per_sample) {
  const DatasetSplit* data = mnist(state);
  if (!data) return;
  omp_set_num_threads(1);
  const int hidden = static_cast<int>(state.range(0)), n = static_cast<int>(state.range(1));
  const std::size_t B = static_cast<std::size_t>(state.range(2));
  ExperimentConfig cfg = network_config(hidden, n);
  cfg.integrator.method = method;
  Network net(cfg, data->test.features, data->test.classes);
  Batch batch = make_batch(net, data->test, B);
  std::vector<Batch> singles;
  if (per_sample)
    for (std::size_t b = 0; b < B; ++b) {
      singles.emplace_back();
      set_inputs(net, data->test.pixels.data(), data->test.features, data->test.pixel_scale, {b},
                 data->test.labels.data(), singles.back());
    }

  // The fused Heun kernel on the batch is the reference (for itself: odeint's Heun). The
  // fused kernel freezes each sample once its max rate < tol; the generic path integrates
  // the whole batch until all are below tol, so they differ by about tol / (decay rate).
  ExperimentConfig other = cfg;
  other.integrator.method = method == "heun" ? "odeint_heun" : "heun";
  Batch check = make_batch(net, data->test, B);
  forward_phase(net, check, other.integrator);

  PhaseReport r;
  std::int64_t steps = 0;
  for (auto _ : state) {
    if (per_sample) {
      steps = 0;
      for (Batch& one : singles) {
        r = forward_phase(net, one, cfg.integrator);
        steps = std::max(steps, r.max_steps);
        benchmark::DoNotOptimize(one.x.data());
      }
    } else {
      r = forward_phase(net, batch, cfg.integrator);
      steps = r.max_steps;
      benchmark::DoNotOptimize(batch.x.data());
    }
  }
  double diff = 0;
  for (std::size_t q = 0; q < batch.x.size(); ++q) {
    const double v = per_sample ? singles[q % B].x[q / B] : batch.x[q];
    diff = std::max(diff, std::abs(v - check.x[q]));
  }
  state.counters["max_diff_vs_other_path"] = diff;
  // A stable neuron with |dx/dt| < tol is within about tol / decay of its steady state,
  // decay = -max Re(eigenvalue) at the fixed point; 10x for the layer coupling.
  const double decay = -max_real_eigenvalue(net.equation(), net.topology(), net.K(1, 0));
  const double bound = 10.0 * cfg.integrator.tol / decay;
  state.counters["diff_bound"] = bound;
  if (!(decay > 0) || !(diff < bound))
    state.SkipWithError("the two integration paths settle to different states");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(B));  // samples/s
  state.counters["loop_steps"] = static_cast<double>(steps);
  state.counters["unsettled"] = static_cast<double>(r.unsettled);
  if (method == "heun" && !per_sample) {
    // The share of sample-steps that a batch without dropping its frozen samples would do.
    state.counters["live_fraction"] =
        static_cast<double>(r.steps_total) / (static_cast<double>(r.max_steps) * B);
    state.counters["FLOP/s"] = benchmark::Counter(
        forward_flops(net, B, r.steps_total) * state.iterations(), benchmark::Counter::kIsRate);
  }
}

// Ours against odeint's Heun (explicit_generic_rk) and runge_kutta4, both given the same
// batched network functor, and odeint's Heun on one sample at a time.
#define WUXING_FORWARD_CASES(name, method, per_sample)                 \
  BENCHMARK_CAPTURE(BM_Forward, name, std::string(method), per_sample) \
      ->ArgNames({"hidden", "n", "B"})                                 \
      ->Args({0, 5, 25})                                               \
      ->Args({0, 5, 100})                                              \
      ->Args({100, 5, 25})                                             \
      ->Unit(benchmark::kMillisecond)
WUXING_FORWARD_CASES(fused_heun, "heun", false);
WUXING_FORWARD_CASES(odeint_heun, "odeint_heun", false);
WUXING_FORWARD_CASES(odeint_rk4, "odeint_rk4", false);
WUXING_FORWARD_CASES(odeint_heun_per_sample, "odeint_heun", true);
// Scaling with width, batch width and n (fused kernel; B = 25 as in training chunks).
BENCHMARK_CAPTURE(BM_Forward, scaling, std::string("heun"), false)
    ->ArgNames({"hidden", "n", "B"})
    ->Args({100, 5, 25})
    ->Args({300, 5, 25})
    ->Args({1000, 5, 25})
    ->Args({100, 5, 16})
    ->Args({100, 5, 24})
    ->Args({100, 5, 32})
    ->Args({100, 5, 100})
    ->Args({100, 3, 25})
    ->Args({100, 7, 25})
    ->Args({100, 9, 25})
    ->Unit(benchmark::kMillisecond);

// One epoch of run_training on 1000 MNIST samples plus evaluation of 500, 784 -> 10.
// Items are the 1500 samples the epoch touches. threads: OpenMP threads.
RunResult train_once(const ExperimentConfig& cfg, const DatasetSplit& data, int threads) {
  return run_training(cfg, data, RunObserver{}, threads);
}

bool same_result(const RunResult& a, const RunResult& b) {
  if (a.epochs.size() != b.epochs.size()) return false;
  for (std::size_t e = 0; e < a.epochs.size(); ++e) {
    const EpochMetrics &x = a.epochs[e], &y = b.epochs[e];
    if (x.train_loss != y.train_loss || x.test_loss != y.test_loss ||
        x.train_accuracy != y.train_accuracy || x.test_accuracy != y.test_accuracy)
      return false;
  }
  for (std::size_t l = 0; l < a.parameters.size() && l < b.parameters.size(); ++l) {
    const LayerParameters &x = a.parameters[l], &y = b.parameters[l];
    if (x.coef_mean != y.coef_mean || x.coef_std != y.coef_std || x.K3 != y.K3) return false;
  }
  return a.parameters.size() == b.parameters.size();
}

void BM_TrainEpoch(benchmark::State& state, std::string rule, int threads,
                   BackwardMethod backward_method, ForwardMethod forward_method) {
  const DatasetSplit* data = mnist(state);
  if (!data) return;
  ExperimentConfig cfg = network_config(static_cast<int>(state.range(0)), 5);
  cfg.training.rule = rule;
  cfg.integrator.backward_method = backward_method;
  cfg.integrator.forward_method = forward_method;
  cfg.training.epochs = 1;
  cfg.seed = 1;
  RunResult reference;
  if (threads > 1) reference = train_once(cfg, *data, 1);
  RunResult res;
  std::int64_t heap_before = g_live.load();
  g_peak.store(heap_before);
  for (auto _ : state) res = train_once(cfg, *data, threads);
  state.counters["peak_heap_MB"] = static_cast<double>(g_peak.load() - heap_before) / 1e6;
  omp_set_num_threads(1);
  if (res.status != RunStatus::ok) {
    state.SkipWithError(
        ("run status " + std::string(res.status.name()) + ": " + res.reason).c_str());
    return;
  }
  if (threads > 1 && !same_result(reference, res)) {
    state.SkipWithError("results differ between 1 and 2 threads (must be bit-identical)");
    return;
  }
  state.counters["test_accuracy"] = res.epochs.back().test_accuracy;
  if (rule != "mlp_backprop") {
    // Integration steps per sample in each phase over the epoch's training samples, with
    // the initial parameters (the trained run's forward mean is in the run's metrics).
    Network net(cfg, data->train.features, data->train.classes);
    std::int64_t forward = 0, backward = 0;
    for (std::size_t start = 0; start < data->train.size(); start += Trainer::kChunk) {
      std::vector<std::size_t> idx;
      for (std::size_t i = start; i < std::min(data->train.size(), start + Trainer::kChunk); ++i)
        idx.push_back(i);
      Batch batch;
      set_inputs(net, data->train.pixels.data(), data->train.features, data->train.pixel_scale, idx,
                 data->train.labels.data(), batch);
      forward += forward_phase(net, batch, cfg.integrator).steps_total;
      std::vector<double> dlds, lambda;
      output_loss(net, batch, cfg.training, dlds);
      backward += backward_phase(net, batch, dlds, cfg.integrator, lambda).steps_total;
    }
    const double samples = static_cast<double>(data->train.size());
    state.counters["forward_steps_per_sample"] = static_cast<double>(forward) / samples;
    state.counters["backward_steps_per_sample"] = static_cast<double>(backward) / samples;
    state.counters["trained_forward_steps"] = res.epochs.back().mean_steps;
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(data->train.size() + data->test.size()));
}

// Wall-clock time (UseRealTime), so that the 2-thread case shows its speed-up.
#define WUXING_EPOCH_CASES(name, rule, threads, backward_method, forward_method)    \
  BENCHMARK_CAPTURE(BM_TrainEpoch, name, std::string(rule), threads,                \
                    BackwardMethod::backward_method, ForwardMethod::forward_method) \
      ->ArgName("hidden")                                                           \
      ->Arg(0)                                                                      \
      ->Arg(100)                                                                    \
      ->Unit(benchmark::kMillisecond)                                               \
      ->UseRealTime()
WUXING_EPOCH_CASES(connection_1thread, "connection", 1, integrate, integrate);
WUXING_EPOCH_CASES(connection_2threads, "connection", 2, integrate, integrate);
// The backward phase's fixed point solved directly (integrator.backward_method: solve).
WUXING_EPOCH_CASES(connection_solve_1thread, "connection", 1, solve, integrate);
// The forward phase's steady state solved too (integrator.forward_method: solve), or read
// from the tabulated responses (table); the adjoint then from the solve's sensitivities.
WUXING_EPOCH_CASES(connection_forward_solve_1thread, "connection", 1, solve, solve);
WUXING_EPOCH_CASES(connection_forward_table_1thread, "connection", 1, solve, table);
WUXING_EPOCH_CASES(connection_forward_table_2threads, "connection", 2, solve, table);
WUXING_EPOCH_CASES(mlp_backprop, "mlp_backprop", 1, integrate, integrate);

}  // namespace

#endif  // WUXING_BENCH_NETWORK
