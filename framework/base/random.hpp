// Every random stream of the framework, in one place: the seed derivations, the engine, the
// conversions of its 64-bit draws to doubles, integers and normals, and the shuffles.
//
// Portability: std::mt19937_64's output sequence is fixed by the standard, but the std
// distributions and std::shuffle are not, so every conversion below is our own and a spec and
// seed give the same numbers on every standard library. The functions come in pairs where two
// existing streams were written differently (two bounded draws, two shuffles, two uniforms);
// both are kept, and named for what they do, because every stored run depends on its stream
// staying bit-identical (tests/test_random.cpp pins them).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace wuxing {

// The engine of every stream.
using Engine = std::mt19937_64;

// splitmix64 (Steele, Lea, Flood 2014): one step of the mixing function. Used to derive
// independent stream seeds from a run seed, so nearby seeds and streams do not give
// correlated generators.
std::uint64_t splitmix64(std::uint64_t x);

// Stream tags of the model's streams, for stream_seed.
enum class RngStream : std::uint64_t {
  connections = 0x636f6e6e00000000ULL,
  coefficients = 0x636f656600000000ULL,
  shuffle = 0x7368756600000000ULL,
  mlp = 0x6d6c700000000000ULL,
};
// The seed of stream `stream` (number `index` of it, e.g. the layer pair or the epoch):
// splitmix64(splitmix64(seed ^ tag) ^ index).
std::uint64_t stream_seed(std::uint64_t seed, RngStream stream, std::uint64_t index = 0);

// The seed of the data's numbered stream `stream` (framework/base/data.cpp: subsets, synthetic
// sets, test noise): splitmix64(seed ^ splitmix64(stream)).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// One 64-bit draw as a double from its top 53 bits: in [0, 1) ...
double unit_from_bits(std::uint64_t bits);
// ... or in (0, 1), centred in its 2^-53 cell, so that log() of it is always finite.
double open_unit_from_bits(std::uint64_t bits);

// Box-Muller: two uniforms (u1 in (0, 1]) give two independent standard normals,
// first = r cos(2 pi u2) and second = r sin(2 pi u2) with r = sqrt(-2 ln u1).
struct NormalPair {
  double first, second;
};
NormalPair box_muller(double u1, double u2);

// An unbiased integer in [0, n) by rejection, two ways (different streams for the same seed):
// below_rejecting_top rejects the top (2^64 mod n) draws and returns 0 for n = 0
// (Rng::below: connection pairings, epoch order); uniform_below rejects the bottom ones and
// throws std::invalid_argument for n = 0 (data subsets, synthetic sets).
std::uint64_t below_rejecting_top(Engine& engine, std::uint64_t n);
std::uint64_t uniform_below(Engine& engine, std::uint64_t n);

// Fisher-Yates shuffles, two ways. shuffle_from_back swaps each position i = n-1 .. 1 with
// one drawn by below_rejecting_top(i + 1) (the epoch order); seeded_permutation returns a
// permutation of 0..n-1 that swaps each position i = 0 .. n-2 with i + uniform_below(n - i)
// (the data subsets).
void shuffle_from_back(std::vector<std::size_t>& values, Engine& engine);
std::vector<std::size_t> seeded_permutation(std::size_t n, Engine& engine);

// A unit vector in R^n with a uniformly random direction: n normals (Box-Muller pairs on
// open_unit_from_bits draws of Engine(seed)), normalised (the stability analysis's start).
std::vector<double> random_direction(int n, std::uint64_t seed);

// The model's generator: an Engine with the conversions above.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  double uniform();                      // [0, 1), unit_from_bits
  double normal();                       // Box-Muller, one value per call (the pair is cached)
  std::uint64_t below(std::uint64_t n);  // below_rejecting_top
  Engine& engine() { return engine_; }

 private:
  Engine engine_;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace wuxing
