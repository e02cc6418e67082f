// Logs (issue 10, part 4): log.format = "json" writes one JSON object per line, naming the session
// a line is about; no secret (token, resume token, api key, JWT secret) is ever written, at any
// level.
#include "support.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace tether::it;

TEST(Logs, JsonLinesParseNameTheirSessionAndHoldNoSecret) {
  server_process s({"log.format=json", "log.level=debug", "session.resume_window_ms=0"});
  auto token = s.token("alice");
  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");
  auto resume = str(*hello, "resume_token");
  ASSERT_EQ(http_call(s.port(), http::verb::get, "/api/audit?limit=1", s.api_key()).status, 200);
  ASSERT_EQ(http_call(s.port(), http::verb::get, "/api/audit", "wrong-key").status, 401);
  ASSERT_TRUE(c.close());
  // The session's end is logged (debug) with its id.
  ASSERT_TRUE(wait_until([&] { return s.log().find(sid + " ended") != std::string::npos; }, 5s)) << s.log();

  std::istringstream lines(s.log());
  std::string line;
  int parsed = 0, about_session = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    auto& o = v.as_object();
    for (auto key : {"time", "level", "logger", "msg"}) EXPECT_TRUE(o.contains(key)) << key << " missing: " << line;
    EXPECT_EQ(str(o, "time").size(), 24u) << line;
    ++parsed;
    if (o.contains("session_id") && str(o, "session_id") == sid) ++about_session;
  }
  EXPECT_GE(parsed, 3);
  EXPECT_GE(about_session, 1) << "no line names the session in session_id";
  auto log = s.log();
  for (const auto& secret : {token, resume, s.api_key(), s.jwt_secret()})
    EXPECT_EQ(log.find(secret), std::string::npos) << "a secret is in the log";
}
