// Parameter gradients of the settled network by the local rules (MODEL.md section 6).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// Parameter gradients, averaged over the minibatch.
struct Gradients {
  std::vector<std::vector<double>> coef;  // per layer l = 1..L (index l - 1)
  std::vector<std::array<double, 3>> K;   // per K-table entry: dL/dK1, dK2, dK3
  void reset(const Network& net);
};

// Local rules from the settled states: dL/dc = lambda_{i,b} s_{j,a}; dL/dK_m =
// sum_e lambda_e dF_e/dK_m - dx*/dK_m (sum of c lambda over the neuron's outgoing
// connections + dL/ds for an output neuron). See network.cpp for the derivation.
void local_gradients(const Network& net, const Batch& batch, const std::vector<double>& lambda,
                     const std::vector<double>& dlds, bool want_coef, bool want_K,
                     Gradients& grads);

namespace detail {
// d x* / d K_m: Equation::fixed_point_derivative (a closed form where the variant has one, a
// central difference of fixed_point() otherwise).
std::array<double, 3> fixed_point_derivative(const Equation& eq, const KParams& K);
// Per-neuron K gradient from stage adjoints `v` at state `x` (+ the x* terms carried back by
// the outgoing connections and the explicit output term), added into per-neuron buffers
// kg[(offset + i) * 3 + m].
void k_gradient_terms(const Network& net, std::size_t B, const double* x, const double* v,
                      const double* explicit_out, double scale, std::vector<double>& kg);
// The trainable input K's gradient from layer 1's adjoint lambda1 and the input neurons'
// sensitivities kept by set_inputs (batch.input_sensitivity), added into grads.K.
void input_k_gradient(const Network& net, const Batch& batch, const double* lambda1, double scale,
                      Gradients& grads);
// Adds the per-neuron K gradients kg into the K-table entries they share.
void reduce_k(const Network& net, const std::vector<double>& kg, Gradients& grads);
}  // namespace detail

}  // namespace wuxing
