#include "integrators/odeint_steppers.hpp"

#include <fmt/format.h>

#include <boost/numeric/odeint.hpp>
#include <stdexcept>
#include <string>
#include <utility>

#include "integrators/registry.hpp"

namespace wuxing {
namespace {
namespace odeint = boost::numeric::odeint;

// Wraps the user's system so that every rhs evaluation odeint makes is counted.
struct CountingSystem {
  const System* system;
  std::size_t* count;
  void operator()(const State& x, State& dxdt, double t) const {
    ++*count;
    (*system)(x, dxdt, t);
  }
};

// A controlled stepper that keeps rejecting is a sign of real trouble (stiffness, a
// singularity); give up loudly rather than shrink h to nothing.
constexpr int kMaxRejections = 200;

// Calls try_step() (one attempt of a controlled stepper, which shrinks h when it rejects) until a
// step is accepted; after kMaxRejections rejections in a row, throws naming the stepper, t and the
// last proposed h (as try_step left them).
template <class TryStep>
void step_until_accepted(std::string_view name, const double& t, const double& h,
                         TryStep try_step) {
  for (int attempt = 0; attempt < kMaxRejections; ++attempt)
    if (try_step() == odeint::success) return;
  throw std::runtime_error(fmt::format(
      "stepper '{}': {} consecutive rejected steps at t = {} (last proposed h = {}); the "
      "system may be stiff or singular there",
      name, kMaxRejections, t, h));
}

// The controlled steppers take rtol and atol from the options.
void check_tolerances(std::string_view name, double rtol, double atol) {
  if (!(rtol > 0.0) || !(atol >= 0.0))
    throw std::invalid_argument(
        fmt::format("stepper '{}': rtol = {} must be > 0 and atol = {} >= 0", name, rtol, atol));
}

// What every adapter does alike: it reports about itself and counts the evaluations of the
// system that a step makes. The subclasses only differ in how they advance (one accepted step).
template <class Odeint, bool Adaptive>
class OdeintAdapter : public Stepper {
 public:
  OdeintAdapter(std::string name, int order, Odeint odeint)
      : odeint_(std::move(odeint)), name_(std::move(name)), order_(order) {}
  std::string_view name() const final { return name_; }
  int order() const final { return order_; }
  bool adaptive() const final { return Adaptive; }
  std::size_t step(const System& system, State& x, double& t, double& h) final {
    std::size_t count = 0;
    advance(CountingSystem{&system, &count}, x, t, h);
    return count;
  }

 protected:
  virtual void advance(const CountingSystem& system, State& x, double& t, double& h) = 0;
  Odeint odeint_;

 private:
  std::string name_;
  int order_;
};

template <class OdeintStepper>
class OdeintFixed final : public OdeintAdapter<OdeintStepper, false> {
 public:
  using OdeintAdapter<OdeintStepper, false>::OdeintAdapter;

 private:
  void advance(const CountingSystem& system, State& x, double& t, double& h) override {
    this->odeint_.do_step(system, x, t, h);
    t += h;
  }
};

// Controlled steppers whose try_step(sys, x, t, dt) evaluates f(x) afresh each call
// (cash_karp54, bulirsch_stoer): nothing is cached between accepted steps.
template <class Controlled>
class OdeintControlled final : public OdeintAdapter<Controlled, true> {
 public:
  using OdeintAdapter<Controlled, true>::OdeintAdapter;
  // Drops the step-size and order history by going back to the freshly built stepper.
  void reset() override { this->odeint_ = fresh_; }

 private:
  void advance(const CountingSystem& system, State& x, double& t, double& h) override {
    step_until_accepted(this->name(), t, h,
                        [&] { return this->odeint_.try_step(system, x, t, h); });
  }

  Controlled fresh_ = this->odeint_;
};

// dopri5 is first-same-as-last: the derivative at the end of a step is reused at the
// start of the next. We keep it ourselves and recompute it whenever the state we are
// handed is not the one we left (a StepHook clamped or rescaled it) or after reset().
template <class Controlled>
class OdeintControlledFsal final : public OdeintAdapter<Controlled, true> {
 public:
  using OdeintAdapter<Controlled, true>::OdeintAdapter;
  void reset() override { dxdt_valid_ = false; }

 private:
  void advance(const CountingSystem& system, State& x, double& t, double& h) override {
    if (!dxdt_valid_ || x != last_x_ || t != last_t_) {
      dxdt_.resize(x.size());
      system(x, dxdt_, t);
    }
    dxdt_valid_ = false;  // until a step is accepted (step_until_accepted may throw)
    step_until_accepted(this->name(), t, h,
                        [&] { return this->odeint_.try_step(system, x, dxdt_, t, h); });
    last_x_ = x;
    last_t_ = t;
    dxdt_valid_ = true;
  }

  State dxdt_, last_x_;
  double last_t_ = 0.0;
  bool dxdt_valid_ = false;
};

}  // namespace

std::unique_ptr<Stepper> make_odeint_rk4() {
  return std::make_unique<OdeintFixed<odeint::runge_kutta4<State>>>("odeint_rk4", 4,
                                                                    odeint::runge_kutta4<State>());
}

std::unique_ptr<Stepper> make_odeint_heun() {
  using Heun = odeint::explicit_generic_rk<2, 2, State, double, State, double>;
  const boost::array<double, 1> a1 = {{1.0}};
  const Heun::coef_a_type a = boost::fusion::make_vector(a1);
  const Heun::coef_b_type b = {{0.5, 0.5}};
  const Heun::coef_c_type c = {{0.0, 1.0}};
  return std::make_unique<OdeintFixed<Heun>>("odeint_heun", 2, Heun(a, b, c));
}

std::unique_ptr<Stepper> make_odeint_dopri5(double rtol, double atol) {
  check_tolerances("dopri5", rtol, atol);
  auto controlled = odeint::make_controlled(atol, rtol, odeint::runge_kutta_dopri5<State>());
  return std::make_unique<OdeintControlledFsal<decltype(controlled)>>("dopri5", 5, controlled);
}

std::unique_ptr<Stepper> make_odeint_cash_karp54(double rtol, double atol) {
  check_tolerances("cash_karp54", rtol, atol);
  auto controlled = odeint::make_controlled(atol, rtol, odeint::runge_kutta_cash_karp54<State>());
  return std::make_unique<OdeintControlled<decltype(controlled)>>("cash_karp54", 5, controlled);
}

std::unique_ptr<Stepper> make_odeint_bulirsch_stoer(double rtol, double atol) {
  check_tolerances("bulirsch_stoer", rtol, atol);
  // Its order varies (it picks the extrapolation depth); 2 * m_k_max is the ceiling.
  odeint::bulirsch_stoer<State> bs(atol, rtol);
  return std::make_unique<OdeintControlled<decltype(bs)>>("bulirsch_stoer", 16, bs);
}

// ---- Registrations (integrators/registry.hpp) ----------------------------------------

WUXING_REGISTER_STEPPER(odeint_rk4) {
  return {"odeint_rk4", "Boost.Odeint runge_kutta4, order 4, fixed step h",
          [](const IntegrationOptions&) { return make_odeint_rk4(); }};
}

WUXING_REGISTER_STEPPER(odeint_heun) {
  return {"odeint_heun", "Heun as a Boost.Odeint explicit_generic_rk tableau, fixed step h",
          [](const IntegrationOptions&) { return make_odeint_heun(); }};
}

WUXING_REGISTER_STEPPER(dopri5) {
  return {"dopri5", "Boost.Odeint controlled runge_kutta_dopri5 (rtol, atol; h is the first step)",
          [](const IntegrationOptions& o) { return make_odeint_dopri5(o.rtol, o.atol); }};
}

WUXING_REGISTER_STEPPER(cash_karp54) {
  return {"cash_karp54", "Boost.Odeint controlled runge_kutta_cash_karp54 (rtol, atol)",
          [](const IntegrationOptions& o) { return make_odeint_cash_karp54(o.rtol, o.atol); }};
}

WUXING_REGISTER_STEPPER(bulirsch_stoer) {
  return {"bulirsch_stoer", "Boost.Odeint bulirsch_stoer extrapolation (rtol, atol)",
          [](const IntegrationOptions& o) { return make_odeint_bulirsch_stoer(o.rtol, o.atol); }};
}

}  // namespace wuxing
