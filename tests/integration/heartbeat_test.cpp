// Server-side heartbeat (PROTOCOL.md §4, §11 "Session life").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Heartbeat, SilentClientIsClosedWith4008ReadingClientStays) {
  constexpr int interval = 200, max_missed = 3;
  server_process s({"heartbeat.interval_ms=" + std::to_string(interval),
                    "heartbeat.max_missed=" + std::to_string(max_missed), "session.resume_window_ms=0"});
  auto token = s.token("alice");

  // The reader connects first, so it has been connected at least as long as the silent one.
  ws_client reader(s.port());
  auto hr = open_session(reader, token);
  ASSERT_TRUE(hr);
  EXPECT_EQ((*hr)["heartbeat_ms"], value(interval));
  auto reader_sid = str(*hr, "session_id");

  ws_client silent(s.port());
  auto hs = open_session(silent, token);
  ASSERT_TRUE(hs);
  auto silent_sid = str(*hs, "session_id");
  auto t0 = std::chrono::steady_clock::now();
  // From here `silent` is never read, so Beast never answers its pings.

  std::vector<boost::json::object> records;
  bool closed = wait_until(
      [&] {
        reader.next_json(10ms);  // keeps the reader answering pings
        records = audit(s);
        return has_record(records, "session_closed", "", "", silent_sid);
      },
      5s);
  auto elapsed = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(closed) << "the silent session was not closed within 5 s";
  EXPECT_TRUE(has_record(records, "session_closed", "timeout", "", silent_sid)) << dump(records);
  // max_missed unanswered pings, then the next tick ends it: about (max_missed + 1) * interval.
  EXPECT_GE(elapsed, max_missed * interval) << "closed too early";
  EXPECT_LE(elapsed, (max_missed + 1) * interval + 1500) << "closed too late";

  EXPECT_EQ(silent.wait_close(2s).value_or(0), 4008);  // 0: no close frame

  // The reader, answering every ping, is still there.
  EXPECT_FALSE(has_record(records, "session_closed", "", "", reader_sid));
  auto pong = request(reader, {{"type", "ping"}, {"ref", "still"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong") << serialize(*pong);
  EXPECT_TRUE(reader.is_open());
}
