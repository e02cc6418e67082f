// The connection: opening (read-write and migrated, or read-only), statements, transactions. The
// queries are defined by domain beside it: sessions.cpp, files.cpp, deletion_queue.cpp,
// audit.cpp, migrations.cpp.
#include "storage/database.hpp"

#include "storage/statement.hpp"

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace tether {

// Opens `path` with `flags` into db_, or throws naming the file and SQLite's reason.
void database::open_handle(const std::string& path, int flags) {
  if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open database " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(msg);
  }
  // How long a statement waits for a lock another connection holds. In WAL only brief ones exist
  // (a checkpoint, recovery of the WAL after a crash); fixed, as waiting longer would only hide a
  // stuck peer.
  sqlite3_busy_timeout(db_, 5000);
}

database::database(const std::string& path, const std::string& synchronous) {
  open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec(synchronous == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    close();  // the destructor won't run for a constructor that throws
    throw;
  }
}

database::database(const std::string& path, read_only_t) {
  open_handle(path, SQLITE_OPEN_READONLY);
  try {
    const int version = schema_version();
    if (version == 0) throw std::runtime_error(path + " is not a tether database (no schema)");
    if (version > latest_schema_version())
      throw std::runtime_error("database schema v" + std::to_string(version) + " of " + path +
                               " is newer than this tetherd (v" + std::to_string(latest_schema_version()) + ")");
  } catch (...) {
    close();
    throw;
  }
}

database::~database() { close(); }

void database::close() {
  if (!db_) return;
  // Statements are cached per connection; finalize them before closing.
  sqlite3_stmt* s = nullptr;
  while ((s = sqlite3_next_stmt(db_, nullptr)) != nullptr) sqlite3_finalize(s);
  cache_.clear();
  sqlite3_close(db_);
  db_ = nullptr;
}

void database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + msg);
  }
}

int database::schema_version() {
  statement s(*this, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

void database::begin() { exec("BEGIN IMMEDIATE"); }
void database::commit() {
  exec("COMMIT");
  ++commits_;
}
void database::rollback() {
  if (!sqlite3_get_autocommit(db_)) exec("ROLLBACK");
}
void database::savepoint() { exec("SAVEPOINT op"); }
void database::release() { exec("RELEASE op"); }
void database::rollback_to() {
  exec("ROLLBACK TO op");
  exec("RELEASE op");
}

}  // namespace tether
