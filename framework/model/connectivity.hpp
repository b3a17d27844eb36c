// Connections between two consecutive layers (MODEL.md section 3), drawn from the
// portable random streams of framework/base/random.hpp. A connection j -> i reads element a of the
// pre neuron j and drives element b of the post neuron i with coefficient c.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/random.hpp"
#include "framework/model/layer.hpp"

namespace wuxing {

// Connections from a layer of `pre_size` neurons to one of `post_size`, stored sorted by
// post neuron (then pre), with a CSR index by post (for the drive, whose writes are then
// disjoint per post neuron) and a permutation by pre (for the backward transfer).
struct ConnectionSet {
  int pre_size = 0;
  int post_size = 0;
  std::vector<int> pre, post;
  std::vector<int> a, b;  // read element of pre, driven element of post
  std::vector<double> coef;
  std::vector<int> post_start;  // connections of post i: [post_start[i], post_start[i+1])
  std::vector<int> by_pre;      // connection indices ordered by pre neuron
  std::vector<int> pre_start;   // by_pre[pre_start[j] .. pre_start[j+1]) leave pre j
  std::size_t size() const { return coef.size(); }
  void build_index();  // fills post_start / by_pre / pre_start (sorts by post)
};

// Draws the connections (pairing from the connectivity scheme) and the initial
// coefficients (init * init_scale / sqrt(fan_in)) of the layer pair `index` (0: input ->
// first non-input layer). Throws std::invalid_argument on an unknown scheme or
// one_to_one between layers of different sizes.
ConnectionSet make_connections(const NetworkConfig& config, int n, int pre_size, int post_size,
                               bool from_input, std::uint64_t seed, int index);

}  // namespace wuxing
