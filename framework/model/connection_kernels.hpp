// Signals along the connections of one layer pair (see connectivity.hpp for the layout of a
// ConnectionSet). Arrays are [neuron][element][b] with B samples innermost. Each sum runs in
// connection order, so results do not depend on the number of threads.
#pragma once

#include <cstddef>

#include "framework/model/connectivity.hpp"
#include "framework/model/layer.hpp"

namespace wuxing {

// Parallelise a loop over neurons only when there is enough work per thread.
inline constexpr std::size_t kParallelWork = 4096;

// ui[b_c][:] = sum of c * s[pre][a_c][:] over the connections landing on post neuron i, with
// the signal s = x - x*(pre) formed on the fly when `fixed` (x* per pre neuron) is given,
// else s = x.
void gather_post(const ConnectionSet& cs, int n, std::size_t B, const double* x,
                 const double* fixed, int i, double* ui);
// gather_post for every post neuron into u (writes are disjoint per post neuron).
void gather_drive(const ConnectionSet& cs, int n, std::size_t B, const double* x,
                  const double* fixed, double* u);
// oj[a_c][:] += c * v[post][b_c][:] for every connection leaving pre neuron j (the transpose
// of gather_post).
void scatter_pre(const ConnectionSet& cs, int n, std::size_t B, const double* v, int j, double* oj);
// scatter_pre for every pre neuron into out (writes are disjoint per pre neuron).
void scatter_back(const ConnectionSet& cs, int n, std::size_t B, const double* v, double* out);
// g_c += scale * sum_b v[post][b_c][b] * s[pre][a_c][b], one value per connection.
void connection_products(const ConnectionSet& cs, int n, std::size_t B, const double* v,
                         const double* s, double scale, double* g);

}  // namespace wuxing
