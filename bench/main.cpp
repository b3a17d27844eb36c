// Benchmark driver: Google Benchmark's main plus the build facts a figure depends on.
#include <benchmark/benchmark.h>

#include <string>

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
#if defined(__AVX512F__)
  benchmark::AddCustomContext("wuxing_simd", "avx512f (8 doubles per vector)");
#elif defined(__AVX2__)
  benchmark::AddCustomContext("wuxing_simd", "avx2 (4 doubles per vector)");
#else
  benchmark::AddCustomContext("wuxing_simd", "none detected at compile time");
#endif
  benchmark::AddCustomContext("wuxing_compiler", __VERSION__);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
