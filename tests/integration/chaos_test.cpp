// A randomized chaos test of the cleanup promise (PROTOCOL.md §4, §5, §11; docs/protocol.md;
// docs/operations.md): when a user leaves — gracefully, by a close frame, by losing the TCP
// connection, or because the SERVER is killed with -9 — everything the user left behind is cleaned
// up exactly once, and nothing else is.
//
// Three users open ~40 sessions over time (several at once; a user's second session often tracks
// the files of its first). Each uploads 1–3 files and tracks them (register / file_uploaded), and
// at random removes files (file_removed), submits (post_submitted), deletes its own files over HTTP,
// tries to register or delete another user's files, and then leaves in a random way: graceful
// (before_disconnect + close), a close frame without before_disconnect (resume window), an abrupt
// TCP drop (resume window), a drop followed by a resume with ?resume= inside the window and a later
// leave, or it stays open until the end. Once in the middle the server is killed with -9 (a few
// sessions have a register / file_removed / post_submitted in flight, whose answer they never get)
// and restarted on the same data dir; some of the sessions that were open resume after the restart.
//
// A model, driven only by what the clients were told (acks, `registered`, `connected.file_ids`),
// predicts every file's fate:
//   KEPT    listed in an acked post_submitted -> blob there, files.state 'kept', no deletion_queued;
//   ACTIVE  never tracked by a session when it ended (never tracked, or file_removed first) ->
//           blob there, state 'active', no deletion_queued;
//   GONE    deleted over HTTP (204), or tracked, unsubmitted, by a session that ended while no other
//           live session of the user tracked it -> blob absent, state 'deleted', exactly one
//           deletion_queued and exactly one file_deleted;
//   EITHER  the fate hangs on an answer the client never got (the kill raced it): kept/active or
//           gone are both accepted, but with the same exactly-once bookkeeping.
// A session's end is applied to the model once the audit shows it (the end of a session inside its
// resume window happens at a time the client does not know); the only operations whose outcome
// depends on that order (file_removed of a file another ending session tracks, HTTP DELETE) first
// wait for those ends. At the end every session is closed, the deletion queue must drain, every
// session must have exactly one session_closed (with a reason its way of leaving allows), no file
// more than one file_deleted, and no foreign register may ever have tracked anything.
//
// Chat and notifications ride along: sessions send chat messages to dm chats of the chaos users and
// the test sends notifications over HTTP; every message acknowledged (its sender got its
// new_message) and every notification answered 202 must be in SQLite exactly once after the kills,
// with ids increasing without a gap, and nothing unacknowledged may appear twice.
//
// Deterministic from the seed (std::mt19937): CHAOS_SEED=N overrides the default; CHAOS_SESSIONS
// and CHAOS_CRASHES make longer runs (bench/chaos.sh); CHAOS_RESTART=term|mixed stops the server
// with SIGTERM instead of (or as well as) kill -9; CHAOS_VERBOSE=1 prints every event. Timing can still change what the server
// answers (a resume that misses its window), and the model follows the answers.
#include "support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

using namespace tether::it;

namespace {

using steady = std::chrono::steady_clock;

constexpr std::uint32_t default_seed = 20240611;
constexpr int users = 3;
constexpr int max_concurrent = 5;  // sessions doing things at once (parked ones not counted)

std::uint32_t env_u32(const char* name, std::uint32_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  try {
    return static_cast<std::uint32_t>(std::stoul(v));
  } catch (...) {
    return fallback;
  }
}

enum class leave_mode { graceful, close_frame, drop, resume, resume_late, silent, stay };

const char* name_of(leave_mode m) {
  switch (m) {
    case leave_mode::graceful: return "graceful";
    case leave_mode::close_frame: return "close-frame";
    case leave_mode::drop: return "tcp-drop";
    case leave_mode::resume: return "drop+resume";
    case leave_mode::resume_late: return "drop+late-resume";
    case leave_mode::silent: return "silent (network lost)";
    case leave_mode::stay: return "stay";
  }
  return "?";
}

enum class sstate { open, ending, ended };

struct file_m {
  std::string id;
  int owner = 0;
  bool kept = false;          // listed in an acked post_submitted
  bool gone = false;          // must end deleted
  bool http_deleted = false;  // DELETE answered 204
  bool either = false;        // fate legitimately unknown to the clients
  std::string why;            // how it got gone / either (diagnostics)
};

struct session_m {
  int idx = 0;
  int user = 0;
  std::string sid, resume;
  std::unique_ptr<ws_client> c;
  sstate state = sstate::open;
  std::set<int> tracked;   // files it certainly tracks (by what the client was told)
  std::set<int> maybe;     // files whose tracking hangs on an answer lost in the kill
  std::set<int> submit_set;  // files a post_submitted in flight at the kill covered
  bool submit_in_flight = false;
  std::set<std::string> reasons;  // session_closed reasons its way of leaving allows
  leave_mode plan = leave_mode::graceful;
  int actions_left = 0;
  int uploads_left = 0;
  int resumes = 0;  // resumed:true answers received
  int late_resume_in = -1;  // steps until a dropped client tries ?resume= (maybe after its window)
  bool parked = false;
  bool busy = false;  // a reply is on its way (a burst): not to be read by pump_all
  steady::time_point last_read{};
};

class chaos_run {
public:
  chaos_run(std::uint32_t seed, int sessions, int crashes)
      : rng_(seed),
        total_sessions_(sessions),
        crashes_left_(crashes),
        s_({"session.resume_window_ms=300", "session.restart_window_ms=0", "heartbeat.interval_ms=200",
            "heartbeat.max_missed=5"}) {}

  void run();
  void dump_log(std::ostream& out) const {
    std::size_t keep = env_u32("CHAOS_VERBOSE", 0) != 0 ? log_.size() : 400;
    std::size_t from = log_.size() > keep ? log_.size() - keep : 0;
    if (from) out << "... (" << from << " earlier events)\n";
    for (std::size_t i = from; i < log_.size(); ++i) out << log_[i] << "\n";
  }

private:
  // ---- randomness (every choice from the one seeded engine, over model indices, never server ids)
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  T pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(between(0, static_cast<int>(v.size()) - 1))];
  }
  leave_mode pick_plan(bool allow_resume) {
    int r = between(0, 99);
    if (r < 20) return leave_mode::graceful;
    if (r < 34) return leave_mode::close_frame;
    if (r < 50) return leave_mode::drop;
    if (r < 66) return allow_resume ? leave_mode::resume : leave_mode::drop;
    if (r < 78) return allow_resume ? leave_mode::resume_late : leave_mode::close_frame;
    if (r < 86) return leave_mode::silent;
    return leave_mode::stay;
  }

  void note(const std::string& what) {
    auto t = std::chrono::duration_cast<ms>(steady::now() - start_).count();
    log_.push_back("[" + std::to_string(t) + " ms] " + what);
  }
  std::string S(const session_m& s) const { return "S" + std::to_string(s.idx) + "(u" + std::to_string(s.user) + "," + s.sid + ")"; }
  std::string F(int f) const { return "F" + std::to_string(f) + "(" + files_[static_cast<std::size_t>(f)].id + ")"; }
  file_m& file(int f) { return files_[static_cast<std::size_t>(f)]; }

  // ---- model queries
  bool tracks(const session_m& s, int f) const { return s.tracked.count(f) || s.maybe.count(f); }
  bool has_ending_tracker(int f) const {
    for (const auto& s : sessions_)
      if (s->state == sstate::ending && tracks(*s, f)) return true;
    return false;
  }
  // Alive for sure: no pending end or lost answer can have queued it.
  bool certainly_alive(int f) const {
    const auto& m = files_[static_cast<std::size_t>(f)];
    if (m.gone || m.either) return false;
    for (const auto& s : sessions_)
      if (s->state != sstate::ended && s->maybe.count(f)) return false;
    return !has_ending_tracker(f);
  }
  std::vector<session_m*> active_sessions() {
    std::vector<session_m*> out;
    for (auto& s : sessions_)
      if (s->state == sstate::open && !s->parked) out.push_back(s.get());
    return out;
  }
  std::vector<int> own_files(int user) const {
    std::vector<int> out;
    for (std::size_t i = 0; i < files_.size(); ++i)
      if (files_[i].owner == user) out.push_back(static_cast<int>(i));
    return out;
  }
  // Any file of another user than `user`'s; nullopt when there is none.
  std::optional<int> pick_foreign(int user) {
    std::vector<int> cands;
    for (std::size_t i = 0; i < files_.size(); ++i)
      if (files_[i].owner != user) cands.push_back(static_cast<int>(i));
    if (cands.empty()) return std::nullopt;
    return pick(cands);
  }

  // ---- steps
  int new_file(int user);
  std::optional<object> ask(session_m& s, const object& msg, const std::set<int>& at_stake);
  void lost(session_m& s, const std::set<int>& at_stake, const std::string& what);
  void pump_all(bool force = false);
  void open_new();
  session_m& adopt_fresh(int user, std::unique_ptr<ws_client> c, const object& hello);
  void step(session_m& s);
  struct pending_op {
    session_m* s;
    object msg;
    std::set<int> stake;  // files whose tracking hangs on the answer
    std::function<void(const object&)> on_reply;
  };
  pending_op op_track(session_m& s, const std::vector<int>& fs, bool by_file_uploaded);
  pending_op op_remove(session_m& s, int f);
  pending_op op_submit(session_m& s);
  void run_ops(std::vector<pending_op> ops);
  void burst(std::vector<session_m*> active);
  void track(session_m& s, const std::vector<int>& fs, bool by_file_uploaded);
  void explain_not_found(session_m& s, int f, const std::string& where);
  void register_foreign(session_m& s);
  void http_delete_own(session_m& s);
  void http_delete_foreign(session_m& s);
  void leave(session_m& s);
  bool resume(session_m& s, bool after_crash);
  void resume_late(session_m& s);
  void stale_resume(session_m& victim, const std::string& resume_token, int as_user, const std::string& what);
  void crash();
  void settle(std::vector<session_m*> list, ms timeout);
  void settle_trackers(int f);
  void apply_end(session_m& s);
  void finish();
  void check();
  // ---- chat and notifications
  void chat(session_m& s);
  void notify(int user);
  void check_channels();
  std::string user_id(int u) const { return "chaos-u" + std::to_string(u); }
  struct chat_m {
    std::string chat, cmid;
    std::int64_t id = 0;   // from the acknowledgement (0: none came)
    bool acked = false;    // false: lost with its connection, may or may not be stored
  };
  std::vector<chat_m> chat_log_;
  std::vector<std::vector<std::int64_t>> notes_acked_ = std::vector<std::vector<std::int64_t>>(users);
  int notes_sent_ = 0;

  std::mt19937 rng_;
  int total_sessions_;
  int crashes_left_;
  server_process s_;
  steady::time_point start_ = steady::now();
  std::vector<std::string> tokens_;
  std::vector<file_m> files_;
  std::map<std::string, int> file_index_;
  std::vector<std::unique_ptr<session_m>> sessions_;
  std::vector<std::pair<int, int>> refusals_;  // (session, the fresh one given instead of resuming it)
  struct {
    int bursts = 0, silent = 0, takeovers = 0, resumes_refused = 0, late_resumes = 0, raced_deletes = 0,
        stale_tokens = 0, lost = 0, in_flight = 0;
  } stats_;
  int created_ = 0;  // sessions opened by plan (not counting fresh ones after a refused resume)
  std::string restart_mode_ = std::getenv("CHAOS_RESTART") ? std::getenv("CHAOS_RESTART") : "kill";
  std::string restart_reason_ = "crash";  // session_closed reason of sessions open at the last restart
  std::vector<std::string> log_;
};

// ---- files --------------------------------------------------------------------------------------

int chaos_run::new_file(int user) {
  int n = static_cast<int>(files_.size());
  std::string body(static_cast<std::size_t>(between(1, 2048)), static_cast<char>('a' + n % 26));
  auto id = upload(s_, tokens_[static_cast<std::size_t>(user)], "f" + std::to_string(n) + ".jpg", body);
  if (id.empty()) return -1;
  file_m m;
  m.id = id;
  m.owner = user;
  files_.push_back(m);
  file_index_[id] = n;
  note("u" + std::to_string(user) + " uploaded " + F(n));
  return n;
}

// ---- talking to a session ---------------------------------------------------------------------

// Sends and reads the direct reply. When the server ended the connection meanwhile (heartbeat, say),
// the files at stake become uncertain and the session is handled as ended by the server.
std::optional<object> chaos_run::ask(session_m& s, const object& msg, const std::set<int>& at_stake) {
  if (s.state != sstate::open || !s.c) return std::nullopt;  // lost meanwhile (seen while waiting)
  if (!s.c->send_json(msg)) {
    lost(s, at_stake, "send of " + serialize(msg) + " failed: " + s.c->last_error());
    return std::nullopt;
  }
  auto reply = s.c->next_json(5s);
  s.last_read = steady::now();
  if (!reply) {
    if (!s.c->is_open()) {
      lost(s, at_stake, "connection closed (" + std::to_string(s.c->close_code().value_or(-1)) + ") awaiting reply to " +
                            serialize(msg));
    } else {
      ADD_FAILURE() << S(s) << ": no reply within 5 s to " << serialize(msg);
      lost(s, at_stake, "no reply");
    }
    return std::nullopt;
  }
  return reply;
}

// The server ended this session's connection on its own (4008 heartbeat, say): no window.
void chaos_run::lost(session_m& s, const std::set<int>& at_stake, const std::string& what) {
  note(S(s) + " lost: " + what);
  ++stats_.lost;
  for (int f : at_stake)
    if (!s.tracked.count(f)) s.maybe.insert(f);  // the lost message may or may not have tracked it
  // A lost file_removed: whether it is still tracked is unknown.
  for (int f : at_stake)
    if (s.tracked.count(f)) {
      s.tracked.erase(f);
      s.maybe.insert(f);
    }
  s.reasons.insert({"timeout", "stale", "closed", "idle"});
  s.c.reset();
  s.state = sstate::ending;
}

void chaos_run::pump_all(bool force) {
  // Clients answer server pings only while reading: read briefly on every idle connection.
  auto now = steady::now();
  for (auto& sp : sessions_) {
    auto& s = *sp;
    if (s.state != sstate::open || !s.c || s.busy || (!force && now - s.last_read < 120ms)) continue;
    auto m = s.c->next_json(2ms);
    s.last_read = steady::now();
    if (m) ADD_FAILURE() << S(s) << ": unsolicited message " << serialize(*m);
    if (!s.c->is_open()) lost(s, {}, "closed by the server while idle, code " + std::to_string(s.c->close_code().value_or(-1)));
  }
}

// ---- sessions ---------------------------------------------------------------------------------

session_m& chaos_run::adopt_fresh(int user, std::unique_ptr<ws_client> c, const object& hello) {
  auto sp = std::make_unique<session_m>();
  auto& s = *sp;
  s.idx = static_cast<int>(sessions_.size());
  s.user = user;
  s.sid = str(hello, "session_id");
  s.resume = str(hello, "resume_token");
  s.c = std::move(c);
  s.plan = pick_plan(true);
  s.actions_left = between(2, 6);
  s.uploads_left = between(1, 3);
  s.last_read = steady::now();
  auto* resumed = hello.if_contains("resumed");
  EXPECT_TRUE(resumed && *resumed == value(false)) << serialize(hello);
  EXPECT_FALSE(s.sid.empty());
  sessions_.push_back(std::move(sp));
  note(S(s) + " opened, plan " + name_of(s.plan));
  return s;
}

void chaos_run::open_new() {
  int user = between(0, users - 1);
  if (chance(0.08)) {  // another user's resume token: must not resume anything
    std::vector<session_m*> victims;
    for (auto& o : sessions_)
      if (o->user != user && o->state != sstate::ended) victims.push_back(o.get());
    if (!victims.empty()) {
      auto* v = pick(victims);
      ++created_;
      stale_resume(*v, v->resume, user, "the resume token");
      return;
    }
  }
  auto c = std::make_unique<ws_client>(s_.port());
  auto hello = open_session(*c, tokens_[static_cast<std::size_t>(user)]);
  ++created_;
  if (!hello) return;
  auto& s = adopt_fresh(user, std::move(c), *hello);
  // A second tab of the same user: it tracks (some of) what the first one tracks.
  if (chance(0.6)) {
    std::vector<session_m*> peers;
    for (auto& o : sessions_)
      if (o.get() != &s && o->user == user && o->state == sstate::open && !o->tracked.empty()) peers.push_back(o.get());
    if (!peers.empty()) {
      auto* peer = pick(peers);
      std::vector<int> shared;
      for (int f : peer->tracked)
        if (chance(0.7)) shared.push_back(f);
      if (shared.empty()) shared.push_back(*peer->tracked.begin());
      note(S(s) + " shares files of " + S(*peer));
      track(s, shared, false);
    }
  }
}

void chaos_run::step(session_m& s) {
  if (chance(0.35)) chat(s);
  if (chance(0.1)) notify(between(0, users - 1));
  if (s.state != sstate::open) return;
  if (s.uploads_left > 0 && (s.actions_left <= s.uploads_left || chance(0.55))) {
    int n = std::min(s.uploads_left, between(1, 2));
    s.uploads_left -= n;
    --s.actions_left;
    std::vector<int> fs;
    for (int i = 0; i < n; ++i) {
      int f = new_file(s.user);
      if (f >= 0) fs.push_back(f);
    }
    if (fs.empty()) return;
    if (chance(0.08)) {
      note("  left untracked: " + F(fs.back()));
      fs.pop_back();  // uploaded, never tracked: it must stay
      if (fs.empty()) return;
    }
    track(s, fs, fs.size() == 1 && chance(0.5));
    return;
  }
  if (s.actions_left <= 0) {
    leave(s);
    return;
  }
  --s.actions_left;
  int r = between(0, 99);
  if (r < 22) {  // track a file of this user that is alive (a peer's, an orphan, a kept one)
    std::vector<int> cands;
    for (int f : own_files(s.user))
      if (!s.tracked.count(f) && !s.maybe.count(f) && !file(f).gone) cands.push_back(f);
    if (!cands.empty()) track(s, {pick(cands)}, chance(0.3));
  } else if (r < 44) {
    if (!s.tracked.empty()) run_ops({op_remove(s, pick(std::vector<int>(s.tracked.begin(), s.tracked.end())))});
  } else if (r < 60) {
    run_ops({op_submit(s)});
  } else if (r < 72) {
    register_foreign(s);
  } else if (r < 84) {
    http_delete_own(s);
  } else if (r < 88) {
    http_delete_foreign(s);
  } else if (r < 93) {  // file_removed of a file it does not track: not_found, nothing changes
    std::vector<int> cands;
    for (int f : own_files(s.user))
      if (!tracks(s, f)) cands.push_back(f);
    if (cands.empty()) return;
    int f = pick(cands);
    auto reply = ask(s, {{"type", "file_removed"}, {"file_id", file(f).id}}, {});
    if (!reply) return;
    EXPECT_EQ(str(*reply, "type"), "error") << S(s) << " file_removed of untracked " << F(f) << ": " << serialize(*reply);
    EXPECT_EQ(str(*reply, "code"), "not_found") << serialize(*reply);
  } else if (r < 97) {
    chat(s);
  } else if (r < 99) {
    notify(between(0, users - 1));
  } else {
    auto reply = ask(s, {{"type", "ping"}}, {});
    if (reply) {
      EXPECT_EQ(str(*reply, "type"), "pong") << serialize(*reply);
    }
  }
}

// ---- chat and notifications ---------------------------------------------------------------------

// A message to a dm chat with another chaos user; the session is not subscribed, so its own
// new_message is the direct reply (and no receipt comes: nobody is subscribed).
void chaos_run::chat(session_m& s) {
  int peer = (s.user + between(1, users - 1)) % users;
  auto a = user_id(std::min(s.user, peer)), b = user_id(std::max(s.user, peer));
  chat_m m{"dm:" + a + ":" + b, "c" + std::to_string(chat_log_.size()), 0, false};
  auto reply = ask(s, {{"type", "message"}, {"chat_id", m.chat}, {"content", "x"}, {"client_msg_id", m.cmid}}, {});
  if (reply) {
    EXPECT_EQ(str(*reply, "type"), "new_message") << S(s) << ": " << serialize(*reply);
    EXPECT_EQ(str(*reply, "client_msg_id"), m.cmid) << serialize(*reply);
    if (reply->contains("message_id")) m.id = reply->at("message_id").as_int64();
    m.acked = m.id > 0;
  }
  note(S(s) + " message " + m.cmid + " to " + m.chat + (m.acked ? " id " + std::to_string(m.id) : " (no ack)"));
  chat_log_.push_back(m);
}

void chaos_run::notify(int user) {
  auto n = ++notes_sent_;
  auto r = http_call(s_.port(), http::verb::post, "/api/users/" + user_id(user) + "/notify", s_.api_key(),
                     serialize(object{{"data", n}}), "application/json");
  EXPECT_EQ(r.status, 202) << r.body;
  if (r.status == 202) notes_acked_[static_cast<std::size_t>(user)].push_back(n);
  note("notify u" + std::to_string(user) + " #" + std::to_string(n) + " -> " + std::to_string(r.status));
}

// After the run: every chat's stored messages (read with history), every user's notifications
// (replayed with since_id 0), against what the clients were told.
void chaos_run::check_channels() {
  std::map<std::string, std::vector<object>> stored;
  for (int u = 0; u < users; ++u) {
    ws_client c(s_.port());
    if (!open_session(c, tokens_[static_cast<std::size_t>(u)])) return;
    for (int v = u + 1; v < users; ++v) {
      auto chat = "dm:" + user_id(u) + ":" + user_id(v);
      std::int64_t before = 0;
      std::vector<object> all;
      for (;;) {
        object q{{"type", "history"}, {"chat_id", chat}, {"limit", 200}};
        if (before) q["before_id"] = before;
        auto h = request(c, q);
        if (!h || str(*h, "type") != "history") {
          ADD_FAILURE() << "history of " << chat << ": " << (h ? serialize(*h) : "nothing");
          return;
        }
        std::vector<object> page;
        for (auto& m : h->at("messages").as_array()) page.push_back(m.as_object());
        all.insert(all.begin(), page.begin(), page.end());
        if (!h->at("has_more").as_bool() || page.empty()) break;
        before = page.front().at("message_id").as_int64();
      }
      stored[chat] = all;
    }
    // Notifications: exactly the acknowledged ones, in increasing ids.
    ASSERT_TRUE(c.send_json({{"type", "subscribe"}, {"channel", "notifications"}, {"since_id", 0}}));
    std::vector<std::int64_t> got, ids;
    auto want = notes_acked_[static_cast<std::size_t>(u)];
    wait_until(
        [&] {
          while (auto m = c.next_json(5ms))
            if (str(*m, "type") == "notification") {
              got.push_back(m->at("data").as_int64());
              ids.push_back(m->at("id").as_int64());
            }
          return got.size() >= want.size();
        },
        5s);
    EXPECT_EQ(got, want) << "notifications of u" << u;
    for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);
  }
  std::map<std::string, int> seen_cmid;
  for (auto& [chat, msgs] : stored) {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      EXPECT_EQ(msgs[i].at("message_id").as_int64(), static_cast<std::int64_t>(i + 1)) << chat << ": ids with a gap";
      ++seen_cmid[chat + "/" + str(msgs[i], "client_msg_id")];
    }
  }
  int acked = 0;
  for (auto& m : chat_log_) {
    auto n = seen_cmid[m.chat + "/" + m.cmid];
    if (m.acked) {
      ++acked;
      EXPECT_EQ(n, 1) << "acknowledged message " << m.cmid << " (id " << m.id << ") stored " << n << " times";
    } else {
      EXPECT_LE(n, 1) << "message " << m.cmid << " stored twice";
    }
  }
  std::size_t total = 0;
  for (auto& [chat, msgs] : stored) total += msgs.size();
  EXPECT_LE(total, chat_log_.size()) << "messages nobody sent";
  note("channels: " + std::to_string(acked) + " acknowledged chat messages of " + std::to_string(chat_log_.size()) +
       ", " + std::to_string(notes_sent_) + " notifications");
}

// register (or file_uploaded for one file) of this user's files.
chaos_run::pending_op chaos_run::op_track(session_m& s, const std::vector<int>& fs, bool by_file_uploaded) {
  std::set<int> stake(fs.begin(), fs.end());
  session_m* sp = &s;
  if (by_file_uploaded) {
    int f = fs.front();
    return {sp, {{"type", "file_uploaded"}, {"file_id", file(f).id}}, stake, [this, sp, f](const object& reply) {
              auto& s = *sp;
              if (str(reply, "type") == "ack") {
                EXPECT_EQ(str(reply, "for"), "file_uploaded") << serialize(reply);
                EXPECT_EQ(str(reply, "file_id"), file(f).id) << serialize(reply);
                EXPECT_FALSE(file(f).gone && !file(f).either)
                    << S(s) << " tracked " << F(f) << " which the model says is gone (" << file(f).why << ")";
                s.tracked.insert(f);
                note(S(s) + " file_uploaded " + F(f));
              } else {
                EXPECT_EQ(str(reply, "code"), "not_found") << S(s) << " file_uploaded " << F(f) << ": " << serialize(reply);
                explain_not_found(s, f, "file_uploaded");
              }
            }};
  }
  array ids;
  for (int f : fs) ids.emplace_back(file(f).id);
  object msg{{"type", "register"}, {"file_ids", ids}};
  if (chance(0.5)) msg["draft_id"] = "d" + std::to_string(s.idx) + "." + std::to_string(between(0, 9));
  return {sp, msg, stake, [this, sp, fs](const object& reply) {
            auto& s = *sp;
            if (str(reply, "type") != "registered") {
              ADD_FAILURE() << S(s) << " register: " << serialize(reply);
              return;
            }
            EXPECT_EQ(str(reply, "session_id"), s.sid);
            std::map<std::string, std::string> rejected;
            if (auto* rj = reply.if_contains("rejected"); rj && rj->is_array())
              for (auto& r : rj->as_array())
                if (r.is_object()) rejected[str(r.as_object(), "file_id")] = str(r.as_object(), "code");
            std::string listed;
            for (int f : fs) {
              auto it = rejected.find(file(f).id);
              if (it != rejected.end()) {
                EXPECT_EQ(it->second, "not_found") << S(s) << " register of own " << F(f) << ": " << serialize(reply);
                explain_not_found(s, f, "register");
                continue;
              }
              EXPECT_FALSE(file(f).gone && !file(f).either)
                  << S(s) << " tracked " << F(f) << " which the model says is gone (" << file(f).why << "): " << serialize(reply);
              s.tracked.insert(f);
              listed += " " + F(f);
            }
            note(S(s) + " registered" + listed);
            std::set<std::string> got, want;
            if (auto* a = reply.if_contains("file_ids"); a && a->is_array())
              for (auto& v : a->as_array())
                if (v.is_string()) got.insert(std::string(v.as_string()));
            for (int f : s.tracked) want.insert(file(f).id);
            EXPECT_EQ(got, want) << S(s) << ": registered.file_ids is not what the session tracks: " << serialize(reply);
          }};
}

void chaos_run::track(session_m& s, const std::vector<int>& fs, bool by_file_uploaded) {
  run_ops({op_track(s, fs, by_file_uploaded)});
}

// Sends every message, then reads every reply (several sessions busy in the server at once).
void chaos_run::run_ops(std::vector<pending_op> ops) {
  for (auto& op : ops) {
    auto& s = *op.s;
    if (s.state != sstate::open || !s.c || s.busy) {
      op.s = nullptr;  // lost meanwhile
      continue;
    }
    if (!s.c->send_json(op.msg)) {
      lost(s, op.stake, "send of " + serialize(op.msg) + " failed: " + s.c->last_error());
      op.s = nullptr;
      continue;
    }
    s.busy = true;  // its reply is on the way: pump_all must not read it
  }
  for (auto& op : ops) {
    if (!op.s) continue;
    auto& s = *op.s;
    auto reply = s.c->next_json(5s);
    s.last_read = steady::now();
    s.busy = false;
    if (!reply) {
      if (s.c->is_open()) ADD_FAILURE() << S(s) << ": no reply within 5 s to " << serialize(op.msg);
      lost(s, op.stake, "no reply to " + serialize(op.msg) + " (close code " + std::to_string(s.c->close_code().value_or(-1)) + ")");
      continue;
    }
    op.on_reply(*reply);
  }
}

// The server said not_found for an own file: that must be because it is gone or going.
void chaos_run::explain_not_found(session_m& s, int f, const std::string& where) {
  if (file(f).gone || file(f).either) return;
  pump_all(true);      // a session the server closed (4008 on a loaded machine) may have ended
  settle_trackers(f);  // an end the client could not see yet may have queued it
  EXPECT_TRUE(file(f).gone || file(f).either)
      << S(s) << " " << where << " of own " << F(f) << " answered not_found, but nothing deleted it";
  if (!file(f).gone && !file(f).either) {
    file(f).either = true;  // don't cascade
    file(f).why = "unexplained not_found";
  }
}

chaos_run::pending_op chaos_run::op_remove(session_m& s, int f) {
  // Whether the file survives depends on the order of this removal and the end of any other
  // session that tracks it: wait for those ends first.
  settle_trackers(f);
  session_m* sp = &s;
  return {sp, {{"type", "file_removed"}, {"file_id", file(f).id}}, {f}, [this, sp, f](const object& reply) {
            auto& s = *sp;
            EXPECT_EQ(str(reply, "type"), "ack") << S(s) << " file_removed " << F(f) << ": " << serialize(reply);
            EXPECT_EQ(str(reply, "for"), "file_removed");
            EXPECT_EQ(str(reply, "file_id"), file(f).id);
            s.tracked.erase(f);
            note(S(s) + " file_removed " + F(f));
          }};
}

chaos_run::pending_op chaos_run::op_submit(session_m& s) {
  std::string post = "p" + std::to_string(s.idx) + "-" + std::to_string(between(0, 999));
  session_m* sp = &s;
  // At stake when the answer is lost: whether what it tracks is kept.
  return {sp, {{"type", "post_submitted"}, {"post_id", post}}, s.tracked, [this, sp, post](const object& reply) {
            auto& s = *sp;
            if (str(reply, "type") != "ack" || str(reply, "for") != "post_submitted") {
              ADD_FAILURE() << S(s) << " post_submitted: " << serialize(reply);
              return;
            }
            EXPECT_EQ(str(reply, "post_id"), post);
            std::set<std::string> kept, want;
            if (auto* a = reply.if_contains("kept"); a && a->is_array())
              for (auto& v : a->as_array())
                if (v.is_string()) kept.insert(std::string(v.as_string()));
            // Kept: what it tracks, but a file deleted over HTTP meanwhile is not.
            for (int f : s.tracked)
              if (!file(f).gone || file(f).either) want.insert(file(f).id);
            std::string listed;
            for (const auto& id : kept) {
              auto it = file_index_.find(id);
              if (it == file_index_.end() || !s.tracked.count(it->second)) {
                ADD_FAILURE() << S(s) << " post_submitted kept " << id << " which it does not track: " << serialize(reply);
                continue;
              }
              auto& m = file(it->second);
              EXPECT_FALSE(m.gone && !m.either)
                  << S(s) << " kept " << F(it->second) << " which the model says is gone (" << m.why << ")";
              // Acked: kept for good, whatever was uncertain before.
              m.kept = true;
              m.either = false;
              listed += " " + F(it->second);
            }
            for (const auto& id : want)
              EXPECT_TRUE(kept.count(id) || file(file_index_[id]).either)
                  << S(s) << " post_submitted did not keep tracked " << F(file_index_[id]) << ": " << serialize(reply);
            note(S(s) + " post_submitted " + post + ", kept" + listed);
            s.tracked.clear();
          }};
}

// Two or three sessions send at once, then read their answers.
void chaos_run::burst(std::vector<session_m*> active) {
  std::shuffle(active.begin(), active.end(), rng_);
  active.resize(std::min<std::size_t>(active.size(), static_cast<std::size_t>(between(2, 3))));
  std::vector<pending_op> ops;
  std::string who;
  for (auto* s : active) {
    int r = between(0, 99);
    who += " " + S(*s);
    if (r < 40 && s->uploads_left > 0) {
      std::vector<int> fs;
      for (int i = std::min(s->uploads_left, between(1, 2)); i > 0; --i) {
        --s->uploads_left;
        int f = new_file(s->user);
        if (f >= 0) fs.push_back(f);
      }
      if (!fs.empty()) ops.push_back(op_track(*s, fs, fs.size() == 1 && chance(0.5)));
    } else if (r < 65 && !s->tracked.empty()) {
      ops.push_back(op_remove(*s, pick(std::vector<int>(s->tracked.begin(), s->tracked.end()))));
    } else if (r < 85) {
      ops.push_back(op_submit(*s));
    } else {
      std::vector<int> cands;
      for (int f : own_files(s->user))
        if (!tracks(*s, f) && !file(f).gone) cands.push_back(f);
      if (!cands.empty()) ops.push_back(op_track(*s, {pick(cands)}, false));
    }
  }
  note("burst:" + who);
  ++stats_.bursts;
  run_ops(std::move(ops));
}

void chaos_run::register_foreign(session_m& s) {
  auto foreign = pick_foreign(s.user);
  if (!foreign) return;
  int f = *foreign;
  bool alive = certainly_alive(f);
  if (chance(0.5)) {
    auto reply = ask(s, {{"type", "file_uploaded"}, {"file_id", file(f).id}}, {});
    if (!reply) return;
    EXPECT_EQ(str(*reply, "type"), "error") << S(s) << " file_uploaded of foreign " << F(f) << ": " << serialize(*reply);
    auto code = str(*reply, "code");
    EXPECT_TRUE(code == "forbidden" || (code == "not_found" && !alive)) << S(s) << " foreign " << F(f) << ": " << serialize(*reply);
  } else {
    // Mixed with nothing else: the register must track nothing.
    auto reply = ask(s, {{"type", "register"}, {"file_ids", array{value(file(f).id)}}}, {});
    if (!reply) return;
    EXPECT_EQ(str(*reply, "type"), "registered") << serialize(*reply);
    auto& rej = (*reply)["rejected"];
    bool ok = rej.is_array() && rej.as_array().size() == 1 && rej.as_array()[0].is_object();
    EXPECT_TRUE(ok) << S(s) << " register of foreign " << F(f) << ": " << serialize(*reply);
    if (ok) {
      auto code = str(rej.as_array()[0].as_object(), "code");
      EXPECT_TRUE(code == "forbidden" || (code == "not_found" && !alive)) << S(s) << " foreign " << F(f) << ": " << serialize(*reply);
    }
    std::set<std::string> got, want;
    if (auto* a = reply->if_contains("file_ids"); a && a->is_array())
      for (auto& v : a->as_array())
        if (v.is_string()) got.insert(std::string(v.as_string()));
    for (int t : s.tracked) want.insert(file(t).id);
    EXPECT_EQ(got, want) << S(s) << ": a foreign register changed what it tracks: " << serialize(*reply);
  }
  note(S(s) + " tried to track foreign " + F(f));
}

void chaos_run::http_delete_own(session_m& s) {
  // Any own file not known to be gone, also one whose end is pending (the DELETE races it: 204 if
  // it came first, 404 if the end queued the file first; exactly one deletion either way).
  std::vector<int> cands;
  for (int f : own_files(s.user))
    if (!file(f).gone) cands.push_back(f);
  if (cands.empty()) return;
  int f = pick(cands);
  bool sure = certainly_alive(f);
  auto r = http_call(s_.port(), http::verb::delete_, "/api/files/" + file(f).id, tokens_[static_cast<std::size_t>(s.user)]);
  note("u" + std::to_string(s.user) + " DELETE " + F(f) + " -> " + std::to_string(r.status) + (sure ? "" : " (raced)"));
  if (!sure) ++stats_.raced_deletes;
  if (r.status == 204) {
    file(f).gone = file(f).http_deleted = true;
    file(f).either = false;
    file(f).why = "HTTP DELETE by its owner";
    return;
  }
  EXPECT_EQ(r.status, 404) << S(s) << " DELETE own " << F(f) << ": " << r.body << r.error;
  if (r.status != 404) return;
  explain_not_found(s, f, "DELETE");  // fails unless a session end queued it first
  // 404 for an own file: it is queued or deleted already.
  file(f).gone = true;
  file(f).either = false;
  if (file(f).why.empty()) file(f).why = "DELETE 404: queued by a session end first";
}

void chaos_run::http_delete_foreign(session_m& s) {
  auto foreign = pick_foreign(s.user);
  if (!foreign) return;
  int f = *foreign;
  auto r = http_call(s_.port(), http::verb::delete_, "/api/files/" + file(f).id, tokens_[static_cast<std::size_t>(s.user)]);
  EXPECT_EQ(r.status, 404) << "u" << s.user << " DELETE foreign " << F(f) << ": " << r.body << r.error;
  note("u" + std::to_string(s.user) + " DELETE foreign " + F(f) + " -> " + std::to_string(r.status));
}

void chaos_run::leave(session_m& s) {
  if (s.state != sstate::open || !s.c) return;
  switch (s.plan) {
    case leave_mode::stay:
      s.parked = true;
      note(S(s) + " stays open");
      return;
    case leave_mode::graceful: {
      auto reply = ask(s, {{"type", "before_disconnect"}}, {});
      if (!reply) return;
      EXPECT_EQ(str(*reply, "type"), "ack") << serialize(*reply);
      EXPECT_EQ(str(*reply, "for"), "before_disconnect") << serialize(*reply);
      EXPECT_TRUE(s.c->close(1000)) << S(s) << " close: " << s.c->last_error();
      s.reasons.insert("left");
      break;
    }
    case leave_mode::close_frame:
      EXPECT_TRUE(s.c->close(1000)) << S(s) << " close: " << s.c->last_error();
      s.reasons.insert("closed");
      break;
    case leave_mode::drop:
      s.c->drop();
      s.reasons.insert("closed");
      break;
    case leave_mode::resume: {
      // Close frame, TCP drop, or nothing at all: a resume while the old socket is still open
      // takes the session over and closes the old socket with 4009.
      int how = between(0, 2);
      std::unique_ptr<ws_client> old;
      if (how == 0) {
        EXPECT_TRUE(s.c->close(1000)) << S(s) << " close: " << s.c->last_error();
      } else if (how == 1) {
        s.c->drop();
      } else {
        old = std::move(s.c);
      }
      note(S(s) + (how == 0 ? " closed (close frame)" : how == 1 ? " dropped TCP" : " still open") + ", resuming");
      s.c.reset();
      auto used = s.resume;
      if (resume(s, false)) {
        if (old) {
          auto code = old->wait_close(3s);
          EXPECT_EQ(code, std::optional<int>(4009)) << S(s) << ": the replaced socket was not closed with 4009";
          ++stats_.takeovers;
        }
        s.plan = pick_plan(false);
        s.actions_left = between(1, 3);
        // A resume token works once.
        if (chance(0.25)) stale_resume(s, used, s.user, "its own used resume token");
      }
      return;
    }
    case leave_mode::silent:
      // The network is gone but no FIN arrives: the socket stays open and answers nothing. The
      // server must notice by its heartbeat (4008, reason timeout) and clean up, with no window.
      s.reasons.insert("timeout");
      s.state = sstate::ending;
      ++stats_.silent;
      note(S(s) + " goes silent");
      return;  // keeps s.c, never read again
    case leave_mode::resume_late: {
      if (chance(0.5)) {
        EXPECT_TRUE(s.c->close(1000)) << S(s) << " close: " << s.c->last_error();
      } else {
        s.c->drop();
      }
      s.reasons.insert("closed");
      s.late_resume_in = between(1, 250);
      note(S(s) + " left, will try to resume in " + std::to_string(s.late_resume_in) + " steps");
      s.c.reset();
      s.state = sstate::ending;
      return;
    }
  }
  note(S(s) + " left: " + name_of(s.plan));
  s.c.reset();
  s.state = sstate::ending;
}

// Reconnects with ?resume=. True when the session came back; otherwise the old one is ending and a
// fresh session (the server's answer to an expired token) takes the client's place.
bool chaos_run::resume(session_m& s, bool after_crash) {
  bool was_ended = s.state == sstate::ended;  // its session_closed is in the audit already
  auto c = std::make_unique<ws_client>(s_.port());
  auto hello = open_session(*c, tokens_[static_cast<std::size_t>(s.user)], s.resume);
  if (!hello) {
    if (!was_ended) {
      s.reasons.insert(after_crash ? restart_reason_ : "closed");
      s.state = sstate::ending;
    }
    return false;
  }
  auto* resumed = hello->if_contains("resumed");
  if (!resumed || *resumed != value(true)) {
    // Too late (past the window, or a loaded machine missed a 300 ms one): the old session ends
    // by its window, and the server gave a fresh session instead.
    note(S(s) + " resume refused" + (was_ended ? " (session already closed)" : "") + ": " + serialize(*hello));
    if (!was_ended) {
      s.reasons.insert(after_crash ? restart_reason_ : "closed");
      s.state = sstate::ending;
    }
    auto& fresh = adopt_fresh(s.user, std::move(c), *hello);
    fresh.parked = s.parked;
    refusals_.emplace_back(s.idx, fresh.idx);
    ++stats_.resumes_refused;
    return false;
  }
  EXPECT_FALSE(was_ended) << S(s) << " was resumed after its session_closed was recorded (its files may be gone): "
                          << serialize(*hello);
  EXPECT_EQ(str(*hello, "session_id"), s.sid) << serialize(*hello);
  std::set<int> server;
  if (auto* a = hello->if_contains("file_ids"); a && a->is_array()) {
    for (auto& v : a->as_array()) {
      if (!v.is_string()) continue;
      auto it = file_index_.find(std::string(v.as_string()));
      if (it == file_index_.end()) {
        ADD_FAILURE() << S(s) << " resumed with unknown file " << v;
        continue;
      }
      server.insert(it->second);
    }
  } else {
    ADD_FAILURE() << S(s) << " resumed without file_ids: " << serialize(*hello);
  }
  // What it certainly tracked is still tracked; what was in flight may or may not be.
  for (int f : s.tracked)
    EXPECT_TRUE(server.count(f)) << S(s) << " resumed without tracked " << F(f) << ": " << serialize(*hello);
  for (int f : server)
    EXPECT_TRUE(s.tracked.count(f) || s.maybe.count(f)) << S(s) << " resumed with " << F(f) << " it never tracked";
  if (s.submit_in_flight) {
    bool committed = std::none_of(s.submit_set.begin(), s.submit_set.end(), [&](int f) { return server.count(f) > 0; });
    if (committed) {
      // The post_submitted went through but its ack was lost: kept, though nobody was told.
      for (int f : s.submit_set) {
        file(f).either = true;
        file(f).why = "post_submitted in flight at the kill, committed, ack lost";
      }
    } else {
      for (int f : s.submit_set)
        EXPECT_TRUE(server.count(f)) << S(s) << " a post_submitted was half done: " << F(f) << " " << serialize(*hello);
    }
  }
  s.tracked = server;
  s.maybe.clear();
  s.submit_set.clear();
  s.submit_in_flight = false;
  s.resume = str(*hello, "resume_token");
  s.c = std::move(c);
  s.last_read = steady::now();
  s.state = sstate::open;
  ++s.resumes;
  std::string listed;
  for (int f : s.tracked) listed += " " + F(f);
  note(S(s) + " resumed" + (after_crash ? " after the restart" : "") + ", tracks" + listed);
  return true;
}

void chaos_run::resume_late(session_m& s) {
  s.late_resume_in = -1;
  ++stats_.late_resumes;
  note(S(s) + " tries its late resume");
  if (resume(s, false)) {
    s.plan = pick_plan(false);
    s.actions_left = between(1, 3);
  }
}

// A resume token that must not work for this client (used already, or another user's): the server
// answers with a fresh session, and the session the token named is not disturbed.
void chaos_run::stale_resume(session_m& victim, const std::string& resume_token, int as_user, const std::string& what) {
  auto c = std::make_unique<ws_client>(s_.port());
  auto hello = open_session(*c, tokens_[static_cast<std::size_t>(as_user)], resume_token);
  if (!hello) return;
  auto* resumed = hello->if_contains("resumed");
  EXPECT_TRUE(resumed && *resumed == value(false)) << "u" << as_user << " resumed with " << what << " of " << S(victim)
                                                   << ": " << serialize(*hello);
  EXPECT_NE(str(*hello, "session_id"), victim.sid) << "u" << as_user << " took over " << S(victim) << " with " << what;
  if (resumed && *resumed == value(true)) return;  // reported; don't let the model follow it
  auto& fresh = adopt_fresh(as_user, std::move(c), *hello);
  ++stats_.stale_tokens;
  note(S(fresh) + " opened with " + what + " of " + S(victim));
  if (victim.state == sstate::open) {
    auto pong = ask(victim, {{"type", "ping"}}, {});
    EXPECT_TRUE(pong && str(*pong, "type") == "pong") << S(victim) << " was disturbed by a resume with " << what;
  }
}

void chaos_run::crash() {
  std::vector<session_m*> open;
  for (auto& sp : sessions_)
    if (sp->state == sstate::open) open.push_back(sp.get());
  // kill -9 by default; CHAOS_RESTART=term|mixed also stops it with SIGTERM (sessions persisted for
  // resume, reason `shutdown`).
  bool term = restart_mode_ == "term" || (restart_mode_ == "mixed" && chance(0.5));
  restart_reason_ = term ? "shutdown" : "crash";
  note(std::string("---- ") + (term ? "SIGTERM" : "kill -9") + " with " + std::to_string(open.size()) +
       " session(s) open ----");
  // A few messages in flight: their answers are never read.
  for (auto* s : open) {
    if (!chance(0.45)) continue;
    int kind = between(0, 2);
    if (kind == 0) {
      int f = new_file(s->user);
      if (f < 0) continue;
      s->c->send_json({{"type", "register"}, {"file_ids", array{value(file(f).id)}}});
      s->maybe.insert(f);
      note(S(*s) + " register " + F(f) + " in flight");
      ++stats_.in_flight;
    } else if (kind == 1) {
      std::vector<int> cands;  // only files no other session tracks: the order can't matter
      for (int f : s->tracked) {
        bool alone = true;
        for (auto& o : sessions_)
          if (o.get() != s && o->state != sstate::ended && tracks(*o, f)) alone = false;
        if (alone) cands.push_back(f);
      }
      if (cands.empty()) continue;
      int f = pick(cands);
      s->c->send_json({{"type", "file_removed"}, {"file_id", file(f).id}});
      s->tracked.erase(f);
      s->maybe.insert(f);
      note(S(*s) + " file_removed " + F(f) + " in flight");
      ++stats_.in_flight;
    } else {
      s->c->send_json({{"type", "post_submitted"}, {"post_id", "lost-" + std::to_string(s->idx)}});
      s->submit_in_flight = true;
      s->submit_set = s->tracked;
      s->maybe.insert(s->tracked.begin(), s->tracked.end());
      s->tracked.clear();
      std::string listed;
      for (int f : s->submit_set) listed += " " + F(f);
      note(S(*s) + " post_submitted in flight over" + listed);
      ++stats_.in_flight;
    }
  }
  // Let the server get to some of them: a few round trips of other work before the kill.
  for (int i = between(0, 3); i > 0; --i) http_call(s_.port(), http::verb::get, "/healthz");
  if (term) {
    int status = s_.terminate(15s);
    EXPECT_EQ(status, 0) << "tetherd did not exit 0 on SIGTERM";
  } else {
    s_.kill9();
  }
  for (auto& sp : sessions_) {
    if (sp->state == sstate::ending) sp->reasons.insert(restart_reason_);  // its end may not have been committed
    if (sp->state == sstate::open) {
      sp->c.reset();
      sp->reasons.insert(restart_reason_);
      sp->state = sstate::ending;  // until it resumes
    }
  }
  auto t0 = steady::now();
  s_.restart();
  note("---- restarted in " + std::to_string(std::chrono::duration_cast<ms>(steady::now() - t0).count()) +
       " ms, port " + std::to_string(s_.port()) + " ----");
  // Some clients come back at once (the window counts from the restart).
  for (auto* s : open) {
    if (!chance(0.6)) {
      note(S(*s) + " does not come back");
      continue;
    }
    if (resume(*s, true)) s->reasons.erase(restart_reason_);
  }
  // The others end by their window; a lost post_submitted of theirs keeps or not.
  for (auto* s : open)
    if (s->state == sstate::ending && s->submit_in_flight)
      for (int f : s->submit_set) {
        file(f).either = true;
        file(f).why = "post_submitted in flight at the kill, session not resumed";
      }
}

// ---- ends -------------------------------------------------------------------------------------

// Waits until the audit shows the end of each session, and applies the ends in the server's order.
void chaos_run::settle(std::vector<session_m*> list, ms timeout) {
  if (list.empty()) return;
  std::map<session_m*, std::int64_t> at;
  wait_until(
      [&] {
        pump_all();  // the others keep answering pings meanwhile
        for (auto* s : list) {
          if (at.count(s)) continue;
          for (const auto& r : audit(s_, "session_id=" + s->sid + "&limit=10000"))
            if (str(r, "event") == "session_closed") {
              at[s] = r.at("id").to_number<std::int64_t>();
              break;
            }
        }
        return at.size() == list.size();
      },
      timeout);
  std::sort(list.begin(), list.end(), [&](session_m* a, session_m* b) {
    auto ia = at.count(a) ? at[a] : INT64_MAX, ib = at.count(b) ? at[b] : INT64_MAX;
    return ia != ib ? ia < ib : a->idx < b->idx;
  });
  for (auto* s : list) {
    if (!at.count(s)) {
      ADD_FAILURE() << S(*s) << " never got session_closed (waited " << timeout.count() << " ms); audit:\n"
                    << dump(audit(s_, "session_id=" + s->sid + "&limit=10000"));
    }
    apply_end(*s);
  }
}

void chaos_run::settle_trackers(int f) {
  std::vector<session_m*> pending;
  for (auto& s : sessions_)
    if (s->state == sstate::ending && tracks(*s, f)) pending.push_back(s.get());
  settle(pending, 5s);
}

// The server's end_session: every tracked file still active, and tracked by no other session that
// has not ended, is queued for deletion.
void chaos_run::apply_end(session_m& s) {
  std::string queued;
  for (int f : s.tracked) {
    auto& m = file(f);
    if (m.either || m.gone || m.kept) continue;
    bool elsewhere = false;
    for (auto& o : sessions_)
      if (o.get() != &s && o->state != sstate::ended && tracks(*o, f)) elsewhere = true;
    if (elsewhere) continue;
    m.gone = true;
    m.why = "abandoned by " + S(s);
    queued += " " + F(f);
  }
  for (int f : s.maybe) {
    auto& m = file(f);
    if (m.gone || m.kept || m.either) continue;
    m.either = true;
    m.why = "answer lost when " + S(s) + " ended";
  }
  s.tracked.clear();
  s.maybe.clear();
  s.state = sstate::ended;
  note(S(s) + " ended; queued" + queued);
}

void chaos_run::finish() {
  // Every session still open leaves gracefully, without submitting.
  for (auto& sp : sessions_) {
    auto& s = *sp;
    if (s.state != sstate::open) continue;
    s.plan = leave_mode::graceful;
    leave(s);
  }
  std::vector<session_m*> pending;
  for (auto& s : sessions_)
    if (s->state == sstate::ending) pending.push_back(s.get());
  note("---- finish: settling " + std::to_string(pending.size()) + " session end(s) ----");
  settle(pending, 10s);
  http_result last;
  bool drained = wait_until(
      [&] {
        last = http_call(s_.port(), http::verb::get, "/api/admin/cleanup", s_.api_key());
        auto v = last.json();
        if (last.status != 200 || !v.is_object()) return false;
        auto& o = v.as_object();
        return o.contains("queued") && o["queued"] == value(0) && o.contains("failed") && o["failed"].is_array() &&
               o["failed"].as_array().empty();
      },
      10s);
  EXPECT_TRUE(drained) << "deletion queue did not drain: " << last.status << " " << last.body;
}

void chaos_run::check() {
  auto records = audit(s_, "limit=10000");
  ASSERT_LT(records.size(), 10000u) << "audit larger than one read";
  std::map<std::string, int> opened, closed, resumed_count;
  std::map<std::string, std::int64_t> opened_id, closed_id;
  std::map<std::string, std::vector<std::string>> close_reasons;
  std::map<std::string, int> queued, deleted;
  std::map<std::string, int> sid_user;
  for (const auto& s : sessions_) sid_user[s->sid] = s->user;
  for (const auto& r : records) {
    auto ev = str(r, "event"), sid = str(r, "session_id"), fid = str(r, "file_id");
    if (ev == "session_opened") {
      ++opened[sid];
      opened_id[sid] = r.at("id").to_number<std::int64_t>();
    }
    if (ev == "session_closed") {
      ++closed[sid];
      closed_id[sid] = r.at("id").to_number<std::int64_t>();
      close_reasons[sid].push_back(str(r, "reason"));
    }
    if (ev == "session_resumed") ++resumed_count[sid];
    if (ev == "deletion_queued") ++queued[fid];
    if (ev == "file_deleted") ++deleted[fid];
    if (ev == "deletion_failed") ADD_FAILURE() << "deletion failed: " << serialize(r);
    if (ev == "file_tracked") {
      auto fi = file_index_.find(fid);
      auto su = sid_user.find(sid);
      if (fi == file_index_.end() || su == sid_user.end())
        ADD_FAILURE() << "file_tracked of an unknown file or session: " << serialize(r);
      else
        EXPECT_EQ(file(fi->second).owner, su->second) << "a session tracked another user's file: " << serialize(r);
    }
  }
  // Sessions: opened once, closed exactly once, for a reason its way of leaving allows.
  for (const auto& sp : sessions_) {
    const auto& s = *sp;
    EXPECT_EQ(opened[s.sid], 1) << S(s) << " session_opened count";
    EXPECT_EQ(closed[s.sid], 1) << S(s) << " session_closed count (exactly once); audit:\n"
                                << dump(audit(s_, "session_id=" + s.sid + "&limit=10000"));
    EXPECT_EQ(resumed_count[s.sid], s.resumes) << S(s) << " session_resumed count";
    for (const auto& reason : close_reasons[s.sid]) {
      std::string allowed;
      for (const auto& a : s.reasons) allowed += a + " ";
      EXPECT_TRUE(s.reasons.count(reason)) << S(s) << " closed with reason '" << reason << "', allowed: " << allowed;
    }
  }
  EXPECT_EQ(opened.size(), sessions_.size()) << "sessions the test does not know were opened";
  // A refused resume is only right for a session that had ended: its session_closed must come
  // before the session_opened of the fresh session the server gave instead (the storage actor
  // records them in causal order), else a live session was refused (a lost or burnt token).
  for (auto [old_idx, fresh_idx] : refusals_) {
    const auto& o = *sessions_[static_cast<std::size_t>(old_idx)];
    const auto& f = *sessions_[static_cast<std::size_t>(fresh_idx)];
    EXPECT_TRUE(closed_id.count(o.sid) && opened_id.count(f.sid) && closed_id[o.sid] < opened_id[f.sid])
        << S(o) << "'s resume was refused (fresh " << S(f) << ") while it had not ended: closed at audit id "
        << (closed_id.count(o.sid) ? closed_id[o.sid] : -1) << ", fresh opened at " << (opened_id.count(f.sid) ? opened_id[f.sid] : -1);
  }

  // The database: nothing open, nothing tracked, nothing queued.
  auto live = sql_rows(s_, "SELECT session_id,state FROM sessions WHERE state<>'ended'");
  EXPECT_TRUE(live.empty()) << live.size() << " session(s) not ended in the database, first " << live[0][0] << " " << live[0][1];
  auto tracked = sql_rows(s_, "SELECT COUNT(*) FROM tracked");
  EXPECT_EQ(tracked.size() == 1 ? tracked[0][0] : "?", "0") << "tracked rows left";
  auto pending = sql_rows(s_, "SELECT file_id,state FROM deletion_queue WHERE state<>'done'");
  EXPECT_TRUE(pending.empty()) << pending.size() << " deletion(s) not done";
  std::map<std::string, std::string> db_state;
  for (auto& row : sql_rows(s_, "SELECT file_id,state FROM files")) db_state[row[0]] = row[1];
  EXPECT_EQ(db_state.size(), files_.size()) << "files in the database the test does not know";

  int n_kept = 0, n_active = 0, n_gone = 0, n_either = 0;
  for (std::size_t i = 0; i < files_.size(); ++i) {
    const auto& m = files_[i];
    int f = static_cast<int>(i);
    bool present = s_.blob_exists(m.id);
    auto state = db_state.count(m.id) ? db_state[m.id] : "missing";
    int q = queued[m.id], d = deleted[m.id];
    EXPECT_LE(d, 1) << F(f) << " deleted more than once";
    std::string ctx = F(f) + " (u" + std::to_string(m.owner) + "; " + m.why + "): blob " + (present ? "present" : "absent") +
                      ", state " + state + ", deletion_queued x" + std::to_string(q) + ", file_deleted x" +
                      std::to_string(d);
    bool ok = true;
    if (m.either) {
      ++n_either;
      if (present) ok = (state == "active" || state == "kept") && q == 0 && d == 0;
      else ok = state == "deleted" && q == 1 && d == 1;
    } else if (m.gone) {
      ++n_gone;
      ok = !present && state == "deleted" && q == 1 && d == 1;
    } else if (m.kept) {
      ++n_kept;
      ok = present && state == "kept" && q == 0 && d == 0;
    } else {
      ++n_active;
      ok = present && state == "active" && q == 0 && d == 0;
    }
    if (!ok) {
      const char* want = m.either ? "EITHER" : m.gone ? "GONE" : m.kept ? "KEPT" : "ACTIVE";
      ADD_FAILURE() << "expected " << want << ": " << ctx << "\naudit of the file:\n"
                    << dump(audit(s_, "file_id=" + m.id + "&limit=10000"));
    }
  }
  int resumes = 0;
  for (const auto& s : sessions_) resumes += s->resumes;
  std::cout << "[chaos] " << sessions_.size() << " sessions, " << files_.size() << " files: " << n_kept << " kept, "
            << n_active << " active, " << n_gone << " gone, " << n_either << " either; " << records.size()
            << " audit records\n[chaos] " << resumes << " resumes (" << stats_.takeovers << " takeovers 4009, "
            << stats_.late_resumes << " late tries, " << stats_.resumes_refused << " refused), " << stats_.stale_tokens
            << " stale/foreign tokens, " << stats_.silent << " silent clients, " << stats_.lost
            << " connections ended by the server, " << stats_.bursts << " bursts, " << stats_.raced_deletes
            << " raced DELETEs, " << stats_.in_flight << " messages in flight at a kill\n";
}

// ---- the run ----------------------------------------------------------------------------------

void chaos_run::run() {
  for (int u = 0; u < users; ++u) tokens_.push_back(s_.token("chaos-u" + std::to_string(u)));
  std::vector<int> crash_points;
  for (int i = 0; i < crashes_left_; ++i) crash_points.push_back(between(total_sessions_ / 4, 3 * total_sessions_ / 4));
  std::sort(crash_points.begin(), crash_points.end());
  std::size_t next_crash = 0;
  for (;;) {
    if (::testing::Test::HasFatalFailure()) return;
    pump_all();
    std::vector<session_m*> due;
    bool late_pending = false;
    for (auto& sp : sessions_) {
      if (sp->late_resume_in > 0 && --sp->late_resume_in == 0) due.push_back(sp.get());
      if (sp->late_resume_in > 0) late_pending = true;
    }
    for (auto* s : due) resume_late(*s);
    if (next_crash < crash_points.size() && created_ >= crash_points[next_crash] && chance(0.3)) {
      ++next_crash;
      crash();
      continue;
    }
    auto active = active_sessions();
    bool can_open = created_ < total_sessions_;
    if (!can_open && active.empty() && next_crash >= crash_points.size() && !late_pending) break;
    if (can_open && (active.empty() || (static_cast<int>(active.size()) < max_concurrent && chance(0.3)))) {
      open_new();
      continue;
    }
    if (active.empty()) {  // a crash or late resumes still to come, nothing to do: let them come
      if (next_crash < crash_points.size()) crash_points[next_crash] = created_;
      continue;
    }
    if (active.size() >= 2 && chance(0.12)) {
      burst(active);
      continue;
    }
    step(*pick(active));
  }
  finish();
  check();
  check_channels();
}

}  // namespace

TEST(Chaos, EverythingLeftBehindIsCleanedUpExactlyOnce) {
  auto seed = env_u32("CHAOS_SEED", default_seed);
  auto sessions = static_cast<int>(env_u32("CHAOS_SESSIONS", 40));
  auto crashes = static_cast<int>(env_u32("CHAOS_CRASHES", 1));
  SCOPED_TRACE("CHAOS_SEED=" + std::to_string(seed));
  auto t0 = steady::now();
  chaos_run run(seed, sessions, crashes);
  run.run();
  auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  std::cout << "[chaos] seed " << seed << ": " << took << " ms\n";
  if (::testing::Test::HasFailure() || env_u32("CHAOS_VERBOSE", 0) != 0) {
    std::cerr << "---- chaos events (reproduce with CHAOS_SEED=" << seed << " CHAOS_SESSIONS=" << sessions
              << " CHAOS_CRASHES=" << crashes << ") ----\n";
    run.dump_log(std::cerr);
  }
}
