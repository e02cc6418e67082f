// The server's own life in the audit trail (server_started, recovery, server_stopped) and the
// rate-limited info summary of sessions and deletions (docs/operations.md, "Audit").
#include "support.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

using namespace tether::it;

namespace {

std::vector<json::object> with_event(const std::vector<json::object>& records, const std::string& event) {
  std::vector<json::object> out;
  for (const auto& r : records)
    if (str(r, "event") == event) out.push_back(r);
  return out;
}

json::object details_of(const json::object& record) {
  const auto* d = record.if_contains("details");
  if (d && d->is_object()) return d->as_object();
  if (d && d->is_string()) {
    boost::system::error_code ec;
    auto v = json::parse(d->as_string(), ec);
    if (!ec && v.is_object()) return v.as_object();
  }
  return {};
}

// The audit trail read with `tetherd audit` (works while the server is stopped).
std::vector<json::object> audit_cli(const server_process& s) {
  auto r = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + s.data_dir()});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<json::object> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

struct activity_totals {
  std::int64_t opened = 0, ended = 0, deleted = 0, lines = 0;
};

// Sums the "activity in the last ...: N session(s) opened, M ended, K file(s) deleted" lines.
activity_totals activity_in(const std::string& log) {
  static const std::regex line(R"(activity in the last [0-9.]+s: (\d+) session\(s\) opened, (\d+) ended, (\d+) file\(s\) deleted)");
  activity_totals t;
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
    t.opened += std::stoll((*it)[1]);
    t.ended += std::stoll((*it)[2]);
    t.deleted += std::stoll((*it)[3]);
    ++t.lines;
  }
  return t;
}

}  // namespace

TEST(ServerEvents, StartRecoveryAndStopAreAudited) {
  server_process s({"session.resume_window_ms=0"});
  auto started = with_event(audit(s), "server_started");
  ASSERT_EQ(started.size(), 1u) << dump(audit(s));
  auto d = details_of(started[0]);
  EXPECT_EQ(str(d, "version"), TETHER_PROJECT_VERSION) << json::serialize(d);
  EXPECT_EQ(str(d, "data_dir"), s.data_dir()) << json::serialize(d);
  auto first_recovery = with_event(audit(s), "recovery");
  ASSERT_EQ(first_recovery.size(), 1u);
  EXPECT_EQ(details_of(first_recovery[0]).at("sessions_recovered"), 0);

  // A session open at a crash, with a file: recovery ends it (window 0) and queues the file.
  auto token = s.token("alice");
  auto f = upload(s, token, "a.txt", "a");
  {
    ws_client c(s.port());
    ASSERT_TRUE(open_session(c, token));
    ASSERT_TRUE(request(c, {{"type", "register"}, {"file_ids", json::array{json::value(f)}}}));
    s.kill9();
  }
  EXPECT_TRUE(with_event(audit_cli(s), "server_stopped").empty()) << "a crash records no stop";
  s.restart();
  auto records = audit(s);
  auto recoveries = with_event(records, "recovery");
  ASSERT_EQ(recoveries.size(), 2u) << dump(records);
  auto r = details_of(recoveries[1]);
  EXPECT_EQ(r.at("sessions_recovered"), 0) << json::serialize(r);
  EXPECT_EQ(r.at("sessions_ended"), 1) << json::serialize(r);
  EXPECT_EQ(r.at("deletions_resumed"), 0) << json::serialize(r);
  EXPECT_EQ(with_event(records, "server_started").size(), 2u);

  ASSERT_TRUE(wait_until([&] { return has_record(audit(s), "file_deleted", "", f); }, 5s)) << dump(audit(s));

  // SIGTERM: the last record of the run is server_stopped.
  EXPECT_EQ(s.terminate(), 0);
  auto after = audit_cli(s);
  ASSERT_FALSE(after.empty());
  auto stopped = with_event(after, "server_stopped");
  ASSERT_EQ(stopped.size(), 1u) << dump(after);
  EXPECT_EQ(str(after.back(), "event"), "server_stopped") << dump(after);
}

TEST(ServerEvents, InfoLogSummarisesActivityAtMostOncePerSecond) {
  server_process s({"log.level=info", "session.resume_window_ms=0"});
  const auto begin = std::chrono::steady_clock::now();
  const int sessions = 6;
  for (int i = 0; i < sessions; ++i) {
    auto token = s.token("user" + std::to_string(i));
    auto f = upload(s, token, "f.bin", "x");
    ws_client c(s.port());
    ASSERT_TRUE(open_session(c, token));
    ASSERT_TRUE(request(c, {{"type", "register"}, {"file_ids", json::array{json::value(f)}}}));
    ASSERT_TRUE(c.close(1000));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        auto t = activity_in(s.log());
        return t.opened == sessions && t.ended == sessions && t.deleted == sessions;
      },
      5s))
      << s.log();
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  auto t = activity_in(s.log());
  EXPECT_LE(t.lines, static_cast<std::int64_t>(elapsed) + 1) << s.log();
  EXPECT_LT(t.lines, 3 * sessions) << "not one line per event: " << s.log();
  EXPECT_EQ(s.log().find("audit session_opened"), std::string::npos) << "per-event lines are debug: " << s.log();
}

TEST(ServerEvents, DebugLogKeepsPerEventLines) {
  server_process s({"log.level=debug"});
  ws_client c(s.port());
  auto hello = open_session(c, s.token("bob"));
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  EXPECT_TRUE(wait_until([&] { return s.log().find("audit session_opened session=" + sid) != std::string::npos; }, 3s))
      << s.log();
}
