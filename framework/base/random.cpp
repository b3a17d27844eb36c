#include "framework/base/random.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace wuxing {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t stream_seed(std::uint64_t seed, RngStream stream, std::uint64_t index) {
  return splitmix64(splitmix64(seed ^ static_cast<std::uint64_t>(stream)) ^ index);
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  return splitmix64(seed ^ splitmix64(stream));
}

double unit_from_bits(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

double open_unit_from_bits(std::uint64_t bits) {
  return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
}

NormalPair box_muller(double u1, double u2) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  return {r * std::cos(angle), r * std::sin(angle)};
}

std::uint64_t below_rejecting_top(Engine& engine, std::uint64_t n) {
  if (n == 0) return 0;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t limit = max - max % n;
  std::uint64_t v = engine();
  while (v >= limit) v = engine();
  return v % n;
}

std::uint64_t uniform_below(Engine& engine, std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("uniform_below: bound must be at least 1");
  // 2^64 mod n: draws below it would make the low residues more likely.
  const std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    const std::uint64_t r = engine();
    if (r >= threshold) return r % n;
  }
}

void shuffle_from_back(std::vector<std::size_t>& values, Engine& engine) {
  for (std::size_t i = values.size(); i > 1; --i)
    std::swap(values[i - 1], values[below_rejecting_top(engine, i)]);
}

std::vector<std::size_t> seeded_permutation(std::size_t n, Engine& engine) {
  std::vector<std::size_t> perm(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = i;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(uniform_below(engine, n - i));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

std::vector<double> random_direction(int n, std::uint64_t seed) {
  Engine engine(seed);
  auto uniform = [&] { return open_unit_from_bits(engine()); };
  std::vector<double> d(static_cast<std::size_t>(n));
  for (int i = 0; i < n; i += 2) {
    const double u1 = uniform();  // the draws are sequenced: u1 first
    const NormalPair z = box_muller(u1, uniform());
    d[i] = z.first;
    if (i + 1 < n) d[i + 1] = z.second;
  }
  double norm = 0.0;
  for (double v : d) norm += v * v;
  norm = std::sqrt(norm);
  for (double& v : d) v /= norm;
  return d;
}

Rng::Rng(std::uint64_t seed) : engine_(seed) {}

std::uint64_t Rng::next() { return engine_(); }

double Rng::uniform() { return unit_from_bits(next()); }

double Rng::normal() {
  if (have_spare_) {
    have_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const NormalPair z = box_muller(u1, uniform());
  spare_ = z.second;
  have_spare_ = true;
  return z.first;
}

std::uint64_t Rng::below(std::uint64_t n) { return below_rejecting_top(engine_, n); }

}  // namespace wuxing
