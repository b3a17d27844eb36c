#include "framework/equations/lv_logistic.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "framework/equations/registry.hpp"
#include "framework/equations/variant_helpers.hpp"

namespace wuxing {

WUXING_REGISTER_EQUATION(lv_logistic) {
  return {"lv-logistic",
          "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i^2 + u_i (Lotka-Volterra-type, "
          "logistic self-limitation; x* = K1 / (K2 + K3))",
          &detail::make_variant<LvLogistic>};
}

void LvLogistic::validate(const KParams& K) const { detail::validate_k_signs(K); }

std::vector<KProblem> LvLogistic::k_problems(const KParams& K,
                                             std::optional<double> fixed_point_target) const {
  auto problems = detail::k_sign_problems(K, fixed_point_target);
  if (fixed_point_target && *fixed_point_target > 0.0 && !(K.K1 > K.K3 * *fixed_point_target))
    problems.push_back({fmt::format("K1 must exceed K3 * fixed_point_target = K3 * {} (then K2 = "
                                    "K1 / fixed_point_target - K3 > 0)",
                                    *fixed_point_target),
                        {KIndex::K1, KIndex::K3}});
  return problems;
}

double LvLogistic::fixed_point(const KParams& K) const {
  validate(K);
  return K.K1 / (K.K2 + K.K3);
}

KParams LvLogistic::with_fixed_point(KParams K, double target) const {
  detail::check_fixed_point_target(target);
  if (!(K.K1 > K.K3 * target))
    throw std::invalid_argument(fmt::format(
        "lv-logistic: K1 = {} must exceed K3 * target = {} * {} to reach the fixed point {} "
        "with K2 = K1 / target - K3 > 0",
        K.K1, K.K3, target, target));
  K.K2 = K.K1 / target - K.K3;
  validate(K);
  return K;
}

std::vector<std::complex<double>> LvLogistic::fixed_point_eigenvalues(const Topology& topo,
                                                                      const KParams& K) const {
  topo.validate();
  const double xs = fixed_point(K);
  // J* = -(K2 + 2 K3) x* I + K1 P_g - K2 x* P_k.
  return detail::circulant_eigenvalues(topo, -(K.K2 + 2.0 * K.K3) * xs, K.K1, -K.K2 * xs);
}

}  // namespace wuxing
