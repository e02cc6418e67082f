#pragma once
// Helpers shared by the storage tests: a fresh temp directory per test (mkdtemp under /tmp,
// removed in TearDown), a real SQLite file opened through tether::database, and a second raw
// SQLite connection to look at rows the API does not expose.
#include "storage/database.hpp"
#include "tests/support/raw_sqlite.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace tether::storage_testing {

// 2026-01-01T12:00:00.000Z: a fixed "now" so that audit timestamps and queue times are exact.
constexpr std::int64_t T0 = 1767268800000;

// A second connection to the database file; the storage tests also write through it (exec).
struct raw_sqlite : testing_support::raw_sqlite {
  explicit raw_sqlite(const std::string& path) : testing_support::raw_sqlite(path, mode::read_write) {}
};

// A fresh directory under /tmp per test.
class temp_dir_test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tether-storage-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    ASSERT_NE(p, nullptr) << "mkdtemp failed";
    dir_ = p;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    // Give back any permission a test took away so that everything can be removed.
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code ignored;
      if (it->is_directory(ignored))
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
    }
    std::filesystem::remove_all(dir_, ec);
    EXPECT_FALSE(std::filesystem::exists(dir_)) << "temp dir not removed: " << dir_;
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  static void write_file(const std::string& p, const std::string& content) {
    std::ofstream(p, std::ios::binary) << content;
  }
  static std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
};

// A real database file in the temp directory, opened before each test.
class database_test : public temp_dir_test {
 protected:
  void SetUp() override {
    temp_dir_test::SetUp();
    if (HasFatalFailure()) return;
    open();
  }
  void TearDown() override {
    db_.reset();
    temp_dir_test::TearDown();
  }

  std::string db_path() const { return path("tether.db"); }
  void open() { db_ = std::make_unique<database>(db_path()); }
  // A process restart: close the connection, open the same file again.
  void reopen() {
    db_.reset();
    open();
  }
  database& db() { return *db_; }

  void add_file(const std::string& file_id, const std::string& user_id, std::int64_t now = T0) {
    file_record f;
    f.file_id = file_id;
    f.user_id = user_id;
    f.name = file_id + ".bin";
    f.size = 10;
    db().insert_file(f, now);
  }

  std::string state_of(const std::string& file_id) {
    auto f = db().find_file(file_id);
    return f ? f->state : std::string("<missing>");
  }

  std::vector<audit_record> audit_all() {
    audit_query q;
    q.limit = 1000000;
    return db().read_audit(q);
  }
  std::vector<audit_record> audit_of(const std::string& event) {
    std::vector<audit_record> out;
    for (auto& r : audit_all())
      if (r.event == event) out.push_back(r);
    return out;
  }
  // The one audit record of `event` (the test fails unless there is exactly one).
  audit_record only_audit(const std::string& event) {
    auto all = audit_of(event);
    EXPECT_EQ(all.size(), 1u) << "audit records of " << event;
    return all.empty() ? audit_record{} : all.front();
  }
  std::vector<std::string> audit_events() {
    std::vector<std::string> out;
    for (auto& r : audit_all()) out.push_back(r.event);
    return out;
  }

  // A file row as the raw connection sees it; sessions' state likewise.
  std::string session_state(const std::string& session_id) {
    raw_sqlite raw(db_path());
    return raw.text("SELECT state FROM sessions WHERE session_id='" + session_id + "'");
  }

  // Alice's session `session_id` (resume token `token`), opened at T0 and tracking `files` (added already).
  void session_tracking(const std::string& session_id, const std::string& token, const std::vector<std::string>& files) {
    db().open_session(session_id, "alice", token, T0);
    db().track(session_id, "alice", files, "", T0);
  }

  static std::vector<std::string> job_ids(const std::vector<deletion_job>& jobs) {
    std::vector<std::string> out;
    for (auto& j : jobs) out.push_back(j.file_id);
    return out;
  }
  static std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  std::unique_ptr<database> db_;
};

// Who an audit record names and why, compared in one EXPECT_EQ (gtest prints both sides).
struct audit_who {
  std::string file_id, user_id, session_id, reason;
  bool operator==(const audit_who& o) const {
    return file_id == o.file_id && user_id == o.user_id && session_id == o.session_id && reason == o.reason;
  }
  friend std::ostream& operator<<(std::ostream& out, const audit_who& w) {
    return out << "{file " << w.file_id << ", user " << w.user_id << ", session " << w.session_id << ", reason "
               << w.reason << "}";
  }
};
inline audit_who who(const audit_record& r) { return {r.file_id, r.user_id, r.session_id, r.reason}; }

// The counters of stats() in one comparable value: queued now, done and failed since the start.
inline std::vector<std::int64_t> totals(const cleanup_stats& s) { return {s.queued, s.done_total, s.failed_total}; }
using counts = std::vector<std::int64_t>;

// A database with alice's session s1 open (resume token r1) since T0.
class session_s1_test : public database_test {
 protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure()) return;
    db().open_session("s1", "alice", "r1", T0);
  }
};

}  // namespace tether::storage_testing
