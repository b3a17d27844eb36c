#include "framework/equations/lv_logistic.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "framework/equations/registry.hpp"

namespace wuxing {

WUXING_REGISTER_EQUATION(lv_logistic) {
  return detail::variant_entry<LvLogistic>(
      "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i^2 + u_i (Lotka-Volterra-type, "
      "logistic self-limitation; x* = K1 / (K2 + K3))");
}

void LvLogistic::add_k_problems(const KParams& K, std::optional<double> fixed_point_target,
                                std::vector<KProblem>& problems) {
  if (fixed_point_target && *fixed_point_target > 0.0 && !(K.K1 > K.K3 * *fixed_point_target))
    problems.push_back({fmt::format("K1 must exceed K3 * fixed_point_target = K3 * {} (then K2 = "
                                    "K1 / fixed_point_target - K3 > 0)",
                                    *fixed_point_target),
                        {KIndex::K1, KIndex::K3}});
}

double LvLogistic::k2_for_fixed_point(const KParams& K, double target) {
  if (!(K.K1 > K.K3 * target))
    throw std::invalid_argument(fmt::format(
        "lv-logistic: K1 = {} must exceed K3 * target = {} * {} to reach the fixed point {} "
        "with K2 = K1 / target - K3 > 0",
        K.K1, K.K3, target, target));
  return K.K1 / target - K.K3;
}

}  // namespace wuxing
