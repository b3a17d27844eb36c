// The named options of the config (framework/base/config.hpp) that are not registry names: one
// enum each, with one table of its YAML words in the order of the values. The spec parses a
// word into its value and prints a value as its word from the same table
// (pipeline/spec_keys.cpp), so a config holds only valid values and compares them as enums.
// (Equations, steppers, rules and losses are registry names, strings: framework/base/registry.hpp.)
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

#include "framework/base/enum_names.hpp"

namespace wuxing {

enum class Sharing { shared, per_layer, per_neuron };                   // model.sharing
enum class InputSharing { fixed, shared, per_neuron };                  // model.input_sharing
enum class Connectivity { uniform_random, fixed, sparse, one_to_one };  // network.connectivity
enum class SparseBase { uniform_random, fixed };                        // network.sparse_base
enum class WeightInit { normal, uniform };                              // network.init
enum class Readout { state, drive };                                    // network.readout
enum class DatasetKind { mnist, fashion_mnist, synthetic };             // data.dataset
enum class BackwardMethod { integrate, solve };                  // integrator.backward_method
enum class ForwardMethod { integrate, solve, table };            // integrator.forward_method
enum class PidTarget { connection, fixed_point };                // training.pid_target
enum class UnsettledPolicy { exclude_sample, exclude_element };  // training.unsettled_policy
enum class OptimizerKind { sgd, momentum, adam };                // training.optimizer
enum class LrSchedule { constant, inverse_epoch, cosine };       // training.lr_schedule
enum class MlpActivation { tanh, sigmoid, hard_tanh };           // training.mlp_activation

// OptionNames<E>::names: the words of E's values, names[value] for each value.
template <class E>
struct OptionNames;

#define WUXING_OPTION_NAMES(E, ...)                                               \
  template <>                                                                     \
  struct OptionNames<E> {                                                         \
    static constexpr auto names = std::to_array<std::string_view>({__VA_ARGS__}); \
  }

WUXING_OPTION_NAMES(Sharing, "shared", "per_layer", "per_neuron");
WUXING_OPTION_NAMES(InputSharing, "fixed", "shared", "per_neuron");
WUXING_OPTION_NAMES(Connectivity, "uniform_random", "fixed", "sparse", "one_to_one");
WUXING_OPTION_NAMES(SparseBase, "uniform_random", "fixed");
WUXING_OPTION_NAMES(WeightInit, "normal", "uniform");
WUXING_OPTION_NAMES(Readout, "state", "drive");
WUXING_OPTION_NAMES(DatasetKind, "mnist", "fashion_mnist", "synthetic");
WUXING_OPTION_NAMES(BackwardMethod, "integrate", "solve");
WUXING_OPTION_NAMES(ForwardMethod, "integrate", "solve", "table");
WUXING_OPTION_NAMES(PidTarget, "connection", "fixed_point");
WUXING_OPTION_NAMES(UnsettledPolicy, "exclude_sample", "exclude_element");
WUXING_OPTION_NAMES(OptimizerKind, "sgd", "momentum", "adam");
WUXING_OPTION_NAMES(LrSchedule, "constant", "inverse_epoch", "cosine");
WUXING_OPTION_NAMES(MlpActivation, "tanh", "sigmoid", "hard_tanh");
#undef WUXING_OPTION_NAMES

// An enum with a table of names above.
template <class E>
concept NamedOption = std::is_enum_v<E> && requires {
  OptionNames<E>::names;
};

template <NamedOption E>
constexpr const auto& option_names() {
  return OptionNames<E>::names;
}

// The word of a value ("?" for a value past the table, which no parsed config holds).
template <NamedOption E>
constexpr std::string_view option_name(E value) {
  return enum_name(value, OptionNames<E>::names, "?");
}

// The value whose word is `name`, or nullopt.
template <NamedOption E>
constexpr std::optional<E> parse_option(std::string_view name) {
  const auto& names = OptionNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace wuxing
