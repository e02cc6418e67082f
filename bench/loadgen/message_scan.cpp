#include "bench/loadgen/message_scan.hpp"

#include <charconv>
#include <string>

namespace loadgen {
namespace {

// Position just after `"name":` (skipping blanks), or npos.
std::size_t value_start(std::string_view text, std::string_view name, std::size_t from) {
  std::string key;
  key.reserve(name.size() + 3);
  key += '"';
  key += name;
  key += "\":";
  auto pos = text.find(key, from);
  if (pos == std::string_view::npos) return pos;
  pos += key.size();
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  return pos;
}

}  // namespace

std::string_view message_type(std::string_view text) {
  auto s = string_field(text, "type");
  return s ? *s : std::string_view{};
}

std::optional<std::int64_t> integer_field(std::string_view text, std::string_view name, std::size_t from) {
  const auto pos = value_start(text, name, from);
  if (pos == std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

std::optional<std::string_view> string_field(std::string_view text, std::string_view name) {
  const auto pos = value_start(text, name, 0);
  if (pos == std::string_view::npos || pos >= text.size() || text[pos] != '"') return std::nullopt;
  const auto end = text.find('"', pos + 1);  // ids and types never hold escaped quotes
  if (end == std::string_view::npos) return std::nullopt;
  return text.substr(pos + 1, end - pos - 1);
}

}  // namespace loadgen
