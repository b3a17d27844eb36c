// The one Heun stepper (framework/model/heun.hpp) against the code it replaced, in the same
// run: the forward phase's fused kernel, the integrated adjoint and bptt. The old code is a
// frozen copy in bench/reference/. Each iteration runs both paths on the same input, in
// alternating order, each timed with the thread's CPU clock (the machine may be shared), and
// checks that they give the same bits; the counter new_over_old is the ratio of the summed
// times. Real MNIST samples (scripts/setup) are the inputs, at the quickstart's settings.
#if defined(WUXING_BENCH_NETWORK)

#include <benchmark/benchmark.h>
#include <omp.h>
#include <time.h>

#include <string>

#include "bench/bench_support.hpp"
#include "bench/reference/bptt_before.hpp"
#include "bench/reference/fused_heun_before.hpp"
#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/bptt.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/heun.hpp"
#include "framework/pipeline/spec.hpp"

namespace {

using namespace wuxing;

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Setup {
  ExperimentConfig cfg;
  std::unique_ptr<Network> net;
  Batch batch;
};

// 784 -> [hidden] -> 10 at the quickstart's settings, B MNIST test samples (0 on a data error),
// for the benchmark's args (hidden, B); one thread.
std::unique_ptr<Setup> setup(benchmark::State& state) {
  omp_set_num_threads(1);
  const int hidden = static_cast<int>(state.range(0));
  const auto B = static_cast<std::size_t>(state.range(1));
  const DatasetSplit* data = bench::mnist_subsets(state, 100, 500);
  if (!data) return nullptr;
  const DatasetSplit& split = *data;
  auto s = std::make_unique<Setup>();
  s->cfg = bench::quickstart_config(hidden);
  s->net = std::make_unique<Network>(s->cfg, split.test.features, split.test.classes);
  std::vector<std::size_t> idx(B);
  for (std::size_t i = 0; i < B; ++i) idx[i] = i;
  set_inputs(*s->net, split.test.pixels.data(), split.test.features, split.test.pixel_scale, idx,
             split.test.labels.data(), s->batch);
  return s;
}

bool same_report(const PhaseReport& a, const PhaseReport& b) {
  return a.sample_steps == b.sample_steps && a.sample_settled == b.sample_settled &&
         a.clamp_events == b.clamp_events && a.non_finite == b.non_finite &&
         a.step_cap_hits == b.step_cap_hits;
}

// Runs old() and new_() once per iteration, alternating which goes first, and reports the
// ratio of their summed thread CPU times.
template <class Old, class New>
void time_pair(benchmark::State& state, Old&& old, New&& new_) {
  double t_old = 0.0, t_new = 0.0;
  bool old_first = true;
  for (auto _ : state) {
    for (int pass = 0; pass < 2; ++pass) {
      const bool run_old = (pass == 0) == old_first;
      const double t0 = thread_seconds();
      if (run_old)
        old();
      else
        new_();
      (run_old ? t_old : t_new) += thread_seconds() - t0;
    }
    old_first = !old_first;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["old_ms"] = 1e3 * t_old / n;
  state.counters["new_ms"] = 1e3 * t_new / n;
  state.counters["new_over_old"] = t_new / t_old;
}

// The forward phase's integration: the old fused kernel against heun_integrate, both from the
// fixed point with the field of the batch. args: hidden, B.
void BM_HeunForward(benchmark::State& state) {
  auto s = setup(state);
  if (!s) return;
  const Network& net = *s->net;
  const IntegratorConfig& integ = s->cfg.integrator;
  const std::size_t B = s->batch.B;
  const double lo = net.config().x_min, hi = net.config().x_max;
  std::vector<double> x_old, x_new;
  PhaseReport r_old, r_new;
  auto old = [&] {
    x_old.assign(net.state_size(B), 0.0);
    fill_fixed_points(net, B, x_old.data());
    detail::ForwardField field(net, s->batch);
    r_old = PhaseReport{};
    bench_before::fused_heun<true>(field, B, x_old.data(), integ.h, integ.t_max, integ.tol,
                                   integ.max_steps, lo, hi, r_old, net, nullptr);
  };
  auto new_ = [&] {
    x_new.assign(net.state_size(B), 0.0);
    fill_fixed_points(net, B, x_new.data());
    detail::ForwardField field(net, s->batch);
    r_new = PhaseReport{};
    detail::heun_integrate<detail::Settle::per_lane>(
        field, B, x_new.data(), {integ.h, integ.t_max, integ.max_steps, integ.tol},
        detail::Bounds<true>{lo, hi}, r_new);
  };
  time_pair(state, old, new_);
  if (x_old != x_new || !same_report(r_old, r_new))
    state.SkipWithError("the old and the new forward integration differ");
}

// The integrated adjoint at the settled forward state: the old fused kernel against
// heun_integrate on the same adjoint field (mask of the clamped elements, output source).
void BM_HeunAdjoint(benchmark::State& state) {
  auto s = setup(state);
  if (!s) return;
  const Network& net = *s->net;
  const IntegratorConfig& integ = s->cfg.integrator;
  const std::size_t B = s->batch.B, size = net.state_size(B);
  const double lo = net.config().x_min, hi = net.config().x_max;
  forward_phase(net, s->batch, integ);
  std::vector<double> dlds;
  output_loss(net, s->batch, s->cfg.training, dlds);
  // backward_phase's mask and source (learning/adjoint.cpp).
  std::vector<double> D(size), e(size, 0.0);
  for (std::size_t q = 0; q < size; ++q)
    D[q] = (s->batch.x[q] <= lo || s->batch.x[q] >= hi) ? 0.0 : 1.0;
  const int L = net.layer_count() - 1, n = net.n();
  for (int k = 0; k < net.layer_size(L); ++k)
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t q =
          net.layer_offset(L, B) + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b;
      e[q] = D[q] * dlds[static_cast<std::size_t>(k) * B + b];
    }
  std::vector<double> l_old, l_new;
  PhaseReport r_old, r_new;
  auto old = [&] {
    l_old.assign(size, 0.0);
    detail::AdjointField field(net, B, s->batch.x.data(), D.data(), e.data());
    r_old = PhaseReport{};
    bench_before::fused_heun<false>(field, B, l_old.data(), integ.h, integ.backward_t_max,
                                    integ.backward_tol, integ.max_steps, lo, hi, r_old, net,
                                    nullptr);
  };
  auto new_ = [&] {
    l_new.assign(size, 0.0);
    detail::AdjointField field(net, B, s->batch.x.data(), D.data(), e.data());
    r_new = PhaseReport{};
    detail::heun_integrate<detail::Settle::per_lane>(
        field, B, l_new.data(),
        {integ.h, integ.backward_t_max, integ.max_steps, integ.backward_tol},
        detail::Bounds<false>{}, r_new);
  };
  time_pair(state, old, new_);
  if (l_old != l_new || !same_report(r_old, r_new))
    state.SkipWithError("the old and the new adjoint integration differ");
  // The public entry point runs the new path: it must agree too.
  std::vector<double> lambda;
  backward_phase(net, s->batch, dlds, integ, lambda);
  if (lambda != l_new) state.SkipWithError("backward_phase differs from the new kernel");
}

// bptt's whole gradient (its forward pass through the stepper with a tape, the reverse pass
// through replayed steps) against the old bptt_gradients. args: hidden, B.
void BM_HeunBptt(benchmark::State& state) {
  auto s = setup(state);
  if (!s) return;
  const Network& net = *s->net;
  Batch b_old = s->batch, b_new = s->batch;
  Gradients g_old, g_new;
  std::vector<double> loss_old, loss_new;
  PhaseReport r_old, r_new;
  auto old = [&] {
    g_old.reset(net);
    loss_old = bench_before::bptt_gradients(net, b_old, s->cfg.integrator, s->cfg.training, -1,
                                            g_old, &r_old, nullptr);
  };
  auto new_ = [&] {
    g_new.reset(net);
    loss_new = bptt_gradients(net, b_new, s->cfg.integrator, s->cfg.training, -1, g_new, &r_new);
  };
  time_pair(state, old, new_);
  if (loss_old != loss_new || g_old.coef != g_new.coef || g_old.K != g_new.K ||
      b_old.x != b_new.x || !same_report(r_old, r_new) || r_old.unsettled != r_new.unsettled)
    state.SkipWithError("the old and the new bptt differ");
}

BENCHMARK(BM_HeunForward)
    ->ArgNames({"hidden", "B"})
    ->Args({0, 25})
    ->Args({100, 25})
    ->Args({100, 100})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeunAdjoint)
    ->ArgNames({"hidden", "B"})
    ->Args({0, 25})
    ->Args({100, 25})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeunBptt)
    ->ArgNames({"hidden", "B"})
    ->Args({0, 25})
    ->Args({30, 25})
    ->Unit(benchmark::kMillisecond);

}  // namespace

#endif  // WUXING_BENCH_NETWORK
