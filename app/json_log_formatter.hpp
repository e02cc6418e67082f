#pragma once
// log.format = "json": one JSON object per line, for log pipelines that parse (Loki, Elastic,
// journald's JSON export): {"time","level","logger","msg"} and, when the message is about a
// session (it names one: "s_" and 24 hex digits, as every session line does), "session_id".
#include <spdlog/formatter.h>

#include <memory>

namespace tether {

class json_log_formatter : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace tether
