// Shared by the response tests (test_response.cpp, test_lv_logistic.cpp): the stable branch
// of a neuron's response against integration.
#pragma once

#include <doctest/doctest.h>

#include <cmath>

#include "analysis/response_scan.hpp"

namespace wuxing::test_support {

// The stable branch of p's response at the drives u = -0.6, -0.3, ..., 3.0 against
// integrated(point) (integration to max |dx/dt| < tol from there): settled, and within 10 tol
// / |leading eigenvalue| of the branch; at least 10 points compared.
template <class Integrate>
void check_response_against_integration(const DrivenNeuron& p, double tol, Integrate&& integrated) {
  ResponseOptions o;
  o.u_min = -0.6;
  o.u_max = 3.0;
  o.du = 0.3;
  const ResponseAnalysis a = analyse_response(p, o);
  int compared = 0;
  for (const ResponsePoint& pt : a.points) {
    if (pt.branch != 0 || std::abs(pt.u / o.du - std::round(pt.u / o.du)) > 1e-9) continue;
    CAPTURE(pt.u);
    const IntegratedPoint in = integrated(pt);
    REQUIRE(in.settled);
    // At max |dx/dt| < tol the distance to the steady state is at most about
    // |J_FF^-1| tol; 10x that for the slowly decaying component.
    const double bound = 10.0 * tol / -pt.state.leading.real();
    CHECK((in.x - pt.x).lpNorm<Eigen::Infinity>() < bound);
    ++compared;
  }
  CHECK(compared >= 10);
}

}  // namespace wuxing::test_support
