// Specs, part 4: physically meaningless or unknown values of a filled config
// (validate_config), each error at the origin of its key.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "framework/learning/loss_functions.hpp"
#include "framework/learning/rules.hpp"
#include "framework/model/neuron.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/spec_keys.hpp"
#include "integrators/integrator.hpp"

namespace wuxing {

using namespace detail;

// ---- Validation --------------------------------------------------------------------

namespace {
const std::vector<std::string> kTrainableK(kKNames.begin(), kKNames.end());
std::string k_key(KIndex which) { return "model." + std::string(k_name(which)); }
double k_value(const KParams& K, KIndex which) {
  return which == KIndex::K1 ? K.K1 : which == KIndex::K2 ? K.K2 : K.K3;
}
}  // namespace

std::vector<SpecError> validate_config(const ExperimentConfig& c,
                                       const std::function<Origin(const std::string&)>& origin_of) {
  std::vector<SpecError> errors;
  auto fail = [&](const std::string& key, std::string message) {
    errors.push_back(make_spec_error(origin_of(key), key, std::move(message)));
  };
  auto one_of = [&](const std::string& key, const std::string& value,
                    const std::vector<std::string>& valid) {
    if (std::find(valid.begin(), valid.end(), value) == valid.end())
      fail(key,
           fmt::format("unknown value '{}'; expected one of: {}", value, fmt::join(valid, ", ")));
  };
  auto positive = [&](const std::string& key, double v) {
    if (!(v > 0)) fail(key, fmt::format("must be > 0, got {}", double_text(v)));
  };
  auto range = [&](const std::string& key, const Range& r) {
    if (!(r.min < r.max))
      fail(key, fmt::format("expected [min, max] with min < max, got [{}, {}]", double_text(r.min),
                            double_text(r.max)));
  };

  // An infinite or NaN number passes every comparison below the wrong way (K1 = .inf > K3)
  // and only fails inside a run: refuse them all here, before anything else.
  for (const auto& f : fields()) {
    if (f.kind != FieldKind::number && f.path.find("_range") == std::string::npos) continue;
    const std::string text = f.text(c);
    if (text.find(".inf") != std::string::npos || text.find(".nan") != std::string::npos)
      fail(f.path, fmt::format("expected a finite number, got {}", text));
  }
  if (!errors.empty()) return errors;

  if (c.threads < 0) fail("threads", "must be >= 0 (0: all cores)");
  // The name makes the default output path results/<name>.h5.
  if (c.name.empty())
    fail("name", "must not be empty (it names the default output file results/<name>.h5)");
  else if (c.name.find('/') != std::string::npos || c.name == "." || c.name == "..")
    fail("name", fmt::format("expected a plain file name without '/' (it names the default "
                             "output file results/<name>.h5), got '{}'",
                             c.name));

  const auto& m = c.model;
  one_of("model.variant", m.variant, equation_names());
  if (m.n < 3) fail("model.n", fmt::format("a neuron needs at least 3 elements, got n = {}", m.n));
  if (m.g <= 0 || m.g >= m.n)
    fail("model.g", fmt::format("must be in (0, n) = (0, {}), got {}", m.n, m.g));
  if (m.k <= 0 || m.k >= m.n)
    fail("model.k", fmt::format("must be in (0, n) = (0, {}), got {}", m.n, m.k));
  if (m.g == m.k)
    fail("model.k",
         fmt::format("the generating and overcoming offsets must differ (g = k = {})", m.g));
  // The variant's own conditions on its K's (Equation::k_problems), each at the last key
  // involved that the spec sets (the first involved if it sets none).
  if (const auto variants = equation_names();
      std::find(variants.begin(), variants.end(), m.variant) != variants.end()) {
    const KParams K{m.K1, m.K2, m.K3};
    for (const auto& p : make_equation(m.variant)->k_problems(K, m.fixed_point_target)) {
      std::string key = k_key(p.involves.front());
      std::vector<std::string> values;
      for (KIndex which : p.involves) {
        if (origin_of(k_key(which)).line > 0) key = k_key(which);
        values.push_back(fmt::format("{} = {}", k_name(which), double_text(k_value(K, which))));
      }
      fail(key, fmt::format("{}, got {}", p.condition, fmt::join(values, ", ")));
    }
  }
  if (m.fixed_point_target && !(*m.fixed_point_target > 0))
    fail("model.fixed_point_target", "must be > 0 (or null)");
  range("model.K1_range", m.K1_range);
  range("model.K2_range", m.K2_range);
  range("model.K3_range", m.K3_range);

  const auto& n = c.network;
  for (int h : n.hidden)
    if (h < 1) fail("network.hidden", fmt::format("layer sizes must be >= 1, got {}", h));
  {
    // Dense layers between the data's inputs, the hidden layers and the classes: a limit on
    // the parameters, so that no spec makes a run allocate without bound.
    const bool synthetic = c.data.dataset == DatasetKind::synthetic;
    double prev = synthetic ? c.data.synthetic_features : 784.0;
    double connections = 0;
    for (int h : n.hidden) {
      connections += prev * std::max(h, 0);
      prev = std::max(h, 0);
    }
    connections += prev * (synthetic ? c.data.synthetic_classes : 10);
    if (connections > static_cast<double>(kMaxConnections))
      fail("network.hidden",
           fmt::format("the network would have {:.3g} connections, more than the limit of {}",
                       connections, kMaxConnections));
  }
  if (!(n.sparsity > 0 && n.sparsity <= 1))
    fail("network.sparsity", fmt::format("must be in (0, 1], got {}", double_text(n.sparsity)));
  for (const char* key : {"input_element", "output_element", "input_layer_output_element"}) {
    int v = key == std::string("input_element")    ? n.input_element
            : key == std::string("output_element") ? n.output_element
                                                   : n.input_layer_output_element;
    if (v < 0 || v >= m.n)
      fail(std::string("network.") + key,
           fmt::format("an element index in [0, n) = [0, {}), got {}", m.n, v));
  }
  if (!(n.init_scale >= 0)) fail("network.init_scale", "must be >= 0");
  if (!(n.x_min < n.x_max))
    fail("network.x_max", fmt::format("x_min must be below x_max, got x_min = {}, x_max = {}",
                                      double_text(n.x_min), double_text(n.x_max)));

  const auto& d = c.data;
  if (d.train_size <= 0) fail("data.train_size", fmt::format("must be > 0, got {}", d.train_size));
  if (d.test_size <= 0) fail("data.test_size", fmt::format("must be > 0, got {}", d.test_size));
  if (d.validation_size < 0)
    fail("data.validation_size", fmt::format("must be >= 0, got {}", d.validation_size));
  if (d.validation_size > 0 && d.dataset == DatasetKind::synthetic)
    fail("data.validation_size", "needs a dataset read from files (mnist, fashion_mnist)");
  positive("data.pixel_scale", d.pixel_scale);
  if (!(d.input_noise >= 0)) fail("data.input_noise", "must be >= 0");
  if (d.synthetic_features < 1) fail("data.synthetic_features", "must be >= 1");
  if (d.synthetic_classes < 2 || d.synthetic_classes > d.synthetic_features)
    fail("data.synthetic_classes",
         fmt::format("must be in [2, synthetic_features] = [2, {}], got {}", d.synthetic_features,
                     d.synthetic_classes));

  const auto& i = c.integrator;
  one_of("integrator.method", i.method, stepper_names());
  positive("integrator.h", i.h);
  positive("integrator.t_max", i.t_max);
  positive("integrator.tol", i.tol);
  positive("integrator.backward_t_max", i.backward_t_max);
  positive("integrator.backward_tol", i.backward_tol);
  positive("integrator.solve_tol", i.solve_tol);
  if (i.solve_max_iterations < 1) fail("integrator.solve_max_iterations", "must be >= 1");
  positive("integrator.table_step", i.table_step);
  if (i.max_steps < 1) fail("integrator.max_steps", "must be >= 1");
  positive("integrator.rtol", i.rtol);
  positive("integrator.atol", i.atol);

  const auto& t = c.training;
  one_of("training.rule", t.rule, rule_registry().names());
  for (const auto& k : t.trainable_K) one_of("training.trainable_K", k, kTrainableK);
  if (const RuleEntry* rule = rule_registry().find(t.rule);
      t.trainable_K.empty() && rule && rule->trains_K && rule->trains_K(t))
    fail("training.trainable_K",
         fmt::format("the {} rule trains the K's and needs at least one of K1, K2, K3", t.rule));
  one_of("training.loss", t.loss, loss_registry().names());
  positive("training.logit_scale", t.logit_scale);
  positive("training.target_amplitude", t.target_amplitude);
  if (!(t.learning_rate >= 0))
    fail("training.learning_rate",
         fmt::format("must be >= 0, got {}", double_text(t.learning_rate)));
  if (!(t.weight_decay >= 0))
    fail("training.weight_decay", fmt::format("must be >= 0, got {}", double_text(t.weight_decay)));
  if (!(t.momentum >= 0 && t.momentum < 1)) fail("training.momentum", "must be in [0, 1)");
  if (t.batch_size < 1)
    fail("training.batch_size", fmt::format("must be >= 1, got {}", t.batch_size));
  if (t.epochs < 1) fail("training.epochs", fmt::format("must be >= 1, got {}", t.epochs));
  if (!(t.pid.kp >= 0)) fail("training.pid.kp", "must be >= 0");
  if (!(t.pid.ki >= 0)) fail("training.pid.ki", "must be >= 0");
  if (!(t.pid.kd >= 0)) fail("training.pid.kd", "must be >= 0");
  if (!(t.pid.integral_leak >= 0 && t.pid.integral_leak <= 1))
    fail("training.pid.integral_leak", "must be in [0, 1]");
  positive("training.pid.integral_clamp", t.pid.integral_clamp);

  const auto& r = c.record;
  const int evaluated = d.validation_size > 0 ? d.validation_size : d.test_size;
  const char* evaluated_key = d.validation_size > 0 ? "validation_size" : "test_size";
  for (int s : r.probe_samples)
    if (s < 0 || s >= evaluated)
      fail("record.probe_samples",
           fmt::format("test-set indices must be in [0, {}) = [0, {}), got {}", evaluated_key,
                       evaluated, s));
  const int layers = static_cast<int>(n.hidden.size()) + 1;
  for (int l : r.probe_layers)
    if (l < 0 || l >= layers)
      fail("record.probe_layers",
           fmt::format("layer indices must be in [0, {}) (0 = first non-input layer), got {}",
                       layers, l));
  if (r.trajectory_stride < 1) fail("record.trajectory_stride", "must be >= 1");
  if (r.stability_samples < 1) fail("record.stability_samples", "must be >= 1");

  const auto& st = c.status;
  if (!(st.max_unsettled_fraction >= 0 && st.max_unsettled_fraction <= 1))
    fail("status.max_unsettled_fraction", fmt::format("must be in [0, 1] (1: no check), got {}",
                                                      double_text(st.max_unsettled_fraction)));
  if (!(st.min_above_chance >= -1 && st.min_above_chance < 1))
    fail("status.min_above_chance", fmt::format("must be in [-1, 1) (-1: no check), got {}",
                                                double_text(st.min_above_chance)));
  return errors;
}

}  // namespace wuxing
