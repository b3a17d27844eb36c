// Connections between two consecutive layers (MODEL.md section 3) and the portable
// random numbers that draw them. A connection j -> i reads element a of the pre neuron j
// and drives element b of the post neuron i with coefficient c.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "framework/config.hpp"

namespace wuxing {

// splitmix64 (Steele, Lea, Flood 2014): derives independent stream seeds from the run seed,
// e.g. splitmix64(seed ^ tag), so that each use of randomness has its own stream.
std::uint64_t splitmix64(std::uint64_t x);

// A documented, portable generator: std::mt19937_64's output sequence is fixed by the
// standard, but std distributions are not, so the transforms below are our own.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();                      // [0, 1), 53 random bits
  double normal();                       // Box-Muller, one value per call (the pair is cached)
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), rejection sampling

 private:
  std::mt19937_64 engine_;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

// Stream tags for splitmix64(seed ^ tag).
enum class RngStream : std::uint64_t {
  connections = 0x636f6e6e00000000ULL,
  coefficients = 0x636f656600000000ULL,
  shuffle = 0x7368756600000000ULL,
  mlp = 0x6d6c700000000000ULL,
};
std::uint64_t stream_seed(std::uint64_t seed, RngStream stream, std::uint64_t index = 0);

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
