// A layered network of Wuxing neurons (MODEL.md sections 2-3): its structure and parameters,
// the input neurons' settled signals, and a minibatch's inputs. Everything works on a
// minibatch of B samples with the batch innermost: the state of layer l is
// [neuron][element][b], so the per-neuron kernels vectorise.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/model/connectivity.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

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
  // K's of neuron i of layer l >= 1, or of input neuron i when inputs_trainable() (an entry
  // of the K table, shared as configured).
  const KParams& K(int l, int i) const { return k_table_[k_index_[l][i]]; }
  int k_entry(int l, int i) const { return k_index_[l][i]; }
  double fixed_point(int l, int i) const { return equation_->fixed_point(K(l, i)); }

  // connections(l) lands on layer l (l >= 1) and leaves layer l - 1.
  const ConnectionSet& connections(int l) const { return conns_[l - 1]; }
  ConnectionSet& connections(int l) { return conns_[l - 1]; }
  std::vector<KParams>& k_table() { return k_table_; }
  const std::vector<KParams>& k_table() const { return k_table_; }
  const KParams& input_K() const { return input_K_; }
  // Whether the input neurons have K-table entries of their own (model.input_sharing not
  // fixed); then input neuron j uses K(0, j) and its state is solved per sample.
  bool inputs_trainable() const { return !k_index_[0].empty(); }

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
  // network.readout drive: the loss reads the output neurons' drives, not their states.
  bool drive_readout() const { return net_config_.readout == Readout::drive; }
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
  // [layer][neuron] -> k_table_ entry (layer 0 empty unless inputs_trainable(); its entries
  // follow the other layers' so that their indices do not depend on input_sharing)
  std::vector<std::vector<int>> k_index_;
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
  // Left by a solved forward phase (forward_method solve or table) for the adjoint solve:
  // per neuron block k and sample b, G = -(J_FF)^-1 at the settled state, the state's
  // sensitivity to the drive ([k][row][column][b], n x n per block; zero on held elements),
  // and whether sample b has it (0 where the solve fell back to integration). Empty after
  // an integrated forward phase.
  std::vector<double> sensitivity;
  std::vector<char> solved;
  // With trainable input K's: per input neuron j, whether any sample drives it (a neuron at
  // rest has s = 0 whatever its K's), its sensitivity -(J_FF)^-1 ([j][row][column][b], kept
  // only when set_inputs is asked for it, for the K gradient), and per sample whether every
  // input neuron reached a stable steady state (a sample with one that did not counts as
  // unsettled in the forward phase).
  std::vector<char> input_active;
  std::vector<double> input_sensitivity;
  std::vector<char> input_settled;
};

// Fills s_in and u_in for samples `indices` of pixels (sample-major bytes). With trainable
// input K's, `input_sensitivity` also keeps the input neurons' sensitivities.
void set_inputs(const Network& net, const std::uint8_t* pixels, int features, double pixel_scale,
                const std::vector<std::size_t>& indices, const std::uint8_t* labels, Batch& batch,
                bool input_sensitivity = false);

namespace detail {
// The input layer's signals when its K's are trainable: one projected Newton solve per input
// neuron over the batch's lanes (framework/model/input_cache.cpp).
void solve_input_layer(const Network& net, const std::uint8_t* pixels, int features,
                       double pixel_scale, const std::vector<std::size_t>& indices, Batch& batch,
                       bool keep_sensitivity);
}  // namespace detail

// Signals s = x - x* of layer l >= 1: [neuron][element][b].
void layer_signals(const Network& net, int l, std::size_t B, const double* x, double* s);

// The signals the connections into layer l >= 1 carry: the inputs' batch.s_in for l = 1, else
// layer_signals of layer l - 1 at state x, written into `scratch`.
const double* presynaptic_signals(const Network& net, int l, const Batch& batch, const double* x,
                                  std::vector<double>& scratch);

// Every integrated neuron of the flat state x at its fixed point (where both phases start).
void fill_fixed_points(const Network& net, std::size_t B, double* x);

// Number of integrated neurons (layers 1..L).
std::size_t integrated_neurons(const Network& net);

}  // namespace wuxing
