// The Wuxing neuron: n elements on a ring with generating (sheng, offset g) and
// overcoming (ke, offset k) interactions plus self-attenuation. MODEL.md section 1.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "framework/model/layer.hpp"

namespace wuxing {

// Which elements interact: element i-g generates i, element i-k overcomes i.
struct Topology {
  int n = 5;
  int g = 1;
  int k = 2;
  // Throws std::invalid_argument unless n >= 3 and 0 < g != k < n.
  void validate() const;
};

struct KParams {
  double K1 = 1.0;  // generation
  double K2 = 0.5;  // overcoming (predation)
  double K3 = 0.5;  // self-attenuation
};

// Index of a trainable K in KParams (for per-parameter gradients).
enum class KIndex { K1 = 0, K2 = 1, K3 = 2 };
// The K's names in KIndex order, as specs write them (model.K1, training.trainable_K).
inline constexpr std::array<std::string_view, 3> kKNames{"K1", "K2", "K3"};
inline std::string_view k_name(KIndex which) { return kKNames[static_cast<std::size_t>(which)]; }
// The KIndex of a K's name; nullopt for any other text.
inline std::optional<KIndex> k_index(std::string_view name) {
  for (std::size_t i = 0; i < kKNames.size(); ++i)
    if (kKNames[i] == name) return static_cast<KIndex>(i);
  return std::nullopt;
}

// A condition on a neuron's K's that they break (Equation::k_problems): what it requires,
// and the K's it involves (spec validation names the last of them the spec sets).
struct KProblem {
  std::string condition;  // e.g. "K1 must be > 0"
  std::vector<KIndex> involves;
};

// d f(K) / d K_m (m: 0 = K1, 1 = K2, 2 = K3) by a central difference with the step
// 1e-6 * max(1, |K_m|): the one finite difference in K of the model and the rules.
template <class F>
double k_central_difference(const KParams& K, int m, F&& f) {
  KParams hi = K, lo = K;
  double* ph = m == 0 ? &hi.K1 : m == 1 ? &hi.K2 : &hi.K3;
  double* pl = m == 0 ? &lo.K1 : m == 1 ? &lo.K2 : &lo.K3;
  const double step = 1e-6 * std::max(1.0, std::abs(*ph));
  *ph += step;
  *pl -= step;
  return (f(hi) - f(lo)) / (2.0 * step);
}

// One equation variant. Batched methods work on a single neuron and a batch of B
// samples laid out element-major: value of element e in sample b is at [e * B + b].
// Keeping the batch innermost lets the loops vectorise. A new variant is one new
// file pair that implements this interface and registers itself with
// WUXING_REGISTER_EQUATION (framework/equations/registry.hpp).
class Equation {
 public:
  virtual ~Equation() = default;
  virtual std::string_view name() const = 0;

  // Value of every element at the non-trivial symmetric fixed point (u = 0).
  // Throws std::invalid_argument if the K's give no positive fixed point.
  virtual double fixed_point(const KParams& K) const = 0;
  // K's with the one parameter this variant solves for adjusted so that the
  // fixed point equals `target` (jiang-r1: K2 = (K1 - K3) / target).
  virtual KParams with_fixed_point(KParams K, double target) const = 0;
  // d x* / d K_m for m = K1, K2, K3 (the local rules' K gradients). The default is a central
  // difference of fixed_point(); a variant with a closed form overrides it.
  virtual std::array<double, 3> fixed_point_derivative(const KParams& K) const;
  // Throws std::invalid_argument with a message naming the offending K's.
  virtual void validate(const KParams& K) const = 0;
  // The conditions of this variant that the K's of a spec break, checked before any run (spec
  // validation). With a fixed-point target, K2 is solved for (with_fixed_point), not given.
  // Empty: the K's are valid.
  virtual std::vector<KProblem> k_problems(const KParams& K,
                                           std::optional<double> fixed_point_target) const = 0;

  // dxdt = f(x, u) for one neuron over a batch.
  virtual void rhs(const Topology& topo, const KParams& K, const double* x, const double* u,
                   double* dxdt, std::size_t batch) const = 0;
  // out = J(x)^T v for one neuron over a batch (the reversed element graph).
  virtual void jacobian_transpose_apply(const Topology& topo, const KParams& K, const double* x,
                                        const double* v, double* out, std::size_t batch) const = 0;
  // out = J(x) v for one neuron over a batch (forward-mode, used by bptt and checks).
  virtual void jacobian_apply(const Topology& topo, const KParams& K, const double* x,
                              const double* v, double* out, std::size_t batch) const = 0;
  // out[e*B+b] = d f_e / d K_which at x.
  virtual void parameter_derivative(const Topology& topo, const KParams& K, KIndex which,
                                    const double* x, double* out, std::size_t batch) const = 0;

  // Dense n x n Jacobian at one state (validates topo and the size of x).
  virtual Eigen::MatrixXd jacobian(const Topology& topo, const KParams& K,
                                   const Eigen::VectorXd& x) const = 0;
  // Closed-form eigenvalues of the Jacobian at the symmetric fixed point, m = 0..n-1
  // (validates topo and K).
  virtual std::vector<std::complex<double>> fixed_point_eigenvalues(const Topology& topo,
                                                                    const KParams& K) const = 0;
};

// A registered variant by name (framework/equations/registry.hpp; "jiang-r1" is the
// reference reconstruction). Throws std::invalid_argument for an unknown name, listing
// the registered ones. equation_names() lists them in registration order.
std::unique_ptr<Equation> make_equation(std::string_view name);
std::vector<std::string> equation_names();

// Checks a neuron's whole description once, at setup: topology and K's. The batched
// kernels (rhs, jacobian_*_apply) do not re-validate, they are the hot loop.
void validate_neuron(const Equation& eq, const Topology& topo, const KParams& K);

// Largest real part of the fixed-point eigenvalues (negative: a stable propagator).
double max_real_eigenvalue(const Equation& eq, const Topology& topo, const KParams& K);

}  // namespace wuxing
