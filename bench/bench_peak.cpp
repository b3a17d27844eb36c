// Peak double-precision FLOP/s of this machine, measured in this binary: chains of
// fused multiply-adds on independent accumulators, so that the FMA units, not their
// latency, are the limit. The network kernels are compared against these figures.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <ctime>

namespace {

// FMA latency (4-5 cycles) x issue rate (2 per cycle) needs >= 10 chains in flight; 12
// keeps all accumulators plus the two constants inside 16 AVX2 registers.
constexpr int kChains = 12;
constexpr std::int64_t kRounds = 4096;  // FMA rounds per benchmark iteration
// acc <- acc * a + b converges to b / (1 - a) = 1: no overflow, no denormals.
constexpr double kA = 0.999999, kB = 1e-6;

#if defined(__AVX512F__)
double fma_chains_avx512(std::int64_t rounds, double start) {
  __m512d acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_pd(start + 0.01 * j);
  const __m512d a = _mm512_set1_pd(kA), b = _mm512_set1_pd(kB);
  for (std::int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_pd(acc[j], a, b);
  }
  __m512d sum = acc[0];
  for (int j = 1; j < kChains; ++j) sum = _mm512_add_pd(sum, acc[j]);
  // Not _mm512_reduce_add_pd: GCC 12's header trips -Wuninitialized with it.
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, sum);
  double total = 0;
  for (double v : lanes) total += v;
  return total;
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
double fma_chains_avx2(std::int64_t rounds, double start) {
  __m256d acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_pd(start + 0.01 * j);
  const __m256d a = _mm256_set1_pd(kA), b = _mm256_set1_pd(kB);
  for (std::int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_pd(acc[j], a, b);
  }
  __m256d sum = acc[0];
  for (int j = 1; j < kChains; ++j) sum = _mm256_add_pd(sum, acc[j]);
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

double fma_chains_scalar(std::int64_t rounds, double start) {
  double acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = start + 0.01 * j;
  for (std::int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = std::fma(acc[j], kA, kB);
  }
  double sum = 0;
  for (int j = 0; j < kChains; ++j) sum += acc[j];
  return sum;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <double (*Kernel)(std::int64_t, double), int Lanes>
void BM_PeakFma(benchmark::State& state) {
  double check = 0, start = 0.5;
  const double cpu0 = thread_cpu_seconds();
  for (auto _ : state) {
    // The kernel is pure: with constant arguments GCC calls it once, outside the loop
    // (seen in the disassembly), and benchmark::DoNotOptimize on the result does not
    // prevent that. An empty asm that makes `start` opaque on every iteration does.
    asm volatile("" : "+x"(start));
    double r = Kernel(kRounds, start);
    asm volatile("" : : "x"(r));
    check = r;
  }
  const double cpu = thread_cpu_seconds() - cpu0;
  // Chain j ends at 1 + (x0_j - 1) a^rounds (fixed point 1 = b / (1 - a)). Anything else
  // means the loop was miscompiled or skipped, and the FLOP count would be a lie.
  double expected = 0;
  for (int j = 0; j < kChains; ++j)
    expected += Lanes * (1.0 + (0.5 + 0.01 * j - 1.0) * std::pow(kA, kRounds));
  if (std::abs(check - expected) > 1e-9 * expected) {
    state.SkipWithError("FMA chains did not compute what was expected");
  }
  const double flops = 2.0 * Lanes * kChains * kRounds;  // an FMA is 2 FLOPs
  const double done = flops * static_cast<double>(state.iterations());
  // Wall-clock rate summed over threads: the machine's throughput with all threads busy.
  state.counters["FLOP/s"] = benchmark::Counter(done, benchmark::Counter::kIsRate);
  // Per second of this thread's own CPU time, averaged over threads: the per-core peak,
  // unaffected by other processes taking the core away now and then.
  state.counters["FLOP/s_per_core_cpu"] =
      benchmark::Counter(cpu > 0 ? done / cpu : 0.0, benchmark::Counter::kAvgThreads);
}

}  // namespace

// Threads(2): both cores at once; the reported rate is the sum over threads (wall time).
#if defined(__AVX512F__)
BENCHMARK(BM_PeakFma<fma_chains_avx512, 8>)
    ->Name("peak_fma/avx512")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
#endif
#if defined(__AVX2__) && defined(__FMA__)
BENCHMARK(BM_PeakFma<fma_chains_avx2, 4>)
    ->Name("peak_fma/avx2")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
#endif
BENCHMARK(BM_PeakFma<fma_chains_scalar, 1>)
    ->Name("peak_fma/scalar")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
