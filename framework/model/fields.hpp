// The network's vector fields, evaluated one neuron block at a time: block k is the k-th
// integrated neuron (layers in order), elements [k n B, (k + 1) n B) of the flat state,
// and its derivative depends only on the state the field is evaluated at. So a stepper can
// finish each block (stage arithmetic, rates, update) while it is still in L1, and the
// blocks can be taken in any order. Each field follows a stepper that drops lanes
// (settled samples) through keep_lanes.
#pragma once

#include <cstddef>
#include <vector>

#include "framework/model/connection_kernels.hpp"
#include "framework/model/lanes.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

// f(x) of every integrated neuron for the batch (drive included).
void network_rhs(const Network& net, const Batch& batch, const double* x, double* dxdt);
// out = J_net(x)^T v (neuron blocks plus connection couplings).
void network_jt_apply(const Network& net, std::size_t B, const double* x, const double* v,
                      double* out);

namespace detail {

class NeuronBlocks {
 public:
  explicit NeuronBlocks(const Network& net) : net_(net) {
    for (int l = 1; l < net.layer_count(); ++l)
      for (int i = 0; i < net.layer_size(l); ++i) {
        layer_.push_back(l);
        index_.push_back(i);
      }
  }
  std::size_t blocks() const { return layer_.size(); }
  std::size_t block_rows() const { return static_cast<std::size_t>(net_.n()); }  // elements

 protected:
  const Network& net_;
  std::vector<int> layer_, index_;  // block -> (layer, neuron)
};

// f(x): neuron i of layer l sees the drive of the inputs (l = 1, constant) or the signals
// x - x* of layer l - 1 through its incoming connections.
class ForwardField : public NeuronBlocks {
 public:
  ForwardField(const Network& net, const Batch& batch)
      : NeuronBlocks(net), B_(batch.B), u_in_(batch.u_in.data()) {
    for (int l = 1; l + 1 < net.layer_count(); ++l) {
      fixed_.emplace_back();
      for (int i = 0; i < net.layer_size(l); ++i) fixed_.back().push_back(net.fixed_point(l, i));
    }
  }
  // The stepper dropped every lane (sample) but `keep`: the constant drive follows.
  void keep_lanes(const std::vector<std::size_t>& keep) {
    keep_lanes_of(u_in_, own_u_in_, static_cast<std::size_t>(net_.layer_size(1)) * net_.n() * B_,
                  B_, keep);
    B_ = keep.size();
  }
  void eval(std::size_t k, const double* x, double* f) const {
    const int l = layer_[k], i = index_[k], n = net_.n();
    const std::size_t B = B_, nB = static_cast<std::size_t>(n) * B;
    const double* drive = u_in_ + i * nB;
    if (l > 1) {
      std::vector<double>& u = scratch(0);
      u.resize(nB);
      gather_post(net_.connections(l), n, B, x + net_.layer_offset(l - 1, B), fixed_[l - 2].data(),
                  i, u.data());
      drive = u.data();
    }
    net_.equation().rhs(net_.topology(), net_.K(l, i), x + k * nB, drive, f, B);
  }

 private:
  std::size_t B_;
  const double* u_in_;                      // [neuron of layer 1][element][lane]
  std::vector<double> own_u_in_;            // its compacted copy, once lanes were dropped
  std::vector<std::vector<double>> fixed_;  // x* per neuron of layers 1..L-1 (the senders)
};

// out = J_net(x)^T v (the neuron's own block plus what its outgoing connections carry back
// from layer l + 1); with a mask D and a source e (the backward phase), D (out + e).
class AdjointField : public NeuronBlocks {
 public:
  AdjointField(const Network& net, std::size_t B, const double* x, const double* D = nullptr,
               const double* e = nullptr)
      : NeuronBlocks(net), B_(B), x_(x), D_(D), e_(e) {}
  // The stepper dropped every lane (sample) but `keep`: the operating point, mask and source
  // follow (compacted copies).
  void keep_lanes(const std::vector<std::size_t>& keep) {
    const std::size_t size = blocks() * net_.n() * B_;
    keep_lanes_of(x_, own_x_, size, B_, keep);
    keep_lanes_of(D_, own_D_, size, B_, keep);
    keep_lanes_of(e_, own_e_, size, B_, keep);
    B_ = keep.size();
  }
  void eval(std::size_t k, const double* v, double* out) const {
    const int l = layer_[k], j = index_[k], n = net_.n();
    const std::size_t nB = static_cast<std::size_t>(n) * B_, o = k * nB;
    net_.equation().jacobian_transpose_apply(net_.topology(), net_.K(l, j), x_ + o, v + o, out, B_);
    // A connection j -> i adds c * s_{j,a} to f_{i,b}: J[(i,b),(j,a)] = c.
    if (l + 1 < net_.layer_count())
      scatter_pre(net_.connections(l + 1), n, B_, v + net_.layer_offset(l + 1, B_), j, out);
    if (D_)
      for (std::size_t q = 0; q < nB; ++q) out[q] = D_[o + q] * (out[q] + e_[o + q]);
  }

 private:
  std::size_t B_;
  const double* x_;
  const double* D_;
  const double* e_;
  std::vector<double> own_x_, own_D_, own_e_;  // compacted copies, once lanes were dropped
};

// The whole field, block after block.
template <class Field>
void eval_all(const Field& field, std::size_t block_size, const double* y, double* f) {
  for (std::size_t k = 0; k < field.blocks(); ++k) field.eval(k, y, f + k * block_size);
}

}  // namespace detail
}  // namespace wuxing
