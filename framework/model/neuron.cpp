#include "framework/model/neuron.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "framework/equations/registry.hpp"

namespace wuxing {

void Topology::validate() const {
  if (n < 3) throw std::invalid_argument(fmt::format("element count n = {} must be >= 3", n));
  if (g <= 0 || g >= n)
    throw std::invalid_argument(
        fmt::format("generating offset g = {} must be in (0, n = {})", g, n));
  if (k <= 0 || k >= n)
    throw std::invalid_argument(
        fmt::format("overcoming offset k = {} must be in (0, n = {})", k, n));
  if (g == k) throw std::invalid_argument(fmt::format("g and k must differ (both are {})", g));
}

std::unique_ptr<Equation> make_equation(std::string_view name) {
  return equation_registry().at(name).make();
}

std::vector<std::string> equation_names() { return equation_registry().names(); }

std::array<double, 3> Equation::fixed_point_derivative(const KParams& K) const {
  std::array<double, 3> d{};
  for (int m = 0; m < 3; ++m)
    d[m] = k_central_difference(K, m, [&](const KParams& k) { return fixed_point(k); });
  return d;
}

void validate_neuron(const Equation& eq, const Topology& topo, const KParams& K) {
  topo.validate();
  eq.validate(K);
}

double max_real_eigenvalue(const Equation& eq, const Topology& topo, const KParams& K) {
  const auto lambdas = eq.fixed_point_eigenvalues(topo, K);
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& l : lambdas) best = std::max(best, l.real());
  return best;
}

}  // namespace wuxing
