// The names of an enum whose values count 0, 1, 2, ... (the codes stored in results files):
// one table, in the order of the values, instead of a switch per to_string.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace wuxing {

// names[value], or `unknown` for a value past the table (a code read from elsewhere).
template <class E, std::size_t N>
constexpr std::string_view enum_name(E value, const std::array<std::string_view, N>& names,
                                     std::string_view unknown) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : unknown;
}

}  // namespace wuxing
