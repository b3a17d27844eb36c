// Internal to framework/base/data.cpp and data_idx.cpp: how a data error names its file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wuxing::detail {

// 'path' in quotes.
std::string quoted(const std::filesystem::path& path);
// Throws DataError "'path': what".
[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what);
// Bytes as hex ("1f 8b"), dims as "60000 x 28 x 28".
std::string hex_bytes(const std::uint8_t* bytes, std::size_t n);
std::string dims_text(const std::vector<std::uint32_t>& dims);

}  // namespace wuxing::detail
