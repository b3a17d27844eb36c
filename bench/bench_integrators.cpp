// Single-neuron integration throughput: our improved Euler ("heun", integrators/) and
// our RK4 against Boost.Odeint's Heun (explicit_generic_rk with the Heun tableau) and
// runge_kutta4, all on the same system functor and a std::vector<double> state.
// Before timing, each pair of implementations of one method must agree to rounding.
//
// Built only when the integrators exist (integrators/integrator.cpp; see CMakeLists.txt).
#if defined(WUXING_BENCH_INTEGRATORS)

#include <benchmark/benchmark.h>

#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "framework/model/neuron.hpp"
#include "integrators/integrator.hpp"

namespace {

namespace odeint = boost::numeric::odeint;
using wuxing::State;

constexpr double kH = 0.1;
constexpr int kSteps = 600;  // t = 0..60, the default forward phase

// jiang-r1, n = 5, K = (1, 0.5, 0.5) (fixed point 1, stable), element 1 driven by 0.3.
struct NeuronSystem {
  std::shared_ptr<const wuxing::Equation> eq = wuxing::make_equation("jiang-r1");
  wuxing::Topology topo;
  wuxing::KParams K{1.0, 0.5, 0.5};
  State u{0.0, 0.3, 0.0, 0.0, 0.0};
  void operator()(const State& x, State& dxdt, double /*t*/) const {
    eq->rhs(topo, K, x.data(), u.data(), dxdt.data(), 1);
  }
};

State initial_state() { return {1.1, 0.95, 1.2, 1.0, 0.9}; }

using OdeintHeun = odeint::explicit_generic_rk<2, 2, State, double>;

OdeintHeun make_odeint_heun() {
  const boost::array<double, 1> a1 = {{1.0}};
  const OdeintHeun::coef_a_type a = boost::fusion::make_vector(a1);
  const OdeintHeun::coef_b_type b = {{0.5, 0.5}};
  const OdeintHeun::coef_c_type c = {{0.0, 1.0}};
  return OdeintHeun(a, b, c);
}

// Steppers are built once and reused, as a network would: the timed part is the steps.
class Ours {
 public:
  Ours(const std::string& name, const NeuronSystem& sys)
      : stepper_(wuxing::make_stepper(name, options())), system_(sys) {}
  State run() {
    State x = initial_state();
    double t = 0, h = kH;
    for (int i = 0; i < kSteps; ++i) stepper_->step(system_, x, t, h);
    return x;
  }

 private:
  static wuxing::IntegrationOptions options() {
    wuxing::IntegrationOptions o;
    o.h = kH;
    return o;
  }
  std::unique_ptr<wuxing::Stepper> stepper_;
  wuxing::System system_;
};

template <class OdeintStepper>
class Odeint {
 public:
  Odeint(OdeintStepper stepper, const NeuronSystem& sys)
      : stepper_(std::move(stepper)), sys_(sys) {}
  State run() {
    State x = initial_state();
    double t = 0;
    for (int i = 0; i < kSteps; ++i, t += kH) stepper_.do_step(std::cref(sys_), x, t, kH);
    return x;
  }

 private:
  OdeintStepper stepper_;
  const NeuronSystem& sys_;
};

double max_abs_diff(const State& a, const State& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// Same method, two implementations: only rounding may differ.
bool agree(benchmark::State& state, const State& a, const State& b, const char* what) {
  double d = max_abs_diff(a, b);
  state.counters["max_diff_vs_other_impl"] = d;
  if (!(d < 1e-12)) {
    state.SkipWithError(
        (std::string(what) + ": the two implementations disagree by " + std::to_string(d)).c_str());
    return false;
  }
  return true;
}

void set_rates(benchmark::State& state, int rhs_per_step) {
  state.SetItemsProcessed(state.iterations() * kSteps);  // steps/s
  state.counters["rhs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSteps * rhs_per_step, benchmark::Counter::kIsRate);
}

template <class Timed, class Other>
void time_run(benchmark::State& state, Timed timed, Other other, const char* method,
              int rhs_per_step) {
  if (!agree(state, timed.run(), other.run(), method)) return;
  for (auto _ : state) {
    State x = timed.run();
    benchmark::DoNotOptimize(x.data());
  }
  set_rates(state, rhs_per_step);
}

using OdeintRk4 = odeint::runge_kutta4<State>;

// Times our `method` (ours_timed) or odeint's `stepper` for it, checked against the other.
template <class OdeintStepper>
void time_method(benchmark::State& state, bool ours_timed, const char* method,
                 OdeintStepper stepper, int rhs_per_step) {
  NeuronSystem sys;
  if (ours_timed)
    time_run(state, Ours(method, sys), Odeint(std::move(stepper), sys), method, rhs_per_step);
  else
    time_run(state, Odeint(std::move(stepper), sys), Ours(method, sys), method, rhs_per_step);
}

void BM_OursHeun(benchmark::State& state) {
  time_method(state, true, "heun", make_odeint_heun(), 2);
}
void BM_OdeintHeun(benchmark::State& state) {
  time_method(state, false, "heun", make_odeint_heun(), 2);
}
void BM_OursRk4(benchmark::State& state) { time_method(state, true, "rk4", OdeintRk4(), 4); }
void BM_OdeintRk4(benchmark::State& state) { time_method(state, false, "rk4", OdeintRk4(), 4); }

// The bare cost of the right-hand side (virtual call, batch of 1), for scale.
void BM_RhsOnly(benchmark::State& state) {
  NeuronSystem sys;
  State x = initial_state(), dxdt(5);
  for (auto _ : state) {
    for (int i = 0; i < kSteps; ++i) {
      sys(x, dxdt, 0.0);
      benchmark::DoNotOptimize(dxdt.data());
      benchmark::ClobberMemory();
    }
  }
  state.counters["rhs/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSteps,
                                               benchmark::Counter::kIsRate);
}

// The same right-hand side written out with the ring neighbours precomputed, as a
// reference for what Equation::rhs (virtual, batch-generic, index arithmetic per call)
// costs at batch 1. Must give bit-identical derivatives.
void BM_RhsHandWritten(benchmark::State& state) {
  NeuronSystem sys;
  const int n = sys.topo.n;
  std::vector<int> ig(n), ik(n);
  for (int i = 0; i < n; ++i) {
    ig[i] = ((i - sys.topo.g) % n + n) % n;
    ik[i] = ((i - sys.topo.k) % n + n) % n;
  }
  const wuxing::KParams K = sys.K;
  auto rhs = [&](const State& x, State& dxdt) {
    for (int i = 0; i < n; ++i)
      dxdt[i] = K.K1 * x[ig[i]] - K.K2 * x[i] * x[ik[i]] - K.K3 * x[i] + sys.u[i];
  };
  State x = initial_state(), reference(5), dxdt(5);
  sys(x, reference, 0.0);
  rhs(x, dxdt);
  if (dxdt != reference) {
    state.SkipWithError("hand-written rhs differs from Equation::rhs");
    return;
  }
  for (auto _ : state) {
    for (int i = 0; i < kSteps; ++i) {
      rhs(x, dxdt);
      benchmark::DoNotOptimize(dxdt.data());
      benchmark::ClobberMemory();
    }
  }
  state.counters["rhs/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kSteps,
                                               benchmark::Counter::kIsRate);
}

BENCHMARK(BM_OursHeun)->Name("neuron_600_steps/ours_heun");
BENCHMARK(BM_OdeintHeun)->Name("neuron_600_steps/odeint_heun");
BENCHMARK(BM_OursRk4)->Name("neuron_600_steps/ours_rk4");
BENCHMARK(BM_OdeintRk4)->Name("neuron_600_steps/odeint_rk4");
BENCHMARK(BM_RhsOnly)->Name("neuron_600_steps/rhs_only");
BENCHMARK(BM_RhsHandWritten)->Name("neuron_600_steps/rhs_hand_written");

}  // namespace

#endif  // WUXING_BENCH_INTEGRATORS
