#pragma once
// The option table behind settings.hpp, shared by settings.cpp (table, validation, rendering) and
// loader.cpp (sources). Internal to the config module.
#include "config/settings.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tether::config_detail {

// Accessors rather than pointers-to-member: the sections of `settings` are anonymous structs.
using int_field = std::int64_t& (*)(settings&);
using bool_field = bool& (*)(settings&);
using text_field = std::string& (*)(settings&);

struct int_rule {
  int_field field;
  std::int64_t min, max;
};

struct bool_rule {
  bool_field field;
};

// A constraint on free text that a list of choices can't express (e.g. "empty or a URL").
struct text_check {
  bool (*ok)(std::string_view);
  std::string_view allowed;  // how the error message and the docs describe `ok`
};

struct text_rule {
  text_field field;
  std::vector<std::string_view> choices;  // non-empty: the value must be one of these
  const text_check* check = nullptr;
  bool secret = false;  // describe() hides the value
};

struct option {
  std::string_view name;  // "section.key"
  std::string_view help;  // one line, for config/tether.json
  std::variant<int_rule, bool_rule, text_rule> rule;

  std::string_view section() const { return name.substr(0, name.find('.')); }
  std::string_view key() const { return name.substr(name.find('.') + 1); }
};

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// `text` as a JSON string literal: how messages show a value given as text.
std::string quote(std::string_view text);

// Every option, grouped by section in the order they are documented.
const std::vector<option>& options();

// nullptr when `name` ("section.key") is not an option.
const option* find_option(std::string_view name);

// Like find_option, but an unknown name is a config_error listing what exists. A name without a
// dot is taken as a section.
const option& require_option(std::string_view name);

bool is_section(std::string_view section);

// Parse, validate and store one value; a config_error names the key, the value and what is allowed.
// Text comes from the environment and --set; JSON from the config file.
void assign_text(const option& o, settings& s, std::string_view text);
void assign_json(const option& o, settings& s, const boost::json::value& value);

}  // namespace tether::config_detail
