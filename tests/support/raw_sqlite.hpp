#pragma once
// A second, independent SQLite connection to a test's database file, for looking at rows the API
// does not expose. Under WAL it sees only what was committed, whoever else holds the file open.
// Shared by the unit tests (storage, actors) and the integration tests.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tether::testing_support {

class raw_sqlite {
 public:
  enum class mode { read_only, read_write };

  explicit raw_sqlite(const std::string& path, mode m = mode::read_only) {
    int flags = m == mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path.c_str(), &h_, flags, nullptr) != SQLITE_OK) {
      std::string msg = h_ ? sqlite3_errmsg(h_) : "out of memory";
      sqlite3_close(h_);
      throw std::runtime_error("raw open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(h_, 5000);
  }
  ~raw_sqlite() { sqlite3_close(h_); }
  raw_sqlite(const raw_sqlite&) = delete;
  raw_sqlite& operator=(const raw_sqlite&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(h_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      throw std::runtime_error("raw exec '" + sql + "': " + msg);
    }
  }

  // Every row of a query, each column rendered as text ("NULL" for NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(h_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error("raw prepare '" + sql + "': " + sqlite3_errmsg(h_));
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto p = sqlite3_column_text(s, i);
        row.push_back(p ? std::string(reinterpret_cast<const char*>(p)) : std::string("NULL"));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) throw std::runtime_error("raw step '" + sql + "': " + sqlite3_errmsg(h_));
    return out;
  }

  // The first column of the first row ("" when there is no row).
  std::string text(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? std::string() : r[0][0];
  }
  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }
  // The first column of every row.
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    for (auto& r : rows(sql)) out.push_back(r.empty() ? std::string() : r[0]);
    return out;
  }

 private:
  sqlite3* h_ = nullptr;
};

}  // namespace tether::testing_support
