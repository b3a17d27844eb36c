// Boost.Odeint steppers behind the Stepper interface. Controlled (adaptive) steppers
// retry a rejected step with the smaller h that odeint proposes, so each call of
// step() is exactly one accepted step, as the drivers expect. The controlled ones throw
// std::invalid_argument unless rtol > 0 and atol >= 0.
#pragma once

#include <memory>

#include "integrators/integrator.hpp"
#include "integrators/layer.hpp"

namespace wuxing {

// Fixed step: odeint's runge_kutta4.
std::unique_ptr<Stepper> make_odeint_rk4();
// Fixed step: Heun as an explicit_generic_rk Butcher tableau.
std::unique_ptr<Stepper> make_odeint_heun();
// Controlled runge_kutta_dopri5 (FSAL) with the given tolerances.
std::unique_ptr<Stepper> make_odeint_dopri5(double rtol, double atol);
// Controlled runge_kutta_cash_karp54.
std::unique_ptr<Stepper> make_odeint_cash_karp54(double rtol, double atol);
// bulirsch_stoer (extrapolation, controlled).
std::unique_ptr<Stepper> make_odeint_bulirsch_stoer(double rtol, double atol);

}  // namespace wuxing
