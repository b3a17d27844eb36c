#include "framework/model/connectivity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace wuxing {

void ConnectionSet::build_index() {
  const std::size_t m = coef.size();
  std::vector<int> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return post[x] != post[y] ? post[x] < post[y] : pre[x] < pre[y];
  });
  auto permute = [&](auto& v) {
    auto copy = v;
    for (std::size_t i = 0; i < m; ++i) v[i] = copy[order[i]];
  };
  permute(pre);
  permute(post);
  permute(a);
  permute(b);
  permute(coef);
  post_start.assign(post_size + 1, 0);
  for (std::size_t c = 0; c < m; ++c) ++post_start[post[c] + 1];
  for (int i = 0; i < post_size; ++i) post_start[i + 1] += post_start[i];
  pre_start.assign(pre_size + 1, 0);
  for (std::size_t c = 0; c < m; ++c) ++pre_start[pre[c] + 1];
  for (int j = 0; j < pre_size; ++j) pre_start[j + 1] += pre_start[j];
  by_pre.resize(m);
  std::vector<int> fill(pre_start.begin(), pre_start.end() - 1);
  for (std::size_t c = 0; c < m; ++c) by_pre[fill[pre[c]]++] = static_cast<int>(c);
}

ConnectionSet make_connections(const NetworkConfig& config, int n, int pre_size, int post_size,
                               bool from_input, std::uint64_t seed, int index) {
  ConnectionSet set;
  set.pre_size = pre_size;
  set.post_size = post_size;
  Connectivity scheme = config.connectivity;
  double keep = 1.0;
  if (scheme == Connectivity::sparse) {
    keep = config.sparsity;
    if (!(keep > 0.0 && keep <= 1.0))
      throw std::invalid_argument(
          fmt::format("network.sparsity = {} must be in (0, 1]", config.sparsity));
    scheme = config.sparse_base == SparseBase::fixed ? Connectivity::fixed
                                                     : Connectivity::uniform_random;
  }
  const int read_fixed = from_input ? config.input_layer_output_element : config.output_element;
  for (int e : {read_fixed, config.input_element})
    if (e < 0 || e >= n)
      throw std::invalid_argument(
          fmt::format("network element index {} is outside 0..{} (model.n = {})", e, n - 1, n));
  Rng pairing(stream_seed(seed, RngStream::connections, index));
  auto add = [&](int j, int i, int a, int b) {
    set.pre.push_back(j);
    set.post.push_back(i);
    set.a.push_back(a);
    set.b.push_back(b);
  };
  if (scheme == Connectivity::uniform_random || scheme == Connectivity::fixed) {
    for (int i = 0; i < post_size; ++i)
      for (int j = 0; j < pre_size; ++j) {
        // Draw the pairing and the keep decision for every potential connection, so a
        // connection's elements do not depend on which others were dropped.
        int a = read_fixed, b = config.input_element;
        if (scheme == Connectivity::uniform_random) {
          a = static_cast<int>(pairing.below(n));
          b = static_cast<int>(pairing.below(n));
        }
        const bool kept = keep >= 1.0 || pairing.uniform() < keep;
        if (kept) add(j, i, a, b);
      }
  } else {  // one_to_one
    if (pre_size != post_size)
      throw std::invalid_argument(
          fmt::format("network.connectivity one_to_one needs equal layer sizes (got {} -> {})",
                      pre_size, post_size));
    for (int i = 0; i < post_size; ++i) add(i, i, read_fixed, config.input_element);
  }
  set.coef.assign(set.pre.size(), 0.0);
  set.build_index();
  // Fan-in per post neuron sets the scale, so sparse layers keep the drive's variance.
  Rng init(stream_seed(seed, RngStream::coefficients, index));
  for (int i = 0; i < post_size; ++i) {
    const int begin = set.post_start[i], end = set.post_start[i + 1];
    const double scale = config.init_scale / std::sqrt(std::max(1, end - begin));
    for (int c = begin; c < end; ++c)
      set.coef[c] = config.init == WeightInit::normal ? scale * init.normal()
                                                      : scale * (2.0 * init.uniform() - 1.0);
  }
  return set;
}

}  // namespace wuxing
