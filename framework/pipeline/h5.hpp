// The one set of HDF5 helpers of the project, used by the results store
// (framework/pipeline/store.cpp) and by the analysis outputs (`wuxing stability`, `wuxing
// response`): RAII handles, groups, string and number attributes, datasets, and a file written
// atomically. Every failure throws StoreError with what failed and HDF5's innermost cause ("No
// space left on device"); HDF5's own printing of its error stack is turned off.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/store_error.hpp"

namespace wuxing::h5 {

// HDF5 reports errors through us only (per thread: each thread has its own error stack).
void silence();

// Owns an HDF5 id and closes it on scope exit.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  // Checks the id first: StoreError "HDF5: <what> failed (cause)" when it is invalid.
  Handle(hid_t id, herr_t (*closer)(hid_t), const std::string& what);
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  // Gives up ownership without closing.
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }
  operator hid_t() const { return id_; }

 private:
  hid_t id_ = -1;
  herr_t (*closer_)(hid_t) = nullptr;
};

// StoreError "HDF5: <what> failed (cause)" when id / status is negative.
hid_t check(hid_t id, const std::string& what);
void check_status(herr_t status, const std::string& what);
// Closes a file now and reports a failure (a destructor cannot): a file whose close failed
// (say the disk filled while its metadata was flushed) must never be renamed into place.
void close_file(Handle& file, const std::string& what);

Handle str_type();  // variable-length UTF-8
Handle scalar_space();
Handle vector_space(std::size_t n);
Handle create_group(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name);
bool exists(hid_t loc, const std::string& name);

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  if constexpr (std::is_same_v<T, unsigned long long>) return H5T_NATIVE_ULLONG;
  if constexpr (std::is_same_v<T, int>) return H5T_NATIVE_INT;
}

// ---- attributes ----

void attr_string(hid_t loc, const std::string& name, const std::string& value);
void attr_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
template <class T>
void attr_number(hid_t loc, const std::string& name, T value) {
  Handle s = scalar_space();
  Handle a(H5Acreate2(loc, name.c_str(), native_type<T>(), s, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           "attribute " + name);
  check_status(H5Awrite(a, native_type<T>(), &value), "write attribute " + name);
}
template <class T>
void attr_numbers(hid_t loc, const std::string& name, const std::vector<T>& values) {
  Handle s = vector_space(values.size());
  Handle a(H5Acreate2(loc, name.c_str(), native_type<T>(), s, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           "attribute " + name);
  if (!values.empty()) check_status(H5Awrite(a, native_type<T>(), values.data()), "write " + name);
}

// StoreError "missing attribute 'name'" when there is none.
Handle open_attr(hid_t loc, const std::string& name);
std::vector<std::string> read_attr_strings(hid_t loc, const std::string& name);
std::string read_attr_string(hid_t loc, const std::string& name);
template <class T>
T read_attr_number(hid_t loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  T v{};
  check_status(H5Aread(a, native_type<T>(), &v), "read attribute " + name);
  return v;
}
template <class T>
std::vector<T> read_attr_numbers(hid_t loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  Handle space(check(H5Aget_space(a), "attribute space"), H5Sclose);
  std::vector<T> v(
      static_cast<std::size_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)));
  if (!v.empty()) check_status(H5Aread(a, native_type<T>(), v.data()), "read attribute " + name);
  return v;
}

// ---- datasets ----

// A row-major dataset of shape `dims` (1-D: {n}) from `data`.
template <class T>
void dataset_numbers(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims,
                     const T* data) {
  Handle s(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
           "dataspace for " + name);
  Handle d(
      H5Dcreate2(loc, name.c_str(), native_type<T>(), s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose, "dataset " + name);
  hsize_t n = 1;
  for (hsize_t e : dims) n *= e;
  if (n > 0)
    check_status(H5Dwrite(d, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                 "write " + name);
}
template <class T>
void dataset_numbers(hid_t loc, const std::string& name, const std::vector<T>& values) {
  dataset_numbers(loc, name, {values.size()}, values.data());
}
// The same with a `description` attribute (the analysis outputs describe every dataset).
template <class T>
void dataset(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims, const T* data,
             const std::string& description) {
  dataset_numbers(loc, name, dims, data);
  Handle d(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset " + name);
  attr_string(d, "description", description);
}
template <class T>
void column(hid_t loc, const std::string& name, const std::vector<T>& values,
            const std::string& description) {
  dataset(loc, name, {values.size()}, values.data(), description);
}
// The column `name` of a table of rows, as T: get(row) of every row (get is a callable or a
// data member), so that a writer lists each column once with what it holds.
template <class T, class Rows, class Get>
void column_of(hid_t loc, const std::string& name, const Rows& rows, Get get,
               const std::string& description) {
  std::vector<T> values;
  values.reserve(rows.size());
  for (const auto& row : rows) values.push_back(static_cast<T>(std::invoke(get, row)));
  column(loc, name, values, description);
}
void dataset_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
std::vector<double> read_dataset_doubles(hid_t loc, const std::string& name);
std::vector<std::string> read_dataset_strings(hid_t loc, const std::string& name);
bool is_string_dataset(hid_t loc, const std::string& name);

// ---- files ----

// Runs write(file) on `path`.tmp.<pid> and renames it to `path` (creating its directory), so
// that a reader never sees a half-written file; on any error the temporary file is removed and
// the error rethrown.
template <class Write>
void write_atomically(const std::filesystem::path& path, long pid, Write&& write) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp." + std::to_string(pid);
  try {
    silence();
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                "create " + tmp.string());
    write(static_cast<hid_t>(file));
    close_file(file, "close " + tmp.string());
    fs::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace wuxing::h5
