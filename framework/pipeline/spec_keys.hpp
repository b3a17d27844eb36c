// Internal to the spec implementation (spec_keys.cpp, spec.cpp, spec_validate.cpp): the key
// table that framework/pipeline/spec.hpp's functions read.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing::detail {

struct Field {
  std::string path;
  FieldKind kind;
  std::function<void(ExperimentConfig&, const SpecNode&)> set;
  std::function<std::string(const ExperimentConfig&)> text;
  // For keys added after results were first stored: while the value is the default, the
  // key is left out of the canonical YAML, so that the run IDs of earlier results (and the
  // resume of their sweeps) stay valid. A missing key reads as its default.
  bool added_later = false;
};

// Every config key in canonical order (spec_keys.cpp), and the one at `path` (or nullptr).
const std::vector<Field>& fields();
const Field* find_field(std::string_view path);
// A double as the canonical YAML writes it (.nan, .inf, shortest round-trip text).
std::string double_text(double v);

}  // namespace wuxing::detail
