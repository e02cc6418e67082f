// Resume across a deploy (PROTOCOL.md §11 "Session life"): sessions persisted at SIGTERM wait
// session.restart_window_ms after the restart; sessions open at a crash (kill -9) get
// session.resume_window_ms, both counted from the restart.
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

namespace {

// A short resume window and a restart window far longer than anything the tests wait for.
const std::vector<std::string> windows{"session.resume_window_ms=200", "session.restart_window_ms=20000"};

// Proof that the short resume window has passed since now: a witness session dropped now (no
// close frame, so the resume window applies) is closed by the server.
void wait_for_a_resume_window(server_process& s, const std::string& token) {
  ws_client w(s.port());
  auto sid = open_session_ids(w, token).session_id;
  ASSERT_FALSE(sid.empty());
  w.drop();
  ASSERT_TRUE(wait_until([&] { return has_record(audit(s, "session_id=" + sid), "session_closed", "closed"); }, 5s))
      << "the witness session was not closed after its 200 ms window";
}

}  // namespace

TEST(RestartWindow, ASessionPersistedAtSigtermOutlivesTheResumeWindow) {
  server_process s(windows);
  auto alice = s.token("alice");
  auto d = draft_through_sigterm(s, alice);
  ASSERT_FALSE(HasFailure());
  s.restart();
  wait_for_a_resume_window(s, s.token("bob"));

  ws_client c(s.port());
  ASSERT_TRUE(resume_draft(c, alice, d));
  EXPECT_TRUE(s.blob_exists(d.file_ids[0]));
  auto records = audit(s, "session_id=" + d.session_id);
  EXPECT_FALSE(has_record(records, "session_closed")) << dump(records);
  EXPECT_FALSE(has_record(records, "deletion_queued")) << dump(records);
}

TEST(RestartWindow, ACrashKeepsTheShortResumeWindow) {
  server_process s(windows);
  auto alice = s.token("alice");
  draft d;
  {
    ws_client c(s.port());
    d = open_draft(s, c, alice);
    s.kill9();
  }
  s.restart();
  // Gone within a few seconds: the 20 s restart window did not apply to a crashed session.
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(d.file_ids[0]); }, 5s)) << "the crashed session's file survived";
  std::vector<boost::json::object> records;
  EXPECT_TRUE(wait_until(
      [&] {
        records = audit(s, "session_id=" + d.session_id);
        return has_record(records, "file_deleted", "", d.file_ids[0]);
      },
      3s))
      << dump(records);
  EXPECT_TRUE(has_record(records, "session_closed", "crash", "", d.session_id)) << dump(records);
  ws_client c(s.port());
  auto late = open_session(c, alice, d.resume_token);
  ASSERT_TRUE(late);
  EXPECT_EQ((*late)["resumed"], value(false)) << serialize(*late);
}
