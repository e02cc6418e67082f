#pragma once
// Reads the few fields the generator needs straight from a server message's text. A full JSON
// parse per delivery would cost the generator more than the server spends writing the message,
// and the generator must stay the faster side. Works on compact JSON whose keys we know; a
// message it cannot read is counted as unparsed, never guessed.
#include <cstdint>
#include <optional>
#include <string_view>

namespace loadgen {

// The value of the first "type" key, or empty.
std::string_view message_type(std::string_view text);
// The integer value of the first key `"name":`, searched from `from` on.
std::optional<std::int64_t> integer_field(std::string_view text, std::string_view name, std::size_t from = 0);
// t, seq and p of a room_message's data, written by the generator as {"t":..,"seq":..,"p":..}.
struct stamp {
  std::int64_t t = 0;
  std::int64_t seq = 0;
  std::int64_t p = 0;
};
std::optional<stamp> publish_stamp(std::string_view text);
// The string value of the first key `"name":`.
std::optional<std::string_view> string_field(std::string_view text, std::string_view name);

}  // namespace loadgen
