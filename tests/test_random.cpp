// The portable random streams (framework/base/random.hpp). The pinned values were printed by the
// code before these functions were gathered into random.hpp (connectivity.cpp's Rng,
// data.cpp's subsets and noise, sweep.cpp's random sweep, analysis/stability.cpp's start
// direction): every stored run depends on them, so any change to a stream fails here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/base/random.hpp"
#include "framework/learning/training.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;

TEST_CASE("seed derivations: pinned values") {
  CHECK(splitmix64(0) == 16294208416658607535ULL);
  CHECK(splitmix64(1) == 10451216379200822465ULL);
  CHECK(stream_seed(7, RngStream::connections, 0) == 12874711217825567100ULL);
  CHECK(stream_seed(7, RngStream::shuffle, 3) == 539268507354669502ULL);
  CHECK(stream_seed(0, RngStream::mlp) == 5671916068355934140ULL);
  CHECK(derive_seed(5, 3) == 14871207630202690639ULL);
  CHECK(derive_seed(0, 1) == 6791897765849424158ULL);
  CHECK(derive_seed(0, 1) != derive_seed(0, 2));
  CHECK(derive_seed(0, 1) != derive_seed(1, 1));
}

TEST_CASE("Rng: pinned sequence of next, uniform, normal and below") {
  Rng r(42);
  CHECK(r.next() == 13930160852258120406ULL);
  CHECK(r.uniform() == 0x1.472f1f73724ap-1);
  CHECK(r.normal() == 0x1.fa7430bea3a4cp-2);
  CHECK(r.normal() == 0x1.23e6f8daf36b6p-1);  // the cached second of the pair
  CHECK(r.normal() == 0x1.7f8b277d26088p-2);
  CHECK(r.below(7) == 4);
  CHECK(r.below(1000) == 144);
  CHECK(r.below(0) == 0);
  // The engine is std::mt19937_64, whose 10000th output for the default seed the standard fixes.
  Engine ref;
  ref.discard(9999);
  CHECK(ref() == 9981545732273789042ULL);
}

TEST_CASE("Rng: sane moments") {
  Rng r(1);
  double sum = 0, sq = 0, usum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double v = r.normal();
    sum += v;
    sq += v * v;
    usum += r.uniform();
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sq / n - 1.0) < 0.01);
  CHECK(std::abs(usum / n - 0.5) < 0.005);
}

TEST_CASE("conversions of one draw") {
  CHECK(unit_from_bits(0) == 0.0);
  CHECK(unit_from_bits(~0ULL) == 1.0 - 0x1.0p-53);
  CHECK(open_unit_from_bits(0) == 0x1.0p-54);
  CHECK(open_unit_from_bits(~0ULL) == 1.0 - 0x1.0p-54);
  // box_muller's first value is bit-identical to r cos(2 pi u2) written out, as the noise
  // stream computed it before (whatever the compiler makes of sin and cos of one angle).
  Engine e(3);
  for (int i = 0; i < 20000; ++i) {
    const double u1 = open_unit_from_bits(e()), u2 = open_unit_from_bits(e());
    const double angle = 2.0 * std::numbers::pi * u2;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const NormalPair z = box_muller(u1, u2);
    REQUIRE(z.first == r * std::cos(angle));
    REQUIRE(z.second == r * std::sin(angle));
  }
}

TEST_CASE("bounded draws: pinned, unbiased, and the two rejection schemes") {
  Engine e(42);
  CHECK(uniform_below(e, 3) == 0);
  CHECK(uniform_below(e, 1000) == 824);
  CHECK(uniform_below(e, 1ULL << 63 | 5) == 4651257987612965637ULL);
  CHECK(uniform_below(e, 1) == 0);
  CHECK_THROWS_AS(uniform_below(e, 0), std::invalid_argument);

  Engine r2(1);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[uniform_below(r2, 3)];
  for (int c : counts) CHECK(std::abs(c - 10000) < 400);  // sd 82

  // For n near 2^63 the two schemes reject different draws: different streams.
  const std::uint64_t n = (1ULL << 63) + 5;
  Engine a(11), b(11);
  int differ = 0;
  for (int i = 0; i < 64; ++i) differ += below_rejecting_top(a, n) != uniform_below(b, n);
  CHECK(differ > 0);
}

TEST_CASE("shuffles: pinned permutations") {
  Engine e(9);
  const std::vector<std::size_t> perm = seeded_permutation(12, e);
  CHECK(perm == std::vector<std::size_t>{7, 0, 9, 3, 5, 6, 11, 4, 10, 2, 8, 1});
  Engine e42(42);
  CHECK(seeded_permutation(10, e42) == std::vector<std::size_t>{6, 0, 4, 7, 9, 8, 1, 3, 5, 2});

  // The epoch order (framework/learning/epoch_loop.cpp) is shuffle_from_back on stream `shuffle`.
  const std::vector<std::size_t> pinned{9, 10, 7, 4, 0, 8, 1, 3, 11, 2, 6, 5};
  CHECK(epoch_order(12, 7, 3, true) == pinned);
  std::vector<std::size_t> order(12);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(stream_seed(7, RngStream::shuffle, 3));
  shuffle_from_back(order, rng.engine());
  CHECK(order == pinned);
}

TEST_CASE("data streams: pinned noise and synthetic set") {
  Dataset d;
  d.features = 4;
  d.classes = 2;
  d.pixels = {0, 10, 128, 250, 255, 3, 77, 200};
  d.labels = {0, 1};
  add_gaussian_noise(d, 0.1, 11);
  CHECK(d.pixels == std::vector<std::uint8_t>{7, 0, 115, 244, 255, 37, 67, 183});

  const DatasetSplit split = load_dataset(test_support::synthetic_data(3, 2, 6, 3), 5);
  CHECK(split.train.labels == std::vector<std::uint8_t>{1, 2, 0});
  CHECK(split.train.pixels == std::vector<std::uint8_t>{62, 86, 253, 235, 28, 17, 45, 2, 88, 16,
                                                        240, 238, 176, 198, 24, 25, 95, 70});
}

TEST_CASE("random_direction: pinned unit vector (the stability analysis's start)") {
  const std::vector<double> d = random_direction(5, 3);
  const std::vector<double> pinned{0x1.c17d883641962p-3, 0x1.3ce3db309b5a9p-1,
                                   -0x1.6c4731990f0f7p-2, 0x1.071cdddfef652p-1,
                                   -0x1.b02d2eaf756c9p-2};
  CHECK(d == pinned);
}

TEST_CASE("random sweep: pinned samples") {
  const Spec spec = load_spec_text(
      "name: r\ndata: {dataset: synthetic}\nsweep:\n  random: {samples: 3, seed: 4, params: "
      "{model.K3: {uniform: [0.2, 0.8]}, training.batch_size: {int: [10, 100]}, "
      "training.optimizer: {choice: [sgd, adam, momentum]}, training.learning_rate: "
      "{log_uniform: [0.001, 0.1]}}}\n",
      "/tmp/r.yaml");
  const SweepPlan plan = expand_sweep(spec);
  REQUIRE(plan.runs.size() == 3);
  auto swept = [&](std::size_t i) {
    std::string out;
    for (const auto& s : plan.runs[i].swept) out += s.key + "=" + s.text + " ";
    return out;
  };
  CHECK(plan.runs[0].id == "d39212ed9fb4ed7a");
  CHECK(swept(0) ==
        "model.K3=0.6713289739573239 training.batch_size=51 training.optimizer=adam "
        "training.learning_rate=0.0013323543152560658 seed=0 ");
  CHECK(plan.runs[1].id == "25d21bb25a8931c5");
  CHECK(swept(1) ==
        "model.K3=0.5287893437727677 training.batch_size=15 training.optimizer=momentum "
        "training.learning_rate=0.0011944701682671513 seed=0 ");
  CHECK(plan.runs[2].id == "0d0fdd73ed67854e");
}
