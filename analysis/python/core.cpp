// wuxing._core: the C++ framework seen from Python (docs/python.md). The pure-Python package
// analysis/python/wuxing wraps it; results files are read there with h5py.
//
// run() releases the GIL while the sweep runs and takes it back only to call the per-epoch
// callback, from whichever worker thread finished the epoch (one at a time). Ctrl-C in Python
// (or an exception in the callback) stops the sweep as Ctrl-C stops `wuxing run`: finished
// runs are stored, unfinished ones are not, and the exception is raised once the runner is done.
#include <fmt/format.h>
#include <omp.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analysis/inspect.hpp"
#include "framework/base/data.hpp"
#include "framework/pipeline/provenance.hpp"
#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/search.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "framework/pipeline/trainers.hpp"

namespace py = pybind11;
// "name"_a = value: a keyword argument; py::dict("a"_a = x, "b"_a = y) is the dict {a: x, b: y}
// with its keys in that order.
using namespace pybind11::literals;

namespace wuxing::python {

namespace {

py::dict epoch_dict(const std::string& run_id, const EpochMetrics& m) {
  return py::dict("run_id"_a = run_id, "epoch"_a = m.epoch, "train_accuracy"_a = m.train_accuracy,
                  "test_accuracy"_a = m.test_accuracy, "train_loss"_a = m.train_loss,
                  "test_loss"_a = m.test_loss, "unsettled_fraction"_a = m.unsettled_fraction,
                  "clamp_fraction"_a = m.clamp_fraction, "max_re_lambda"_a = m.max_re_lambda,
                  "mean_steps"_a = m.mean_steps, "wall_seconds"_a = m.wall_seconds);
}

py::dict run_dict(const PlannedRun& r) {
  py::dict swept;
  for (const auto& v : r.swept) swept[py::str(v.key)] = v.text;
  return py::dict("index"_a = r.index, "run_id"_a = r.id, "swept"_a = swept,
                  "config_yaml"_a = r.yaml);
}

py::dict validate(const std::string& spec, const std::vector<std::string>& overrides) {
  const Spec s = load_spec(spec, overrides);
  const std::uint64_t n = count_runs(s);
  py::dict d("name"_a = s.base.name, "description"_a = s.description, "runs"_a = n);
  if (n <= kLargeSweepRuns) d["fingerprint"] = expand_sweep(s).fingerprint;
  return d;
}

std::string config(const std::string& spec, const std::vector<std::string>& overrides) {
  return resolved_spec_yaml(load_spec(spec, overrides));
}

py::list plan(const std::string& spec, const std::vector<std::string>& overrides) {
  py::list runs;
  for (const auto& r : expand_sweep(load_spec(spec, overrides)).runs) runs.append(run_dict(r));
  return runs;
}

// The sweep's state shared by the worker threads and the Python callback.
struct CallbackState {
  explicit CallbackState(py::object callback) : on_epoch(std::move(callback)) {}
  py::object on_epoch;
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::exception_ptr error;  // first exception raised by the callback (or KeyboardInterrupt)
  void fail(std::exception_ptr e) {
    std::lock_guard lock(mutex);
    if (!error) error = e;
    stop = true;
  }
};

// Wraps the production trainer: reports each epoch to Python; a callback that returns False
// prunes that run (it stops after this epoch and is stored with status `pruned`).
Trainer observed_trainer(Trainer inner, CallbackState& state) {
  return [inner = std::move(inner), &state](const ExperimentConfig& config,
                                            const RunObserver& observer, int threads) {
    const std::string id = run_id(config);
    std::atomic<bool> run_stop{false};
    int pruned_after = 0;
    RunObserver mine = observer;
    mine.stop = &run_stop;
    mine.on_progress = [&](int epoch, std::int64_t done, std::int64_t total, double acc) {
      if (observer.on_progress) observer.on_progress(epoch, done, total, acc);
      if ((observer.stop && observer.stop->load()) || state.stop.load()) run_stop = true;
    };
    mine.on_epoch = [&](const EpochMetrics& m) {
      // After a prune the trainer may still close the epoch it was stopped in: not reported.
      if (pruned_after > 0) return;
      if (observer.on_epoch) observer.on_epoch(m);
      if (state.on_epoch.is_none() || state.stop.load()) return;
      py::gil_scoped_acquire gil;
      try {
        py::object keep = state.on_epoch(epoch_dict(id, m));
        if (!keep.is_none() && !keep.cast<bool>()) {
          pruned_after = m.epoch;
          run_stop = true;
        }
      } catch (...) {
        state.fail(std::current_exception());
        run_stop = true;
      }
    };
    RunResult r = inner(config, mine, threads);
    if (pruned_after > 0 && !state.stop.load()) {
      // The trainer noticed the stop at the start of the next epoch: drop that stub.
      if (static_cast<int>(r.epochs.size()) > pruned_after) r.epochs.resize(pruned_after);
      r.status = RunStatus::pruned;
      r.reason = fmt::format("pruned by the on_epoch callback after epoch {}", pruned_after);
    }
    return r;
  };
}

// Runs `work` in its own thread while this one, holding the GIL between waits, looks for
// Ctrl-C (Python handles signals in the main thread only) and turns it into a clean stop.
// Rethrows what `work` threw; else drops the callback (while holding the GIL) and rethrows
// what it raised, or the KeyboardInterrupt.
void run_watching_signals(CallbackState& state, const std::function<void()>& work) {
  std::exception_ptr error;
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread worker([&] {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(mutex);
    done = true;
    cv.notify_all();
  });
  for (;;) {
    {
      py::gil_scoped_release release;
      std::unique_lock lock(mutex);
      if (cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) break;
    }
    if (PyErr_CheckSignals() != 0) {
      try {
        throw py::error_already_set();
      } catch (...) {
        state.fail(std::current_exception());
      }
    }
  }
  worker.join();
  if (error) std::rethrow_exception(error);
  state.on_epoch = py::none();
  if (state.error) std::rethrow_exception(state.error);
}

py::dict run(const std::string& spec_file, const std::vector<std::string>& overrides,
             const std::string& output, const py::object& on_epoch, int threads, bool rerun_failed,
             bool progress) {
  const Spec spec = load_spec(spec_file, overrides);
  const SweepPlan plan = expand_sweep(spec);
  const std::filesystem::path out =
      output.empty() ? std::filesystem::path("results") / (plan.spec_name + ".h5")
                     : std::filesystem::path(output);
  CallbackState state{on_epoch};
  RunnerOptions options;
  options.output = out;
  options.threads = threads > 0 ? threads : spec.base.threads;
  options.rerun_failed = rerun_failed;
  options.trainer = observed_trainer(program_trainer(), state);
  options.stop = &state.stop;
  options.show_progress = progress;
  SweepSummary s;
  run_watching_signals(state, [&] {
    check_data(plan);
    s = SweepRunner(plan, options).run();
  });
  py::list failures;
  for (const auto& [id, why] : s.failures) failures.append(py::make_tuple(id, why));
  return py::dict("output"_a = out.string(), "planned"_a = s.planned, "skipped"_a = s.skipped,
                  "ran"_a = s.ran, "ok"_a = s.ok, "failed"_a = s.failed,
                  "interrupted"_a = s.interrupted, "stopped"_a = s.stopped,
                  "failures"_a = failures);
}

// What run_trial answers about its run, whether it was stored before (reused) or just trained.
py::dict trial_outcome(const std::string& run_id, bool reused, const RunStatus& status,
                       const std::string& reason, double final_test_accuracy,
                       const std::vector<double>& test_accuracy) {
  return py::dict("run_id"_a = run_id, "reused"_a = reused, "status"_a = std::string(status.name()),
                  "reason"_a = reason, "final_test_accuracy"_a = final_test_accuracy,
                  "test_accuracy"_a = test_accuracy);
}

// One trial of `wuxing tune` (analysis/python/wuxing/tune.py): the spec (overridden to one run)
// trained in this process and stored in `output` with plan index `trial`. Other workers may
// write the same file: its lock is taken only to store, and waited for while another holds it.
// A run already stored as ok (the same config sampled again, or a trial whose worker was killed
// after storing it) is not trained again.
py::dict run_trial(const std::string& spec_file, const std::vector<std::string>& overrides,
                   const std::string& output, std::int64_t trial, const py::object& on_epoch,
                   int threads) {
  const SweepPlan plan = expand_sweep(load_spec(spec_file, overrides));
  if (plan.runs.size() != 1)
    throw std::invalid_argument(fmt::format(
        "run_trial: the spec and overrides plan {} runs, expected one", plan.runs.size()));
  const PlannedRun& run = plan.runs.front();
  StoreHeader header = make_store_header(plan);
  header.plan_indices.clear();  // trials keep their numbers as plan indices
  const std::filesystem::path out(output);
  if (std::filesystem::exists(out)) {
    const auto stored = read_runs(out);
    if (auto it = stored.find(run.id); it != stored.end() && it->second.status == RunStatus::ok)
      return trial_outcome(run.id, true, it->second.status, it->second.reason,
                           it->second.final_test_accuracy,
                           read_metric(out, run.id, "test_accuracy"));
  }
  CallbackState state{on_epoch};
  const Trainer trainer = observed_trainer(program_trainer(), state);
  RunRecord rec = make_run_record(run);
  rec.plan_index = static_cast<std::size_t>(trial);
  // An interrupt (Ctrl-C, or the callback raising) is rethrown here: then nothing is stored.
  run_watching_signals(state, [&] {
    // A worker's trials share their data set: check it once per process, not per trial.
    static std::mutex checked_mutex;
    static std::set<std::string> checked;
    {
      std::lock_guard lock(checked_mutex);
      const std::string data = value_text(run.config, "data.dataset") + " " +
                               value_text(run.config, "data.dir") + " " +
                               value_text(run.config, "data.train_size") + " " +
                               value_text(run.config, "data.test_size");
      if (!checked.count(data)) {
        check_data(plan);
        checked.insert(data);
      }
    }
    rec.start_time = utc_now_iso();
    try {
      rec.result =
          trainer(run.config, RunObserver{}, threads > 0 ? threads : omp_get_max_threads());
    } catch (const std::exception& e) {
      rec.result = RunResult{};
      rec.result.status = RunStatus::failed;
      rec.result.reason = e.what();
    }
    rec.end_time = utc_now_iso();
  });
  check_finite(rec.result);
  {
    py::gil_scoped_release release;
    for (;;) {
      try {
        ResultsStore store(out, header);
        store.add(rec);
        store.assemble();
        break;
      } catch (const StoreBusy&) {
        // Another worker is storing its trial; the lock is held for a file copy at most.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
  const auto& epochs = rec.result.epochs;
  std::vector<double> acc;
  for (const auto& e : epochs) acc.push_back(e.test_accuracy);
  return trial_outcome(run.id, false, rec.result.status, rec.result.reason,
                       epochs.empty() ? std::numeric_limits<double>::quiet_NaN() : acc.back(), acc);
}

py::dict search_space(const std::string& spec_file, const std::vector<std::string>& overrides) {
  const Spec spec = load_spec(spec_file, overrides);
  const SearchSpace space = parse_search(spec);
  py::list params;
  for (const auto& p : space.params)
    params.append(py::dict("key"_a = p.key, "kind"_a = p.kind, "lo"_a = p.lo, "hi"_a = p.hi,
                           "choices"_a = p.choices));
  return py::dict("name"_a = spec.base.name, "trials"_a = space.trials, "pruner"_a = space.pruner,
                  "seed"_a = space.seed, "epochs"_a = spec.base.training.epochs,
                  "params"_a = params);
}

// Defines m.name(spec, overrides=[]): the arguments of the functions that read one spec, as
// `wuxing <command> SPEC [overrides]` takes them.
template <class F>
void def_spec_function(py::module_& m, const char* name, F&& f) {
  m.def(name, std::forward<F>(f), py::arg("spec"),
        py::arg("overrides") = std::vector<std::string>{});
}

}  // namespace

}  // namespace wuxing::python

PYBIND11_MODULE(_core, m) {
  using namespace wuxing;
  m.doc() = "wuxing C++ core (specs, sweeps, the runner); use the `wuxing` package";
  static py::exception<SpecErrors> spec_error(m, "SpecError", PyExc_ValueError);
  static py::exception<StoreError> store_error(m, "StoreError", PyExc_OSError);
  static py::exception<DataError> data_error(m, "DataError", PyExc_OSError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const SpecErrors& e) {
      spec_error(e.what());
    } catch (const StoreError& e) {
      store_error(e.what());
    } catch (const DataError& e) {
      data_error(e.what());
    }
  });
  python::def_spec_function(m, "validate", &python::validate);
  python::def_spec_function(m, "config", &python::config);
  python::def_spec_function(m, "plan", &python::plan);
  m.def("run", &python::run, py::arg("spec"), py::arg("overrides") = std::vector<std::string>{},
        py::arg("output") = "", py::arg("on_epoch") = py::none(), py::arg("threads") = 0,
        py::arg("rerun_failed") = false, py::arg("progress") = false);
  m.def("run_trial", &python::run_trial, py::arg("spec"), py::arg("overrides"), py::arg("output"),
        py::arg("trial"), py::arg("on_epoch") = py::none(), py::arg("threads") = 0);
  python::def_spec_function(m, "search_space", &python::search_space);
  m.def(
      "run_id", [](const std::string& yaml) { return run_id(config_from_yaml(yaml)); },
      py::arg("config_yaml"));
}
