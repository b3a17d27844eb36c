// The results file layout (docs/results-format.md): the header, one run's group (its
// attributes, metrics, parameters, trajectories, stability records), the /index table, and
// reading them back. The writing process (parts, locks, assembly) is store.cpp.
#include "framework/pipeline/store_layout.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "framework/pipeline/provenance.hpp"

namespace wuxing {

using namespace h5;

namespace detail {

namespace {

constexpr const char* kFormat = "wuxing-results";
constexpr int kFormatVersion = 1;

}  // namespace

// Opens an existing results (or part) file read-only, with a clear error if it is not one.
Handle open_results(const std::filesystem::path& p) {
  silence();
  if (!std::filesystem::exists(p))
    throw StoreError(fmt::format("results file {} does not exist", p.string()));
  hid_t id = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    throw StoreError(fmt::format(
        "{} is not a readable HDF5 file (corrupt or truncated?); move it away or choose another "
        "output file with -o",
        p.string()));
  Handle f(id, H5Fclose);
  std::string format;
  try {
    format = read_attr_string(f, "format");
  } catch (const StoreError&) {
    format.clear();
  }
  if (format != kFormat)
    throw StoreError(
        fmt::format("{} is an HDF5 file but not a wuxing results file (no format = "
                    "'{}' attribute at the root)",
                    p.string(), kFormat));
  return f;
}

void write_header(hid_t file, const StoreHeader& h) {
  attr_string(file, "format", kFormat);
  attr_number<int>(file, "format_version", kFormatVersion);
  attr_string(file, "spec_name", h.spec_name);
  attr_string(file, "spec_fingerprint", h.fingerprint);
  attr_string(file, "spec_description", h.description);
  attr_string(file, "spec_base_yaml", h.base_yaml);
  std::vector<std::string> keys;
  std::vector<int> numeric;
  for (const auto& c : h.columns) {
    keys.push_back(c.key);
    numeric.push_back(c.numeric ? 1 : 0);
  }
  attr_strings(file, "swept_columns", keys);
  attr_numbers<int>(file, "swept_numeric", numeric);
}

StoreHeader header_of(hid_t file) {
  StoreHeader h;
  h.spec_name = read_attr_string(file, "spec_name");
  h.fingerprint = read_attr_string(file, "spec_fingerprint");
  h.description = read_attr_string(file, "spec_description");
  h.base_yaml = read_attr_string(file, "spec_base_yaml");
  auto keys = read_attr_strings(file, "swept_columns");
  auto numeric = read_attr_numbers<int>(file, "swept_numeric");
  for (std::size_t i = 0; i < keys.size(); ++i)
    h.columns.push_back({keys[i], i < numeric.size() && numeric[i] != 0});
  return h;
}

void require_same_spec(const std::filesystem::path& p, const StoreHeader& found,
                       const StoreHeader& expected) {
  if (!compatible_headers(found, expected))
    throw StoreError(fmt::format(
        "{} was written by spec '{}' (fingerprint {}), not by this spec '{}' (fingerprint {}), "
        "and their base configs or swept columns differ; results of different specs are not "
        "mixed: choose another output file with -o, or move the old one away",
        p.string(), found.spec_name, found.fingerprint, expected.spec_name, expected.fingerprint));
}

std::vector<std::string> run_names(hid_t file) {
  std::vector<std::string> names;
  if (!exists(file, "runs")) return names;
  Handle g = open_group(file, "runs");
  H5G_info_t info;
  check_status(H5Gget_info(g, &info), "group info");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len =
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) continue;
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    names.push_back(name);
  }
  return names;
}

StoredRun stored_run(hid_t run, const std::string& id) {
  StoredRun s;
  s.id = id;
  s.plan_index = static_cast<std::size_t>(read_attr_number<std::int64_t>(run, "plan_index"));
  const std::string status = read_attr_string(run, "status");
  const auto parsed = parse_run_status(status);
  if (!parsed)
    throw StoreError(
        fmt::format("run {}: unknown status '{}' (expected ok, failed, "
                    "numerical_trouble or pruned)",
                    id, status));
  s.status = *parsed;
  s.reason = read_attr_string(run, "reason");
  s.start_time = read_attr_string(run, "start_time");
  s.end_time = read_attr_string(run, "end_time");
  s.final_test_accuracy = read_attr_number<double>(run, "final_test_accuracy");
  s.wall_seconds = read_attr_number<double>(run, "wall_seconds");
  return s;
}

std::map<std::string, StoredRun> runs_of(hid_t file) {
  std::map<std::string, StoredRun> out;
  for (const auto& name : run_names(file)) {
    Handle g = open_group(file, "runs/" + name);
    out[name] = stored_run(g, name);
  }
  return out;
}

void write_metrics(hid_t run, const std::vector<EpochMetrics>& epochs) {
  Handle g = create_group(run, "metrics");
  auto col = [&](const char* name, auto get) {
    std::vector<double> v;
    for (const auto& e : epochs) v.push_back(static_cast<double>(get(e)));
    dataset_numbers(g, name, v);
  };
  auto icol = [&](const char* name, auto get) {
    std::vector<std::int64_t> v;
    for (const auto& e : epochs) v.push_back(static_cast<std::int64_t>(get(e)));
    dataset_numbers(g, name, v);
  };
  icol("epoch", [](const EpochMetrics& e) { return e.epoch; });
  col("train_accuracy", [](const EpochMetrics& e) { return e.train_accuracy; });
  col("test_accuracy", [](const EpochMetrics& e) { return e.test_accuracy; });
  col("train_loss", [](const EpochMetrics& e) { return e.train_loss; });
  col("test_loss", [](const EpochMetrics& e) { return e.test_loss; });
  col("unsettled_fraction", [](const EpochMetrics& e) { return e.unsettled_fraction; });
  col("clamp_fraction", [](const EpochMetrics& e) { return e.clamp_fraction; });
  col("max_re_lambda", [](const EpochMetrics& e) { return e.max_re_lambda; });
  col("mean_steps", [](const EpochMetrics& e) { return e.mean_steps; });
  col("wall_seconds", [](const EpochMetrics& e) { return e.wall_seconds; });
  icol("unsettled_samples", [](const EpochMetrics& e) { return e.trouble.unsettled_samples; });
  icol("backward_unsettled", [](const EpochMetrics& e) { return e.trouble.backward_unsettled; });
  icol("step_cap_hits", [](const EpochMetrics& e) { return e.trouble.step_cap_hits; });
  icol("clamp_events", [](const EpochMetrics& e) { return e.trouble.clamp_events; });
  icol("non_finite", [](const EpochMetrics& e) { return e.trouble.non_finite; });
  icol("k_clamp_events", [](const EpochMetrics& e) { return e.trouble.k_clamp_events; });
  icol("input_clamps", [](const EpochMetrics& e) { return e.trouble.input_clamps; });
  icol("excluded_samples", [](const EpochMetrics& e) { return e.trouble.excluded_samples; });
  icol("solve_fallbacks", [](const EpochMetrics& e) { return e.trouble.solve_fallbacks; });
  icol("held_elements", [](const EpochMetrics& e) { return e.trouble.held_elements; });
}

void write_parameters(hid_t run, const std::vector<LayerParameters>& layers) {
  Handle g = create_group(run, "parameters");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    Handle lg = create_group(g, fmt::format("layer_{}", i));
    dataset_numbers(lg, "K1", l.K1);
    dataset_numbers(lg, "K2", l.K2);
    dataset_numbers(lg, "K3", l.K3);
    dataset_numbers(lg, "fixed_points", l.fixed_points);
    attr_number(lg, "coef_mean", l.coef_mean);
    attr_number(lg, "coef_std", l.coef_std);
    attr_number(lg, "coef_min", l.coef_min);
    attr_number(lg, "coef_max", l.coef_max);
    attr_number<std::int64_t>(lg, "connections", l.connections);
  }
}

void write_trajectories(hid_t run, const std::vector<Trajectory>& trajectories) {
  Handle g = create_group(run, "trajectories");
  for (const auto& t : trajectories) {
    const std::size_t T = t.times.size();
    const std::size_t expected =
        T * static_cast<std::size_t>(t.neurons) * static_cast<std::size_t>(t.elements);
    if (t.values.size() != expected)
      throw StoreError(
          fmt::format("trajectory sample {} layer {}: {} values, expected {} x {} x {}", t.sample,
                      t.layer, t.values.size(), T, t.neurons, t.elements));
    Handle tg = create_group(g, fmt::format("sample_{}_layer_{}", t.sample, t.layer));
    attr_number<int>(tg, "sample", t.sample);
    attr_number<int>(tg, "layer", t.layer);
    dataset_numbers(tg, "time", t.times);
    hsize_t dims[3] = {T, static_cast<hsize_t>(t.neurons), static_cast<hsize_t>(t.elements)};
    Handle space(check(H5Screate_simple(3, dims, nullptr), "dataspace"), H5Sclose);
    Handle plist(check(H5Pcreate(H5P_DATASET_CREATE), "property list"), H5Pclose);
    if (expected > 0) {
      hsize_t chunk[3] = {std::max<hsize_t>(1, std::min<hsize_t>(T, 256)),
                          std::max<hsize_t>(1, dims[1]), std::max<hsize_t>(1, dims[2])};
      check_status(H5Pset_chunk(plist, 3, chunk), "chunking");
      check_status(H5Pset_shuffle(plist), "shuffle");
      check_status(H5Pset_deflate(plist, 4), "deflate");
    }
    Handle d(
        check(H5Dcreate2(tg, "values", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, plist, H5P_DEFAULT),
              "trajectory dataset"),
        H5Dclose);
    if (expected > 0)
      check_status(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()),
                   "write trajectory");
    attr_strings(d, "dims", {"time", "neuron", "element"});
  }
}

void write_stability(hid_t run, const std::vector<StabilityRecord>& records) {
  Handle g = create_group(run, "stability");
  for (const auto& r : records) {
    Handle eg = create_group(g, fmt::format("epoch_{}", r.epoch));
    std::vector<double> re, im;
    for (const auto& z : r.eigenvalues) {
      re.push_back(z.real());
      im.push_back(z.imag());
    }
    dataset_numbers(eg, "real", re);
    dataset_numbers(eg, "imag", im);
    attr_number<int>(eg, "epoch", r.epoch);
    for (const auto& [name, values] : r.diagnostics) dataset_numbers(eg, name, values);
  }
}

void write_run_group(hid_t file, const RunRecord& rec) {
  Handle runs = exists(file, "runs") ? open_group(file, "runs") : create_group(file, "runs");
  Handle g = create_group(runs, rec.id);
  const RunResult& r = rec.result;
  attr_string(g, "run_id", rec.id);
  attr_number<std::int64_t>(g, "plan_index", static_cast<std::int64_t>(rec.plan_index));
  attr_string(g, "config_yaml", rec.config_yaml);
  attr_number<std::uint64_t>(g, "seed", rec.seed);
  attr_string(g, "ablation", rec.ablation);
  std::vector<std::string> keys, values;
  for (const auto& s : rec.swept) {
    keys.push_back(s.key);
    values.push_back(s.text);
  }
  attr_strings(g, "swept_keys", keys);
  attr_strings(g, "swept_values", values);
  attr_string(g, "status", std::string(r.status.name()));
  attr_string(g, "reason", r.reason);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  attr_number(g, "final_test_accuracy", r.epochs.empty() ? nan : r.epochs.back().test_accuracy);
  attr_number(g, "final_train_accuracy", r.epochs.empty() ? nan : r.epochs.back().train_accuracy);
  attr_number<std::int64_t>(g, "epochs_done", static_cast<std::int64_t>(r.epochs.size()));
  attr_number(g, "wall_seconds", r.wall_seconds);
  attr_string(g, "start_time", rec.start_time);
  attr_string(g, "end_time", rec.end_time);
  const Provenance& p = provenance();
  attr_string(g, "git_commit", p.git_commit);
  attr_number<int>(g, "git_dirty", p.git_dirty ? 1 : 0);
  attr_string(g, "git_commit_source", p.git_commit_source);
  attr_string(g, "wuxing_version", p.wuxing_version);
  attr_string(g, "host", p.host);
  for (const auto& [name, version] : p.libraries) attr_string(g, "version_" + name, version);
  write_metrics(g, r.epochs);
  write_parameters(g, r.parameters);
  write_trajectories(g, r.trajectories);
  write_stability(g, r.stability);
}

// /index: one dataset per column, rows sorted by plan index, so that the table does not
// depend on the order in which runs finished.
void write_index(hid_t file, const StoreHeader& header) {
  // The run's summary, as runs() reads it, plus what only the index shows.
  struct Row {
    StoredRun run;
    std::uint64_t seed;
    double train_acc;
    std::int64_t epochs;
    std::map<std::string, std::string> swept;
  };
  std::vector<Row> rows;
  for (const auto& name : run_names(file)) {
    Handle g = open_group(file, "runs/" + name);
    Row row;
    row.run = stored_run(g, name);
    row.seed = read_attr_number<std::uint64_t>(g, "seed");
    row.train_acc = read_attr_number<double>(g, "final_train_accuracy");
    row.epochs = read_attr_number<std::int64_t>(g, "epochs_done");
    auto keys = read_attr_strings(g, "swept_keys");
    auto values = read_attr_strings(g, "swept_values");
    for (std::size_t i = 0; i < keys.size() && i < values.size(); ++i)
      row.swept[keys[i]] = values[i];
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.run.plan_index != b.run.plan_index ? a.run.plan_index < b.run.plan_index
                                                : a.run.id < b.run.id;
  });
  Handle g = create_group(file, "index");
  std::vector<std::string> columns;
  auto strings = [&](const std::string& name, auto get) {
    std::vector<std::string> v;
    for (const auto& r : rows) v.push_back(get(r));
    dataset_strings(g, name, v);
    columns.push_back(name);
  };
  auto doubles = [&](const std::string& name, auto get) {
    std::vector<double> v;
    for (const auto& r : rows) v.push_back(get(r));
    dataset_numbers(g, name, v);
    columns.push_back(name);
  };
  strings("run_id", [](const Row& r) { return r.run.id; });
  strings("status", [](const Row& r) { return std::string(r.run.status.name()); });
  for (const auto& c : header.columns) {
    if (c.key == "seed") {
      std::vector<std::uint64_t> v;
      for (const auto& r : rows) v.push_back(r.seed);
      dataset_numbers(g, "seed", v);
      columns.push_back("seed");
    } else if (c.numeric) {
      doubles(c.key, [&](const Row& r) {
        auto it = r.swept.find(c.key);
        if (it == r.swept.end()) return std::numeric_limits<double>::quiet_NaN();
        try {
          return std::stod(it->second);
        } catch (...) {
          return std::numeric_limits<double>::quiet_NaN();
        }
      });
    } else {
      strings(c.key, [&](const Row& r) {
        auto it = r.swept.find(c.key);
        return it == r.swept.end() ? std::string() : it->second;
      });
    }
  }
  doubles("final_test_accuracy", [](const Row& r) { return r.run.final_test_accuracy; });
  doubles("final_train_accuracy", [](const Row& r) { return r.train_acc; });
  {
    std::vector<std::int64_t> v;
    for (const auto& r : rows) v.push_back(r.epochs);
    dataset_numbers(g, "epochs_done", v);
    columns.push_back("epochs_done");
  }
  doubles("wall_seconds", [](const Row& r) { return r.run.wall_seconds; });
  strings("start_time", [](const Row& r) { return r.run.start_time; });
  strings("reason", [](const Row& r) { return r.run.reason; });
  attr_strings(g, "columns", columns);
}

}  // namespace detail

using namespace detail;

StoreHeader read_header(const std::filesystem::path& file) {
  Handle f = open_results(file);
  return header_of(f);
}

std::map<std::string, StoredRun> read_runs(const std::filesystem::path& file) {
  Handle f = open_results(file);
  return runs_of(f);
}

IndexTable read_index(const std::filesystem::path& file) {
  Handle f = open_results(file);
  IndexTable t;
  if (!exists(f, "index")) throw StoreError(fmt::format("{} has no /index", file.string()));
  Handle g = open_group(f, "index");
  t.columns = read_attr_strings(g, "columns");
  for (const auto& c : t.columns) {
    if (is_string_dataset(g, c)) {
      t.text[c] = read_dataset_strings(g, c);
      t.rows = t.text[c].size();
    } else {
      t.numeric[c] = read_dataset_doubles(g, c);
      t.rows = t.numeric[c].size();
    }
  }
  return t;
}

std::vector<double> read_metric(const std::filesystem::path& file, const std::string& run_id,
                                const std::string& metric) {
  Handle f = open_results(file);
  const std::string group = "runs/" + run_id + "/metrics";
  if (!exists(f, "runs/" + run_id))
    throw StoreError(fmt::format("{} has no run {}", file.string(), run_id));
  Handle g = open_group(f, group);
  return read_dataset_doubles(g, metric);
}

std::string read_run_attribute(const std::filesystem::path& file, const std::string& run_id,
                               const std::string& name) {
  Handle f = open_results(file);
  if (!exists(f, "runs/" + run_id))
    throw StoreError(fmt::format("{} has no run {}", file.string(), run_id));
  Handle g = open_group(f, "runs/" + run_id);
  return read_attr_string(g, name);
}

}  // namespace wuxing
