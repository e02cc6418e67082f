// The command line: token, check-config, audit (PROTOCOL.md §3, §10).
#include "support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace tether::it;

TEST(Cli, TokenPrintsAWorkingToken) {
  server_process s;
  auto token = s.token("carol", "15m");
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << token;
  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  EXPECT_EQ(str(*hello, "user_id"), "carol");

  auto bad_user = run_command({tetherd_path(), "token", "no:colons", "--set", "storage.data_dir=" + s.data_dir()});
  EXPECT_NE(bad_user.status, 0);
  auto bad_ttl = run_command({tetherd_path(), "token", "carol", "--ttl", "soon", "--set", "storage.data_dir=" + s.data_dir()});
  EXPECT_NE(bad_ttl.status, 0);
}

TEST(Cli, CheckConfigRejectsBadValueNamingTheKey) {
  auto ok = run_command({tetherd_path(), "check-config", "--set", "heartbeat.interval_ms=250"});
  EXPECT_EQ(ok.status, 0) << ok.err;

  auto bad = run_command({tetherd_path(), "check-config", "--set", "heartbeat.interval_ms=abc"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("heartbeat.interval_ms"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("abc"), std::string::npos) << bad.err;

  auto unknown = run_command({tetherd_path(), "check-config", "--set", "heartbeat.no_such_key=1"});
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.err.find("heartbeat.no_such_key"), std::string::npos) << unknown.err;

  // serve refuses to start on the same bad value, naming it.
  auto serve = run_command({tetherd_path(), "serve", "--set", "server.port=0", "--set", "heartbeat.interval_ms=abc",
                            "--set", "storage.data_dir=/nonexistent/never-created"});
  EXPECT_NE(serve.status, 0);
  EXPECT_NE(serve.err.find("heartbeat.interval_ms"), std::string::npos) << serve.err;
  EXPECT_EQ(serve.out.find("listening on"), std::string::npos) << serve.out;
}

TEST(Cli, AuditPrintsJsonLines) {
  server_process s({"session.resume_window_ms=0"});
  auto d = closed_draft(s, s.token("erin"), {"x.bin"});
  ASSERT_FALSE(HasFailure());
  auto sid = d.session_id, f = d.file_ids[0];
  ASSERT_TRUE(wait_until([&] { return has_record(audit(s), "file_deleted", "", f); }, 3s));

  auto r = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + s.data_dir(), "--session", sid});
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> events;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    EXPECT_EQ(str(v.as_object(), "session_id"), sid) << line;
    events.push_back(str(v.as_object(), "event"));
  }
  ASSERT_FALSE(events.empty()) << r.out;
  EXPECT_EQ(events.front(), "session_opened");
  EXPECT_NE(std::find(events.begin(), events.end(), "file_tracked"), events.end());
  EXPECT_NE(std::find(events.begin(), events.end(), "deletion_queued"), events.end());
  EXPECT_NE(std::find(events.begin(), events.end(), "session_closed"), events.end());

  auto by_file = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + s.data_dir(), "--file", f});
  ASSERT_EQ(by_file.status, 0) << by_file.err;
  EXPECT_NE(by_file.out.find("\"file_deleted\""), std::string::npos) << by_file.out;
}

TEST(Cli, EnvironmentConfiguresAndUnknownVariablesOnlyWarn) {
  server_process s({}, {"TETHER_HEARTBEAT_INTERVAL_MS=250", "TETHER_NO_SUCH_KEY=1"});
  ws_client c(s.port());
  auto hello = open_session(c, s.token("alice"));
  ASSERT_TRUE(hello);
  EXPECT_EQ((*hello)["heartbeat_ms"], boost::json::value(250)) << serialize(*hello);

  // --set wins over the environment.
  server_process t({"heartbeat.interval_ms=300"}, {"TETHER_HEARTBEAT_INTERVAL_MS=250"});
  ws_client d(t.port());
  auto hello2 = open_session(d, t.token("alice"));
  ASSERT_TRUE(hello2);
  EXPECT_EQ((*hello2)["heartbeat_ms"], boost::json::value(300)) << serialize(*hello2);
}

TEST(Cli, ServeStdoutIsOnlyTheListeningLine) {
  // blocked on bug: app/main.cpp main() logs the load_settings warnings (e.g. "TETHER_NO_SUCH_KEY
  // ignored: ...") with spdlog's default logger before serve() installs the stderr logger, so
  // they go to stdout, ahead of the `listening on` line that scripts read (§10: the listening
  // line goes to stdout; warnings are logs).
  server_process s({}, {"TETHER_NO_SUCH_KEY=1"});
  EXPECT_EQ(s.stdout_before_listening(), "");
  EXPECT_NE(s.log().find("TETHER_NO_SUCH_KEY"), std::string::npos) << "the warning should be on stderr";
}

// ---- verbs run from somewhere else than the server (PROTOCOL.md §10) ------------------------

TEST(Cli, TokenAndAuditNeverCreateADataDir) {
  temp_dir root;
  const std::string missing = root.path() + "/data";
  auto token = run_command({tetherd_path(), "token", "alice", "--set", "storage.data_dir=" + missing});
  EXPECT_NE(token.status, 0);
  EXPECT_TRUE(token.out.empty()) << "printed a token signed with a secret the server doesn't know: " << token.out;
  EXPECT_NE(token.err.find(missing), std::string::npos) << "should say where it looked: " << token.err;

  auto audit = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + missing});
  EXPECT_NE(audit.status, 0);
  EXPECT_NE(audit.err.find(missing), std::string::npos) << audit.err;
  EXPECT_FALSE(std::filesystem::exists(missing)) << "created " << missing;

  // An existing dir without a database or secret is no better.
  std::filesystem::create_directories(missing);
  auto audit2 = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + missing});
  EXPECT_NE(audit2.status, 0);
  EXPECT_FALSE(std::filesystem::exists(missing + "/tether.db"));
  auto token2 = run_command({tetherd_path(), "token", "alice", "--set", "storage.data_dir=" + missing});
  EXPECT_NE(token2.status, 0);
  EXPECT_FALSE(std::filesystem::exists(missing + "/jwt_secret"));
}

TEST(Cli, TokenWithAConfiguredSecretNeedsNoDataDir) {
  temp_dir root;
  const std::string missing = root.path() + "/data";
  auto r = run_command({tetherd_path(), "token", "alice", "--set", "storage.data_dir=" + missing, "--set",
                        "auth.jwt_secret=configured-secret"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '.'), 2) << r.out;
  EXPECT_FALSE(std::filesystem::exists(missing));

  // And the server with that secret accepts it.
  server_process s({"auth.jwt_secret=configured-secret"});
  ws_client c(s.port());
  auto token = r.out.substr(0, r.out.find_last_not_of("\n") + 1);
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  EXPECT_EQ(str(*hello, "user_id"), "alice");
}

TEST(Cli, VersionIsTheProjectVersion) {
  for (auto args : {std::vector<std::string>{"--version"}, std::vector<std::string>{"version"}}) {
    args.insert(args.begin(), tetherd_path());
    auto r = run_command(args);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, std::string("tetherd ") + TETHER_PROJECT_VERSION + "\n");
  }
}

TEST(Cli, EveryVerbHasItsOwnHelp) {
  for (std::string verb : {"serve", "token", "audit", "check-config", "version"}) {
    auto r = run_command({tetherd_path(), verb, "--help"});
    EXPECT_EQ(r.status, 0) << verb << ": " << r.err;
    EXPECT_EQ(r.out.rfind("usage: tetherd " + verb, 0), 0u) << r.out;
  }
  auto audit = run_command({tetherd_path(), "audit", "--help"});
  EXPECT_NE(audit.out.find("--session"), std::string::npos) << audit.out;
  EXPECT_EQ(audit.out.find("check-config"), std::string::npos) << "the general usage, not audit's: " << audit.out;
  auto general = run_command({tetherd_path(), "--help"});
  EXPECT_EQ(general.status, 0);
  EXPECT_NE(general.out.find("check-config"), std::string::npos) << general.out;
}

TEST(Cli, CheckConfigOutputLoadsBack) {
  temp_dir root;
  auto first = run_command({tetherd_path(), "check-config", "--set", "heartbeat.interval_ms=250", "--set",
                            "server.bind=localhost", "--set", "auth.jwt_secret=s3cr3t-value", "--set",
                            "api.key=k3y-value", "--set", "storage.data_dir=" + root.path() + "/d"});
  ASSERT_EQ(first.status, 0) << first.err;
  EXPECT_EQ(first.out.find("s3cr3t-value"), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("k3y-value"), std::string::npos) << first.out;
  EXPECT_EQ(first.out.find("jwt_secret"), std::string::npos) << "a set secret is left out: " << first.out;
  EXPECT_EQ(first.out.find("<set>"), std::string::npos) << first.out;

  const std::string file = root.path() + "/effective.json";
  std::ofstream(file) << first.out;
  auto second = run_command({tetherd_path(), "check-config", "--config", file});
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  auto parsed = boost::json::parse(second.out).as_object();
  EXPECT_EQ(parsed.at("heartbeat").at("interval_ms"), 250);
  EXPECT_EQ(parsed.at("server").at("bind"), "localhost");
}
