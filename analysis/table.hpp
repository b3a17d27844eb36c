// Plain tables for the terminal, Markdown and CSV, shared by `wuxing report`, `ls`, `show` and
// `export`.
#pragma once

#include <string>
#include <vector>

namespace wuxing {

struct TextTable {
  std::vector<std::string> header;
  std::vector<bool> right;  // right-aligned (numbers)
  std::vector<std::vector<std::string>> rows;
};

// Columns aligned, two spaces apart, a rule under the header; widths count code points.
std::string render_text(const TextTable& t);
// A Markdown table ('|' and newlines in cells escaped).
std::string render_md(const TextTable& t);
// RFC 4180 CSV: fields with a comma, quote or newline are quoted.
std::string render_csv(const TextTable& t);

// The shortest text that reads back to the same double; "nan" for NaN.
std::string csv_number(double v);
std::string csv_field(const std::string& s);

}  // namespace wuxing
