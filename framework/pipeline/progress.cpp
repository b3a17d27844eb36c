#include "framework/pipeline/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace wuxing {

Progress::Progress(std::size_t total, std::size_t already_done, std::size_t to_run,
                   WorkByClass work_to_run, int parallel, bool per_epoch_lines, std::FILE* out,
                   int interactive)
    : out_(out),
      tty_(interactive < 0 ? isatty(fileno(out)) != 0 : interactive != 0),
      per_epoch_lines_(per_epoch_lines),
      total_(total),
      already_done_(already_done),
      to_run_(to_run),
      parallel_(std::max(parallel, 1)),
      work_left_(std::move(work_to_run)),
      last_draw_(std::chrono::steady_clock::now()) {}

std::string Progress::duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

double Progress::eta_seconds_locked() const {
  if (measured_.work <= 0) return NAN;
  // Seconds per unit of work of a class: its own epochs once it has one, else all epochs.
  auto per_work = [&](const std::string& cost_class) {
    auto it = measured_by_class_.find(cost_class);
    const Measured& m = it != measured_by_class_.end() ? it->second : measured_;
    return m.seconds / m.work;
  };
  double seconds = 0.0;
  for (const auto& [cost_class, work] : work_left_)
    seconds += std::max(0.0, work) * per_work(cost_class);
  for (const auto& [id, a] : active_)
    seconds +=
        (a.epochs - a.epochs_done - std::min(a.within, 1.0)) * a.samples * per_work(a.cost_class);
  // Runs still to go, started or not: no more than that many go in parallel.
  const std::size_t runs_left = to_run_ > finished_ ? to_run_ - finished_ : 0;
  const double lanes = static_cast<double>(
      std::clamp<std::size_t>(runs_left, 1, static_cast<std::size_t>(parallel_)));
  return std::max(0.0, seconds) / lanes;
}

double Progress::eta_seconds() {
  std::lock_guard lock(mutex_);
  return eta_seconds_locked();
}

std::string Progress::name_locked(const std::string& id) const {
  auto it = active_.find(id);
  if (it == active_.end() || it->second.label.empty()) return id.substr(0, 8);
  return fmt::format("{} ({})", id.substr(0, 8), it->second.label);
}

void Progress::line_locked(const std::string& text) {
  if (line_open_) {
    fmt::print(out_, "\r\033[K");
    line_open_ = false;
  }
  fmt::print(out_, "{}\n", text);
  std::fflush(out_);
}

void Progress::redraw_locked(bool force) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  std::string current;
  if (!active_.empty()) {
    const auto& [id, a] = *active_.begin();
    current =
        fmt::format(" | {} epoch {}/{} acc {:.4f}", name_locked(id), a.epoch, a.epochs, a.accuracy);
    if (active_.size() > 1) current += fmt::format(" (+{} running)", active_.size() - 1);
  }
  fmt::print(out_, "\r\033[K[{}/{} runs{}]{} | ETA {}", already_done_ + finished_, total_,
             failed_ ? fmt::format(", {} failed", failed_) : std::string(), current,
             duration(eta_seconds_locked()));
  std::fflush(out_);
  line_open_ = true;
}

void Progress::run_started(const std::string& id, int epochs, double samples,
                           const std::string& label, int epochs_done,
                           const std::string& cost_class) {
  std::lock_guard lock(mutex_);
  Active a;
  a.epochs = std::max(epochs, 1);
  a.epochs_done = std::clamp(epochs_done, 0, a.epochs);
  a.epoch = a.epochs_done + 1;
  a.samples = std::max(samples, 1.0);
  a.label = label;
  a.cost_class = cost_class;
  work_left_[cost_class] -= a.epochs * a.samples;
  active_[id] = std::move(a);
  if (epochs_done > 0)
    line_locked(fmt::format("run {} resumes from its checkpoint after epoch {}/{}", id, epochs_done,
                            epochs));
  redraw_locked(true);
}

void Progress::epoch_progress(const std::string& id, int epoch, std::int64_t done,
                              std::int64_t total, double running_accuracy) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  auto& a = it->second;
  a.epoch = epoch;
  a.accuracy = running_accuracy;
  a.within = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  redraw_locked(false);
}

void Progress::epoch_done(const std::string& id, const EpochMetrics& m) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it != active_.end()) {
    auto& a = it->second;
    a.epoch = m.epoch;
    a.epochs_done = std::min(m.epoch, a.epochs);
    a.within = 0.0;
    a.test_accuracy = m.test_accuracy;
    if (m.wall_seconds > 0) {
      for (Measured* into : {&measured_, &measured_by_class_[a.cost_class]}) {
        into->seconds += m.wall_seconds;
        into->work += a.samples;
      }
    }
  }
  const int epochs = it != active_.end() ? it->second.epochs : m.epoch;
  if (per_epoch_lines_) {
    line_locked(fmt::format(
        "epoch {}/{}: train acc {:.4f}, test acc {:.4f}, train loss {:.4f}, test loss {:.4f}, "
        "unsettled {:.2f}%, clamped {:.2f}%, {:.1f} s, ETA {}",
        m.epoch, epochs, m.train_accuracy, m.test_accuracy, m.train_loss, m.test_loss,
        100.0 * m.unsettled_fraction, 100.0 * m.clamp_fraction, m.wall_seconds,
        duration(eta_seconds_locked())));
  } else if (!tty_) {
    // A sweep logged to a file (a batch job) has no status line: one line per epoch, so
    // that long runs still show where they are.
    line_locked(fmt::format("[{}/{} runs done] {} epoch {}/{}: test acc {:.4f}, {:.1f} s, ETA {}",
                            already_done_ + finished_, total_, name_locked(id), m.epoch, epochs,
                            m.test_accuracy, m.wall_seconds, duration(eta_seconds_locked())));
  }
  redraw_locked(true);
}

void Progress::run_finished(const std::string& id, const RunResult& r) {
  std::lock_guard lock(mutex_);
  std::string label;
  if (auto it = active_.find(id); it != active_.end()) {
    label = it->second.label;
    active_.erase(it);
  }
  ++finished_;
  if (r.status != RunStatus::ok) ++failed_;
  const double acc = r.epochs.empty() ? NAN : r.epochs.back().test_accuracy;
  if (!tty_ || r.status != RunStatus::ok) {
    std::string text =
        fmt::format("[{}/{}] run {} {}: test acc {:.4f}, {:.1f} s", already_done_ + finished_,
                    total_, id, r.status.name(), acc, r.wall_seconds);
    if (!label.empty()) text += fmt::format(", {}", label);
    if (r.status != RunStatus::ok) text += fmt::format(" ({})", r.reason);
    if (!tty_) text += fmt::format(", ETA {}", duration(eta_seconds_locked()));
    line_locked(text);
  }
  redraw_locked(true);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (line_open_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
    line_open_ = false;
  }
}

}  // namespace wuxing
