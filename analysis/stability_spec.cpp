// The `stability:` spec of `wuxing stability` on the common spec system
// (framework/pipeline/spec.hpp): the same YAML reading, `base:` files, command-line overrides and
// file:line:column errors as experiment specs, with its own key table.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/stability_scan.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing {
namespace {

// One key of the `stability:` block: its path below `stability.` and how it sets the spec.
struct StabilityKey {
  std::string path;
  std::function<void(StabilitySpec&, const SpecNode&, const std::string&)> set;
};

template <class T, class Get>
StabilityKey key(std::string path, Get get) {
  return {std::move(path), [get](StabilitySpec& s, const SpecNode& v, const std::string& p) {
            get(s) = spec_value<T>(v, p);
          }};
}

#define WUXING_STABILITY(T, path, member) \
  key<T>(                                 \
      path, [](StabilitySpec & s) -> auto& { return s.member; })

const std::vector<StabilityKey>& stability_keys() {
  static const std::vector<StabilityKey> table = {
      WUXING_STABILITY(std::string, "equation", equation),
      {"n",
       [](StabilitySpec& s, const SpecNode& v, const std::string& p) {
         // One element count or a list of them.
         s.n = v.is_sequence() ? spec_value<std::vector<int>>(v, p)
                               : std::vector<int>{spec_value<int>(v, p)};
       }},
      WUXING_STABILITY(int, "g", g),
      WUXING_STABILITY(int, "k", k),
      WUXING_STABILITY(double, "K1", K1),
      WUXING_STABILITY(double, "fixed_point", fixed_point),
      {"ratio_range",
       [](StabilitySpec& s, const SpecNode& v, const std::string& p) {
         const Range r = spec_value<Range>(v, p);
         s.ratio_lo = r.min;
         s.ratio_hi = r.max;
       }},
      WUXING_STABILITY(double, "bisection_tol", bisection_tol),
      WUXING_STABILITY(double, "below_factor", below_factor),
      WUXING_STABILITY(double, "above_factor", above_factor),
      WUXING_STABILITY(std::string, "stepper", simulation.stepper),
      WUXING_STABILITY(double, "h", simulation.integration.h),
      WUXING_STABILITY(double, "rtol", simulation.integration.rtol),
      WUXING_STABILITY(double, "atol", simulation.integration.atol),
      WUXING_STABILITY(std::uint64_t, "max_steps", simulation.integration.max_steps),
      WUXING_STABILITY(std::uint64_t, "seed", simulation.seed),
      WUXING_STABILITY(double, "perturbation", simulation.perturbation),
      WUXING_STABILITY(double, "renorm", simulation.renorm),
      WUXING_STABILITY(double, "rate_t_skip", simulation.rate_t_skip),
      WUXING_STABILITY(double, "rate_t_end", simulation.rate_t_end),
      WUXING_STABILITY(std::string, "classify.stepper", simulation.classify_stepper),
      WUXING_STABILITY(double, "classify.perturbation", simulation.classify_perturbation),
      WUXING_STABILITY(double, "classify.t_max", simulation.classify_t_max),
      WUXING_STABILITY(int, "classify.saturation_cycles", simulation.saturation_cycles),
      WUXING_STABILITY(double, "classify.saturation_tolerance", simulation.saturation_tolerance),
      WUXING_STABILITY(double, "classify.divergence_factor", simulation.divergence_factor),
      WUXING_STABILITY(int, "map.ratio_points", map_ratio_points),
      WUXING_STABILITY(bool, "map.simulate", map_simulate),
  };
  return table;
}

#undef WUXING_STABILITY

std::vector<std::string> stability_key_paths() {
  std::vector<std::string> out;
  for (const auto& k : stability_keys()) out.push_back("stability." + k.path);
  return out;
}

// Walks the mapping under `prefix` ("stability", "stability.classify", ...).
void fill(const SpecNode& map, const std::string& prefix, StabilitySpec& spec,
          std::vector<SpecError>& errors) {
  for (const auto& e : map.entries) {
    const std::string path = prefix + "." + e.key;
    const std::string below = path.substr(std::string("stability.").size());
    auto it = std::find_if(stability_keys().begin(), stability_keys().end(),
                           [&](const StabilityKey& k) { return k.path == below; });
    const bool section =
        std::any_of(stability_keys().begin(), stability_keys().end(),
                    [&](const StabilityKey& k) { return k.path.rfind(below + ".", 0) == 0; });
    if (it != stability_keys().end()) {
      try {
        it->set(spec, e.value, path);
      } catch (const SpecErrors& err) {
        errors.insert(errors.end(), err.errors().begin(), err.errors().end());
      }
    } else if (section && e.value.is_map()) {
      fill(e.value, path, spec, errors);
    } else if (section) {
      errors.push_back(
          make_spec_error(e.value.origin, path, "expected a mapping of keys under this section"));
    } else {
      const std::string hint = nearest_name(path, stability_key_paths());
      errors.push_back(make_spec_error(
          e.key_origin, path,
          hint.empty() ? "unknown key" : fmt::format("unknown key; did you mean '{}'?", hint)));
    }
  }
}

}  // namespace

StabilitySpec parse_stability_spec(const std::string& yaml_text, const std::string& source,
                                   const std::vector<std::string>& overrides) {
  const SpecNode tree = compose_spec(yaml_text, source, overrides);
  StabilitySpec spec;
  spec.source = source;
  // Stored with the results: the spec as written, and the overrides applied to it.
  spec.text = yaml_text;
  if (!overrides.empty())
    spec.text += fmt::format("\n# overrides: {}\n", fmt::join(overrides, " "));
  std::vector<SpecError> errors;
  const SpecNode* block = nullptr;
  for (const auto& e : tree.entries) {
    if (e.key == "stability")
      block = &e.value;
    else
      errors.push_back(make_spec_error(e.key_origin, e.key,
                                       "unknown key; a stability spec has one block, stability:"));
  }
  if (!block)
    errors.push_back(make_spec_error(tree.origin, "stability", "missing: the stability: block"));
  else if (!block->is_map() && !block->is_null())
    errors.push_back(make_spec_error(block->origin, "stability", "expected a mapping of keys"));
  else
    fill(*block, "stability", spec, errors);
  if (!errors.empty()) throw SpecErrors(std::move(errors));
  try {
    spec.validate();
  } catch (const std::invalid_argument& e) {
    // The model's checks do not know where a value was written: name the block.
    const Origin where = block->origin.line > 0 ? block->origin : Origin{source, 0, 0};
    throw SpecErrors({make_spec_error(where, "stability", e.what())});
  }
  return spec;
}

StabilitySpec load_stability_spec(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  const std::optional<std::string> text = read_spec_file(path);
  if (!text) throw SpecErrors({SpecError{path, 0, 0, "", "cannot read the spec file"}});
  return parse_stability_spec(*text, path, overrides);
}

bool is_stability_spec(const std::string& path) {
  const std::optional<std::string> text = read_spec_file(path);
  if (!text) return false;
  try {
    const SpecNode tree = compose_spec(*text, path);
    return tree.is_map() && tree.find("stability") != nullptr;
  } catch (const SpecErrors&) {
    return false;
  }
}

}  // namespace wuxing
