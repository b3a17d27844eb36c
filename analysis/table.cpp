#include "analysis/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace wuxing {

namespace detail {

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

// Display width in code points (the cells hold "±", which is two bytes in UTF-8).
std::size_t width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string pad(const std::string& s, std::size_t w, bool right) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right ? fill + s : s + fill;
}

}  // namespace detail

using detail::md_cell;
using detail::pad;
using detail::width;

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);  // shortest text that reads back to the same double
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string render_text(const TextTable& t) {
  std::vector<std::size_t> w(t.header.size(), 0);
  for (std::size_t c = 0; c < t.header.size(); ++c) w[c] = width(t.header[c]);
  for (const auto& r : t.rows)
    for (std::size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], width(r[c]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      s += (c ? "  " : "") + pad(cells[c], w[c], t.right[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(t.header);
  std::vector<std::string> rule;
  for (std::size_t c = 0; c < w.size(); ++c) rule.push_back(std::string(w[c], '-'));
  out += line(rule);
  for (const auto& r : t.rows) out += line(r);
  return out;
}

std::string render_md(const TextTable& t) {
  std::string out = "|";
  // Appends piecewise: `" " + std::string` trips GCC 12's false -Wrestrict positive.
  for (const auto& h : t.header) out.append(" ").append(md_cell(h)).append(" |");
  out += "\n|";
  for (std::size_t c = 0; c < t.header.size(); ++c) out += t.right[c] ? "---:|" : "---|";
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (const auto& cell : r) out.append(" ").append(md_cell(cell)).append(" |");
    out += "\n";
  }
  return out;
}

std::string render_csv(const TextTable& t) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c)
      s.append(c ? "," : "").append(csv_field(cells[c]));
    return s + "\n";
  };
  std::string out = line(t.header);
  for (const auto& r : t.rows) out += line(r);
  return out;
}

}  // namespace wuxing
