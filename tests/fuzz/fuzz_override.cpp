// libFuzzer target: see fuzz_entries.hpp (override_entry) and scripts/fuzz.
#include "tests/fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wuxing::fuzz::override_entry(data, size);
  return 0;
}
