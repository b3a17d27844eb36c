// libFuzzer target: see fuzz_entries.hpp (spec_entry) and scripts/fuzz.
#include "tests/fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wuxing::fuzz::spec_entry(data, size);
  return 0;
}
