// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (the
// intrinsics' self-initialised __Y; -Wuninitialized at -O2, as in the sanitizer build); it is
// not in our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "framework/model/operating_point.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>

namespace wuxing {

namespace detail {

bool hurwitz_stable(const double* A, int m) {
  if (m == 0) return true;
  // Characteristic polynomial det(sI - A) = sum_k c[k] s^k by Faddeev-LeVerrier: M_1 = I,
  // c[m-k] = -tr(A M_k) / k, M_(k+1) = A M_k + c[m-k] I. Plain loops: m is small, and only
  // the m x m corners of the work arrays are touched (this runs per neuron and sample).
  const int mm = m;
  double a[256], M[256], AM[256];
  for (int q = 0; q < mm; ++q)
    for (int p = 0; p < mm; ++p) a[q * mm + p] = A[p * mm + q];
  std::fill(M, M + mm * mm, 0.0);
  for (int p = 0; p < mm; ++p) M[p * mm + p] = 1.0;
  std::array<double, 17> c{};
  c[mm] = 1.0;
  for (int k = 1; k <= mm; ++k) {
    std::fill(AM, AM + mm * mm, 0.0);
    for (int q = 0; q < mm; ++q)
      for (int t = 0; t < mm; ++t) {
        const double mtq = M[q * mm + t];
        for (int p = 0; p < mm; ++p) AM[q * mm + p] += a[t * mm + p] * mtq;
      }
    double trace = 0.0;
    for (int p = 0; p < mm; ++p) trace += AM[p * mm + p];
    c[mm - k] = -trace / k;
    std::copy(AM, AM + mm * mm, M);
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

bool hurwitz_stable(const Eigen::Ref<const Eigen::MatrixXd>& A) {
  const int m = static_cast<int>(A.rows());
  double a[256];
  for (int p = 0; p < m; ++p)
    for (int q = 0; q < m; ++q) a[p * m + q] = A(p, q);
  return hurwitz_stable(a, m);
}

}  // namespace detail

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
