// The tables of `wuxing ls`, `show` and `export`, built from a results file.
#pragma once

#include <filesystem>
#include <string>

#include "analysis/inspect.hpp"
#include "analysis/table.hpp"
#include "framework/pipeline/layer.hpp"

namespace wuxing {

// /index as a table: one row per run, every column; numbers in shortest round-trip form
// ("nan" when undefined), so that CSV reads back exactly. `status` filters rows ("" keeps all).
TextTable index_table(const std::filesystem::path& file, const std::string& status = "");

// The same, narrowed for the terminal: run_id, status, the swept columns, final test and train
// accuracy in %, epochs and wall time.
TextTable runs_summary_table(const std::filesystem::path& file, const std::string& status = "");

// Every run's per-epoch metrics: run_id, the swept columns, then one column per metric.
TextTable epochs_table(const std::filesystem::path& file);

// One run's per-epoch metrics as a table (fractions as %, trouble counters only when nonzero).
TextTable run_epochs_table(const RunDetails& run);

}  // namespace wuxing
