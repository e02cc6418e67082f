// Resume after an unplanned drop (PROTOCOL.md §4, §11 "Session life").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

TEST(Resume, DropThenResumeKeepsSessionAndFiles) {
  server_process s({"session.resume_window_ms=2000"});
  auto token = s.token("alice");
  ws_client first(s.port());
  auto d = open_draft(s, first, token);
  ASSERT_FALSE(HasFailure());
  auto f = d.file_ids[0], sid = d.session_id, resume = d.resume_token;

  first.drop();  // no close frame

  ws_client second(s.port());
  auto back = resume_draft(second, token, d);
  ASSERT_TRUE(back);
  auto resume2 = str(*back, "resume_token");
  EXPECT_FALSE(resume2.empty());
  EXPECT_NE(resume2, resume);
  EXPECT_TRUE(s.blob_exists(f));

  // The resumed session works and still tracks the file.
  auto now = request(second, {{"type", "register"}, {"ref", "again"}});
  ASSERT_TRUE(now);
  EXPECT_EQ((*now)["file_ids"], value(array{value(f)})) << serialize(*now);
  EXPECT_EQ(str(*now, "session_id"), sid);

  // A resume token works once: the used one gives a fresh session.
  ws_client third(s.port());
  auto fresh = open_session(third, token, resume);
  ASSERT_TRUE(fresh);
  EXPECT_EQ((*fresh)["resumed"], value(false)) << serialize(*fresh);
  EXPECT_NE(str(*fresh, "session_id"), sid);
  EXPECT_FALSE(fresh->contains("file_ids") && !(*fresh)["file_ids"].as_array().empty());
  // ... and did not disturb the resumed one.
  auto pong = request(second, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong") << serialize(*pong);

  auto records = audit(s);
  EXPECT_TRUE(has_record(records, "session_resumed", "", "", sid));
  EXPECT_FALSE(has_record(records, "session_closed", "", "", sid));
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f));

  // A graceful leave ends it with no window: the file, still tracked, goes now.
  auto ack = request(second, {{"type", "before_disconnect"}, {"ref", "bye"}});
  ASSERT_TRUE(ack);
  EXPECT_EQ(str(*ack, "type"), "ack") << serialize(*ack);
  EXPECT_EQ(str(*ack, "for"), "before_disconnect");
  ASSERT_TRUE(second.close(1000));
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(f); }, 1500ms)) << "file not deleted after before_disconnect";
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "left", "", sid); }, 2s));
}

TEST(Resume, ForeignOrUnknownResumeTokenGivesFreshSession) {
  server_process s({"session.resume_window_ms=2000"});
  ws_client a(s.port());
  auto ha = open_session(a, s.token("alice"));
  ASSERT_TRUE(ha);
  a.drop();

  // Bob cannot take over Alice's session with her token.
  ws_client b(s.port());
  auto hb = open_session(b, s.token("bob"), str(*ha, "resume_token"));
  ASSERT_TRUE(hb);
  EXPECT_EQ((*hb)["resumed"], value(false)) << serialize(*hb);
  EXPECT_NE(str(*hb, "session_id"), str(*ha, "session_id"));

  ws_client c(s.port());
  auto hc = open_session(c, s.token("alice"), "0123456789abcdef");
  ASSERT_TRUE(hc);
  EXPECT_EQ((*hc)["resumed"], value(false)) << serialize(*hc);

  // Bob's attempt did not use up Alice's token.
  ws_client d(s.port());
  auto hd = open_session(d, s.token("alice"), str(*ha, "resume_token"));
  ASSERT_TRUE(hd);
  EXPECT_EQ((*hd)["resumed"], value(true)) << serialize(*hd);
  EXPECT_EQ(str(*hd, "session_id"), str(*ha, "session_id"));
}
