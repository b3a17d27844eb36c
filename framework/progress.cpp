#include "framework/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace wuxing {

Progress::Progress(std::size_t total, std::size_t already_done, std::size_t to_run,
                   bool per_epoch_lines, std::FILE* out, int interactive)
    : out_(out),
      tty_(interactive < 0 ? isatty(fileno(out)) != 0 : interactive != 0),
      per_epoch_lines_(per_epoch_lines),
      total_(total),
      already_done_(already_done),
      to_run_(to_run),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string Progress::duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

double Progress::eta_seconds_locked() const {
  double done = static_cast<double>(finished_);
  for (const auto& [id, a] : active_) done += a.fraction;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (done <= 1e-9) return NAN;
  return elapsed * (static_cast<double>(to_run_) - done) / done;
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
        fmt::format(" | {} epoch {}/{} acc {:.4f}", id.substr(0, 8), a.epoch, a.epochs, a.accuracy);
    if (active_.size() > 1) current += fmt::format(" (+{} running)", active_.size() - 1);
  }
  fmt::print(out_, "\r\033[K[{}/{} runs{}]{} | ETA {}", already_done_ + finished_, total_,
             failed_ ? fmt::format(", {} failed", failed_) : std::string(), current,
             duration(eta_seconds_locked()));
  std::fflush(out_);
  line_open_ = true;
}

void Progress::run_started(const std::string& id, int epochs) {
  std::lock_guard lock(mutex_);
  active_[id] = Active{std::max(epochs, 1), 1, 0.0, 0.0, -1.0};
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
  const double within = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  a.fraction = std::min(1.0, (epoch - 1 + within) / a.epochs);
  redraw_locked(false);
}

void Progress::epoch_done(const std::string& id, const EpochMetrics& m) {
  std::lock_guard lock(mutex_);
  auto it = active_.find(id);
  if (it != active_.end()) {
    it->second.epoch = m.epoch;
    it->second.fraction = std::min(1.0, static_cast<double>(m.epoch) / it->second.epochs);
    it->second.test_accuracy = m.test_accuracy;
  }
  const int epochs = it != active_.end() ? it->second.epochs : m.epoch;
  if (per_epoch_lines_) {
    line_locked(fmt::format(
        "epoch {}/{}: train acc {:.4f}, test acc {:.4f}, train loss {:.4f}, test loss {:.4f}, "
        "unsettled {:.2f}%, clamped {:.2f}%, {:.1f} s",
        m.epoch, epochs, m.train_accuracy, m.test_accuracy, m.train_loss, m.test_loss,
        100.0 * m.unsettled_fraction, 100.0 * m.clamp_fraction, m.wall_seconds));
  } else if (!tty_) {
    // A sweep logged to a file (a batch job) has no status line: one line per epoch, so
    // that long runs still show where they are.
    line_locked(fmt::format("[{}/{} runs done] {} epoch {}/{}: test acc {:.4f}, {:.1f} s, ETA {}",
                            already_done_ + finished_, total_, id.substr(0, 8), m.epoch, epochs,
                            m.test_accuracy, m.wall_seconds, duration(eta_seconds_locked())));
  }
  redraw_locked(true);
}

void Progress::run_finished(const std::string& id, const RunResult& r) {
  std::lock_guard lock(mutex_);
  active_.erase(id);
  ++finished_;
  if (r.status != "ok") ++failed_;
  const double acc = r.epochs.empty() ? NAN : r.epochs.back().test_accuracy;
  if (!tty_ || r.status != "ok") {
    std::string text =
        fmt::format("[{}/{}] run {} {}: test acc {:.4f}, {:.1f} s", already_done_ + finished_,
                    total_, id, r.status, acc, r.wall_seconds);
    if (r.status != "ok") text += fmt::format(" ({})", r.reason);
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
