// Framing errors on the wire (PROTOCOL.md §1, §11 "Framing and replies").
#include "support.hpp"

#include <gtest/gtest.h>

using namespace tether::it;

namespace {

// Sends one text frame and expects an `error` with `code` back, the connection staying open.
void expect_error(ws_client& c, const std::string& text, const std::string& code, const value& ref = nullptr) {
  SCOPED_TRACE("sent: " + text);
  ASSERT_TRUE(c.send_text(text));
  auto m = c.next_json();
  ASSERT_TRUE(m) << "no reply; close code " << c.close_code().value_or(0);
  EXPECT_EQ(str(*m, "type"), "error") << serialize(*m);
  EXPECT_EQ(str(*m, "code"), code) << serialize(*m);
  EXPECT_FALSE(str(*m, "message").empty()) << serialize(*m);
  if (!ref.is_null()) {
    EXPECT_EQ((*m)["ref"], ref) << serialize(*m);
  }
}

// limits.max_message_bytes for the tests of the limit.
constexpr std::size_t limit = 1024;

// A ping with this ref, `size` bytes of JSON long.
std::string ping_of_size(std::size_t size, const std::string& ref) {
  std::string head = R"({"type":"ping","ref":")" + ref + R"(","pad":")";
  std::string tail = "\"}";
  return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

void expect_pong(ws_client& c) {
  auto m = request(c, {{"type", "ping"}, {"ref", "alive"}});
  ASSERT_TRUE(m) << "no pong; close code " << c.close_code().value_or(0);
  EXPECT_EQ(str(*m, "type"), "pong") << serialize(*m);
  EXPECT_EQ(str(*m, "ref"), "alive");
  EXPECT_FALSE(str(*m, "server_time").empty());
}

}  // namespace

TEST(Framing, EveryErrorKeepsTheConnectionOpen) {
  server_process s;
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));

  expect_error(c, "{not json", "bad_json");
  expect_error(c, "[1,2,3]", "bad_json");
  expect_error(c, "\"just a string\"", "bad_json");
  expect_error(c, R"({"ref":"a"})", "invalid_field", "a");
  expect_error(c, R"({"type":5,"ref":"b"})", "invalid_field");
  expect_error(c, R"({"type":"no_such_type","ref":"c"})", "unknown_type", "c");
  expect_error(c, R"({"type":"file_uploaded","ref":9})", "invalid_field", 9);  // file_id missing
  expect_error(c, R"({"type":"file_uploaded","file_id":"bad id!","ref":10})", "invalid_field", 10);

  ASSERT_TRUE(c.send_binary(std::string("\x01\x02\x03", 3)));
  auto m = c.next_json();
  ASSERT_TRUE(m);
  EXPECT_EQ(str(*m, "type"), "error") << serialize(*m);
  EXPECT_EQ(str(*m, "code"), "unsupported_frame") << serialize(*m);

  expect_pong(c);
  EXPECT_TRUE(c.is_open());
}

TEST(Framing, TwentyBadFramesInARowClose1008) {
  server_process s;
  ws_client c(s.port());
  auto hello = open_session(c, s.token("alice"));
  ASSERT_TRUE(hello);

  // 19 bad frames, then an accepted message resets the count ...
  for (int i = 0; i < 19; ++i) expect_error(c, "nope", "bad_json");
  expect_pong(c);
  // ... so 19 more are still fine ...
  for (int i = 0; i < 19; ++i) expect_error(c, R"({"type":"what"})", "unknown_type");
  // ... and the 20th in a row gets its error, then the close.
  ASSERT_TRUE(c.send_binary("x"));
  auto last = c.next_json();
  ASSERT_TRUE(last) << "the 20th bad frame got no error; close code " << c.close_code().value_or(0);
  EXPECT_EQ(str(*last, "code"), "unsupported_frame") << serialize(*last);
  EXPECT_EQ(c.wait_close(3s).value_or(0), 1008);  // 0: no close frame
}

TEST(Framing, MessageSizeLimitIsInclusive) {
  server_process s({"limits.max_message_bytes=" + std::to_string(limit)});
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));

  auto exact = ping_of_size(limit, "big");
  ASSERT_EQ(exact.size(), limit);
  ASSERT_TRUE(c.send_text(exact));
  auto m = c.next_json();
  ASSERT_TRUE(m) << "a message of exactly the limit was refused; close code " << c.close_code().value_or(0);
  EXPECT_EQ(str(*m, "type"), "pong") << serialize(*m);
  EXPECT_EQ(str(*m, "ref"), "big");

  ASSERT_TRUE(c.send_text(ping_of_size(limit + 1, "big")));
  EXPECT_EQ(c.wait_close(3s).value_or(0), 1009);  // 0: no close frame
}

TEST(Framing, InvalidUtf8TextCloses1007) {
  server_process s;
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));
  // Beast does not validate outgoing text frames, so this goes out as sent.
  ASSERT_TRUE(c.send_text(std::string("{\"type\":\"ping\",\"x\":\"\xff\xfe\"}")));
  EXPECT_EQ(c.wait_close(3s).value_or(0), 1007);  // 0: no close frame
}

TEST(Framing, FragmentedMessagesAreReassembledAndLimitedAsAWhole) {
  server_process s({"limits.max_message_bytes=" + std::to_string(limit)});
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("alice")));

  // A two-byte character split across the fragment boundary is still valid UTF-8 as a whole.
  std::string msg = "{\"type\":\"ping\",\"ref\":\"caf\xc3\xa9\"}";
  auto cut = msg.find('\xc3') + 1;
  ASSERT_TRUE(c.send_fragments({msg.substr(0, 5), msg.substr(5, cut - 5), msg.substr(cut)}));
  auto m = c.next_json();
  ASSERT_TRUE(m) << "no pong; close code " << c.close_code().value_or(0);
  EXPECT_EQ(str(*m, "type"), "pong") << serialize(*m);
  EXPECT_EQ(str(*m, "ref"), "caf\xc3\xa9");

  // The limit counts the reassembled payload: exactly `limit` in three frames passes ...
  auto exact = ping_of_size(limit, "frag");
  ASSERT_TRUE(c.send_fragments({exact.substr(0, 400), exact.substr(400, 400), exact.substr(800)}));
  m = c.next_json();
  ASSERT_TRUE(m) << "a fragmented message of exactly the limit was refused; close " << c.close_code().value_or(0);
  EXPECT_EQ(str(*m, "ref"), "frag") << serialize(*m);

  // ... and one byte more, though every frame is small, closes with 1009.
  auto over = ping_of_size(limit + 1, "frag");
  ASSERT_TRUE(c.send_fragments({over.substr(0, 400), over.substr(400, 400), over.substr(800)}));
  EXPECT_EQ(c.wait_close(3s).value_or(0), 1009);  // 0: no close frame
}
