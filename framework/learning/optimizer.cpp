#include "framework/learning/optimizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wuxing {

Optimizer::Optimizer(OptimizerKind kind, double momentum, std::size_t size)
    : kind_(kind), mu_(momentum), size_(size) {
  if (kind_ == OptimizerKind::momentum) {
    m_.assign(size, 0.0);
  } else if (kind_ == OptimizerKind::adam) {
    m_.assign(size, 0.0);
    v_.assign(size, 0.0);
  }
}

void Optimizer::apply(double* params, const double* grad, double lr) {
  ++t_;
  if (kind_ == OptimizerKind::sgd) {
    for (std::size_t i = 0; i < size_; ++i) params[i] -= lr * grad[i];
  } else if (kind_ == OptimizerKind::momentum) {
    for (std::size_t i = 0; i < size_; ++i) {
      m_[i] = mu_ * m_[i] + grad[i];
      params[i] -= lr * m_[i];
    }
  } else {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - std::pow(b1, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(b2, static_cast<double>(t_));
    for (std::size_t i = 0; i < size_; ++i) {
      m_[i] = b1 * m_[i] + (1.0 - b1) * grad[i];
      v_[i] = b2 * v_[i] + (1.0 - b2) * grad[i] * grad[i];
      params[i] -= lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps);
    }
  }
}

PidController::PidController(const PidConfig& config, std::size_t size)
    : cfg_(config), integral_(size, 0.0), previous_(size, 0.0) {}

void PidController::transform(double* g) {
  for (std::size_t i = 0; i < integral_.size(); ++i) {
    const double gi = g[i];
    integral_[i] = std::clamp((1.0 - cfg_.integral_leak) * integral_[i] + gi, -cfg_.integral_clamp,
                              cfg_.integral_clamp);
    const double derivative = first_ ? 0.0 : gi - previous_[i];
    g[i] = cfg_.kp * gi + cfg_.ki * integral_[i] + cfg_.kd * derivative;
    previous_[i] = gi;
  }
  first_ = false;
}

namespace {
// A moving state as one flat vector (checkpoints): a scalar, then two buffers.
std::vector<double> pack(double head, const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> s{head};
  s.insert(s.end(), a.begin(), a.end());
  s.insert(s.end(), b.begin(), b.end());
  return s;
}
double unpack(const std::vector<double>& s, std::vector<double>& a, std::vector<double>& b,
              const char* what) {
  if (s.size() != 1 + a.size() + b.size())
    throw std::invalid_argument(
        fmt::format("{} state of {} values, expected {}", what, s.size(), 1 + a.size() + b.size()));
  const auto mid = s.begin() + 1 + static_cast<long>(a.size());
  std::copy(s.begin() + 1, mid, a.begin());
  std::copy(mid, s.end(), b.begin());
  return s[0];
}
}  // namespace

std::vector<double> Optimizer::state() const { return pack(static_cast<double>(t_), m_, v_); }

void Optimizer::set_state(const std::vector<double>& s) {
  t_ = static_cast<long>(unpack(s, m_, v_, "optimizer"));
}

std::vector<double> PidController::state() const {
  return pack(first_ ? 1.0 : 0.0, integral_, previous_);
}

void PidController::set_state(const std::vector<double>& s) {
  first_ = unpack(s, integral_, previous_, "PID") != 0.0;
}

double scheduled_lr(const TrainingConfig& training, int epoch) {
  switch (training.lr_schedule) {
    case LrSchedule::constant:
      return training.learning_rate;
    case LrSchedule::inverse_epoch:
      return training.learning_rate / (1.0 + epoch);
    case LrSchedule::cosine:
      return training.learning_rate * 0.5 *
             (1.0 + std::cos(M_PI * epoch / static_cast<double>(std::max(1, training.epochs))));
  }
  throw std::invalid_argument(fmt::format("training.lr_schedule {} is not a schedule",
                                          static_cast<int>(training.lr_schedule)));
}

void decay_weights(double* params, std::size_t size, double factor) {
  if (factor == 0.0) return;
  for (std::size_t i = 0; i < size; ++i) params[i] -= factor * params[i];
}

}  // namespace wuxing
