// The SIMD kernels that move signals along the connections of one layer pair: the drive of
// the post neurons (gather), its transpose (scatter, the backward transfer) and the
// per-connection products of the local rules.
#include "framework/model/connection_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace wuxing {
namespace detail {

// Four doubles, one AVX2 register (this machine's cores run AVX-512 as two such halves).
using Vec4 = double __attribute__((vector_size(32)));

inline Vec4 load4(const double* p) {
  Vec4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(double* p, Vec4 v) { __builtin_memcpy(p, &v, sizeof v); }
// a * b + c rounded once, as the compiler's contraction of the plain loops gives (GCC does
// not contract every instantiation below by itself).
inline Vec4 fma4(double a, Vec4 b, Vec4 c) {
#if defined(__FMA__)
  return _mm256_fmadd_pd(_mm256_set1_pd(a), b, c);
#else
  return Vec4{std::fma(a, b[0], c[0]), std::fma(a, b[1], c[1]), std::fma(a, b[2], c[2]),
              std::fma(a, b[3], c[3])};
#endif
}

// dst[b] += sum over connections q in [q0, q1) of w_q * (src_q[b] - shift_q) for the
// samples b0 <= b < b0 + 4 Vecs + Tail, the terms added one connection after another as
// in a plain loop (so the sums are the same bits), but with the partial sums held in
// registers across the run: each register is an independent dependency chain, which keeps
// the FMA units busy where a load-add-store per term waits on memory. `term(q, w, src,
// shift)` describes connection q; with Shift = false the shift is ignored. The vector
// types are explicit because GCC otherwise vectorises across connections with gathers.
template <std::size_t Vecs, std::size_t Tail, bool Shift, class Term>
__attribute__((optimize("no-tree-vectorize"))) void accumulate_lanes(double* dst, std::size_t b0,
                                                                     int q0, int q1,
                                                                     const Term& term) {
  Vec4 acc[Vecs == 0 ? 1 : Vecs];
  double rest[Tail == 0 ? 1 : Tail];
  dst += b0;
  for (std::size_t k = 0; k < Vecs; ++k) acc[k] = load4(dst + 4 * k);
  for (std::size_t k = 0; k < Tail; ++k) rest[k] = dst[4 * Vecs + k];
  for (int q = q0; q < q1; ++q) {
    double w, shift = 0.0;
    const double* src;
    term(q, w, src, shift);
    src += b0;
    for (std::size_t k = 0; k < Vecs; ++k) {
      if constexpr (Shift)
        acc[k] = fma4(w, load4(src + 4 * k) - shift, acc[k]);
      else
        acc[k] = fma4(w, load4(src + 4 * k), acc[k]);
    }
    for (std::size_t k = 0; k < Tail; ++k) {
      if constexpr (Shift)
        rest[k] = std::fma(w, src[4 * Vecs + k] - shift, rest[k]);
      else
        rest[k] = std::fma(w, src[4 * Vecs + k], rest[k]);
    }
  }
  for (std::size_t k = 0; k < Vecs; ++k) store4(dst + 4 * k, acc[k]);
  for (std::size_t k = 0; k < Tail; ++k) dst[4 * Vecs + k] = rest[k];
}

// Samples are taken kGroup at a time (8 registers of partial sums); the width of the last
// group selects its own instantiation.
constexpr std::size_t kGroup = 32;

template <bool Shift, class Term>
void accumulate_run(std::size_t B, double* dst, int q0, int q1, const Term& term) {
  using Kernel = void (*)(double*, std::size_t, int, int, const Term&);
  static constexpr auto kernels = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Kernel, kGroup>{&accumulate_lanes<(I + 1) / 4, (I + 1) % 4, Shift, Term>...};
  }
  (std::make_index_sequence<kGroup>{});
  for (std::size_t b0 = 0; b0 < B; b0 += kGroup)
    kernels[std::min(kGroup, B - b0) - 1](dst, b0, q0, q1, term);
}

}  // namespace detail

// ui[b_c][:] = sum of c * s[pre][a_c][:] over the connections landing on post neuron i, with
// the signal s = x - x*(pre) formed on the fly when `fixed` (x* per pre neuron) is given,
// else s = x. Each sum runs in connection order.
void gather_post(const ConnectionSet& cs, int n, std::size_t B, const double* x,
                 const double* fixed, int i, double* ui) {
  std::fill(ui, ui + static_cast<std::size_t>(n) * B, 0.0);
  // Runs of consecutive connections that drive the same element share the registers.
  for (int c0 = cs.post_start[i], c1 = c0; c0 < cs.post_start[i + 1]; c0 = c1) {
    while (c1 < cs.post_start[i + 1] && cs.b[c1] == cs.b[c0]) ++c1;
    double* ub = ui + static_cast<std::size_t>(cs.b[c0]) * B;
    auto term = [&](int c, double& w, const double*& src, double& shift) {
      w = cs.coef[c];
      src = x + (static_cast<std::size_t>(cs.pre[c]) * n + cs.a[c]) * B;
      shift = fixed ? fixed[cs.pre[c]] : 0.0;
    };
    if (fixed)
      detail::accumulate_run<true>(B, ub, c0, c1, term);
    else
      detail::accumulate_run<false>(B, ub, c0, c1, term);
  }
}

// The drive of every post neuron (gather_post); writes are disjoint per post neuron, so the
// result does not depend on the thread count.
void gather_drive(const ConnectionSet& cs, int n, std::size_t B, const double* x,
                  const double* fixed, double* u) {
  const bool parallel = cs.size() * B > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int i = 0; i < cs.post_size; ++i)
    gather_post(cs, n, B, x, fixed, i, u + static_cast<std::size_t>(i) * n * B);
}

// oj[a_c][:] += c * v[post][b_c][:] for every connection leaving pre neuron j (the
// transpose of gather_post), in connection order.
void scatter_pre(const ConnectionSet& cs, int n, std::size_t B, const double* v, int j,
                 double* oj) {
  const int end = cs.pre_start[j + 1];
  for (int q0 = cs.pre_start[j], q1 = q0; q0 < end; q0 = q1) {
    while (q1 < end && cs.a[cs.by_pre[q1]] == cs.a[cs.by_pre[q0]]) ++q1;
    detail::accumulate_run<false>(B, oj + static_cast<std::size_t>(cs.a[cs.by_pre[q0]]) * B, q0, q1,
                                  [&](int q, double& w, const double*& src, double& /*shift*/) {
                                    const int c = cs.by_pre[q];
                                    w = cs.coef[c];
                                    src = v +
                                          (static_cast<std::size_t>(cs.post[c]) * n + cs.b[c]) * B;
                                  });
  }
}

// scatter_pre for every pre neuron; writes are disjoint per pre neuron.
void scatter_back(const ConnectionSet& cs, int n, std::size_t B, const double* v, double* out) {
  const bool parallel = cs.size() * B > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int j = 0; j < cs.pre_size; ++j)
    scatter_pre(cs, n, B, v, j, out + static_cast<std::size_t>(j) * n * B);
}

// g_c = sum_b v[post][b_c][b] * s[pre][a_c][b] (one value per connection, in batch order).
void connection_products(const ConnectionSet& cs, int n, std::size_t B, const double* v,
                         const double* s, double scale, double* g) {
  const std::int64_t m = static_cast<std::int64_t>(cs.size());
  const bool parallel = cs.size() * B > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::int64_t c = 0; c < m; ++c) {
    const double* vi = v + (static_cast<std::size_t>(cs.post[c]) * n + cs.b[c]) * B;
    const double* sj = s + (static_cast<std::size_t>(cs.pre[c]) * n + cs.a[c]) * B;
    double acc = 0.0;
    for (std::size_t b = 0; b < B; ++b) acc += vi[b] * sj[b];
    g[c] += scale * acc;
  }
}

}  // namespace wuxing
