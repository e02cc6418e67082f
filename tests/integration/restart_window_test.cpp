// Resume across a deploy (PROTOCOL.md §11 "Session life"): sessions persisted at SIGTERM wait
// session.restart_window_ms after the restart; sessions open at a crash (kill -9) get
// session.resume_window_ms, both counted from the restart.
#include "support.hpp"

#include <gtest/gtest.h>

#include <future>

using namespace tether::it;
using boost::json::array;
using boost::json::serialize;
using boost::json::value;

namespace {

// A short resume window and a restart window far longer than anything the tests wait for.
const std::vector<std::string> windows{"session.resume_window_ms=200", "session.restart_window_ms=20000"};

struct draft {
  std::string session_id, resume_token, file_id;
};

// A session of alice tracking one uploaded file.
draft open_draft(server_process& s, ws_client& c, const std::string& token) {
  draft d;
  d.file_id = upload(s, token, "photo.jpg", "bytes");
  auto hello = open_session(c, token);
  if (!hello) {
    ADD_FAILURE() << "no connected";
    return d;
  }
  d.session_id = str(*hello, "session_id");
  d.resume_token = str(*hello, "resume_token");
  auto reg = request(c, {{"type", "register"}, {"file_ids", array{value(d.file_id)}}});
  EXPECT_TRUE(reg && (*reg)["file_ids"] == value(array{value(d.file_id)})) << (reg ? serialize(*reg) : "none");
  return d;
}

// Proof that the short resume window has passed since now: a witness session dropped now (no
// close frame, so the resume window applies) is closed by the server.
void wait_for_a_resume_window(server_process& s, const std::string& token) {
  ws_client w(s.port());
  auto hello = open_session(w, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  w.drop();
  ASSERT_TRUE(wait_until([&] { return has_record(audit(s, "session_id=" + sid), "session_closed", "closed"); }, 5s))
      << "the witness session was not closed after its 200 ms window";
}

}  // namespace

TEST(RestartWindow, ASessionPersistedAtSigtermOutlivesTheResumeWindow) {
  server_process s(windows);
  auto alice = s.token("alice");
  draft d;
  {
    ws_client c(s.port());
    d = open_draft(s, c, alice);
    auto exit_status = std::async(std::launch::async, [&s] { return s.terminate(10s); });
    auto code = c.wait_close(5s);
    ASSERT_EQ(exit_status.get(), 0);
    ASSERT_EQ(code.value_or(0), 1001);
  }
  s.restart();
  wait_for_a_resume_window(s, s.token("bob"));

  ws_client c(s.port());
  auto back = open_session(c, alice, d.resume_token);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)["resumed"], value(true)) << serialize(*back);
  EXPECT_EQ(str(*back, "session_id"), d.session_id);
  EXPECT_EQ((*back)["file_ids"], value(array{value(d.file_id)})) << serialize(*back);
  EXPECT_TRUE(s.blob_exists(d.file_id));
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
  EXPECT_TRUE(wait_until([&] { return !s.blob_exists(d.file_id); }, 5s)) << "the crashed session's file survived";
  std::vector<boost::json::object> records;
  EXPECT_TRUE(wait_until(
      [&] {
        records = audit(s, "session_id=" + d.session_id);
        return has_record(records, "file_deleted", "", d.file_id);
      },
      3s))
      << dump(records);
  EXPECT_TRUE(has_record(records, "session_closed", "crash", "", d.session_id)) << dump(records);
  ws_client c(s.port());
  auto late = open_session(c, alice, d.resume_token);
  ASSERT_TRUE(late);
  EXPECT_EQ((*late)["resumed"], value(false)) << serialize(*late);
}
