#pragma once
// database's prepared statements, shared by the files that define its queries by domain
// (sessions.cpp, files.cpp, deletion_queue.cpp, audit.cpp). Internal to storage/.
#include "storage/database.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tether {

// A cached prepared statement, reset and unbound on every use.
class database::statement {
public:
  // `sql` must be a string literal: the cache is keyed by its address.
  statement(database& d, const char* sql) : db_(d.db_) {
    auto& slot = d.cache_[sql];
    if (!slot && sqlite3_prepare_v2(db_, sql, -1, &slot, nullptr) != SQLITE_OK)
      fail(std::string("prepare ") + sql);
    stmt_ = slot;
  }
  ~statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("step");
  }
  void run() {
    while (step()) {
    }
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace tether
