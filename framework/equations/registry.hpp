// The table of equation variants (framework/base/registry.hpp explains the mechanism). A
// variant is one file pair framework/equations/<name>.{hpp,cpp} implementing Equation
// (neuron.hpp); its .cpp registers it, at namespace scope inside `namespace wuxing`:
//
//   WUXING_REGISTER_EQUATION(jiang_r1) {
//     return detail::variant_entry<JiangR1>("one line: the equation");
//   }
//
// make_equation() and equation_names() (neuron.hpp), spec validation of model.variant,
// `wuxing run --help` and the docs' test read this table.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "framework/base/registry.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing {

struct EquationEntry {
  std::string name;         // the spec's model.variant
  std::string description;  // one line: the right-hand side
  std::unique_ptr<Equation> (*make)();
};

const Registry<EquationEntry>& equation_registry();

namespace detail {
// EquationEntry::make of a variant that is built without arguments (every one so far).
template <class Variant>
std::unique_ptr<Equation> make_variant() {
  return std::make_unique<Variant>();
}

// The entry of a variant built without arguments, named by its Variant::kName (the name its
// name() returns, so the two can not differ).
template <class Variant>
EquationEntry variant_entry(std::string description) {
  return {std::string(Variant::kName), std::move(description), &make_variant<Variant>};
}
}  // namespace detail

}  // namespace wuxing

#define WUXING_REGISTER_EQUATION(id) WUXING_DETAIL_REGISTRATION(EquationEntry, equation, id)
