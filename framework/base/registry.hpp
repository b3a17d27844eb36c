// A table of named components (equation variants, steppers, losses): one entry per
// component, each with a name, a one-line description and whatever makes it. Spec
// validation, `wuxing run --help`, the docs' test and the factories all read the same
// table, so a component's name is written in exactly one place: its own file.
//
// How a component gets into its table: its file says WUXING_REGISTER_<KIND>(id) { ... }
// (the kind's header defines the macro), which defines the function
// detail::<kind>_entry_<id>() returning the entry. CMake collects every such line of the
// registering folders into build/generated/registered_<kind>.inc (the list macro
// WUXING_REGISTERED_<KIND>), and the kind's registry.cpp defines its table from that list with
// WUXING_DEFINE_REGISTRY, which calls each listed function in that order.
//
// Why a generated list and not static registrar objects: the core is a static library,
// and the linker only takes an object file out of an archive when something refers to
// one of its symbols. A variant file whose only link to the rest is a static registrar
// would be dropped silently from every executable (the variant would just be "unknown").
// The generated list makes registry.cpp refer to every registration function, so each
// component's object file is always linked, in every consumer of the library (the CLI,
// the tests, the Python module, an installed find_package(wuxing) user) without
// --whole-archive or OBJECT-library tricks that each consumer would have to repeat.
//
// Header-only and free of project dependencies, so that the lowest layer (integrators/)
// can use it too.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wuxing {

// Entry needs `std::string name` and `std::string description`.
template <class Entry>
class Registry {
 public:
  // `kind` names the table in error messages ("unknown <kind> 'x' (known: ...)").
  // Throws std::logic_error on an empty or repeated name: a programming error that must
  // show up on the first use, in every test run.
  Registry(std::string kind, std::vector<Entry> entries)
      : kind_(std::move(kind)), entries_(std::move(entries)) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].name.empty() || entries_[i].description.empty())
        throw std::logic_error(
            fmt::format("{} registry: entry {} has an empty name or description", kind_, i));
      for (std::size_t j = 0; j < i; ++j)
        if (entries_[j].name == entries_[i].name)
          throw std::logic_error(
              fmt::format("{} registry: '{}' is registered twice", kind_, entries_[i].name));
    }
  }

  const std::vector<Entry>& entries() const { return entries_; }

  // nullptr if `name` is not registered.
  const Entry* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }

  // Throws std::invalid_argument naming the unknown name and every registered one.
  const Entry& at(std::string_view name) const {
    if (const Entry* e = find(name)) return *e;
    throw std::invalid_argument(
        fmt::format("unknown {} '{}' (known: {})", kind_, name, fmt::join(names(), ", ")));
  }

  // One line per entry, "<indent><name padded> <description>", for --help.
  std::string help(std::string_view indent) const {
    std::size_t width = 0;
    for (const auto& e : entries_) width = std::max(width, e.name.size());
    std::string out;
    for (const auto& e : entries_)
      out += fmt::format("{}{:<{}}  {}\n", indent, e.name, width, e.description);
    return out;
  }

  // In registration order (the order of the generated list: by file, then by line).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }

 private:
  std::string kind_;
  std::vector<Entry> entries_;
};

}  // namespace wuxing

// Used by the kinds' WUXING_REGISTER_<KIND> macros, at namespace scope inside
// `namespace wuxing`: declares detail::<kind>_entry_<id>() and starts its definition.
#define WUXING_DETAIL_REGISTRATION(Entry, kind, id) \
  namespace detail {                                \
  Entry kind##_entry_##id();                        \
  }                                                 \
  Entry detail::kind##_entry_##id()

// In a kind's registry.cpp, at namespace scope inside `namespace wuxing`, after
// #include "registered_<kind>.inc": defines `const Registry<Entry>& function()`, the table of
// every registration of LIST (WUXING_REGISTERED_<KIND>) in the list's order, named `label` in
// its error messages.
#define WUXING_DETAIL_DECLARE_ENTRY(Entry, kind, id) Entry kind##_entry_##id();
#define WUXING_DETAIL_CALL_ENTRY(Entry, kind, id) detail::kind##_entry_##id(),
#define WUXING_DEFINE_REGISTRY(Entry, function, label, LIST)                               \
  namespace detail {                                                                       \
  LIST(WUXING_DETAIL_DECLARE_ENTRY, Entry)                                                 \
  }                                                                                        \
  const Registry<Entry>& function() {                                                      \
    static const Registry<Entry> registry(label, {LIST(WUXING_DETAIL_CALL_ENTRY, Entry)}); \
    return registry;                                                                       \
  }
