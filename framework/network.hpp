// A layered network of Wuxing neurons (MODEL.md sections 2-5): structure, forward phase
// (settle from the fixed point), backward (adjoint) phase and the gradients of the local
// rules. Everything works on a minibatch of B samples with the batch innermost:
// the state of layer l is [neuron][element][b], so the per-neuron kernels vectorise.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "framework/config.hpp"
#include "framework/connectivity.hpp"
#include "framework/neuron.hpp"

namespace wuxing {

// Structure and parameters. Layer 0 is the input layer (features neurons, constant
// drive alpha * pixel on `input_element`, untrained K's = the model's K's); layers
// 1..L are the integrated ones; layer L is the output layer.
class Network {
 public:
  Network(const ExperimentConfig& config, int features, int classes);

  const Equation& equation() const { return *equation_; }
  const Topology& topology() const { return topo_; }
  int n() const { return topo_.n; }
  int layer_count() const { return static_cast<int>(sizes_.size()); }  // including input
  int layer_size(int l) const { return sizes_[l]; }
  int output_element() const { return output_element_; }
  // K's of neuron i of layer l >= 1 (an entry of the K table, shared as configured).
  const KParams& K(int l, int i) const { return k_table_[k_index_[l][i]]; }
  int k_entry(int l, int i) const { return k_index_[l][i]; }
  double fixed_point(int l, int i) const { return equation_->fixed_point(K(l, i)); }

  // connections(l) lands on layer l (l >= 1) and leaves layer l - 1.
  const ConnectionSet& connections(int l) const { return conns_[l - 1]; }
  ConnectionSet& connections(int l) { return conns_[l - 1]; }
  std::vector<KParams>& k_table() { return k_table_; }
  const std::vector<KParams>& k_table() const { return k_table_; }
  const KParams& input_K() const { return input_K_; }

  // Offsets of layer l >= 1 in a flat state of B samples.
  std::size_t layer_offset(int l, std::size_t batch) const {
    return offsets_[l] * static_cast<std::size_t>(n()) * batch;
  }
  std::size_t state_size(std::size_t batch) const {
    return offsets_.back() * static_cast<std::size_t>(n()) * batch;
  }

  // Settled displacement s_a = x_a - x* of an input neuron driven by u = alpha * pixel,
  // for each element a (cached per distinct byte value). Solved by Newton's method from
  // the fixed point, checked against f(x) = 0; clamped to the value range.
  const std::array<double, 16>& input_signal(std::uint8_t byte, double pixel_scale) const;
  int input_clamped(std::uint8_t byte, double pixel_scale) const;  // clamped elements

  const NetworkConfig& config() const { return net_config_; }
  const ModelConfig& model() const { return model_config_; }

 private:
  void solve_input_cache(double pixel_scale) const;

  std::unique_ptr<Equation> equation_;
  Topology topo_;
  NetworkConfig net_config_;
  ModelConfig model_config_;
  int output_element_ = 2;
  std::vector<int> sizes_;
  std::vector<std::size_t> offsets_;  // neuron offsets of layers 1..L in the flat state
  std::vector<ConnectionSet> conns_;
  std::vector<KParams> k_table_;
  std::vector<std::vector<int>> k_index_;  // [layer][neuron] -> k_table_ entry (layer 0 empty)
  KParams input_K_;
  mutable double cached_scale_ = -1.0;
  mutable std::vector<std::array<double, 16>> input_cache_;
  mutable std::vector<int> input_cache_clamped_;
};

// A minibatch and its working arrays. Inputs are set once per minibatch.
struct Batch {
  std::size_t B = 0;
  std::vector<double> s_in;  // input-layer signals [feature][element][b]
  std::vector<double> u_in;  // constant drive of layer 1 from the inputs [neuron][element][b]
  std::vector<double> x;     // flat state of layers 1..L
  std::vector<int> labels;
  std::int64_t input_clamps = 0;  // clamped input-neuron elements (settled values)
};

// Fills s_in and u_in for samples `indices` of pixels (sample-major bytes).
void set_inputs(const Network& net, const std::uint8_t* pixels, int features, double pixel_scale,
                const std::vector<std::size_t>& indices, const std::uint8_t* labels, Batch& batch);

struct PhaseReport {
  std::int64_t unsettled = 0;      // samples that did not settle
  std::int64_t steps_total = 0;    // sum over samples of their steps
  std::int64_t max_steps = 0;      // steps of the slowest sample
  std::int64_t step_cap_hits = 0;  // samples stopped by the step cap
  std::int64_t clamp_events = 0;
  std::int64_t clamped_elements = 0;  // at the end (forward)
  std::int64_t non_finite = 0;        // samples with a NaN/Inf
  std::vector<std::int64_t> sample_steps;
  std::vector<char> sample_settled;
};

// Records one layer's trajectory of one sample of the batch during the forward phase.
struct TrajectoryProbe {
  int layer = 1;           // >= 1
  std::size_t sample = 0;  // index in the batch
  int stride = 1;
  std::vector<double> times;
  std::vector<double> values;  // [time][neuron][element]
};

// f(x) of every integrated neuron for the batch (drive included).
void network_rhs(const Network& net, const Batch& batch, const double* x, double* dxdt);
// out = J_net(x)^T v (neuron blocks plus connection couplings).
void network_jt_apply(const Network& net, std::size_t B, const double* x, const double* v,
                      double* out);
// Signals s = x - x* of layer l >= 1: [neuron][element][b].
void layer_signals(const Network& net, int l, std::size_t B, const double* x, double* s);

// Forward phase: from the fixed point to steady state. `heun` uses the fused kernel
// (each sample frozen once its own max rate < tol); other methods use make_stepper on
// the flattened state (the batch stops together).
PhaseReport forward_phase(const Network& net, Batch& batch, const IntegratorConfig& integ,
                          std::vector<TrajectoryProbe>* probes = nullptr);

// Loss of the output signals. Per sample: cross_entropy -log softmax(scale * s)_y or
// mse 0.5 * sum_k (s_k - t_k)^2. Fills dL/ds of every sample ([class][b]) and returns
// the per-sample losses; `correct` counts argmax hits.
std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions = nullptr);

// Backward phase: d(lambda)/dt = D (J_net(x^f)^T (D lambda) + e), e = dlds at the output
// read element, D zeroes elements clamped at the end of the forward phase. Settles to
// lambda = dL/du. `lambda` has the state's layout.
PhaseReport backward_phase(const Network& net, const Batch& batch, const std::vector<double>& dlds,
                           const IntegratorConfig& integ, std::vector<double>& lambda);

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

// bptt: exact gradient of `steps` fixed-step Heun steps (h = integ.h) from the fixed
// point (steps < 0: until every sample's max rate < tol, at most t_max / h). Returns the
// per-sample losses at the end state (left in batch.x) and fills grads.
std::vector<double> bptt_gradients(const Network& net, Batch& batch, const IntegratorConfig& integ,
                                   const TrainingConfig& training, std::int64_t steps,
                                   Gradients& grads, PhaseReport* report = nullptr,
                                   std::vector<int>* predictions = nullptr);

// Per-neuron Jacobian eigenvalues of sample b at the state x (exact for a feedforward
// cascade: the network Jacobian is block lower triangular). Elements held at a range
// bound are left out (the clamped system's free block).
namespace detail {
// True when every eigenvalue of A has a negative real part (Faddeev-LeVerrier characteristic
// polynomial and the Routh-Hurwitz test; rows <= 16). Used by backward_method: solve.
bool hurwitz_stable(const Eigen::Ref<const Eigen::MatrixXd>& A);
}  // namespace detail

std::vector<std::complex<double>> operating_point_eigenvalues(const Network& net, std::size_t B,
                                                              const double* x, std::size_t b);

}  // namespace wuxing
