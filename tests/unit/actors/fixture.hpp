#pragma once
// Deterministic actor tests: CAF's test coordinator driven from GoogleTest. Nothing runs until
// the test calls run(); timers fire only when the test advances the (simulated) clock. Storage,
// reader and cleaner run as ordinary (not detached) actors, so between run() calls no actor is
// running and the SQLite state can be read through the same `database` object, or through a second
// raw connection that sees only what was committed (as the reader does, through `reader_db`).
#include "actors/cleaner.hpp"
#include "actors/client_link.hpp"
#include "actors/directory.hpp"
#include "actors/reader.hpp"
#include "actors/session.hpp"
#include "actors/storage.hpp"
#include "actors/supervisor.hpp"
#include "config/settings.hpp"
#include "proto/clock.hpp"
#include "proto/codec.hpp"
#include "proto/jwt.hpp"
#include "storage/blob_store.hpp"
#include "storage/database.hpp"
#include "tests/support/raw_sqlite.hpp"

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace tether::actor_testing {

namespace json = boost::json;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

constexpr const char* test_secret = "test-secret";

// The JSON payload of a server frame (unmasked): skips the WebSocket header.
inline json::object payload_of(const std::string& f) {
  if (f.size() < 2) throw std::runtime_error("short frame");
  std::size_t header = 2;
  auto len = static_cast<unsigned char>(f[1]) & 0x7f;
  if (len == 126) header += 2;
  if (len == 127) header += 8;
  return json::parse(f.substr(header)).as_object();
}

inline std::string str(const json::value& v) { return json::value_to<std::string>(v); }

inline strings str_list(const json::value& v) {
  strings out;
  for (const auto& x : v.as_array()) out.push_back(str(x));
  return out;
}

// The socket side of a session, recording what the session asked of it. Like the real
// connection, it tags what it hands its actor with its id, keeps it while on hold and hands it to
// whichever actor it was rebound to.
class fake_link : public client_link {
 public:
  fake_link() : id_(next_id()++) {}

  link_id id() const override { return id_; }
  send_result send(frame f, delivery d) override {
    if (closed) return send_result::closed;
    if (d == delivery::droppable && refuse_droppable) return send_result::dropped;
    frames.push_back(payload_of(*f));
    return send_result::queued;
  }
  void ping() override { ++pings; }
  void close(std::uint16_t code, const std::string& reason) override {
    ++close_calls;
    if (closed) return;  // idempotent, like the real connection: the first close wins
    closed = true;
    close_code = code;
    close_reason = reason;
  }
  void hold() override {
    if (gone) return;  // closed and reported already, like the real connection
    holding = true;
    caf::anon_send(target, held_atom::value, id_);
  }
  void rebind(session_actor to) override {
    holding = false;
    target = std::move(to);
    ++rebinds;
    auto kept = std::move(pending);
    pending.clear();
    for (auto& deliver : kept) deliver();
  }

  // What the connection would hand its actor (call run() after).
  template <class... Ts>
  void tell(Ts... xs) {
    auto deliver = [this, xs...] { caf::anon_send(target, xs...); };
    if (holding)
      pending.push_back(deliver);
    else
      deliver();
  }
  void tell_message(codec::client_message m) { tell(id_, std::move(m)); }
  void tell_error(codec::decode_error e) { tell(id_, std::move(e)); }
  void tell_activity() { tell(activity_atom::value, id_); }
  void tell_closed(std::uint16_t code, bool by_server) {
    tell(closed_atom::value, id_, code, by_server);
    gone = true;
  }

  session_actor target;  // the actor this connection talks to
  bool holding = false;
  bool gone = false;
  bool refuse_droppable = false;
  int rebinds = 0;
  std::vector<std::function<void()>> pending;

  std::vector<json::object> of_type(const std::string& type) const {
    std::vector<json::object> out;
    for (const auto& f : frames)
      if (f.contains("type") && f.at("type") == type.c_str()) out.push_back(f);
    return out;
  }
  std::size_t count(const std::string& type) const { return of_type(type).size(); }
  // The last frame of that type; fails the test (and returns {}) when there is none.
  json::object last(const std::string& type) const {
    auto all = of_type(type);
    if (all.empty()) {
      ADD_FAILURE() << "no '" << type << "' frame; got " << dump();
      return {};
    }
    return all.back();
  }
  std::string dump() const {
    std::string out = "[";
    for (const auto& f : frames) out += json::serialize(f) + " ";
    return out + "]";
  }

  std::vector<json::object> frames;
  const link_id id_;
  static link_id& next_id() {
    static link_id n = 1;
    return n;
  }
  int pings = 0;
  int close_calls = 0;
  bool closed = false;
  std::uint16_t close_code = 0;
  std::string close_reason;
};

// A second, independent connection to the SQLite file: sees committed rows only (WAL).
using testing_support::raw_sqlite;

// A session under test: the actor its connection started with, and the link. After a resume the
// link talks to the resumed session's actor (link->target), and `actor` has quit.
struct test_session {
  session_actor actor;
  std::shared_ptr<fake_link> link;

  // The `connected` frame (fails the test when missing).
  json::object connected() const { return link->last("connected"); }
  std::string session_id() const {
    auto c = connected();
    return c.contains("session_id") ? str(c.at("session_id")) : std::string();
  }
  std::string resume_token() const {
    auto c = connected();
    return c.contains("resume_token") ? str(c.at("resume_token")) : std::string();
  }
};

class actor_test : public ::testing::Test {
 protected:
  actor_test() {
    char tmpl[] = "/tmp/tether-actor-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (!p) throw std::runtime_error("mkdtemp failed");
    dir_ = p;
    db = std::make_shared<database>(dir_ + "/t.db");
    reader_db = std::make_shared<database>(dir_ + "/t.db", database::read_only);
    blobs = std::make_shared<local_blob_store>(dir_ + "/blobs");

    // Short intervals; tests may change `s` before the first actor is spawned.
    s.heartbeat.interval_ms = 1000;
    s.heartbeat.max_missed = 3;
    s.session.stale_after_ms = 5000;
    s.session.sweep_interval_ms = 1000;
    s.session.idle_timeout_ms = 10000;
    s.session.resume_window_ms = 2000;
    s.auth.jwt_secret = test_secret;
    s.auth.timeout_ms = 3000;
    s.cleanup.max_attempts = 3;
    s.cleanup.retry_base_ms = 1000;
    s.cleanup.retry_max_ms = 4000;

    // The system keeps a reference to its config: it must outlive the system.
    sys_cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    // Not at the epoch: an uninitialized time_point must not look recent.
    sched->clock().current_time += std::chrono::hours(1);
  }

  ~actor_test() override {
    // Everything we know of goes down; the rest must not keep the system waiting. Actors we
    // don't hold (restored sessions) may still act while the system stops: keep that quiet.
    auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
    for (auto& a : to_kill) caf::anon_send_exit(a, caf::exit_reason::kill);
    if (deps_) {
      caf::anon_send_exit(deps_->directory, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->rooms, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->channels, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->presence, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->cleaner, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->storage, caf::exit_reason::kill);
      caf::anon_send_exit(deps_->reader, caf::exit_reason::kill);
    }
    sched->run();
    deps_.reset();
    to_kill.clear();
    sys->await_actors_before_shutdown(false);
    sys.reset();
    spdlog::set_level(level);
    reader_db.reset();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // ---- driving the scheduler ----

  std::size_t run() { return sched->run(); }

  // Moves the simulated clock forward in small steps, running every actor after each step, so
  // that timers re-armed while handling a timer fire on time.
  void advance(std::chrono::milliseconds total, std::chrono::milliseconds step = 10ms) {
    run();
    while (total.count() > 0) {
      auto d = std::min(step, total);
      sched->advance_time(d);
      run();
      total -= d;
    }
  }

  // ---- the actors ----

  // storage, reader, cleaner and directory, spawned on first use with the settings in `s`.
  const session_deps& deps() {
    if (!deps_) {
      session_deps d;
      d.cfg = settings_ptr();
      d.storage = spawn_storage(*sys, db, retry_policy{s.cleanup.max_attempts, s.cleanup.retry_base_ms,
                                                       s.cleanup.retry_max_ms},
                                /*detached=*/false);
      d.reader = spawn_reader(*sys, reader_db, /*detached=*/false);
      d.cleaner = spawn_cleaner(*sys, d.storage, d.reader, cleaner_store ? cleaner_store : blobs, /*detached=*/false);
      d.presence = spawn_presence(*sys);
      d.directory = spawn_directory(*sys, d.storage, d.cleaner, d.cfg->server.max_sessions, d.cfg->server.max_queue,
                                    d.presence);
      d.rooms = spawn_room_registry(*sys, rooms_config(*d.cfg));
      d.channels = spawn_channel_registry(*sys, channels_config(*d.cfg, d.storage, d.reader));
      deps_ = d;
      run();
    }
    return *deps_;
  }
  // Uses another actor's deps (e.g. the supervisor's) for the sessions spawned from now on.
  void use_deps(const session_deps& d) { deps_ = d; }

  // Spawns the supervisor (storage and cleaner not detached), starts it (its answer in `started`,
  // its hooks counted in `ready` and `fatal`), and makes the sessions spawned from now on use its deps.
  supervisor_actor start_supervisor() {
    supervisor_options o;
    o.cfg = settings_ptr();
    o.db = db;
    o.reader_db = reader_db;
    o.blobs = blobs;
    o.hooks.on_ready = [r = ready] { ++*r; };
    o.hooks.on_fatal = [f = fatal](const std::string& why) { f->push_back(why); };
    o.detached_io = false;
    auto sup = spawn_supervisor(*sys, std::move(o));
    to_kill.push_back(caf::actor_cast<caf::actor>(sup));
    run();
    auto d = ask<session_deps>(sup, deps_atom::value);
    if (!d) {
      ADD_FAILURE() << "no deps from the supervisor";
      return sup;
    }
    use_deps(*d);
    started = ask<bool>(sup, start_atom::value);
    return sup;
  }

  // A process stop: the supervisor and the core actors it spawned are killed; the database stays
  // for the next start_supervisor().
  void kill_supervisor(const supervisor_actor& sup) {
    auto old = deps();
    for (auto& h : {caf::actor_cast<caf::actor>(sup), caf::actor_cast<caf::actor>(old.directory),
                    caf::actor_cast<caf::actor>(old.cleaner), caf::actor_cast<caf::actor>(old.storage),
                    caf::actor_cast<caf::actor>(old.reader)})
      caf::anon_send_exit(h, caf::exit_reason::kill);
    run();
  }

  std::shared_ptr<const settings> settings_ptr() {
    if (!cfg_) cfg_ = std::make_shared<const settings>(s);
    return cfg_;
  }

  // `run_now` false: spawned but not run yet, so the test may queue things for it first.
  test_session spawn_with(session_start start, bool run_now = true) {
    auto link = std::make_shared<fake_link>();
    start.link = link;
    auto a = spawn_session(*sys, deps(), std::move(start));
    link->target = a;
    to_kill.push_back(caf::actor_cast<caf::actor>(a));
    if (run_now) run();
    return test_session{a, link};
  }

  // What an upgrade request with a valid token for `user` (and maybe ?resume=) starts.
  session_start start_for(const std::string& user, const std::string& resume_token = "") {
    session_start start;
    start.user = jwt::claims{user, unix_ms() / 1000 + 3600, "", false};
    start.resume_token = resume_token;
    return start;
  }

  test_session open_session(const std::string& user = "alice", const std::string& resume_token = "") {
    return spawn_with(start_for(user, resume_token));
  }

  // A session of `user` that registered `files`, each added (with its blob) first.
  test_session open_tracking(const strings& files, const std::string& user = "alice") {
    for (const auto& f : files) add_file(f, user);
    auto ts = open_session(user);
    json::array ids(files.begin(), files.end());
    send_json(ts, json::serialize(json::object{{"type", "register"}, {"file_ids", ids}}));
    return ts;
  }

  // open_tracking, then the connection drops (no before_disconnect): the session waits for a resume.
  test_session dropped_session(const std::string& user, const strings& files) {
    auto ts = open_tracking(files, user);
    drop(ts);
    return ts;
  }

  // A connection that has not authenticated yet.
  test_session open_unauthenticated() { return spawn_with(session_start{}); }

  std::string token_for(const std::string& user, std::int64_t ttl_s = 3600,
                        const std::string& secret = test_secret) {
    return jwt::sign(jwt::claims{user, unix_ms() / 1000 + ttl_s, "", false}, secret);
  }

  // ---- talking to a session ----

  // Decodes `text` like the connection would and hands the result to its actor, without running.
  void tell_json(const test_session& ts, const std::string& text) {
    auto d = codec::decode(text);
    if (auto* m = std::get_if<codec::client_message>(&d))
      ts.link->tell_message(std::move(*m));
    else
      ts.link->tell_error(std::get<codec::decode_error>(d));
  }
  // tell_json, then runs.
  void send_json(const test_session& ts, const std::string& text) {
    tell_json(ts, text);
    run();
  }

  // tell_json, then runs one job at a time until the session sends a frame of `type`, and calls
  // `at_send` at that moment (to check what must be committed by then). False when none came.
  bool send_json_stepwise(const test_session& ts, const std::string& text, const std::string& type,
                          const std::function<void()>& at_send) {
    tell_json(ts, text);
    for (int i = 0; i < 1000; ++i) {
      if (!sched->try_run_once()) return false;
      if (ts.link->count(type) > 0) {
        at_send();
        return true;
      }
    }
    return false;
  }

  void send_bad_frame(const test_session& ts, codec::err code = codec::err::bad_json) {
    codec::decode_error e;
    e.code = code;
    e.message = "bad frame";
    ts.link->tell_error(e);
    run();
  }
  void pong(const test_session& ts) {
    ts.link->tell_activity();
    run();
  }
  // Whether the session closed its connection with `code`.
  static ::testing::AssertionResult closed_with(const test_session& ts, std::uint16_t code) {
    if (ts.link->closed && ts.link->close_code == code) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << (ts.link->closed ? "closed with " + std::to_string(ts.link->close_code)
                                                             : std::string("not closed"));
  }
  void drop(const test_session& ts, std::uint16_t code = 1006, bool by_server = false) {
    ts.link->tell_closed(code, by_server);
    run();
  }

  // Sends a request from a throw-away actor and returns the reply (nullopt on error).
  template <class T, class Handle, class... Ts>
  std::optional<T> ask(const Handle& dest, Ts... xs) {
    auto out = std::make_shared<std::optional<T>>();
    auto err = std::make_shared<std::string>();
    auto h = dest;
    sys->spawn([=](caf::event_based_actor* self) {
      self->request(h, caf::infinite, xs...)
          .then([=](T& x) { *out = std::move(x); }, [=](caf::error& e) { *err = to_string(e); });
    });
    run();
    if (!err->empty()) ADD_FAILURE() << "request failed: " << *err;
    return *out;
  }

  // ---- files and blobs ----

  void add_file(const std::string& file_id, const std::string& user = "alice", bool with_blob = true) {
    file_record f;
    f.file_id = file_id;
    f.user_id = user;
    f.name = file_id + ".bin";
    f.size = 4;
    f.state = "active";
    db->insert_file(f, unix_ms());
    if (with_blob) std::ofstream(blobs->path_of(file_id), std::ios::binary) << "data";
  }
  bool blob_exists(const std::string& file_id) const { return std::filesystem::exists(blobs->path_of(file_id)); }
  // What the cleanup did to a file: deleted (state and blob), or nothing (active, blob there).
  ::testing::AssertionResult deleted(const std::string& file_id) { return file_is(file_id, "deleted", false); }
  ::testing::AssertionResult untouched(const std::string& file_id) { return file_is(file_id, "active", true); }
  ::testing::AssertionResult file_is(const std::string& file_id, const std::string& state, bool blob) {
    auto now = file_state(file_id);
    bool there = blob_exists(file_id);
    if (now == state && there == blob) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << file_id << " is " << now << (there ? " with" : " without") << " its blob";
  }
  std::string file_state(const std::string& file_id) {
    auto f = db->find_file(file_id);
    return f ? f->state : std::string("<missing>");
  }

  // ---- what the database says ----

  std::vector<audit_record> audit(const std::string& session_id = "") {
    audit_query q;
    if (!session_id.empty()) q.session_id = session_id;
    q.limit = 100000;
    return db->read_audit(q);
  }
  std::vector<audit_record> audit_of(const std::string& event, const std::string& session_id = "") {
    std::vector<audit_record> out;
    for (auto& r : audit(session_id))
      if (r.event == event) out.push_back(r);
    return out;
  }
  // Reasons of the session_closed records of a session, oldest first.
  strings closed_reasons(const std::string& session_id) {
    strings out;
    for (auto& r : audit_of("session_closed", session_id)) out.push_back(r.reason);
    return out;
  }

  raw_sqlite raw() { return raw_sqlite(dir_ + "/t.db"); }
  std::string session_state(const std::string& session_id) {
    return raw().text("SELECT state FROM sessions WHERE session_id='" + session_id + "'");
  }
  std::string pending_reason(const std::string& session_id) {
    return raw().text("SELECT pending_reason FROM sessions WHERE session_id='" + session_id + "'");
  }
  strings tracked_rows(const std::string& session_id) {
    return raw().column("SELECT file_id FROM tracked WHERE session_id='" + session_id + "' ORDER BY seq");
  }

  std::string dir_;
  settings s;
  std::shared_ptr<database> db;
  std::shared_ptr<database> reader_db;  // the reader's read-only connection to the same file
  std::shared_ptr<local_blob_store> blobs;
  std::shared_ptr<blob_store> cleaner_store;  // what the cleaner removes from (default: `blobs`)
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::vector<caf::actor> to_kill;
  // What start_supervisor saw: on_ready calls, on_fatal reasons, the answer to start_atom.
  std::shared_ptr<int> ready = std::make_shared<int>(0);
  std::shared_ptr<strings> fatal = std::make_shared<strings>();
  std::optional<bool> started;

 private:
  std::optional<session_deps> deps_;
  std::shared_ptr<const settings> cfg_;
};

}  // namespace tether::actor_testing
