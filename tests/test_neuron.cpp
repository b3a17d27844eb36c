#include <doctest/doctest.h>

#include "framework/neuron.hpp"

using namespace wuxing;

TEST_CASE("jiang-r1 fixed point is (K1 - K3) / K2") {
  auto eq = make_equation("jiang-r1");
  CHECK(eq->fixed_point({1.0, 0.5, 0.5}) == doctest::Approx(1.0));
  CHECK(eq->fixed_point({2.0, 0.25, 0.5}) == doctest::Approx(6.0));
  CHECK_THROWS_AS(eq->fixed_point({0.5, 0.5, 0.5}), std::invalid_argument);
}

TEST_CASE("n = 5 Hopf boundary values from MODEL.md") {
  auto eq = make_equation("jiang-r1");
  Topology topo;
  CHECK(max_real_eigenvalue(*eq, topo, {1.0, 0.5, 0.14}) == doctest::Approx(0.00477).epsilon(1e-3));
  CHECK(max_real_eigenvalue(*eq, topo, {1.0, 0.5, 0.5}) == doctest::Approx(-0.28647).epsilon(1e-4));
}
