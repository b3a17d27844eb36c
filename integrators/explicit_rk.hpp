// Explicit Runge-Kutta steppers written here (Euler, improved Euler, classic RK4).
// All three share one driver, ExplicitRungeKutta, parametrised by a Butcher tableau,
// so a new fixed-step method is a tableau, not a copy of the loop.
#pragma once

#include <string>
#include <vector>

#include "integrators/integrator.hpp"
#include "integrators/layer.hpp"

namespace wuxing {

// Lower-triangular tableau: stage i uses a[i][0..i-1]; b are the weights, c the nodes.
struct ButcherTableau {
  std::string name;
  int order = 1;
  std::vector<std::vector<double>> a;
  std::vector<double> b;
  std::vector<double> c;
  // Throws std::invalid_argument if the sizes do not match or sum(b) != 1.
  void validate() const;
};

class ExplicitRungeKutta : public Stepper {
 public:
  explicit ExplicitRungeKutta(ButcherTableau tableau);
  std::string_view name() const override { return tableau_.name; }
  int order() const override { return tableau_.order; }
  bool adaptive() const override { return false; }
  std::size_t step(const System& system, State& x, double& t, double& h) override;

 private:
  ButcherTableau tableau_;
  std::vector<State> k_;  // stage derivatives, kept between steps to avoid allocation
  State stage_;
};

// x' = x + h f(x). Order 1.
class Euler final : public ExplicitRungeKutta {
 public:
  Euler();
};

// Improved Euler (Heun): x~ = x + h f(x); x' = x + h/2 (f(x) + f(x~)). Order 2, the default.
class ImprovedEuler final : public ExplicitRungeKutta {
 public:
  ImprovedEuler();
};

// Classic fourth-order Runge-Kutta.
class RungeKutta4 final : public ExplicitRungeKutta {
 public:
  RungeKutta4();
};

}  // namespace wuxing
