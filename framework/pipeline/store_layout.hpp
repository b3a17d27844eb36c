// Internal to the results store (store.cpp, store_layout.cpp): the file layout of
// docs/results-format.md, read and written group by group.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "framework/pipeline/h5.hpp"
#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing::detail {

h5::Handle open_results(const std::filesystem::path& p);
void write_header(hid_t file, const StoreHeader& h);
StoreHeader header_of(hid_t file);
void require_same_spec(const std::filesystem::path& p, const StoreHeader& found,
                       const StoreHeader& expected);
std::vector<std::string> run_names(hid_t file);
StoredRun stored_run(hid_t run, const std::string& id);
std::map<std::string, StoredRun> runs_of(hid_t file);
void write_metrics(hid_t run, const std::vector<EpochMetrics>& epochs);
void write_parameters(hid_t run, const std::vector<LayerParameters>& layers);
void write_trajectories(hid_t run, const std::vector<Trajectory>& trajectories);
void write_stability(hid_t run, const std::vector<StabilityRecord>& records);
void write_run_group(hid_t file, const RunRecord& rec);
void write_index(hid_t file, const StoreHeader& header);

}  // namespace wuxing::detail
