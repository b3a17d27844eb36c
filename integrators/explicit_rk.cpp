#include "integrators/explicit_rk.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "integrators/registry.hpp"

namespace wuxing {

WUXING_REGISTER_STEPPER(euler) {
  return {"euler", "explicit Euler, order 1, fixed step h",
          [](const IntegrationOptions&) -> std::unique_ptr<Stepper> {
            return std::make_unique<Euler>();
          }};
}

WUXING_REGISTER_STEPPER(heun) {
  return {"heun", "improved Euler (Heun), order 2, fixed step h; the default",
          [](const IntegrationOptions&) -> std::unique_ptr<Stepper> {
            return std::make_unique<ImprovedEuler>();
          },
          Batching::per_lane};
}

WUXING_REGISTER_STEPPER(rk4) {
  return {"rk4", "classic Runge-Kutta, order 4, fixed step h",
          [](const IntegrationOptions&) -> std::unique_ptr<Stepper> {
            return std::make_unique<RungeKutta4>();
          }};
}

void ButcherTableau::validate() const {
  const std::size_t s = b.size();
  if (s == 0 || c.size() != s || a.size() != s)
    throw std::invalid_argument(
        fmt::format("tableau '{}': a, b and c need one row per stage", name));
  double sum_b = 0.0;
  for (std::size_t i = 0; i < s; ++i) {
    if (a[i].size() != i)
      throw std::invalid_argument(fmt::format(
          "tableau '{}': row {} of a must have {} entries (explicit method)", name, i, i));
    sum_b += b[i];
  }
  if (std::abs(sum_b - 1.0) > 1e-14)
    throw std::invalid_argument(fmt::format("tableau '{}': weights sum to {}, not 1", name, sum_b));
}

ExplicitRungeKutta::ExplicitRungeKutta(ButcherTableau tableau) : tableau_(std::move(tableau)) {
  tableau_.validate();
  k_.resize(tableau_.b.size());
}

std::size_t ExplicitRungeKutta::step(const System& system, State& x, double& t, double& h) {
  const std::size_t n = x.size();
  const std::size_t stages = tableau_.b.size();
  for (auto& k : k_) k.resize(n);
  stage_.resize(n);
  system(x, k_[0], t);
  for (std::size_t i = 1; i < stages; ++i) {
    stage_ = x;
    for (std::size_t j = 0; j < i; ++j) {
      const double w = h * tableau_.a[i][j];
      if (w == 0.0) continue;
      const double* kj = k_[j].data();
      for (std::size_t e = 0; e < n; ++e) stage_[e] += w * kj[e];
    }
    system(stage_, k_[i], t + tableau_.c[i] * h);
  }
  for (std::size_t i = 0; i < stages; ++i) {
    const double w = h * tableau_.b[i];
    if (w == 0.0) continue;
    const double* ki = k_[i].data();
    for (std::size_t e = 0; e < n; ++e) x[e] += w * ki[e];
  }
  t += h;
  return stages;
}

Euler::Euler() : ExplicitRungeKutta({"euler", 1, {{}}, {1.0}, {0.0}}) {}

ImprovedEuler::ImprovedEuler()
    : ExplicitRungeKutta({"heun", 2, {{}, {1.0}}, {0.5, 0.5}, {0.0, 1.0}}) {}

RungeKutta4::RungeKutta4()
    : ExplicitRungeKutta({"rk4",
                          4,
                          {{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}},
                          {1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0},
                          {0.0, 0.5, 0.5, 1.0}}) {}

}  // namespace wuxing
