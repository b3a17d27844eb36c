#include "framework/equations/jiang_r1.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "framework/equations/registry.hpp"
#include "framework/equations/variant_helpers.hpp"

namespace wuxing {

WUXING_REGISTER_EQUATION(jiang_r1) {
  return {"jiang-r1",
          "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i + u_i (the reference reconstruction; "
          "x* = (K1 - K3) / K2)",
          &detail::make_variant<JiangR1>};
}

void JiangR1::validate(const KParams& K) const {
  detail::validate_k_signs(K);
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(fmt::format(
        "K1 = {} must exceed K3 = {}: jiang-r1 has a positive fixed point only when K1 > K3", K.K1,
        K.K3));
}

std::vector<KProblem> JiangR1::k_problems(const KParams& K,
                                          std::optional<double> fixed_point_target) const {
  auto problems = detail::k_sign_problems(K, fixed_point_target);
  // (The text is the one spec errors have always given; tests and docs quote it.)
  if (!(K.K1 > K.K3))
    problems.push_back(
        {"K1 must be greater than K3 for a positive fixed point", {KIndex::K1, KIndex::K3}});
  return problems;
}

double JiangR1::fixed_point(const KParams& K) const {
  validate(K);
  return (K.K1 - K.K3) / K.K2;
}

KParams JiangR1::with_fixed_point(KParams K, double target) const {
  detail::check_fixed_point_target(target);
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(
        fmt::format("K1 = {} must exceed K3 = {} to reach a positive fixed point", K.K1, K.K3));
  K.K2 = (K.K1 - K.K3) / target;
  validate(K);
  return K;
}

std::vector<std::complex<double>> JiangR1::fixed_point_eigenvalues(const Topology& topo,
                                                                   const KParams& K) const {
  topo.validate();
  validate(K);
  // J* = -K1 I + K1 P_g - (K1 - K3) P_k.
  return detail::circulant_eigenvalues(topo, -K.K1, K.K1, -(K.K1 - K.K3));
}

}  // namespace wuxing
