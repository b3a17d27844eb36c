// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (the
// intrinsics' self-initialised __Y; -Wuninitialized at -O2, as in the sanitizer build); it is
// not in our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "framework/network.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "integrators/integrator.hpp"

#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace wuxing {
namespace {

// Parallelise a loop over neurons only when there is enough work per thread.
constexpr std::size_t kParallelWork = 4096;

constexpr double kMaxFinite = std::numeric_limits<double>::max();

// d x* / d K_m. jiang-r1 has the closed form x* = (K1 - K3) / K2; other variants use a
// central difference of their fixed_point().
std::array<double, 3> fixed_point_derivative(const Equation& eq, const KParams& K) {
  if (eq.name() == "jiang-r1") return {1.0 / K.K2, -(K.K1 - K.K3) / (K.K2 * K.K2), -1.0 / K.K2};
  std::array<double, 3> d{};
  for (int m = 0; m < 3; ++m) {
    KParams hi = K, lo = K;
    double* ph = m == 0 ? &hi.K1 : m == 1 ? &hi.K2 : &hi.K3;
    double* pl = m == 0 ? &lo.K1 : m == 1 ? &lo.K2 : &lo.K3;
    const double step = 1e-6 * std::max(1.0, std::abs(*ph));
    *ph += step;
    *pl -= step;
    d[m] = (eq.fixed_point(hi) - eq.fixed_point(lo)) / (2.0 * step);
  }
  return d;
}

// Per-thread scratch, reused across calls so that the integrators do not allocate per step.
std::vector<double>& scratch(int which) {
  thread_local std::vector<double> buffers[6];
  return buffers[which];
}

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

}  // namespace

// ---------------------------------------------------------------------------------------
// Structure

Network::Network(const ExperimentConfig& config, int features, int classes)
    : equation_(make_equation(config.model.variant)),
      topo_{config.model.n, config.model.g, config.model.k},
      net_config_(config.network),
      model_config_(config.model) {
  topo_.validate();
  if (features <= 0 || classes <= 0)
    throw std::invalid_argument(
        fmt::format("network needs features > 0 and classes > 0 (got {}, {})", features, classes));
  output_element_ = config.network.output_element;
  if (output_element_ < 0 || output_element_ >= topo_.n)
    throw std::invalid_argument(
        fmt::format("network.output_element = {} is outside 0..{}", output_element_, topo_.n - 1));
  if (config.network.input_element < 0 || config.network.input_element >= topo_.n)
    throw std::invalid_argument(fmt::format("network.input_element = {} is outside 0..{}",
                                            config.network.input_element, topo_.n - 1));
  if (!(config.network.x_min < config.network.x_max))
    throw std::invalid_argument(fmt::format("network.x_min = {} must be below x_max = {}",
                                            config.network.x_min, config.network.x_max));
  sizes_.push_back(features);
  for (int h : config.network.hidden) {
    if (h <= 0)
      throw std::invalid_argument(fmt::format("network.hidden sizes must be > 0 (got {})", h));
    sizes_.push_back(h);
  }
  sizes_.push_back(classes);
  const int L = layer_count() - 1;
  offsets_.assign(L + 2, 0);
  for (int l = 1; l <= L; ++l) offsets_[l + 1] = offsets_[l] + sizes_[l];

  KParams K{config.model.K1, config.model.K2, config.model.K3};
  if (config.model.fixed_point_target)
    K = equation_->with_fixed_point(K, *config.model.fixed_point_target);
  equation_->validate(K);
  input_K_ = K;
  k_index_.assign(L + 1, {});
  const std::string& sharing = config.model.sharing;
  if (sharing != "shared" && sharing != "per_layer" && sharing != "per_neuron")
    throw std::invalid_argument(fmt::format(
        "model.sharing '{}' must be shared, per_layer or per_neuron", config.model.sharing));
  for (int l = 1; l <= L; ++l) {
    if (sharing == "per_layer" || (sharing == "shared" && l == 1)) k_table_.push_back(K);
    for (int i = 0; i < sizes_[l]; ++i) {
      if (sharing == "per_neuron") k_table_.push_back(K);
      k_index_[l].push_back(static_cast<int>(k_table_.size()) - 1);
    }
  }
  for (int l = 1; l <= L; ++l)
    conns_.push_back(make_connections(config.network, topo_.n, sizes_[l - 1], sizes_[l], l == 1,
                                      config.seed, l - 1));
}

void Network::solve_input_cache(double pixel_scale) const {
  const int n = topo_.n;
  input_cache_.assign(256, {});
  input_cache_clamped_.assign(256, 0);
  const double xs = equation_->fixed_point(input_K_);
  Eigen::VectorXd x = Eigen::VectorXd::Constant(n, xs);
  std::vector<double> u(n, 0.0), f(n);
  // Continuation in the pixel value keeps Newton on the branch that starts at x*.
  for (int byte = 0; byte < 256; ++byte) {
    u[net_config_.input_element] = net_config_.alpha * byte * pixel_scale;
    double residual = 0.0;
    for (int it = 0; it < 100; ++it) {
      equation_->rhs(topo_, input_K_, x.data(), u.data(), f.data(), 1);
      Eigen::Map<Eigen::VectorXd> F(f.data(), n);
      residual = F.cwiseAbs().maxCoeff();
      if (residual < 1e-14) break;
      const Eigen::MatrixXd J = equation_->jacobian(topo_, input_K_, x);
      x -= J.partialPivLu().solve(F);
    }
    if (!(residual < 1e-10))
      throw std::runtime_error(
          fmt::format("input neuron: no steady state found for pixel {} (alpha = {}): residual {}",
                      byte * pixel_scale, net_config_.alpha, residual));
    for (int a = 0; a < n; ++a) {
      double v = x(a);
      if (v < net_config_.x_min || v > net_config_.x_max) {
        v = std::clamp(v, net_config_.x_min, net_config_.x_max);
        ++input_cache_clamped_[byte];
      }
      input_cache_[byte][a] = v - xs;
    }
  }
  cached_scale_ = pixel_scale;
}

const std::array<double, 16>& Network::input_signal(std::uint8_t byte, double pixel_scale) const {
  if (cached_scale_ != pixel_scale) solve_input_cache(pixel_scale);
  return input_cache_[byte];
}

int Network::input_clamped(std::uint8_t byte, double pixel_scale) const {
  if (cached_scale_ != pixel_scale) solve_input_cache(pixel_scale);
  return input_cache_clamped_[byte];
}

void Gradients::reset(const Network& net) {
  const int L = net.layer_count() - 1;
  coef.resize(L);
  for (int l = 1; l <= L; ++l) coef[l - 1].assign(net.connections(l).size(), 0.0);
  K.assign(net.k_table().size(), {0.0, 0.0, 0.0});
}

// ---------------------------------------------------------------------------------------
// Inputs and the network's vector field

void set_inputs(const Network& net, const std::uint8_t* pixels, int features, double pixel_scale,
                const std::vector<std::size_t>& indices, const std::uint8_t* labels, Batch& batch) {
  if (features != net.layer_size(0))
    throw std::invalid_argument(
        fmt::format("data has {} features, the network expects {}", features, net.layer_size(0)));
  if (net.n() > 16) throw std::invalid_argument("model.n > 16 is not supported");
  const int n = net.n();
  const std::size_t B = indices.size();
  batch.B = B;
  net.input_signal(0, pixel_scale);  // fill the cache before the parallel loop
  batch.s_in.assign(static_cast<std::size_t>(features) * n * B, 0.0);
  batch.input_clamps = 0;
  for (std::size_t b = 0; b < B; ++b) {
    const std::uint8_t* row = pixels + indices[b] * features;
    for (int j = 0; j < features; ++j) {
      const auto& sig = net.input_signal(row[j], pixel_scale);
      batch.input_clamps += net.input_clamped(row[j], pixel_scale);
      for (int a = 0; a < n; ++a)
        batch.s_in[(static_cast<std::size_t>(j) * n + a) * B + b] = sig[a];
    }
  }
  batch.u_in.assign(static_cast<std::size_t>(net.layer_size(1)) * n * B, 0.0);
  gather_drive(net.connections(1), n, B, batch.s_in.data(), nullptr, batch.u_in.data());
  batch.labels.resize(B);
  for (std::size_t b = 0; b < B; ++b) batch.labels[b] = labels ? labels[indices[b]] : 0;
  batch.x.assign(net.state_size(B), 0.0);
}

void layer_signals(const Network& net, int l, std::size_t B, const double* x, double* s) {
  const int n = net.n();
  const double* xl = x + net.layer_offset(l, B);
  for (int j = 0; j < net.layer_size(l); ++j) {
    const double xs = net.fixed_point(l, j);
    const std::size_t base = static_cast<std::size_t>(j) * n * B;
    for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q)
      s[base + q] = xl[base + q] - xs;
  }
}

namespace {

// The network's vector fields, evaluated one neuron block at a time: block k is the k-th
// integrated neuron (layers in order), elements [k n B, (k + 1) n B) of the flat state,
// and its derivative depends only on the state the field is evaluated at. So a stepper can
// finish each block (stage arithmetic, rates, update) while it is still in L1, and the
// blocks can be taken in any order.
// Keeps lanes `keep` (increasing) of every row of a [row][lane] array with `lanes` lanes, in
// place: each value moves to a lower or the same index, in increasing order.
void keep_lanes_of(std::vector<double>& a, std::size_t lanes,
                   const std::vector<std::size_t>& keep) {
  const std::size_t rows = a.size() / lanes;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < keep.size(); ++j) a[r * keep.size() + j] = a[r * lanes + keep[j]];
  a.resize(rows * keep.size());
}

// The same for an array the caller owns (`size` values at `data`): the kept lanes go into
// `own`, a copy made on the first call, and `data` is pointed at it.
void keep_lanes_of(const double*& data, std::vector<double>& own, std::size_t size,
                   std::size_t lanes, const std::vector<std::size_t>& keep) {
  if (!data) return;
  if (own.empty()) own.assign(data, data + size);
  keep_lanes_of(own, lanes, keep);
  data = own.data();
}

class NeuronBlocks {
 public:
  explicit NeuronBlocks(const Network& net) : net_(net) {
    for (int l = 1; l < net.layer_count(); ++l)
      for (int i = 0; i < net.layer_size(l); ++i) {
        layer_.push_back(l);
        index_.push_back(i);
      }
  }
  std::size_t blocks() const { return layer_.size(); }

 protected:
  const Network& net_;
  std::vector<int> layer_, index_;  // block -> (layer, neuron)
};

// f(x): neuron i of layer l sees the drive of the inputs (l = 1, constant) or the signals
// x - x* of layer l - 1 through its incoming connections.
class ForwardField : public NeuronBlocks {
 public:
  ForwardField(const Network& net, const Batch& batch)
      : NeuronBlocks(net), B_(batch.B), u_in_(batch.u_in.data()) {
    for (int l = 1; l + 1 < net.layer_count(); ++l) {
      fixed_.emplace_back();
      for (int i = 0; i < net.layer_size(l); ++i) fixed_.back().push_back(net.fixed_point(l, i));
    }
  }
  // The stepper dropped every lane (sample) but `keep`: the constant drive follows.
  void keep_lanes(const std::vector<std::size_t>& keep) {
    keep_lanes_of(u_in_, own_u_in_, static_cast<std::size_t>(net_.layer_size(1)) * net_.n() * B_,
                  B_, keep);
    B_ = keep.size();
  }
  void eval(std::size_t k, const double* x, double* f) const {
    const int l = layer_[k], i = index_[k], n = net_.n();
    const std::size_t B = B_, nB = static_cast<std::size_t>(n) * B;
    const double* drive = u_in_ + i * nB;
    if (l > 1) {
      std::vector<double>& u = scratch(0);
      u.resize(nB);
      gather_post(net_.connections(l), n, B, x + net_.layer_offset(l - 1, B), fixed_[l - 2].data(),
                  i, u.data());
      drive = u.data();
    }
    net_.equation().rhs(net_.topology(), net_.K(l, i), x + k * nB, drive, f, B);
  }

 private:
  std::size_t B_;
  const double* u_in_;                      // [neuron of layer 1][element][lane]
  std::vector<double> own_u_in_;            // its compacted copy, once lanes were dropped
  std::vector<std::vector<double>> fixed_;  // x* per neuron of layers 1..L-1 (the senders)
};

// out = J_net(x)^T v (the neuron's own block plus what its outgoing connections carry back
// from layer l + 1); with a mask D and a source e (the backward phase), D (out + e).
class AdjointField : public NeuronBlocks {
 public:
  AdjointField(const Network& net, std::size_t B, const double* x, const double* D = nullptr,
               const double* e = nullptr)
      : NeuronBlocks(net), B_(B), x_(x), D_(D), e_(e) {}
  // The stepper dropped every lane (sample) but `keep`: the operating point, mask and source
  // follow (compacted copies).
  void keep_lanes(const std::vector<std::size_t>& keep) {
    const std::size_t size = blocks() * net_.n() * B_;
    keep_lanes_of(x_, own_x_, size, B_, keep);
    keep_lanes_of(D_, own_D_, size, B_, keep);
    keep_lanes_of(e_, own_e_, size, B_, keep);
    B_ = keep.size();
  }
  void eval(std::size_t k, const double* v, double* out) const {
    const int l = layer_[k], j = index_[k], n = net_.n();
    const std::size_t nB = static_cast<std::size_t>(n) * B_, o = k * nB;
    net_.equation().jacobian_transpose_apply(net_.topology(), net_.K(l, j), x_ + o, v + o, out, B_);
    // A connection j -> i adds c * s_{j,a} to f_{i,b}: J[(i,b),(j,a)] = c.
    if (l + 1 < net_.layer_count())
      scatter_pre(net_.connections(l + 1), n, B_, v + net_.layer_offset(l + 1, B_), j, out);
    if (D_)
      for (std::size_t q = 0; q < nB; ++q) out[q] = D_[o + q] * (out[q] + e_[o + q]);
  }

 private:
  std::size_t B_;
  const double* x_;
  const double* D_;
  const double* e_;
  std::vector<double> own_x_, own_D_, own_e_;  // compacted copies, once lanes were dropped
};

// The whole field, block after block.
template <class Field>
void eval_all(const Field& field, std::size_t block_size, const double* y, double* f) {
  for (std::size_t k = 0; k < field.blocks(); ++k) field.eval(k, y, f + k * block_size);
}

}  // namespace

void network_rhs(const Network& net, const Batch& batch, const double* x, double* dxdt) {
  eval_all(ForwardField(net, batch), static_cast<std::size_t>(net.n()) * batch.B, x, dxdt);
}

void network_jt_apply(const Network& net, std::size_t B, const double* x, const double* v,
                      double* out) {
  eval_all(AdjointField(net, B, x), static_cast<std::size_t>(net.n()) * B, v, out);
}

// ---------------------------------------------------------------------------------------
// Forward phase

namespace {

void fill_fixed_points(const Network& net, std::size_t B, double* x) {
  const int n = net.n();
  for (int l = 1; l < net.layer_count(); ++l) {
    double* xl = x + net.layer_offset(l, B);
    for (int i = 0; i < net.layer_size(l); ++i)
      std::fill(xl + static_cast<std::size_t>(i) * n * B,
                xl + static_cast<std::size_t>(i + 1) * n * B, net.fixed_point(l, i));
  }
}

// Rate of an element, except that one held at a bound and pushed outward is at rest.
inline double projected_rate(double x, double f, double lo, double hi) {
  if ((x <= lo && f < 0.0) || (x >= hi && f > 0.0)) return 0.0;
  return std::abs(f);
}

// The clamped system: an element held at a bound and pushed outward does not move. Both
// Heun stages use the projected rate, so that the discrete map's fixed points are exactly
// the states where the projected rate vanishes (the settle test) and the elements that
// are held never leak a beyond-range value into the other elements through the second
// stage. Returns 1 where the rate is kept, 0 where it was zeroed.
inline double project(double x, double& f, double lo, double hi) {
  if ((x <= lo && f < 0.0) || (x >= hi && f > 0.0)) {
    f = 0.0;
    return 0.0;
  }
  return 1.0;
}

void record_probes(const Network& net, std::size_t B, const double* x, double t,
                   std::vector<TrajectoryProbe>* probes, std::int64_t step, bool force) {
  if (!probes) return;
  const int n = net.n();
  for (auto& p : *probes) {
    if (!force && step % std::max(1, p.stride) != 0) continue;
    if (force && !p.times.empty() && p.times.back() == t) continue;
    p.times.push_back(t);
    const double* xl = x + net.layer_offset(p.layer, B);
    for (int i = 0; i < net.layer_size(p.layer); ++i)
      for (int e = 0; e < n; ++e)
        p.values.push_back(xl[(static_cast<std::size_t>(i) * n + e) * B + p.sample]);
  }
}

void finish_report(const Network& net, std::size_t B, const double* x, PhaseReport& r) {
  const double lo = net.config().x_min, hi = net.config().x_max;
  const std::size_t size = net.state_size(B);
  for (std::size_t q = 0; q < size; ++q)
    if (x[q] <= lo || x[q] >= hi) ++r.clamped_elements;
  r.unsettled = 0;
  r.steps_total = 0;
  r.max_steps = 0;
  for (std::size_t b = 0; b < B; ++b) {
    if (!r.sample_settled[b]) ++r.unsettled;
    r.steps_total += r.sample_steps[b];
    r.max_steps = std::max(r.max_steps, r.sample_steps[b]);
  }
}

// Per-sample max of |rate| (projected at bounds when `x` is given) and non-finite flags.
// Branch-free so that the inner loop vectorises: a NaN or infinite rate never counts (as in
// max-of-finite), and a value is flagged through (v - v), which is NaN iff v is not finite.
void sample_rates(std::size_t size, std::size_t B, const double* f, const double* x, double lo,
                  double hi, std::vector<double>& rate, std::vector<char>& bad) {
  rate.assign(B, 0.0);
  std::vector<double>& acc = scratch(4);
  acc.assign(B, 0.0);
  double* rt = rate.data();
  double* ac = acc.data();
  for (std::size_t q = 0; q < size; q += B) {
    const double* fq = f + q;
    if (x) {
      const double* xq = x + q;
      for (std::size_t b = 0; b < B; ++b) {
        const double fv = fq[b], xv = xq[b];
        const bool held = (xv <= lo && fv < 0.0) || (xv >= hi && fv > 0.0);
        double r = held ? 0.0 : std::abs(fv);
        r = r <= kMaxFinite ? r : 0.0;
        rt[b] = rt[b] < r ? r : rt[b];
        ac[b] += (fv - fv) + (xv - xv);
      }
    } else {
      for (std::size_t b = 0; b < B; ++b) {
        const double fv = fq[b];
        double r = std::abs(fv);
        r = r <= kMaxFinite ? r : 0.0;
        rt[b] = rt[b] < r ? r : rt[b];
        ac[b] += fv - fv;
      }
    }
  }
  bad.resize(B);
  for (std::size_t b = 0; b < B; ++b) bad[b] = !(ac[b] == 0.0);
}

// Fused improved-Euler integration of dy/dt = f(y) over a batch, one neuron block of the
// field at a time: each block's derivative, stage arithmetic, rate test and update run
// while the block is in L1. Each sample is frozen once its own max rate drops below tol, so
// its result does not depend on its batch-mates. Frozen samples are then dropped from the
// working arrays (their lanes compacted away; the field follows via keep_lanes), so the
// work follows the samples still moving. Lanes never mix, so the results are the same bits
// as without the compaction. `Clamp` applies the value range (forward phase only).
template <bool Clamp, class Field>
void fused_heun(Field& field, std::size_t B, double* y, double h, double t_max, double tol,
                std::int64_t max_steps, double lo, double hi, PhaseReport& r, const Network& net,
                std::vector<TrajectoryProbe>* probes) {
  const std::size_t rows = field.blocks() * static_cast<std::size_t>(net.n());
  // Probes read samples by their batch index: keep every lane where they look.
  const bool compact = !probes || probes->empty();
  std::vector<double>& w = scratch(5);  // the state of the lanes still integrated
  w.assign(y, y + rows * B);
  std::vector<std::size_t> lane(B), keep;  // lane -> sample
  for (std::size_t b = 0; b < B; ++b) lane[b] = b;
  std::size_t Bc = B;  // lanes in the working arrays
  std::vector<double>& k1 = scratch(2);
  std::vector<double>& k2 = scratch(3);
  k1.resize(rows * B);
  k2.resize(static_cast<std::size_t>(net.n()) * B);
  std::vector<double> yt(rows * B), rate(B), acc(B);
  std::vector<double> active(B, 1.0);
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 0);
  std::int64_t step = 0;
  double t = 0.0;
  std::size_t live = B;
  double* k2p = k2.data();
  double* rt = rate.data();
  double* ac = acc.data();
  const double* act = active.data();
  // Writes lane b of the working state to its sample's place in y.
  auto store_lane = [&](std::size_t b) {
    for (std::size_t q = 0; q < rows; ++q) y[q * B + lane[b]] = w[q * Bc + b];
  };
  while (true) {
    const std::size_t block = static_cast<std::size_t>(net.n()) * Bc;
    // First stage, block by block: the derivative, projected (clamped system), each
    // sample's max |rate| and a non-finite flag (see sample_rates), and the stage state.
    // Branch-free so that it vectorises.
    std::fill(rt, rt + Bc, 0.0);
    std::fill(ac, ac + Bc, 0.0);
    for (std::size_t k = 0; k < field.blocks(); ++k) {
      double* f = k1.data() + k * block;
      const double* yk = w.data() + k * block;
      double* ytk = yt.data() + k * block;
      field.eval(k, w.data(), f);
      for (std::size_t q0 = 0; q0 < block; q0 += Bc) {
        for (std::size_t b = 0; b < Bc; ++b) {
          double fv = f[q0 + b];
          const double yv = yk[q0 + b];
          if constexpr (Clamp) {
            const bool held = (yv <= lo && fv < 0.0) || (yv >= hi && fv > 0.0);
            fv = held ? 0.0 : fv;
            f[q0 + b] = fv;
          }
          double rv = std::abs(fv);
          rv = rv <= kMaxFinite ? rv : 0.0;
          rt[b] = rt[b] < rv ? rv : rt[b];
          ac[b] += fv - fv;
          ytk[q0 + b] = yv + h * fv;
        }
      }
    }
    for (std::size_t b = 0; b < Bc; ++b) {
      if (active[b] == 0.0) continue;
      if (!(ac[b] == 0.0)) {
        ++r.non_finite;
        active[b] = 0.0;
        r.sample_steps[lane[b]] = step;
        --live;
      } else if (rate[b] < tol) {
        r.sample_settled[lane[b]] = 1;
        active[b] = 0.0;
        r.sample_steps[lane[b]] = step;
        --live;
      }
    }
    if (!compact) record_probes(net, B, w.data(), t, probes, step, false);
    if (live == 0) break;
    if (t >= t_max - 1e-9 * h || step >= max_steps) {
      if (step >= max_steps && t < t_max - 1e-9 * h)
        r.step_cap_hits += static_cast<std::int64_t>(live);
      for (std::size_t b = 0; b < Bc; ++b)
        if (active[b] != 0.0) r.sample_steps[lane[b]] = step;
      break;
    }
    // Second stage, block by block: the derivative at the stage state, projected there, and
    // the masked (clamped) update in one branch-free pass; frozen samples keep their state.
    // The field reads only the stage state, so updating w block by block is safe.
    const double half = 0.5 * h;
    std::fill(ac, ac + Bc, 0.0);  // now: clamp events per lane (a sum per row would not vectorise)
    for (std::size_t k = 0; k < field.blocks(); ++k) {
      const double* f1 = k1.data() + k * block;
      const double* ytk = yt.data() + k * block;
      double* yk = w.data() + k * block;
      field.eval(k, yt.data(), k2p);
      for (std::size_t q0 = 0; q0 < block; q0 += Bc) {
        for (std::size_t b = 0; b < Bc; ++b) {
          double f2v = k2p[q0 + b];
          if constexpr (Clamp) {
            const double xv = ytk[q0 + b];
            const bool held = ((xv <= lo) & (f2v < 0.0)) | ((xv >= hi) & (f2v > 0.0));
            f2v = held ? 0.0 : f2v;
          }
          const double yv = yk[q0 + b];
          double v = yv + half * (f1[q0 + b] + f2v);
          const bool live_b = act[b] != 0.0;
          if constexpr (Clamp) {
            // lo < hi, so this is "below ? lo : above ? hi : v" (a NaN passes through).
            const bool outside = (v < lo) | (v > hi);
            ac[b] += (live_b & outside) ? 1.0 : 0.0;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
          }
          yk[q0 + b] = live_b ? v : yv;
        }
      }
    }
    if constexpr (Clamp)
      for (std::size_t b = 0; b < Bc; ++b) r.clamp_events += static_cast<std::int64_t>(ac[b]);
    ++step;
    t = step * h;
    if (compact && live < Bc) {
      // Frozen lanes are final: store them, then keep only the live ones.
      keep.clear();
      for (std::size_t b = 0; b < Bc; ++b) {
        if (active[b] == 0.0)
          store_lane(b);
        else
          keep.push_back(b);
      }
      keep_lanes_of(w, Bc, keep);
      for (std::size_t j = 0; j < live; ++j) lane[j] = lane[keep[j]];
      field.keep_lanes(keep);
      Bc = live;
      std::fill(active.begin(), active.begin() + Bc, 1.0);
    }
  }
  for (std::size_t b = 0; b < Bc; ++b) store_lane(b);
  record_probes(net, B, y, t, probes, step, true);
}

// Any other method: the flattened state through the generic stepper; the batch stops together.
template <class Rhs>
void generic_integration(const std::string& method, std::size_t size, std::size_t B, double* y,
                         const Rhs& rhs, const IntegratorConfig& integ, double t_max, double tol,
                         bool clamp, double lo, double hi, PhaseReport& r) {
  IntegrationOptions opt;
  opt.h = integ.h;
  opt.t_max = t_max;
  opt.tol = tol;
  opt.max_steps = static_cast<std::size_t>(integ.max_steps);
  opt.rtol = integ.rtol;
  opt.atol = integ.atol;
  auto stepper = make_stepper(method, opt);
  State state(y, y + size);
  System system = [&](const State& s, State& d, double) {
    d.resize(s.size());
    rhs(s.data(), d.data());
  };
  StepHook hook;
  if (clamp)
    hook = [&](State& s, double) {
      for (double& v : s) {
        if (v < lo) {
          v = lo;
          ++r.clamp_events;
        } else if (v > hi) {
          v = hi;
          ++r.clamp_events;
        }
      }
    };
  const IntegrationReport rep = integrate_to_steady(*stepper, system, state, opt, hook);
  std::copy(state.begin(), state.end(), y);
  std::vector<double> f(size), rate;
  std::vector<char> bad;
  rhs(y, f.data());
  sample_rates(size, B, f.data(), clamp ? y : nullptr, lo, hi, rate, bad);
  r.sample_steps.assign(B, static_cast<std::int64_t>(rep.steps));
  r.sample_settled.assign(B, 0);
  // The driver judged steady state on its own last derivative; a sample counts as settled
  // when the driver settled the whole batch or its own rate is below tol now.
  const bool all_settled = rep.reason == StopReason::settled;
  for (std::size_t b = 0; b < B; ++b) {
    r.sample_settled[b] = !bad[b] && (all_settled || rate[b] < tol);
    if (bad[b]) ++r.non_finite;
  }
  if (rep.reason == StopReason::step_cap)
    for (std::size_t b = 0; b < B; ++b) r.step_cap_hits += !r.sample_settled[b];
}

}  // namespace

PhaseReport forward_phase(const Network& net, Batch& batch, const IntegratorConfig& integ,
                          std::vector<TrajectoryProbe>* probes) {
  PhaseReport r;
  const std::size_t B = batch.B;
  const std::size_t size = net.state_size(B);
  batch.x.assign(size, 0.0);
  fill_fixed_points(net, B, batch.x.data());
  auto rhs = [&](const double* y, double* f) { network_rhs(net, batch, y, f); };
  const double lo = net.config().x_min, hi = net.config().x_max;
  if (integ.method == "heun") {
    ForwardField field(net, batch);
    fused_heun<true>(field, B, batch.x.data(), integ.h, integ.t_max, integ.tol, integ.max_steps, lo,
                     hi, r, net, probes);
  } else {
    generic_integration(integ.method, size, B, batch.x.data(), rhs, integ, integ.t_max, integ.tol,
                        true, lo, hi, r);
    record_probes(net, B, batch.x.data(), 0.0, probes, 0, true);
  }
  finish_report(net, B, batch.x.data(), r);
  return r;
}

// ---------------------------------------------------------------------------------------
// Loss

std::vector<double> output_loss(const Network& net, const Batch& batch,
                                const TrainingConfig& training, std::vector<double>& dlds,
                                std::vector<int>* predictions) {
  const int L = net.layer_count() - 1;
  const int C = net.layer_size(L);
  const int n = net.n();
  const std::size_t B = batch.B;
  const double* xl = batch.x.data() + net.layer_offset(L, B);
  const int oe = net.output_element();
  const bool ce = training.loss == "cross_entropy";
  if (!ce && training.loss != "mse")
    throw std::invalid_argument(
        fmt::format("training.loss '{}' must be cross_entropy or mse", training.loss));
  dlds.assign(static_cast<std::size_t>(C) * B, 0.0);
  std::vector<double> loss(B, 0.0);
  if (predictions) predictions->assign(B, 0);
  std::vector<double> s(C), p(C);
  for (std::size_t b = 0; b < B; ++b) {
    for (int k = 0; k < C; ++k)
      s[k] = xl[(static_cast<std::size_t>(k) * n + oe) * B + b] - net.fixed_point(L, k);
    const int y = batch.labels[b];
    int best = 0;
    for (int k = 1; k < C; ++k)
      if (s[k] > s[best]) best = k;
    if (predictions) (*predictions)[b] = best;
    if (ce) {
      double zmax = -std::numeric_limits<double>::infinity();
      for (int k = 0; k < C; ++k) zmax = std::max(zmax, training.logit_scale * s[k]);
      double sum = 0.0;
      for (int k = 0; k < C; ++k) sum += (p[k] = std::exp(training.logit_scale * s[k] - zmax));
      for (int k = 0; k < C; ++k) p[k] /= sum;
      loss[b] = -(training.logit_scale * s[y] - zmax - std::log(sum));
      for (int k = 0; k < C; ++k)
        dlds[static_cast<std::size_t>(k) * B + b] = training.logit_scale * (p[k] - (k == y));
    } else {
      for (int k = 0; k < C; ++k) {
        const double d = s[k] - (k == y ? training.target_amplitude : 0.0);
        loss[b] += 0.5 * d * d;
        dlds[static_cast<std::size_t>(k) * B + b] = d;
      }
    }
  }
  return loss;
}

// ---------------------------------------------------------------------------------------
// Backward phase

namespace detail {

bool hurwitz_stable(const Eigen::Ref<const Eigen::MatrixXd>& A) {
  const Eigen::Index m = A.rows();
  if (m == 0) return true;
  // Characteristic polynomial det(sI - A) = sum_k c[k] s^k by Faddeev-LeVerrier: M_1 = I,
  // c[m-k] = -tr(A M_k) / k, M_(k+1) = A M_k + c[m-k] I. Plain loops: m is small.
  const int mm = static_cast<int>(m);
  std::array<double, 256> a{}, M{}, AM{};
  for (int q = 0; q < mm; ++q)
    for (int p = 0; p < mm; ++p) a[q * mm + p] = A(p, q);
  for (int p = 0; p < mm; ++p) M[p * mm + p] = 1.0;
  std::array<double, 17> c{};
  c[mm] = 1.0;
  for (int k = 1; k <= mm; ++k) {
    std::fill(AM.begin(), AM.begin() + mm * mm, 0.0);
    for (int q = 0; q < mm; ++q)
      for (int t = 0; t < mm; ++t) {
        const double mtq = M[q * mm + t];
        for (int p = 0; p < mm; ++p) AM[q * mm + p] += a[t * mm + p] * mtq;
      }
    double trace = 0.0;
    for (int p = 0; p < mm; ++p) trace += AM[p * mm + p];
    c[mm - k] = -trace / k;
    std::copy(AM.begin(), AM.begin() + mm * mm, M.begin());
    for (int p = 0; p < mm; ++p) M[p * mm + p] += c[mm - k];
  }
  // Routh-Hurwitz: every root has Re < 0 iff the first column of the Routh array is positive
  // (a zero, the boundary, counts as not stable). Rows start from the highest degree.
  std::array<double, 9> prev{}, row{}, next{};
  for (int k = mm, j = 0; k >= 0; k -= 2, ++j) prev[j] = c[k];
  for (int k = mm - 1, j = 0; k >= 0; k -= 2, ++j) row[j] = c[k];
  for (int r = 1; r <= mm; ++r) {
    if (!(row[0] > 0.0)) return false;
    for (std::size_t j = 0; j + 1 < prev.size(); ++j)
      next[j] = (row[0] * prev[j + 1] - prev[0] * row[j + 1]) / row[0];
    next.back() = 0.0;
    prev = row;
    row = next;
  }
  return true;
}

}  // namespace detail

namespace {

// The backward phase's fixed point directly: 0 = D (J^T lambda + e) with lambda = 0 on the
// clamped elements. J_net is block lower triangular (a feedforward cascade of neurons), so
// layer by layer from the output: lambda_j = -(J_jj^T)_FF^-1 (e_j + the connections' terms
// from layer l + 1)_F over the neuron's free elements F, sample by sample. The ODE settles
// there exactly when every (J_jj)_FF is Hurwitz-stable, which is what `settled` reports.
void solve_adjoint(const Network& net, const Batch& batch, const double* D, const double* e,
                   std::vector<double>& lambda, PhaseReport& r) {
  using Small = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 16, 16>;
  using SmallVec = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 16, 1>;
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  std::vector<double> back(nB);
  std::vector<char> stable(B, 1);
  Eigen::VectorXd xj(n);
  std::vector<int> free;
  for (int l = L; l >= 1; --l) {
    for (int j = 0; j < net.layer_size(l); ++j) {
      const std::size_t o = net.layer_offset(l, B) + static_cast<std::size_t>(j) * nB;
      std::fill(back.begin(), back.end(), 0.0);
      if (l < L)
        scatter_pre(net.connections(l + 1), n, B, lambda.data() + net.layer_offset(l + 1, B), j,
                    back.data());
      for (std::size_t b = 0; b < B; ++b) {
        free.clear();
        for (int a = 0; a < n; ++a) {
          xj(a) = batch.x[o + a * B + b];
          if (D[o + a * B + b] != 0.0) free.push_back(a);
        }
        if (free.empty()) continue;
        const Eigen::MatrixXd J = net.equation().jacobian(net.topology(), net.K(l, j), xj);
        const Eigen::Index m = static_cast<Eigen::Index>(free.size());
        Small JF(m, m);
        SmallVec rhs(m);
        for (Eigen::Index p = 0; p < m; ++p) {
          for (Eigen::Index q = 0; q < m; ++q) JF(p, q) = J(free[p], free[q]);
          const std::size_t at = o + free[p] * B + b;
          rhs(p) = -(back[free[p] * B + b] + e[at]);
        }
        if (!wuxing::detail::hurwitz_stable(JF)) stable[b] = 0;
        const SmallVec y = JF.transpose().partialPivLu().solve(rhs);
        for (Eigen::Index p = 0; p < m; ++p) lambda[o + free[p] * B + b] = y(p);
      }
    }
  }
  std::vector<double> rate;
  std::vector<char> bad;
  sample_rates(lambda.size(), B, lambda.data(), nullptr, 0.0, 0.0, rate, bad);
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 0);
  for (std::size_t b = 0; b < B; ++b) {
    r.non_finite += bad[b];
    r.sample_settled[b] = !bad[b] && stable[b];
  }
}

}  // namespace

PhaseReport backward_phase(const Network& net, const Batch& batch, const std::vector<double>& dlds,
                           const IntegratorConfig& integ, std::vector<double>& lambda) {
  PhaseReport r;
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t size = net.state_size(B);
  const double lo = net.config().x_min, hi = net.config().x_max;
  // D: 1 for free elements, 0 for those clamped at the end of the forward phase. A clamped
  // element is a constant of the clamped system, so its adjoint stays 0 and passes nothing on.
  std::vector<double> D(size);
  for (std::size_t q = 0; q < size; ++q) D[q] = (batch.x[q] <= lo || batch.x[q] >= hi) ? 0.0 : 1.0;
  std::vector<double> e(size, 0.0);
  const std::size_t off = net.layer_offset(L, B);
  for (int k = 0; k < net.layer_size(L); ++k)
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t q = off + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b;
      e[q] = D[q] * dlds[static_cast<std::size_t>(k) * B + b];
    }
  AdjointField field(net, B, batch.x.data(), D.data(), e.data());
  auto rhs = [&](const double* v, double* out) {
    eval_all(field, static_cast<std::size_t>(n) * B, v, out);
  };
  lambda.assign(size, 0.0);
  const double t_max = integ.backward_t_max;
  if (integ.backward_method == "solve") {
    solve_adjoint(net, batch, D.data(), e.data(), lambda, r);
  } else if (integ.method == "heun") {
    fused_heun<false>(field, B, lambda.data(), integ.h, t_max, integ.backward_tol, integ.max_steps,
                      lo, hi, r, net, nullptr);
  } else {
    generic_integration(integ.method, size, B, lambda.data(), rhs, integ, t_max, integ.backward_tol,
                        false, lo, hi, r);
  }
  r.unsettled = 0;
  for (std::size_t b = 0; b < B; ++b) {
    if (!r.sample_settled[b]) ++r.unsettled;
    r.steps_total += r.sample_steps[b];
    r.max_steps = std::max(r.max_steps, r.sample_steps[b]);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Local gradients
//
// Settled state: F(x, theta) = 0, F = f(x, u(x, theta), theta). The loss L(x, theta)
// depends on theta explicitly through the output signals s = x_out - x*(K). By the
// implicit function theorem, dL/dtheta = dL/dtheta|explicit + lambda^T dF/dtheta with
// lambda = -J^-T dL/dx, the backward phase's fixed point (= dL/du since dF/du = I).
//  - connection c (j -> i, a -> b): dF_{i,b}/dc = s_{j,a}, so dL/dc = lambda_{i,b} s_{j,a}.
//  - K_m of neuron j: its own equations give sum_e lambda_{j,e} df_e/dK_m; its signal
//    s_{j,a} = x_{j,a} - x*_j(K) enters the drive of every downstream (i, b) with
//    dF_{i,b}/dK_m = -c dx*/dK_m; an output neuron's loss gets dL/ds * (-dx*/dK_m). So
//      dL/dK_m = sum_e lambda_{j,e} df_e/dK_m
//                - dx*/dK_m (sum_{c: j->(i,b)} c lambda_{i,b} + [j output] dL/ds_j).
// Both are averaged over the minibatch.

namespace {

// Per-neuron K gradient from stage adjoints `v` at state `x` (+ the x* terms from bt and
// the explicit output term), added into per-neuron buffers kg[(offset + i) * 3 + m].
void k_gradient_terms(const Network& net, std::size_t B, const double* x, const double* v,
                      const double* explicit_out, double scale, std::vector<double>& kg) {
  const int n = net.n();
  const int L = net.layer_count() - 1;
  std::vector<double> back;
  for (int l = 1; l <= L; ++l) {
    const int N = net.layer_size(l);
    const std::size_t off = net.layer_offset(l, B);
    back.assign(static_cast<std::size_t>(N) * n * B, 0.0);
    if (l < L)
      scatter_back(net.connections(l + 1), n, B, v + net.layer_offset(l + 1, B), back.data());
    std::size_t neuron0 = 0;
    for (int q = 1; q < l; ++q) neuron0 += net.layer_size(q);
    const bool parallel = static_cast<std::size_t>(N) * n * B > kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int i = 0; i < N; ++i) {
      std::vector<double> d(static_cast<std::size_t>(n) * B);
      const KParams& K = net.K(l, i);
      const auto dxs = fixed_point_derivative(net.equation(), K);
      const std::size_t o = off + static_cast<std::size_t>(i) * n * B;
      // Sum over the neuron's outgoing transfers (all elements a) and the explicit term.
      double xstar_weight = 0.0;
      for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q)
        xstar_weight += back[static_cast<std::size_t>(i) * n * B + q];
      if (l == L && explicit_out)
        for (std::size_t b = 0; b < B; ++b)
          xstar_weight += explicit_out[static_cast<std::size_t>(i) * B + b];
      for (int m = 0; m < 3; ++m) {
        net.equation().parameter_derivative(net.topology(), K, static_cast<KIndex>(m), x + o,
                                            d.data(), B);
        double acc = 0.0;
        for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q) acc += v[o + q] * d[q];
        kg[(neuron0 + i) * 3 + m] += scale * (acc - dxs[m] * xstar_weight);
      }
    }
  }
}

void reduce_k(const Network& net, const std::vector<double>& kg, Gradients& grads) {
  std::size_t neuron = 0;
  for (int l = 1; l < net.layer_count(); ++l)
    for (int i = 0; i < net.layer_size(l); ++i, ++neuron)
      for (int m = 0; m < 3; ++m) grads.K[net.k_entry(l, i)][m] += kg[neuron * 3 + m];
}

std::size_t integrated_neurons(const Network& net) {
  std::size_t total = 0;
  for (int l = 1; l < net.layer_count(); ++l) total += net.layer_size(l);
  return total;
}

}  // namespace

void local_gradients(const Network& net, const Batch& batch, const std::vector<double>& lambda,
                     const std::vector<double>& dlds, bool want_coef, bool want_K,
                     Gradients& grads) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const double scale = 1.0 / static_cast<double>(B);
  if (grads.coef.size() != static_cast<std::size_t>(L)) grads.reset(net);
  if (want_coef) {
    std::vector<double> s;
    for (int l = 1; l <= L; ++l) {
      const double* pre = batch.s_in.data();
      if (l > 1) {
        s.resize(static_cast<std::size_t>(net.layer_size(l - 1)) * n * B);
        layer_signals(net, l - 1, B, batch.x.data(), s.data());
        pre = s.data();
      }
      connection_products(net.connections(l), n, B, lambda.data() + net.layer_offset(l, B), pre,
                          scale, grads.coef[l - 1].data());
    }
  }
  if (want_K) {
    std::vector<double> kg(integrated_neurons(net) * 3, 0.0);
    k_gradient_terms(net, B, batch.x.data(), lambda.data(), dlds.data(), scale, kg);
    reduce_k(net, kg, grads);
  }
}

// ---------------------------------------------------------------------------------------
// bptt through fixed-step Heun

std::vector<double> bptt_gradients(const Network& net, Batch& batch, const IntegratorConfig& integ,
                                   const TrainingConfig& training, std::int64_t steps,
                                   Gradients& grads, PhaseReport* report,
                                   std::vector<int>* predictions) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const int L = net.layer_count() - 1;
  const std::size_t size = net.state_size(B);
  const double h = integ.h;
  const double lo = net.config().x_min, hi = net.config().x_max;
  if (grads.coef.size() != static_cast<std::size_t>(L)) grads.reset(net);
  const double scale = 1.0 / static_cast<double>(B);

  // Forward: plain Heun (no per-sample freezing), all states kept.
  std::vector<double> x(size), k1(size), k2(size), xt(size);
  fill_fixed_points(net, B, x.data());
  std::vector<std::vector<double>> states;
  states.push_back(x);
  const std::int64_t cap =
      steps >= 0
          ? steps
          : std::min<std::int64_t>(integ.max_steps,
                                   static_cast<std::int64_t>(std::ceil(integ.t_max / h - 1e-9)));
  PhaseReport r;
  r.sample_settled.assign(B, 0);
  std::vector<double> rate;
  std::vector<char> bad;
  std::int64_t T = 0;
  while (true) {
    network_rhs(net, batch, x.data(), k1.data());
    for (std::size_t q = 0; q < size; ++q) project(x[q], k1[q], lo, hi);
    if (steps < 0) {
      sample_rates(size, B, k1.data(), nullptr, lo, hi, rate, bad);
      bool all = true;
      for (std::size_t b = 0; b < B; ++b) all = all && rate[b] < integ.tol;
      if (all) break;
    }
    if (T >= cap) break;
    for (std::size_t q = 0; q < size; ++q) xt[q] = x[q] + h * k1[q];
    network_rhs(net, batch, xt.data(), k2.data());
    for (std::size_t q = 0; q < size; ++q) project(xt[q], k2[q], lo, hi);
    for (std::size_t q = 0; q < size; ++q) {
      double v = x[q] + 0.5 * h * (k1[q] + k2[q]);
      if (v < lo) {
        v = lo;
        ++r.clamp_events;
      } else if (v > hi) {
        v = hi;
        ++r.clamp_events;
      }
      x[q] = v;
    }
    states.push_back(x);
    ++T;
  }
  batch.x = x;
  network_rhs(net, batch, x.data(), k1.data());
  sample_rates(size, B, k1.data(), x.data(), lo, hi, rate, bad);
  r.sample_steps.assign(B, T);
  for (std::size_t b = 0; b < B; ++b) {
    r.sample_settled[b] = !bad[b] && rate[b] < integ.tol;
    r.non_finite += bad[b];
  }
  finish_report(net, B, x.data(), r);
  if (report) *report = r;

  std::vector<double> dlds;
  std::vector<double> loss = output_loss(net, batch, training, dlds, predictions);

  // Reverse. xbar = dL/dx_T: dL/ds at the output read elements.
  std::vector<double> xbar(size, 0.0), ybar(size), k1bar(size), k2bar(size), xtbar(size), tmp(size),
      ksum(static_cast<std::size_t>(net.layer_size(1)) * n * B, 0.0);
  {
    const std::size_t off = net.layer_offset(L, B);
    for (int k = 0; k < net.layer_size(L); ++k)
      for (std::size_t b = 0; b < B; ++b)
        xbar[off + (static_cast<std::size_t>(k) * n + net.output_element()) * B + b] =
            dlds[static_cast<std::size_t>(k) * B + b];
  }
  std::vector<double> kg(integrated_neurons(net) * 3, 0.0);
  std::vector<double> s, m1(size);
  for (std::int64_t t = T - 1; t >= 0; --t) {
    // Recompute the step: k1p = m1 k1(x), xt = x + h k1p, k2p = m2 k2(xt),
    // y = x + h/2 (k1p + k2p), x' = clamp(y). The projection masks m1, m2 and the clamp
    // are piecewise constant, so they pass adjoints through or zero them.
    const std::vector<double>& xs = states[t];
    network_rhs(net, batch, xs.data(), k1.data());
    for (std::size_t q = 0; q < size; ++q) m1[q] = project(xs[q], k1[q], lo, hi);
    for (std::size_t q = 0; q < size; ++q) xt[q] = xs[q] + h * k1[q];
    network_rhs(net, batch, xt.data(), k2.data());
    for (std::size_t q = 0; q < size; ++q) {
      const double m2 = project(xt[q], k2[q], lo, hi);
      const double y = xs[q] + 0.5 * h * (k1[q] + k2[q]);
      ybar[q] = (y < lo || y > hi) ? 0.0 : xbar[q];  // a clamped value has zero derivative
      k2bar[q] = m2 * 0.5 * h * ybar[q];
    }
    network_jt_apply(net, B, xt.data(), k2bar.data(), xtbar.data());
    for (std::size_t q = 0; q < size; ++q) k1bar[q] = m1[q] * (0.5 * h * ybar[q] + h * xtbar[q]);
    network_jt_apply(net, B, xs.data(), k1bar.data(), tmp.data());
    for (std::size_t q = 0; q < size; ++q) xbar[q] = ybar[q] + xtbar[q] + tmp[q];
    // Parameter terms of both stages.
    {
      const double* k1b = k1bar.data() + net.layer_offset(1, B);
      const double* k2b = k2bar.data() + net.layer_offset(1, B);
      for (std::size_t q = 0; q < ksum.size(); ++q) ksum[q] += k1b[q] + k2b[q];
    }
    for (int l = 2; l <= L; ++l) {
      s.resize(static_cast<std::size_t>(net.layer_size(l - 1)) * n * B);
      layer_signals(net, l - 1, B, xs.data(), s.data());
      connection_products(net.connections(l), n, B, k1bar.data() + net.layer_offset(l, B), s.data(),
                          scale, grads.coef[l - 1].data());
      layer_signals(net, l - 1, B, xt.data(), s.data());
      connection_products(net.connections(l), n, B, k2bar.data() + net.layer_offset(l, B), s.data(),
                          scale, grads.coef[l - 1].data());
    }
    k_gradient_terms(net, B, xs.data(), k1bar.data(), nullptr, scale, kg);
    k_gradient_terms(net, B, xt.data(), k2bar.data(), nullptr, scale, kg);
  }
  // Input connections: their signals are constant, so one product with the summed stages.
  connection_products(net.connections(1), n, B, ksum.data(), batch.s_in.data(), scale,
                      grads.coef[0].data());
  // x_0 = x*(K) for every element, and the explicit output term -dL/ds dx*/dK.
  {
    std::size_t neuron = 0;
    for (int l = 1; l <= L; ++l)
      for (int i = 0; i < net.layer_size(l); ++i, ++neuron) {
        const auto dxs = fixed_point_derivative(net.equation(), net.K(l, i));
        double w = 0.0;
        const std::size_t o = net.layer_offset(l, B) + static_cast<std::size_t>(i) * n * B;
        for (std::size_t q = 0; q < static_cast<std::size_t>(n) * B; ++q) w += xbar[o + q];
        if (l == L)
          for (std::size_t b = 0; b < B; ++b) w -= dlds[static_cast<std::size_t>(i) * B + b];
        for (int m = 0; m < 3; ++m) kg[neuron * 3 + m] += scale * dxs[m] * w;
      }
  }
  reduce_k(net, kg, grads);
  return loss;
}

std::vector<std::complex<double>> operating_point_eigenvalues(const Network& net, std::size_t B,
                                                              const double* x, std::size_t b) {
  const int n = net.n();
  const double lo = net.config().x_min, hi = net.config().x_max;
  std::vector<std::complex<double>> out;
  for (int l = 1; l < net.layer_count(); ++l) {
    const double* xl = x + net.layer_offset(l, B);
    for (int i = 0; i < net.layer_size(l); ++i) {
      Eigen::VectorXd xi(n);
      for (int e = 0; e < n; ++e) xi(e) = xl[(static_cast<std::size_t>(i) * n + e) * B + b];
      const Eigen::MatrixXd J = net.equation().jacobian(net.topology(), net.K(l, i), xi);
      // Elements held at a bound are constants of the clamped system: only the free block
      // J_FF has dynamics (the clamped rows contribute eigenvalues 0, left out).
      std::vector<int> free;
      for (int e = 0; e < n; ++e)
        if (xi(e) > lo && xi(e) < hi) free.push_back(e);
      if (free.empty()) continue;
      Eigen::MatrixXd JF(free.size(), free.size());
      for (std::size_t r = 0; r < free.size(); ++r)
        for (std::size_t q = 0; q < free.size(); ++q) JF(r, q) = J(free[r], free[q]);
      Eigen::EigenSolver<Eigen::MatrixXd> solver(JF, false);
      for (Eigen::Index e = 0; e < JF.rows(); ++e) out.push_back(solver.eigenvalues()(e));
    }
  }
  return out;
}

}  // namespace wuxing
