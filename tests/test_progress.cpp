// Progress lines (framework/pipeline/progress.hpp): swept values next to the run ID, and an ETA
// from the measured epoch times of the work still to go (no clock involved: the epoch times are the
// ones reported).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "framework/pipeline/progress.hpp"

using namespace wuxing;

namespace {

EpochMetrics epoch(int e, double seconds) {
  EpochMetrics m;
  m.epoch = e;
  m.test_accuracy = 0.5;
  m.wall_seconds = seconds;
  return m;
}

std::string contents(std::FILE* f) {
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  return s;
}

}  // namespace

TEST_CASE("ETA: one 10-epoch run left at 27 s per epoch shows 6 x 27 s after epoch 4") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  Progress p(1, 0, 1, 10 * 100.0, 1, false, out, 0);
  CHECK(std::isnan(p.eta_seconds()));  // nothing measured yet
  p.run_started("0123456789abcdef", 10, 100.0, "model.K3=0.4  seed=1");
  for (int e = 1; e <= 4; ++e) p.epoch_done("0123456789abcdef", epoch(e, 27.0));
  CHECK(p.eta_seconds() == doctest::Approx(6 * 27.0));
  p.epoch_done("0123456789abcdef", epoch(5, 27.0));
  CHECK(p.eta_seconds() == doctest::Approx(5 * 27.0));
  p.epoch_progress("0123456789abcdef", 6, 50, 100, 0.5);  // half of epoch 6 done
  CHECK(p.eta_seconds() == doctest::Approx(4.5 * 27.0));
  const std::string text = contents(out);
  CAPTURE(text);
  // Swept values next to the (shortened) ID, and the ETA, on the log line of each epoch.
  CHECK(text.find("01234567 (model.K3=0.4  seed=1) epoch 4/10") != std::string::npos);
  CHECK(text.find("ETA 2m42s") != std::string::npos);
  std::fclose(out);
}

TEST_CASE("ETA: runs not started count with their own size, divided over the parallel runs") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  // Four runs of 2 epochs: two of 100 samples, two of 300; two go at once.
  Progress p(4, 0, 4, 2 * (100.0 + 100.0 + 300.0 + 300.0), 2, false, out, 0);
  p.run_started("aaaaaaaaaaaaaaaa", 2, 100.0, "");
  p.run_started("bbbbbbbbbbbbbbbb", 2, 100.0, "");
  p.epoch_done("aaaaaaaaaaaaaaaa", epoch(1, 1.0));  // 0.01 s per sample-epoch
  // Left: a 100, b 200, two runs not started 1200 -> 1500 x 0.01 s / 2 lanes.
  CHECK(p.eta_seconds() == doctest::Approx(7.5));
  RunResult r;
  r.epochs = {epoch(1, 1.0), epoch(2, 1.0)};
  p.epoch_done("aaaaaaaaaaaaaaaa", epoch(2, 1.0));
  p.run_finished("aaaaaaaaaaaaaaaa", r);
  CHECK(p.eta_seconds() == doctest::Approx((200.0 + 1200.0) * 0.01 / 2));
  CHECK(contents(out).find("] run aaaaaaaaaaaaaaaa ok: test acc") != std::string::npos);
  std::fclose(out);
}

TEST_CASE("ETA: each cost class is timed on its own epochs once it has one") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  // One slow run (bptt-like, 10 s per epoch of 100 samples) and one fast (1 s per epoch), two
  // epochs each, one at a time; a second fast run not started.
  Progress p(3, 0, 3, Progress::WorkByClass{{"slow", 200.0}, {"fast", 400.0}}, 1, false, out, 0);
  p.run_started("ffffffffffffffff", 2, 100.0, "", 0, "fast");
  p.epoch_done("ffffffffffffffff", epoch(1, 1.0));
  // Only the fast class is measured: the slow run is timed at the pooled rate, 0.01 s per unit.
  CHECK(p.eta_seconds() == doctest::Approx((100.0 + 200.0 + 200.0) * 0.01));
  p.run_started("ssssssssssssssss", 2, 100.0, "", 0, "slow");
  p.epoch_done("ssssssssssssssss", epoch(1, 10.0));
  // Now each class at its own rate: slow 0.1 s per unit, fast 0.01.
  CHECK(p.eta_seconds() == doctest::Approx(100.0 * 0.1 + (100.0 + 200.0) * 0.01));
  std::fclose(out);
}
