// 64-bit FNV-1a: run IDs (framework/pipeline/spec.hpp) and checkpoint checksums
// (framework/base/checkpoint.cpp). Its values are part of every stored run ID: never change it.
#pragma once

#include <cstdint>
#include <string_view>

namespace wuxing {

inline std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace wuxing
