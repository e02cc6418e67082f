// Start-up refusals of `tetherd serve` (PROTOCOL.md §10): one server per data dir, and bind
// errors that exit at once naming the address.
#include "support.hpp"

#include <gtest/gtest.h>

#include <sched.h>

#include <filesystem>

using namespace tether::it;

namespace {

// How long a refused start may take: it must not get as far as serving (or hang).
constexpr auto refusal_deadline = 5s;

}  // namespace

TEST(Startup, SecondServerOnTheSameDataDirRefusesAndTouchesNothing) {
  // No resume window: a second server "recovering" the first one's live session would end it at
  // once and delete the file (the bug this guards against).
  server_process s({"session.resume_window_ms=0"});
  auto token = s.token("alice");
  auto f = upload(s, token, "draft.png", "pixels");
  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  ASSERT_TRUE(request(c, {{"type", "register"}, {"file_ids", json::array{json::value(f)}}}));

  auto start = std::chrono::steady_clock::now();
  auto second = run_serve(s.data_dir(), {}, 10s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(second.status, 3) << second.err;  // exit_code::data_dir_busy (docs/operations.md)
  EXPECT_LT(took, refusal_deadline);
  EXPECT_NE(second.err.find(s.data_dir()), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(s.pid())), std::string::npos) << second.err;
  EXPECT_EQ(second.out.find("listening on"), std::string::npos) << second.out;

  // The first server's user still has the session and the file.
  auto pong = request(c, {{"type", "ping"}});
  ASSERT_TRUE(pong) << c.last_error();
  EXPECT_EQ(str(*pong, "type"), "pong");
  EXPECT_TRUE(s.blob_exists(f));
  auto records = audit(s);
  EXPECT_FALSE(has_record(records, "deletion_queued", "", f)) << dump(records);
  EXPECT_FALSE(has_record(records, "session_closed", "", "", str(*hello, "session_id"))) << dump(records);
  // Nothing of the refused start was recorded either.
  std::int64_t starts = 0;
  for (const auto& r : records) starts += str(r, "event") == "server_started";
  EXPECT_EQ(starts, 1) << dump(records);
}

TEST(Startup, ReadingVerbsWorkBesideARunningServer) {
  server_process s({"session.resume_window_ms=0"});
  auto token = s.token("bob");  // `token` beside the server (the helper runs the CLI)
  ws_client c(s.port());
  auto hello = open_session(c, token);
  ASSERT_TRUE(hello);
  auto sid = str(*hello, "session_id");

  auto dir = "storage.data_dir=" + s.data_dir();
  auto check = run_command({tetherd_path(), "check-config", "--set", dir});
  EXPECT_EQ(check.status, 0) << check.err;
  auto listed = run_command({tetherd_path(), "audit", "--set", dir, "--session", sid});
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"session_opened\""), std::string::npos) << listed.out;

  // The server is undisturbed: the session answers and new records are still written.
  auto pong = request(c, {{"type", "ping"}});
  ASSERT_TRUE(pong);
  EXPECT_EQ(str(*pong, "type"), "pong");
  ASSERT_TRUE(c.close(1000));
  EXPECT_TRUE(wait_until([&] { return has_record(audit(s), "session_closed", "", "", sid); }, 3s));
}

TEST(Startup, AuditOpensTheDatabaseReadOnly) {
  server_process s;
  ws_client c(s.port());
  ASSERT_TRUE(open_session(c, s.token("carol")));
  // Killed: the write-ahead log stays next to the database. A read-write open would recover it and
  // checkpoint it into tether.db on close; a read-only one must leave both as they are.
  s.kill9();
  namespace fs = std::filesystem;
  const fs::path db = s.data_dir() + "/tether.db", wal = s.data_dir() + "/tether.db-wal";
  ASSERT_TRUE(fs::exists(wal));
  const auto db_size = fs::file_size(db), wal_size = fs::file_size(wal);
  const auto db_time = fs::last_write_time(db);

  auto r = run_command({tetherd_path(), "audit", "--set", "storage.data_dir=" + s.data_dir()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"session_opened\""), std::string::npos) << r.out;  // it read the log too
  ASSERT_TRUE(fs::exists(wal));
  EXPECT_EQ(fs::file_size(wal), wal_size);
  EXPECT_EQ(fs::file_size(db), db_size);
  EXPECT_EQ(fs::last_write_time(db), db_time);
}

TEST(Startup, PortInUseExitsAtOnceNamingTheAddress) {
  server_process s;
  temp_dir other;
  auto port = std::to_string(s.port());
  auto start = std::chrono::steady_clock::now();
  auto r = run_serve(other.path() + "/data", {"server.port=" + port}, 10s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 4) << r.err;  // exit_code::cannot_listen
  EXPECT_LT(took, refusal_deadline);
  EXPECT_NE(r.err.find("127.0.0.1:" + port), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening on"), std::string::npos) << r.out;
}

TEST(Startup, AddressNotLocalOrNotResolvingExitsAtOnceNamingIt) {
  temp_dir dir;
  // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
  auto start = std::chrono::steady_clock::now();
  auto foreign = run_serve(dir.path() + "/a", {"server.bind=192.0.2.1"}, 10s);
  EXPECT_EQ(foreign.status, 4) << foreign.err;
  EXPECT_NE(foreign.err.find("192.0.2.1"), std::string::npos) << foreign.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, refusal_deadline);

  auto unknown = run_serve(dir.path() + "/b", {"server.bind=no-such-host.invalid"}, 10s);
  EXPECT_EQ(unknown.status, 4) << unknown.err;
  EXPECT_NE(unknown.err.find("no-such-host.invalid"), std::string::npos) << unknown.err;
}

TEST(Startup, HostNameBindServes) {
  // config/tether.json allows a host name; localhost binds 127.0.0.1 (IPv4 first).
  server_process s({"server.bind=localhost"});
  ws_client c(s.port());
  auto hello = open_session(c, s.token("dave"));
  ASSERT_TRUE(hello);
  EXPECT_EQ(str(*hello, "user_id"), "dave");
}

// server.io_threads=0 and the actor scheduler follow the cores the process may use (its CPU
// affinity), not the machine's: a server pinned to one core runs one thread of each.
TEST(Startup, ThreadsFollowTheCpuAffinity) {
  cpu_set_t before, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &before)) {
      CPU_SET(c, &one);
      break;
    }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);  // the server inherits it
  auto restore = [&] { sched_setaffinity(0, sizeof before, &before); };
  {
    server_process s;
    restore();
    std::string line;
    EXPECT_TRUE(wait_until(
        [&] {
          auto log = s.log();
          auto at = log.find("threads: ");
          if (at == std::string::npos) return false;
          line = log.substr(at, log.find('\n', at) - at);
          return true;
        },
        5s))
        << s.log();
    EXPECT_EQ(line, "threads: 1 I/O, 1 actor scheduler (1 usable cores)");
  }
  restore();
  server_process wide({"server.io_threads=3"});
  EXPECT_TRUE(wait_until([&] { return wide.log().find("threads: 3 I/O") != std::string::npos; }, 5s)) << wide.log();
}
