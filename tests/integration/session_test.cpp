// Session life beyond the basics: takeover, resume by message, window expiry, server-ended
// sessions, stale sweep, idle timeout, register carrying the token (PROTOCOL.md §3, §4, §11).
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

namespace {

long since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

TEST(Session, ResumeWhileOldSocketIsOpenReplacesItWith4009) {
  server_process s({"session.resume_window_ms=2000"});
  auto token = s.token("alice");
  ws_client old_tab(s.port());
  auto d = open_draft(s, old_tab, token);
  auto f = d.file_ids[0];

  ws_client new_tab(s.port());
  ASSERT_TRUE(resume_draft(new_tab, token, d));

  EXPECT_EQ(old_tab.wait_close(3s).value_or(0), 4009);  // 0: no close frame
  // The replaced socket's close does not end the session nor touch its files.
  auto pong = request(new_tab, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong");
  EXPECT_TRUE(s.blob_exists(f));
  EXPECT_FALSE(has_record(audit(s), "session_closed"));
}

TEST(Session, ResumeByConnectMessage) {
  server_process s({"session.resume_window_ms=2000"});
  auto token = s.token("alice");
  ws_client first(s.port());
  auto opened = open_session_ids(first, token);
  ASSERT_FALSE(opened.session_id.empty());
  first.drop();

  ws_client second(s.port());
  ASSERT_EQ(second.connect("/ws"), 101);
  auto back = request(second, {{"type", "connect"},
                               {"token", token},
                               {"resume_token", opened.resume_token},
                               {"ref", "resume-1"}});
  ASSERT_TRUE(back);
  EXPECT_EQ(str(*back, "type"), "connected") << serialize(*back);
  EXPECT_EQ((*back)["resumed"], value(true)) << serialize(*back);
  EXPECT_EQ(str(*back, "session_id"), opened.session_id);
  EXPECT_EQ(str(*back, "ref"), "resume-1");
}

TEST(Session, ResumeWindowExpiryRunsDisconnectHandling) {
  constexpr int window = 300;
  server_process s({"session.resume_window_ms=" + std::to_string(window)});
  auto token = s.token("alice");
  ws_client c(s.port());
  auto d = open_draft(s, c, token);
  ASSERT_FALSE(HasFailure());
  auto f = d.file_ids[0], sid = d.session_id;

  c.drop();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 3s)) << "file kept past the window";
  EXPECT_GE(since(t0), window - 50) << "deleted before the resume window passed";
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "closed", "", sid); }, 2s));

  // Too late to resume: a fresh session.
  ws_client late(s.port());
  auto fresh = open_session(late, token, d.resume_token);
  ASSERT_TRUE(fresh);
  EXPECT_EQ((*fresh)["resumed"], value(false)) << serialize(*fresh);
  EXPECT_NE(str(*fresh, "session_id"), sid);
}

TEST(Session, SessionsEndedByTheServerGetNoWindow) {
  // A long window: if the 1009 close were treated as a drop, the file would survive 10 s.
  server_process s({"session.resume_window_ms=10000", "limits.max_message_bytes=256"});
  auto token = s.token("alice");
  ws_client c(s.port());
  auto d = open_draft(s, c, token);
  ASSERT_FALSE(HasFailure());
  auto f = d.file_ids[0], sid = d.session_id;

  ASSERT_TRUE(c.send_text(R"({"type":"ping","pad":")" + std::string(300, 'z') + "\"}"));
  EXPECT_EQ(c.wait_close(3s).value_or(0), 1009);  // 0: no close frame
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 2s)) << "a 1009 close got a resume window";
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "", "", sid); }, 2s));

  ws_client again(s.port());
  auto fresh = open_session(again, token, d.resume_token);
  ASSERT_TRUE(fresh);
  EXPECT_EQ((*fresh)["resumed"], value(false)) << serialize(*fresh);
}

TEST(Session, StaleSweepEndsASilentSession) {
  // Pings are far apart, so only the sweep can notice the silence.
  server_process s({"heartbeat.interval_ms=60000", "session.sweep_interval_ms=100", "session.stale_after_ms=300",
                    "session.resume_window_ms=0"});
  ws_client c(s.port());
  auto sid = open_session_ids(c, s.token("alice")).session_id;
  ASSERT_FALSE(sid.empty());
  auto t0 = std::chrono::steady_clock::now();

  auto records = wait_session_closed(s, sid);
  EXPECT_GE(since(t0), 250);
  EXPECT_TRUE(has_record(records, "session_closed", "stale", "", sid)) << dump(records);
  EXPECT_EQ(c.wait_close(2s).value_or(0), 4008);  // 0: no close frame
}

TEST(Session, IdleTimeoutIgnoresPings) {
  constexpr int idle = 400;
  server_process s({"heartbeat.interval_ms=100", "session.idle_timeout_ms=" + std::to_string(idle),
                    "session.resume_window_ms=0"});
  ws_client c(s.port());
  auto sid = open_session_ids(c, s.token("alice")).session_id;
  ASSERT_FALSE(sid.empty());
  auto t0 = std::chrono::steady_clock::now();

  // Answers WebSocket pings (while reading) and sends `ping` messages: neither counts as activity.
  std::optional<int> code;
  wait_until(
      [&] {
        if (!c.send_json({{"type", "ping"}})) return true;
        for (;;) {
          auto m = c.next_json(50ms);
          if (!m) break;
        }
        code = c.close_code();
        return !c.is_open();
      },
      3s);
  ASSERT_FALSE(c.is_open()) << "still open 3 s after the idle timeout of " << idle << " ms";
  code = c.wait_close(1s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 4010);
  EXPECT_GE(since(t0), idle - 50);
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "idle", "", sid); }, 2s));
}

TEST(Session, RegisterCarryingTheTokenAuthenticates) {
  server_process s({"session.resume_window_ms=0"});
  auto token = s.token("alice");
  auto f = upload(s, token, "f.jpg", "f");
  ws_client c(s.port());
  ASSERT_EQ(c.connect("/ws"), 101);
  ASSERT_TRUE(c.send_json({{"type", "register"}, {"token", token}, {"file_ids", ids({f})}, {"ref", "first"}}));
  auto connected = c.next_json();
  ASSERT_TRUE(connected);
  EXPECT_EQ(str(*connected, "type"), "connected") << serialize(*connected);
  auto reg = c.next_json();
  ASSERT_TRUE(reg);
  EXPECT_EQ(str(*reg, "type"), "registered") << serialize(*reg);
  EXPECT_EQ(str(*reg, "ref"), "first");
  EXPECT_EQ((*reg)["file_ids"], value(ids({f}))) << serialize(*reg);
  EXPECT_EQ(str(*reg, "session_id"), str(*connected, "session_id"));
}
