#include "framework/equations/jiang_r1.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "framework/equations/registry.hpp"

namespace wuxing {

WUXING_REGISTER_EQUATION(jiang_r1) {
  return detail::variant_entry<JiangR1>(
      "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i + u_i (the reference reconstruction; "
      "x* = (K1 - K3) / K2)");
}

void JiangR1::check_k(const KParams& K) {
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(fmt::format(
        "K1 = {} must exceed K3 = {}: jiang-r1 has a positive fixed point only when K1 > K3", K.K1,
        K.K3));
}

void JiangR1::add_k_problems(const KParams& K, std::optional<double> /*fixed_point_target*/,
                             std::vector<KProblem>& problems) {
  // (The text is the one spec errors have always given; tests and docs quote it.)
  if (!(K.K1 > K.K3))
    problems.push_back(
        {"K1 must be greater than K3 for a positive fixed point", {KIndex::K1, KIndex::K3}});
}

double JiangR1::k2_for_fixed_point(const KParams& K, double target) {
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(
        fmt::format("K1 = {} must exceed K3 = {} to reach a positive fixed point", K.K1, K.K3));
  return (K.K1 - K.K3) / target;
}

}  // namespace wuxing
