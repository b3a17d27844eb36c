#include "framework/pipeline/distributions.hpp"

#include <cmath>

namespace wuxing::detail {

std::optional<Distribution> parse_distribution(const std::string& key, const SpecNode& value,
                                               const std::string& where,
                                               std::vector<SpecError>& errors) {
  if (!value.is_map() || value.entries.size() != 1) {
    errors.push_back(
        make_spec_error(value.origin, where,
                        "expected one of {uniform: [lo, hi]}, {log_uniform: [lo, hi]}, "
                        "{choice: [...]}, {int: [lo, hi]}"));
    return std::nullopt;
  }
  const auto& d = value.entries.front();
  Distribution dist{key, d.key, 0, 0, {}, d.value.origin};
  if (d.key == "choice") {
    if (!d.value.is_sequence() || d.value.items.empty()) {
      errors.push_back(
          make_spec_error(d.value.origin, where + ".choice", "expected a non-empty list"));
      return std::nullopt;
    }
    dist.choices = d.value.items;
    return dist;
  }
  if (d.key != "uniform" && d.key != "log_uniform" && d.key != "int") {
    errors.push_back(
        make_spec_error(d.key_origin, where + "." + d.key,
                        "unknown distribution; expected uniform, log_uniform, choice or int"));
    return std::nullopt;
  }
  ExperimentConfig s;
  try {
    apply_value(s, "model.K1_range", d.value);  // a [lo, hi] pair of numbers
  } catch (const SpecErrors&) {
    errors.push_back(make_spec_error(d.value.origin, where + "." + d.key,
                                     "expected a list of two numbers [lo, hi]"));
    return std::nullopt;
  }
  dist.lo = s.model.K1_range.min;
  dist.hi = s.model.K1_range.max;
  if (!(dist.lo <= dist.hi) || !std::isfinite(dist.lo) || !std::isfinite(dist.hi)) {
    errors.push_back(make_spec_error(d.value.origin, where + "." + d.key, "expected lo <= hi"));
    return std::nullopt;
  }
  if (d.key == "log_uniform" && !(dist.lo > 0)) {
    errors.push_back(
        make_spec_error(d.value.origin, where + ".log_uniform", "expected 0 < lo <= hi"));
    return std::nullopt;
  }
  if (d.key == "int" && (dist.lo != std::floor(dist.lo) || dist.hi != std::floor(dist.hi))) {
    errors.push_back(make_spec_error(d.value.origin, where + ".int", "expected integer bounds"));
    return std::nullopt;
  }
  return dist;
}

std::string quote_yaml(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    if (c == '\n') {
      q += "\\n";
      continue;
    }
    q += c;
  }
  return q + "\"";
}

std::string flow_yaml(const SpecNode& n) {
  switch (n.kind) {
    case SpecNode::Kind::null:
      return "null";
    case SpecNode::Kind::scalar:
      return n.quoted ? quote_yaml(n.scalar) : n.scalar;
    case SpecNode::Kind::sequence: {
      std::string out = "[";
      for (std::size_t i = 0; i < n.items.size(); ++i)
        out += (i ? ", " : "") + flow_yaml(n.items[i]);
      return out + "]";
    }
    case SpecNode::Kind::map: {
      std::string out = "{";
      for (std::size_t i = 0; i < n.entries.size(); ++i)
        out += (i ? ", " : "") + n.entries[i].key + ": " + flow_yaml(n.entries[i].value);
      return out + "}";
    }
  }
  return "";
}

}  // namespace wuxing::detail
