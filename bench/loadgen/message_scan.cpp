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
  // Fast path: tether and the trivial server both write the type first.
  constexpr std::string_view head = R"({"type":")";
  if (text.substr(0, head.size()) == head) {
    const auto end = text.find('"', head.size());
    if (end != std::string_view::npos) return text.substr(head.size(), end - head.size());
  }
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

std::optional<stamp> publish_stamp(std::string_view text) {
  // Fast path: the servers keep the data object's key order, so read it in one pass.
  constexpr std::string_view open = R"("data":{"t":)";
  const auto data = text.find(open);
  if (data != std::string_view::npos) {
    const char* p = text.data() + data + open.size();
    const char* end = text.data() + text.size();
    stamp s;
    auto number = [&](std::int64_t& v, std::string_view next) {
      const auto [q, ec] = std::from_chars(p, end, v);
      if (ec != std::errc{} || std::string_view(q, static_cast<std::size_t>(end - q)).substr(0, next.size()) != next) return false;
      p = q + next.size();
      return true;
    };
    if (number(s.t, R"(,"seq":)") && number(s.seq, R"(,"p":)") && number(s.p, "")) return s;
  }
  // Any other layout: look each key up after "data".
  const auto from = text.find("\"data\":");
  if (from == std::string_view::npos) return std::nullopt;
  const auto t = integer_field(text, "t", from);
  const auto seq = integer_field(text, "seq", from);
  const auto p = integer_field(text, "p", from);
  if (!t || !seq || !p) return std::nullopt;
  return stamp{*t, *seq, *p};
}

}  // namespace loadgen
