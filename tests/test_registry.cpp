// The registries (framework/base/registry.hpp): every registration in the sources is in its
// table, the docs, `--help` and spec validation list exactly the registered names, and
// every registered equation, stepper and loss passes the checks any new one must pass.
// Eigen's dense solves at dynamic size trip GCC 12's false -Wmaybe-uninitialized (GCC bug
// 105593; see analysis/stability_eigen.cpp). The pragmas must precede every include.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "analysis/stability.hpp"
#include "framework/equations/registry.hpp"
#include "framework/learning/loss_functions.hpp"
#include "framework/learning/rules.hpp"
#include "framework/pipeline/spec.hpp"
#include "integrators/registry.hpp"
#include "tests/cli_support.hpp"
#include "tests/model_support.hpp"
#include "tests/support.hpp"

using namespace wuxing;
using test_support::random_vector;
namespace fs = std::filesystem;

namespace {

struct Named {
  std::string name, description;
};

// Lines starting with WUXING_REGISTER_<kind>( in the .cpp files of `dir`: what CMake
// collects into the generated list.
int registrations_in(const std::string& dir, const std::string& kind) {
  int count = 0;
  for (const auto& f : fs::directory_iterator(fs::path(WUXING_SOURCE_DIR) / dir)) {
    if (f.path().extension() != ".cpp") continue;
    std::ifstream in(f.path());
    for (std::string line; std::getline(in, line);)
      if (line.rfind("WUXING_REGISTER_" + kind + "(", 0) == 0) ++count;
  }
  return count;
}

// The backquoted names in the row of `key` in docs/specs.md's table of registered names.
std::vector<std::string> documented(const std::string& key) {
  std::ifstream in(fs::path(WUXING_SOURCE_DIR) / "docs" / "specs.md");
  const std::string row = "| `" + key + "` |";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(row, 0) != 0) continue;
    std::vector<std::string> names;
    const std::string cell = line.substr(row.size());
    const std::regex quoted("`([^`]+)`");
    for (std::sregex_iterator it(cell.begin(), cell.end(), quoted), end; it != end; ++it)
      names.push_back((*it)[1]);
    return names;
  }
  return {};
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("Registry: lookup, the error for an unknown name, and duplicates refused") {
  const Registry<Named> r("widget", {{"a", "the first"}, {"b", "the second"}});
  CHECK(r.names() == std::vector<std::string>{"a", "b"});
  CHECK(r.find("b")->description == "the second");
  CHECK(r.find("c") == nullptr);
  try {
    r.at("c");
    FAIL("an unknown name was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "unknown widget 'c' (known: a, b)");
  }
  CHECK(r.help("  ") == "  a  the first\n  b  the second\n");
  CHECK_THROWS_AS(Registry<Named>("widget", {{"a", "x"}, {"a", "y"}}), std::logic_error);
  CHECK_THROWS_AS(Registry<Named>("widget", {{"", "x"}}), std::logic_error);
  CHECK_THROWS_AS(Registry<Named>("widget", {{"a", ""}}), std::logic_error);
}

TEST_CASE("every registration in the sources is in its table (the generated list is current)") {
  CHECK(registrations_in("framework/equations", "EQUATION") ==
        static_cast<int>(equation_registry().entries().size()));
  CHECK(registrations_in("integrators", "STEPPER") ==
        static_cast<int>(stepper_registry().entries().size()));
  CHECK(registrations_in("framework/learning", "LOSS") ==
        static_cast<int>(loss_registry().entries().size()));
  CHECK(registrations_in("framework/learning", "RULE") ==
        static_cast<int>(rule_registry().entries().size()));
  CHECK(equation_registry().find("jiang-r1") != nullptr);
  CHECK(stepper_registry().find("heun") != nullptr);
  // The model's batched kernel (framework/model/heun.hpp) is Heun's: only heun is per lane.
  for (const auto& entry : stepper_registry().entries())
    CHECK_MESSAGE(integrated_per_lane(entry.name) == (entry.name == "heun"), entry.name);
  CHECK(loss_registry().find("cross_entropy") != nullptr);
  CHECK(rule_registry().find("connection") != nullptr);
  CHECK(rule_registry().find("mlp_backprop") != nullptr);
}

TEST_CASE("docs/specs.md lists exactly the registered names") {
  CHECK(documented("model.variant") == equation_names());
  CHECK(documented("integrator.method") == stepper_names());
  CHECK(documented("training.loss") == loss_registry().names());
  CHECK(documented("training.rule") == rule_registry().names());
}

TEST_CASE("spec validation names every registered name when a name is unknown") {
  ExperimentConfig c;
  c.model.variant = "lotka";
  c.integrator.method = "leapfrog";
  c.training.loss = "hinge";
  c.training.rule = "hebb";
  const auto errors = validate_config(c, [](const std::string&) { return Origin{}; });
  auto message_of = [&](const std::string& key) {
    for (const auto& e : errors)
      if (e.key == key) return e.message;
    return std::string();
  };
  const std::vector<std::pair<std::string, std::vector<std::string>>> keys = {
      {"model.variant", equation_names()},
      {"integrator.method", stepper_names()},
      {"training.loss", loss_registry().names()},
      {"training.rule", rule_registry().names()}};
  for (const auto& [key, names] : keys) {
    CAPTURE(key);
    const std::string m = message_of(key);
    REQUIRE(!m.empty());
    for (const auto& n : names) CHECK(m.find(n) != std::string::npos);
  }
}

TEST_CASE("`wuxing run --help` shows every registered name with its description") {
  test_support::TempDir dir("registry");
  const auto help = test_support::run_wuxing({"run", "--help"}, dir.path);
  REQUIRE(help.code == 0);
  auto shown = [&](const auto& registry) {
    for (const auto& e : registry.entries()) {
      CAPTURE(e.name);
      CHECK(help.out.find(e.name + "  ") != std::string::npos);
      CHECK(help.out.find(e.description) != std::string::npos);
    }
  };
  shown(equation_registry());
  shown(stepper_registry());
  shown(loss_registry());
  shown(rule_registry());
}

TEST_CASE("every registered equation: x*, eigenvalues and kernels agree with each other") {
  std::mt19937_64 rng(17);
  const KParams K{1.0, 0.5, 0.5};  // the spec's defaults must suit every variant
  for (const auto& entry : equation_registry().entries()) {
    CAPTURE(entry.name);
    const auto eq = entry.make();
    CHECK(eq->name() == entry.name);
    for (const Topology topo : {Topology{5, 1, 2}, Topology{7, 2, 5}}) {
      const int n = topo.n;
      // x* is a zero of f (u = 0).
      const double xs = eq->fixed_point(K);
      REQUIRE(xs > 0.0);
      std::vector<double> x(n, xs), u(n, 0.0), f(n);
      eq->rhs(topo, K, x.data(), u.data(), f.data(), 1);
      for (double v : f) CHECK(std::abs(v) <= 1e-12);
      // The closed-form eigenvalues are those of the dense Jacobian at x*.
      auto closed = eq->fixed_point_eigenvalues(topo, K);
      auto numeric = jacobian_eigenvalues(*eq, topo, K, Eigen::VectorXd::Constant(n, xs));
      REQUIRE(closed.size() == numeric.size());
      for (const auto& l : closed) {
        double nearest = INFINITY;
        for (const auto& m : numeric) nearest = std::min(nearest, std::abs(l - m));
        CHECK(nearest < 1e-10);
      }
      // The dense Jacobian, jacobian_apply, its transpose and dK against central differences
      // of rhs, on a batch (element-major layout) at random states.
      const std::size_t B = 3;
      const test_support::KernelBatch batch(*eq, topo, B, rng);
      const auto& xb = batch.x;
      const auto& v = batch.v;
      auto rhs = [&](const std::vector<double>& at, const KParams& k) { return batch.rhs(at, k); };
      const double eps = 1e-6;
      std::vector<double> up = xb, down = xb;
      for (std::size_t i = 0; i < xb.size(); ++i) {
        up[i] += eps * v[i];
        down[i] -= eps * v[i];
      }
      const auto fu = rhs(up, K), fd = rhs(down, K);
      std::vector<double> jv_fd(n * B), jv(n * B), jtw(n * B);
      for (std::size_t i = 0; i < jv_fd.size(); ++i) jv_fd[i] = (fu[i] - fd[i]) / (2 * eps);
      eq->jacobian_apply(topo, K, xb.data(), v.data(), jv.data(), B);
      CHECK(max_abs_diff(jv, jv_fd) < 1e-7);
      eq->jacobian_transpose_apply(topo, K, xb.data(), v.data(), jtw.data(), B);
      for (std::size_t b = 0; b < B; ++b) {
        Eigen::VectorXd xs_b(n), v_b(n);
        for (int e = 0; e < n; ++e) {
          xs_b(e) = xb[e * B + b];
          v_b(e) = v[e * B + b];
        }
        const Eigen::MatrixXd J = eq->jacobian(topo, K, xs_b);
        const Eigen::VectorXd Jv = J * v_b, JTv = J.transpose() * v_b;
        for (int e = 0; e < n; ++e) {
          CHECK(std::abs(Jv(e) - jv[e * B + b]) < 1e-12);
          CHECK(std::abs(JTv(e) - jtw[e * B + b]) < 1e-12);
        }
      }
      for (const KIndex which : {KIndex::K1, KIndex::K2, KIndex::K3}) {
        KParams kp = K, km = K;
        double* pp = which == KIndex::K1 ? &kp.K1 : which == KIndex::K2 ? &kp.K2 : &kp.K3;
        double* pm = which == KIndex::K1 ? &km.K1 : which == KIndex::K2 ? &km.K2 : &km.K3;
        *pp += eps;
        *pm -= eps;
        const auto gp = rhs(xb, kp), gm = rhs(xb, km);
        std::vector<double> dk(n * B), dk_fd(n * B);
        for (std::size_t i = 0; i < dk.size(); ++i) dk_fd[i] = (gp[i] - gm[i]) / (2 * eps);
        eq->parameter_derivative(topo, K, which, xb.data(), dk.data(), B);
        CHECK(max_abs_diff(dk, dk_fd) < 1e-7);
      }
    }
  }
}

TEST_CASE("every registered stepper: its name, and dx/dt = -x integrated to t = 1") {
  IntegrationOptions o;
  o.h = 0.01;
  const System decay = [](const State& x, State& dxdt, double) { dxdt[0] = -x[0]; };
  for (const auto& entry : stepper_registry().entries()) {
    CAPTURE(entry.name);
    const auto stepper = entry.make(o);
    CHECK(stepper->name() == entry.name);
    State x{1.0};
    const auto report = integrate_until(*stepper, decay, x, 0.0, 1.0, o);
    CHECK(report.reason == StopReason::t_max);
    // Euler, the least accurate, is off by about h / 2 * e^-1 = 1.8e-3.
    CHECK(std::abs(x[0] - std::exp(-1.0)) < 2e-3);
  }
}

TEST_CASE("every registered loss: dL/ds is the derivative of L") {
  TrainingConfig t;
  std::mt19937_64 rng(23);
  const int C = 4;
  for (const auto& entry : loss_registry().entries()) {
    CAPTURE(entry.name);
    for (int label = 0; label < C; ++label) {
      auto s = random_vector(rng, C, -0.5, 0.5);
      std::vector<double> dlds(2 * C), scratch(C), ignore(2 * C);
      // stride 2: the gradient of sample 0 of a batch of two.
      const double L = entry.sample(s.data(), C, label, t, dlds.data(), 2, scratch.data());
      CHECK(std::isfinite(L));
      CHECK(L >= 0.0);
      const double eps = 1e-6;
      for (int k = 0; k < C; ++k) {
        auto up = s, down = s;
        up[k] += eps;
        down[k] -= eps;
        const double fd =
            (entry.sample(up.data(), C, label, t, ignore.data(), 2, scratch.data()) -
             entry.sample(down.data(), C, label, t, ignore.data(), 2, scratch.data())) /
            (2 * eps);
        CHECK(dlds[2 * k] == doctest::Approx(fd).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("every registered loss: its column form (mlp_backprop's) is its per-sample form") {
  std::mt19937_64 rng(29);
  const int C = 5, count = 7;
  for (const double logit_scale : {1.0, 4.0}) {
    TrainingConfig t;
    t.logit_scale = logit_scale;
    for (const auto& entry : loss_registry().entries()) {
      CAPTURE(entry.name);
      CAPTURE(logit_scale);
      REQUIRE(static_cast<bool>(entry.columns));
      // Column-major C x count, as the MLP keeps its outputs; labels cover every class.
      const auto z = random_vector(rng, C * count, -2.0, 2.0);
      std::vector<int> labels(count);
      for (int c = 0; c < count; ++c) labels[c] = c % C;
      std::vector<double> dz(C * count, 0.0);
      const double total = entry.columns(z.data(), C, count, labels.data(), t, dz.data());
      double expected = 0.0;
      std::vector<double> dlds(C), scratch(C);
      for (int c = 0; c < count; ++c) {
        expected += entry.sample(z.data() + c * C, C, labels[c], t, dlds.data(), 1, scratch.data());
        for (int k = 0; k < C; ++k)
          CHECK(dz[c * C + k] == doctest::Approx(dlds[k]).epsilon(1e-12).scale(1.0));
      }
      CHECK(total == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}
