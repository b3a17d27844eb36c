#include "framework/model/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "framework/model/connection_kernels.hpp"

namespace wuxing {

Network::Network(const ExperimentConfig& config, int features, int classes)
    : equation_(make_equation(config.model.variant)),
      topo_{config.model.n, config.model.g, config.model.k},
      net_config_(config.network),
      model_config_(config.model) {
  topo_.validate();
  if (features <= 0 || classes <= 0)
    throw std::invalid_argument(
        fmt::format("network needs features > 0 and classes > 0 (got {}, {})", features, classes));
  output_element_ = config.network.output_element;
  if (output_element_ < 0 || output_element_ >= topo_.n)
    throw std::invalid_argument(
        fmt::format("network.output_element = {} is outside 0..{}", output_element_, topo_.n - 1));
  if (config.network.input_element < 0 || config.network.input_element >= topo_.n)
    throw std::invalid_argument(fmt::format("network.input_element = {} is outside 0..{}",
                                            config.network.input_element, topo_.n - 1));
  if (!(config.network.x_min < config.network.x_max))
    throw std::invalid_argument(fmt::format("network.x_min = {} must be below x_max = {}",
                                            config.network.x_min, config.network.x_max));
  sizes_.push_back(features);
  for (int h : config.network.hidden) {
    if (h <= 0)
      throw std::invalid_argument(fmt::format("network.hidden sizes must be > 0 (got {})", h));
    sizes_.push_back(h);
  }
  sizes_.push_back(classes);
  const int L = layer_count() - 1;
  offsets_.assign(L + 2, 0);
  for (int l = 1; l <= L; ++l) offsets_[l + 1] = offsets_[l] + sizes_[l];

  KParams K{config.model.K1, config.model.K2, config.model.K3};
  if (config.model.fixed_point_target)
    K = equation_->with_fixed_point(K, *config.model.fixed_point_target);
  equation_->validate(K);
  input_K_ = K;
  k_index_.assign(L + 1, {});
  const Sharing sharing = config.model.sharing;
  for (int l = 1; l <= L; ++l) {
    if (sharing == Sharing::per_layer || (sharing == Sharing::shared && l == 1))
      k_table_.push_back(K);
    for (int i = 0; i < sizes_[l]; ++i) {
      if (sharing == Sharing::per_neuron) k_table_.push_back(K);
      k_index_[l].push_back(static_cast<int>(k_table_.size()) - 1);
    }
  }
  const InputSharing input_sharing = config.model.input_sharing;
  if (input_sharing != InputSharing::fixed) {
    if (input_sharing == InputSharing::shared) k_table_.push_back(K);
    for (int j = 0; j < features; ++j) {
      if (input_sharing == InputSharing::per_neuron) k_table_.push_back(K);
      k_index_[0].push_back(static_cast<int>(k_table_.size()) - 1);
    }
  }
  for (int l = 1; l <= L; ++l)
    conns_.push_back(make_connections(config.network, topo_.n, sizes_[l - 1], sizes_[l], l == 1,
                                      config.seed, l - 1));
}

void set_inputs(const Network& net, const std::uint8_t* pixels, int features, double pixel_scale,
                const std::vector<std::size_t>& indices, const std::uint8_t* labels, Batch& batch,
                bool input_sensitivity) {
  if (features != net.layer_size(0))
    throw std::invalid_argument(
        fmt::format("data has {} features, the network expects {}", features, net.layer_size(0)));
  if (net.n() > 16) throw std::invalid_argument("model.n > 16 is not supported");
  const int n = net.n();
  const std::size_t B = indices.size();
  batch.B = B;
  batch.input_clamps = 0;
  if (net.inputs_trainable()) {
    detail::solve_input_layer(net, pixels, features, pixel_scale, indices, batch,
                              input_sensitivity);
  } else {
    net.input_signal(0, pixel_scale);  // fill the cache before the parallel loop
    batch.s_in.assign(static_cast<std::size_t>(features) * n * B, 0.0);
    batch.input_active.clear();
    batch.input_sensitivity.clear();
    batch.input_settled.clear();
  }
  for (std::size_t b = 0; b < B && !net.inputs_trainable(); ++b) {
    const std::uint8_t* row = pixels + indices[b] * features;
    for (int j = 0; j < features; ++j) {
      const auto& sig = net.input_signal(row[j], pixel_scale);
      batch.input_clamps += net.input_clamped(row[j], pixel_scale);
      for (int a = 0; a < n; ++a)
        batch.s_in[(static_cast<std::size_t>(j) * n + a) * B + b] = sig[a];
    }
  }
  batch.u_in.assign(static_cast<std::size_t>(net.layer_size(1)) * n * B, 0.0);
  gather_drive(net.connections(1), n, B, batch.s_in.data(), nullptr, batch.u_in.data());
  batch.labels.resize(B);
  for (std::size_t b = 0; b < B; ++b) batch.labels[b] = labels ? labels[indices[b]] : 0;
  batch.x.assign(net.state_size(B), 0.0);
}

void layer_signals(const Network& net, int l, std::size_t B, const double* x, double* s) {
  const int n = net.n();
  const double* xl = x + net.layer_offset(l, B);
  for (int j = 0; j < net.layer_size(l); ++j) {
    const double xs = net.fixed_point(l, j);
    const std::size_t base = static_cast<std::size_t>(j) * n * B;
    for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q)
      s[base + q] = xl[base + q] - xs;
  }
}

const double* presynaptic_signals(const Network& net, int l, const Batch& batch, const double* x,
                                  std::vector<double>& scratch) {
  if (l == 1) return batch.s_in.data();
  scratch.resize(static_cast<std::size_t>(net.layer_size(l - 1)) * net.n() * batch.B);
  layer_signals(net, l - 1, batch.B, x, scratch.data());
  return scratch.data();
}

void fill_fixed_points(const Network& net, std::size_t B, double* x) {
  const int n = net.n();
  for (int l = 1; l < net.layer_count(); ++l) {
    double* xl = x + net.layer_offset(l, B);
    for (int i = 0; i < net.layer_size(l); ++i)
      std::fill(xl + static_cast<std::size_t>(i) * n * B,
                xl + static_cast<std::size_t>(i + 1) * n * B, net.fixed_point(l, i));
  }
}

std::size_t integrated_neurons(const Network& net) {
  std::size_t total = 0;
  for (int l = 1; l < net.layer_count(); ++l) total += net.layer_size(l);
  return total;
}

}  // namespace wuxing
