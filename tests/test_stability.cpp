// Stability analysis: Eigen vs closed-form eigenvalues, the analytic Hopf boundary,
// simulated growth rates and verdicts, the simulated boundary, the spec and HDF5 output.
#include <doctest/doctest.h>
#include <hdf5.h>
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>

#include "analysis/stability.hpp"
#include "analysis/stability_scan.hpp"
#include "framework/pipeline/spec.hpp"

using namespace wuxing;

namespace {

constexpr double kHopf5 = 0.1458980337503154;  // (sqrt 5 - 2) / phi, MODEL.md section 1

// The boundary straight from the circulant formula, mode by mode: with K1 = 1,
// Re lambda_m(r) = -1 + cos(2 pi m g / n) - (1 - r) cos(2 pi m k / n) is linear in r and
// crosses 0 at r_m = (-1 + cos a - cos b) / (-cos b); modes with cos b < 0 are unstable
// below r_m, the others are stable on (0, 1). An independent check of the bisection.
double boundary_by_modes(const Topology& t) {
  double best = -1.0;
  for (int m = 1; m < t.n; ++m) {
    const double a = std::cos(2 * std::numbers::pi * m * t.g / t.n);
    const double b = std::cos(2 * std::numbers::pi * m * t.k / t.n);
    if (b < -1e-12) best = std::max(best, (-1.0 + a - b) / -b);
  }
  return best;
}

SimulationOptions accurate() {
  SimulationOptions o;  // rk4, h = 0.02, fit on [100, 300]
  return o;
}

}  // namespace

TEST_CASE("Eigen eigenvalues at the fixed point equal the circulant formula") {
  auto eq = make_equation("jiang-r1");
  struct Case {
    Topology topo;
    KParams K;
  };
  const std::vector<Case> cases = {{{3, 1, 2}, {1.0, 0.5, 0.5}}, {{5, 1, 2}, {1.0, 0.5, 0.14}},
                                   {{5, 2, 4}, {2.0, 0.7, 0.3}}, {{6, 1, 3}, {1.0, 1.0, 0.2}},
                                   {{7, 3, 2}, {0.8, 0.4, 0.1}}, {{9, 1, 2}, {1.0, 0.5, 0.9}},
                                   {{12, 5, 7}, {1.5, 2.0, 1.0}}};
  for (const auto& c : cases) {
    CAPTURE(c.topo.n);
    CAPTURE(c.topo.g);
    CAPTURE(c.topo.k);
    const auto closed = eq->fixed_point_eigenvalues(c.topo, c.K);
    const Eigen::VectorXd xs = Eigen::VectorXd::Constant(c.topo.n, eq->fixed_point(c.K));
    auto numeric = jacobian_eigenvalues(*eq, c.topo, c.K, xs);
    REQUIRE(numeric.size() == closed.size());
    // Match as multisets: each closed-form eigenvalue takes its nearest unused partner.
    for (const auto& l : closed) {
      auto best = numeric.begin();
      for (auto it = numeric.begin(); it != numeric.end(); ++it)
        if (std::abs(*it - l) < std::abs(*best - l)) best = it;
      CHECK(std::abs(*best - l) < 1e-10);
      numeric.erase(best);
    }
    CHECK(max_real_part(eq->fixed_point_eigenvalues(c.topo, c.K)) ==
          max_real_eigenvalue(*eq, c.topo, c.K));
  }
}

TEST_CASE("analytic Hopf boundary: n = 5 value and the mode-by-mode formula") {
  auto eq = make_equation("jiang-r1");
  const Boundary b5 = analytic_boundary(*eq, {5, 1, 2}, 1.0, 1.0, 0.01, 0.99);
  REQUIRE(b5.found);
  CHECK(std::abs(b5.ratio - kHopf5) < 1e-13);
  CHECK(std::abs(b5.ratio - (std::sqrt(5.0) - 2.0) / std::numbers::phi) < 1e-13);
  CHECK(b5.omega > 0.1);  // a complex pair crosses: Hopf
  // K1 and the fixed-point target do not move the boundary (J* depends on K1, K3 only).
  CHECK(std::abs(analytic_boundary(*eq, {5, 1, 2}, 2.5, 0.3, 0.01, 0.99).ratio - kHopf5) < 1e-12);

  for (int n = 3; n <= 12; ++n)
    for (int g = 1; g < n; ++g)
      for (int k = 1; k < n; ++k) {
        if (g == k) continue;
        const Topology topo{n, g, k};
        CAPTURE(n);
        CAPTURE(g);
        CAPTURE(k);
        const Boundary b = analytic_boundary(*eq, topo, 1.0, 1.0, 0.01, 0.99);
        const double expected = boundary_by_modes(topo);
        if (expected > 0.01 && expected < 0.99) {
          REQUIRE(b.found);
          CHECK(std::abs(b.ratio - expected) < 1e-12);
        } else {
          CHECK_FALSE(b.found);
          CHECK(std::isnan(b.ratio));
          CHECK(!b.note.empty());
        }
      }
  // n = 3, g = 1, k = 2: the overcoming cycle is the generating one reversed; never unstable.
  CHECK_FALSE(analytic_boundary(*eq, {3, 1, 2}, 1.0, 1.0, 0.01, 0.99).found);
}

TEST_CASE("the simulated decay rate of a small perturbation is max Re lambda") {
  auto eq = make_equation("jiang-r1");
  const auto options = accurate();
  struct Case {
    Topology topo;
    double ratio;
  };
  // Ratios where the slowest mode is well separated from the next (spectral gap >= 0.05),
  // so that the fit window sees one mode; both signs of the rate.
  for (const Case c : {Case{{5, 1, 2}, 0.5}, Case{{5, 1, 2}, 0.3}, Case{{5, 1, 2}, 0.1},
                       Case{{9, 1, 2}, 0.2}, Case{{4, 1, 2}, 0.2}, Case{{7, 1, 3}, 0.4}}) {
    CAPTURE(c.topo.n);
    CAPTURE(c.ratio);
    const KParams K = params_at_ratio(*eq, 1.0, c.ratio, 1.0);
    const auto lambdas = eq->fixed_point_eigenvalues(c.topo, K);
    REQUIRE(spectral_gap(lambdas) >= 0.05);
    const RateFit fit = perturbation_growth_rate(*eq, c.topo, K, options);
    // rk4's error in a mode's rate is about |lambda|^5 h^4 / 120 < 1e-7 here.
    CHECK(std::abs(fit.rate - max_real_part(lambdas)) < 1e-6);
    CHECK(fit.residual < 1e-6);
    CHECK(fit.samples > 1000);
  }
  // dopri5 gives the same rate. Its error control acts on x (~1), not on the 1e-4
  // perturbation, hence the very tight rtol.
  SimulationOptions d = options;
  d.stepper = "dopri5";
  d.perturbation = 1e-4;
  d.integration.rtol = 1e-13;
  d.integration.atol = 1e-17;
  const KParams K = params_at_ratio(*eq, 1.0, 0.3, 1.0);
  CHECK(std::abs(perturbation_growth_rate(*eq, {5, 1, 2}, K, d).rate -
                 max_real_eigenvalue(*eq, {5, 1, 2}, K)) < 1e-6);
}

TEST_CASE("the simulated Hopf boundary for n = 5 matches the closed form") {
  auto eq = make_equation("jiang-r1");
  const Boundary b = simulated_boundary(*eq, {5, 1, 2}, 1.0, 1.0, 0.01, 0.99, 1e-6, accurate());
  REQUIRE(b.found);
  CHECK(std::abs(b.ratio - kHopf5) < 1e-4);
  // Tighter in fact: the fitted rate is good to ~1e-9, the bracket is 1e-6 wide.
  CHECK(std::abs(b.ratio - kHopf5) < 1e-6);
  CHECK(b.note == "stable above");
  // With no sign change there is no boundary, and it says so.
  CHECK_FALSE(simulated_boundary(*eq, {3, 1, 2}, 1.0, 1.0, 0.01, 0.99, 1e-6, accurate()).found);
}

TEST_CASE("simulated verdicts agree with the eigenvalues for n = 3..9") {
  auto eq = make_equation("jiang-r1");
  const auto options = accurate();
  for (int n = 3; n <= 9; ++n) {
    const Topology topo{n, 1, 2};
    CAPTURE(n);
    const Boundary b = analytic_boundary(*eq, topo, 1.0, 1.0, 0.01, 0.99);
    std::vector<double> stable = {0.5, 0.9}, growing;
    if (b.found) {
      stable.push_back(1.2 * b.ratio);
      growing.push_back(0.8 * b.ratio);
    } else {
      stable.push_back(0.05);
    }
    for (double r : stable) {
      CAPTURE(r);
      const KParams K = params_at_ratio(*eq, 1.0, r, 1.0);
      REQUIRE(max_real_eigenvalue(*eq, topo, K) < 0.0);
      const Verdict v = simulate_regime(*eq, topo, K, options);
      CHECK(v.regime == Regime::propagator);
      CHECK(v.growth_rate < 0.0);
    }
    for (double r : growing) {
      CAPTURE(r);
      const KParams K = params_at_ratio(*eq, 1.0, r, 1.0);
      REQUIRE(max_real_eigenvalue(*eq, topo, K) > 0.0);
      const Verdict v = simulate_regime(*eq, topo, K, options);
      CAPTURE(v.detail);
      CHECK(v.growth_rate > 0.0);
      CHECK((v.regime == Regime::oscillator || v.regime == Regime::unstable));
    }
  }
}

TEST_CASE("below the n = 5 boundary the neuron settles on a limit cycle") {
  auto eq = make_equation("jiang-r1");
  const KParams K = params_at_ratio(*eq, 1.0, 0.9 * kHopf5, 1.0);
  auto options = accurate();
  const Verdict a = simulate_regime(*eq, {5, 1, 2}, K, options);
  CAPTURE(a.detail);
  REQUIRE(a.regime == Regime::oscillator);
  CHECK(a.amplitude > 10.0 * options.classify_perturbation);
  CHECK(a.period > 0.0);
  // A limit cycle attracts: another start (seed, size) reaches the same orbit.
  options.seed = 99;
  options.classify_perturbation = 3e-3;
  const Verdict b = simulate_regime(*eq, {5, 1, 2}, K, options);
  REQUIRE(b.regime == Regime::oscillator);
  CHECK(b.amplitude == doctest::Approx(a.amplitude).epsilon(1e-2));
  CHECK(b.period == doctest::Approx(a.period).epsilon(1e-2));
}

TEST_CASE("numerical trouble in the stability runs is reported, not hidden") {
  auto eq = make_equation("jiang-r1");
  const KParams K = params_at_ratio(*eq, 1.0, 0.5, 1.0);
  auto options = accurate();
  options.integration.max_steps = 100;
  try {
    perturbation_growth_rate(*eq, {5, 1, 2}, K, options);
    FAIL("a step cap went unreported");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("step_cap") != std::string::npos);
  }
  const Verdict v = simulate_regime(*eq, {5, 1, 2}, K, [] {
    auto o = accurate();
    o.classify_t_max = 1.0;  // far too short to decide
    return o;
  }());
  CHECK(v.regime == Regime::undetermined);
  CHECK(!v.detail.empty());
  // Euler with a huge step leaves the positive orthant: "unstable", with the reason.
  auto coarse = accurate();
  coarse.classify_stepper = "euler";
  coarse.integration.h = 2.5;
  const Verdict u = simulate_regime(*eq, {5, 1, 2}, K, coarse);
  CHECK(u.regime == Regime::unstable);
  CHECK(!u.detail.empty());
}

TEST_CASE("stability spec: errors name the file, line, column and key") {
  const std::string good =
      "stability:\n  n: [5]\n  g: 1\n  k: 2\n  ratio_range: [0.05, 0.5]\n  map: {ratio_points: "
      "5}\n";
  const StabilitySpec spec = parse_stability_spec(good, "good.yaml");
  CHECK(spec.n == std::vector<int>{5});
  CHECK(spec.ratio_lo == 0.05);
  CHECK(spec.map_ratio_points == 5);
  CHECK(spec.text == good);
  CHECK(parse_stability_spec("stability:\n  n: 7\n", "one.yaml").n == std::vector<int>{7});
  auto error_of = [](const std::string& text) {
    try {
      parse_stability_spec(text, "bad.yaml");
    } catch (const SpecErrors& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error_of("stability:\n  n: [5]\n  ratios: [0.1, 0.2]\n")
            .find("bad.yaml:3:3: stability.ratios: unknown key") != std::string::npos);
  CHECK(error_of("stability:\n  map:\n    points: 4\n")
            .find("bad.yaml:3:5: stability.map.points: unknown key") != std::string::npos);
  CHECK(error_of("stability:\n  bisection_toll: 1.0e-5\n")
            .find("did you mean 'stability.bisection_tol'?") != std::string::npos);
  CHECK(error_of("stability:\n  h: fast\n")
            .find("bad.yaml:2:6: stability.h: expected a number, got 'fast'") != std::string::npos);
  CHECK(error_of("stability:\n  classify: 3\n")
            .find("bad.yaml:2:13: stability.classify: expected a mapping") != std::string::npos);
  CHECK(error_of("stability:\n  stepper: rk5\n").find("rk5") != std::string::npos);
  CHECK(error_of("stability:\n  n: [2]\n").find("n = 2") != std::string::npos);
  CHECK(error_of("stability:\n  ratio_range: [0.5, 1.5]\n").find("ratio_range") !=
        std::string::npos);
  CHECK(error_of("other: 1\n").find("bad.yaml:1:1: other: unknown key") != std::string::npos);
  CHECK(error_of("stability: [1\n").find("bad.yaml:") != std::string::npos);
  // Every error at once, not the first only.
  const std::string two = error_of("stability:\n  h: fast\n  ratios: 1\n");
  CHECK(two.find("stability.h") != std::string::npos);
  CHECK(two.find("stability.ratios") != std::string::npos);
  // The shipped experiment parses.
  CHECK_NOTHROW(
      load_stability_spec(std::string(WUXING_SOURCE_DIR) + "/experiments/stability-hopf.yaml"));
}

TEST_CASE("stability spec: base files and command-line overrides, as experiment specs have") {
  const auto dir = std::filesystem::temp_directory_path() / "wuxing-test-stability-spec";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "common.yaml")
      << "stability:\n  K1: 2.0\n  n: [3, 4]\n  map: {ratio_points: 9}\n";
  std::ofstream(dir / "five.yaml") << "base: common.yaml\nstability:\n  n: [5]\n";
  const std::string five = (dir / "five.yaml").string();
  CHECK(is_stability_spec(five));
  CHECK_FALSE(is_stability_spec(std::string(WUXING_SOURCE_DIR) + "/experiments/quickstart.yaml"));
  const StabilitySpec s = load_stability_spec(five, {"stability.map.ratio_points=20"});
  CHECK(s.K1 == 2.0);
  CHECK(s.n == std::vector<int>{5});
  CHECK(s.map_ratio_points == 20);
  CHECK(s.text.find("# overrides: stability.map.ratio_points=20") != std::string::npos);
  try {
    load_stability_spec(five, {"stability.map.point=3"});
    FAIL("an unknown override key was accepted");
  } catch (const SpecErrors& e) {
    CHECK(std::string(e.what()).find("<command line>:1:1: stability.map.point: unknown key") !=
          std::string::npos);
  }
  std::ofstream(dir / "typo.yaml") << "base: common.yaml\nstability:\n  seeds: 3\n";
  try {
    load_stability_spec((dir / "typo.yaml").string());
    FAIL("an unknown key was accepted");
  } catch (const SpecErrors& e) {
    CHECK(std::string(e.what()).find("typo.yaml:3:3: stability.seeds: unknown key") !=
          std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("scan and map: same results for any thread count, written to HDF5") {
  StabilitySpec spec = parse_stability_spec(
      "stability:\n  n: [4, 5, 9]\n  bisection_tol: 1.0e-5\n  map: {ratio_points: 6}\n",
      "small.yaml");
  omp_set_num_threads(1);
  const auto rows1 = run_scan(spec);
  const auto map1 = compute_map(spec);
  omp_set_num_threads(2);
  const auto rows2 = run_scan(spec);
  const auto map2 = compute_map(spec);
  REQUIRE(rows1.size() == 3);
  for (std::size_t i = 0; i < rows1.size(); ++i) {
    CHECK(rows1[i].analytic.found == rows2[i].analytic.found);
    if (rows1[i].simulated.found) CHECK(rows1[i].simulated.ratio == rows2[i].simulated.ratio);
    CHECK(rows1[i].below.growth_rate == rows2[i].below.growth_rate);
    const bool same_amplitude =
        rows1[i].below.amplitude == rows2[i].below.amplitude ||
        (std::isnan(rows1[i].below.amplitude) && std::isnan(rows2[i].below.amplitude));
    CHECK(same_amplitude);
  }
  CHECK(map1.simulated_rate == map2.simulated_rate);
  CHECK(rows1[1].simulated.found);
  CHECK(std::abs(rows1[1].simulated.ratio - kHopf5) < 1e-4);
  CHECK_FALSE(rows1[0].analytic.found);

  const auto dir = std::filesystem::temp_directory_path() / "wuxing-test-stability";
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "out.h5").string();
  write_stability_h5(path, spec, rows1, map1);
  REQUIRE(std::filesystem::exists(path));
  CHECK(std::distance(std::filesystem::directory_iterator(dir),
                      std::filesystem::directory_iterator()) == 1);  // no temporary left
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  auto read = [&](const char* name, std::size_t count) {
    std::vector<double> v(count);
    const hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    REQUIRE(set >= 0);
    CHECK(H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
    H5Dclose(set);
    return v;
  };
  const auto n = read("/stability/scan/n", 3);
  CHECK(n == std::vector<double>{4, 5, 9});
  const auto sim = read("/stability/scan/simulated_boundary", 3);
  CHECK(std::isnan(sim[0]));
  CHECK(sim[1] == rows1[1].simulated.ratio);
  const auto mre = read("/stability/map/max_real_eigenvalue", 18);
  CHECK(mre[1 * 6 + 2] == map1.max_real_eigenvalue(1, 2));  // row-major [n, ratio]
  H5Fclose(file);
  std::filesystem::remove_all(dir);
}
