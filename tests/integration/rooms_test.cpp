// Rooms on the real binary (PROTOCOL.md §6, §8, §11 "Rooms"): ghosts vanish within the bound and
// exactly once, a dropped tab leaves after its resume window, a slow member of a flooded room is cut
// off while the others keep receiving.
#include "support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <vector>

using namespace tether::it;

namespace {

using steady = std::chrono::steady_clock;

json::object join(ws_client& c, const std::string& room) {
  auto r = request(c, {{"type", "join_room"}, {"room_id", room}, {"ref", "join"}});
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(str(*r, "type"), "room_joined") << serialize(*r);
  return *r;
}

// Reads `c` until a frame of `type` for `user` arrives (answering pings meanwhile).
std::optional<json::object> next_about(ws_client& c, const std::string& type, const std::string& user, ms timeout) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    auto m = c.next_json(std::chrono::duration_cast<ms>(deadline - steady::now()));
    if (!m) return std::nullopt;
    if (str(*m, "type") == type && str(*m, "user_id") == user) return m;
  }
  return std::nullopt;
}

// Counts frames of `type` about `user` arriving within `window` (answering pings meanwhile).
int count_about(ws_client& c, const std::string& type, const std::string& user, ms window) {
  int n = 0;
  auto deadline = steady::now() + window;
  while (steady::now() < deadline) {
    auto m = c.next_json(std::chrono::duration_cast<ms>(deadline - steady::now()));
    if (m && str(*m, "type") == type && str(*m, "user_id") == user) ++n;
  }
  return n;
}

}  // namespace

TEST(Rooms, AClientThatStopsAnsweringPingsLeavesOnceWithTimeoutWithinTheBound) {
  constexpr int interval = 200, max_missed = 3;
  server_process s({"heartbeat.interval_ms=" + std::to_string(interval),
                    "heartbeat.max_missed=" + std::to_string(max_missed), "session.resume_window_ms=5000"});
  ws_client a(s.port()), b(s.port()), silent(s.port());
  ASSERT_TRUE(open_session(a, s.token("alice")));
  ASSERT_TRUE(open_session(b, s.token("bob")));
  ASSERT_TRUE(open_session(silent, s.token("carol")));
  join(a, "study");
  join(b, "study");
  join(silent, "study");
  auto t0 = steady::now();  // from here `silent` is never read: its pings go unanswered
  // Both readers are read in turns, so that both keep answering their own pings.
  std::map<ws_client*, std::vector<json::object>> left;
  std::map<ws_client*, long> at;
  wait_until(
      [&] {
        for (auto* c : {&a, &b})
          while (auto m = c->next_json(ms(2)))
            if (str(*m, "type") == "user_left" && str(*m, "user_id") == "carol") {
              left[c].push_back(*m);
              at[c] = std::chrono::duration_cast<ms>(steady::now() - t0).count();
            }
        return left[&a].size() + left[&b].size() >= 2;
      },
      5s);
  for (auto* c : {&a, &b}) {
    ASSERT_EQ(left[c].size(), 1u) << "no user_left for the silent member within 5 s";
    EXPECT_EQ(str(left[c][0], "reason"), "timeout") << serialize(left[c][0]);
    // The bound: interval x max_missed, plus the tick that ends it (and scheduling slack).
    EXPECT_GE(at[c], max_missed * interval) << "left too early";
    EXPECT_LE(at[c], (max_missed + 1) * interval + 500) << "left too late";
  }
  auto code = silent.wait_close(2s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 4008);
  // Exactly once: nothing more about carol, though her resume window (5 s) would still run.
  wait_until(
      [&] {
        for (auto* c : {&a, &b})
          while (auto m = c->next_json(ms(2)))
            if (str(*m, "type") == "user_left") left[c].push_back(*m);
        return false;
      },
      ms(3 * interval));
  EXPECT_EQ(left[&a].size() + left[&b].size(), 2u);
}

TEST(Rooms, AClosedTabLeavesAsDisconnectedAfterItsResumeWindowOnce) {
  constexpr int window = 400;
  server_process s({"session.resume_window_ms=" + std::to_string(window)});
  ws_client a(s.port());
  auto tab = std::make_unique<ws_client>(s.port());
  ASSERT_TRUE(open_session(a, s.token("alice")));
  ASSERT_TRUE(open_session(*tab, s.token("bob")));
  join(a, "r1");
  join(*tab, "r1");
  ASSERT_TRUE(next_about(a, "user_joined", "bob", 2s));
  auto t0 = steady::now();
  tab->drop();  // the tab is closed: TCP goes, no close frame
  auto left = next_about(a, "user_left", "bob", 5s);
  auto elapsed = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  ASSERT_TRUE(left);
  EXPECT_EQ(str(*left, "reason"), "disconnected");
  EXPECT_GE(elapsed, window - 50) << "left before its resume window passed";
  EXPECT_EQ(count_about(a, "user_left", "bob", ms(2 * window)), 0);
  auto list = request(a, {{"type", "watch_rooms"}, {"ref", "w"}});
  ASSERT_TRUE(list);
  ASSERT_EQ(list->at("rooms").as_array().size(), 1u) << serialize(*list);
  EXPECT_EQ(list->at("rooms").as_array()[0].at("occupancy"), 1);
}

TEST(Rooms, AResumedTabKeepsItsPlaceAndNobodySeesIt) {
  server_process s({"session.resume_window_ms=5000"});
  ws_client a(s.port());
  auto tab = std::make_unique<ws_client>(s.port());
  ASSERT_TRUE(open_session(a, s.token("alice")));
  auto hello = open_session(*tab, s.token("bob"));
  ASSERT_TRUE(hello);
  join(a, "r1");
  join(*tab, "r1");
  ASSERT_TRUE(next_about(a, "user_joined", "bob", 2s));
  tab->drop();
  ws_client again(s.port());
  auto back = open_session(again, s.token("bob"), str(*hello, "resume_token"));
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)["resumed"], value(true));
  ASSERT_TRUE(again.send_json({{"type", "publish"}, {"room_id", "r1"}, {"data", "back"}}));
  auto msg = next_about(a, "room_message", "bob", 2s);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->at("data"), value("back"));
  EXPECT_EQ(count_about(a, "user_left", "bob", 500ms), 0);
}

TEST(Rooms, ASlowMemberOfAFloodedRoomIsCutOffAndTheOthersKeepReceiving) {
  server_process s({"limits.max_outbound_bytes=65536", "limits.messages_per_second=1000", "limits.burst=1000",
                    "session.resume_window_ms=5000"});
  ws_client pub(s.port()), fast(s.port()), slow(s.port());
  ASSERT_TRUE(open_session(pub, s.token("pub")));
  ASSERT_TRUE(open_session(fast, s.token("fast")));
  ASSERT_TRUE(open_session(slow, s.token("slow")));
  join(pub, "flood");
  join(fast, "flood");
  join(slow, "flood");  // from here never read until the end
  // Loopback socket buffers hold a few MB before the server's own queue (64 KiB here) fills.
  constexpr int max_messages = 4000;
  std::string blob(8000, 'x');
  int sent = 0, received = 0;
  std::optional<json::object> slow_left;
  for (int i = 0; i < max_messages && !slow_left; ++i) {
    ASSERT_TRUE(pub.send_json({{"type", "publish"}, {"room_id", "flood"}, {"data", {{"i", i}, {"pad", blob}}}}));
    ++sent;
    // The fast member keeps up: it reads everything as it comes.
    while (auto m = fast.next_json(received < sent ? 2s : ms(1))) {
      auto type = str(*m, "type");
      if (type == "room_message") ++received;
      if (type == "user_left" && str(*m, "user_id") == "slow") slow_left = m;
      if (received == sent && !slow_left) break;
    }
    ASSERT_EQ(received, sent) << "the fast member fell behind at " << i;
  }
  ASSERT_TRUE(slow_left) << "the slow member was never cut off after " << sent << " messages of 8 KB";
  EXPECT_EQ(str(*slow_left, "reason"), "disconnected");  // §11: a slow reader cut off is disconnected
  EXPECT_LT(sent, max_messages);
  auto code = slow.wait_close(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1008);
}

// The server's resident memory in KiB (VmRSS), or -1.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Issue 8, point 7: memory stays within baseline + limits.max_outbound_bytes x slow members. Ten
// members never read while 24 MB go to each; unbounded queues would hold ~240 MB. The bound allows
// 16 MiB for the allocator and the fast members' frames in flight.
TEST(Rooms, SlowMembersCostNoMoreThanTheirOutboundLimit) {
  constexpr int slow_members = 10;
  constexpr long limit_kib = 1024;
  server_process s({"limits.max_outbound_bytes=" + std::to_string(limit_kib * 1024), "limits.messages_per_second=5000",
                    "limits.burst=5000", "session.resume_window_ms=0"});
  ws_client pub(s.port()), fast(s.port());
  ASSERT_TRUE(open_session(pub, s.token("pub")));
  ASSERT_TRUE(open_session(fast, s.token("fast")));
  join(pub, "flood");
  join(fast, "flood");
  std::vector<std::unique_ptr<ws_client>> slow;
  for (int i = 0; i < slow_members; ++i) {
    slow.push_back(std::make_unique<ws_client>(s.port()));
    ASSERT_TRUE(open_session(*slow.back(), s.token("slow" + std::to_string(i))));
    join(*slow.back(), "flood");
  }
  for (auto m = fast.next_json(200ms); m; m = fast.next_json(200ms)) {
  }  // the joins' user_joined
  long baseline = rss_kib(s.pid()), peak = baseline;
  ASSERT_GT(baseline, 0);
  std::string blob(8000, 'x');
  int cut = 0, sent = 0, received = 0;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(pub.send_json({{"type", "publish"}, {"room_id", "flood"}, {"data", {{"i", i}, {"pad", blob}}}}));
    ++sent;
    while (received < sent || cut < slow_members) {
      auto m = fast.next_json(received < sent ? 2s : ms(1));
      if (!m) break;
      auto type = str(*m, "type");
      if (type == "room_message") ++received;
      if (type == "user_left") ++cut;
    }
    ASSERT_EQ(received, sent) << "the fast member fell behind at " << i;
    while (pub.next_json(ms(1))) {
    }  // the publisher reads its own echoes, or it would be a slow member too
    if (i % 100 == 0) peak = std::max(peak, rss_kib(s.pid()));
  }
  peak = std::max(peak, rss_kib(s.pid()));
  EXPECT_EQ(cut, slow_members) << "every slow member is cut off";
  EXPECT_LT(peak - baseline, slow_members * limit_kib + 16 * 1024)
      << "baseline " << baseline << " KiB, peak " << peak << " KiB";
  std::cerr << "[ measured ] RSS baseline " << baseline << " KiB, peak " << peak << " KiB (+" << (peak - baseline)
            << " KiB) with " << slow_members << " slow members of " << limit_kib << " KiB each\n";
}

// §4: a resume after a restart gets the session's rooms back (room places are durable with it).
void rooms_survive(bool planned) {
  server_process s({"session.resume_window_ms=10000", "session.restart_window_ms=10000"});
  auto a = std::make_unique<ws_client>(s.port());
  auto b = std::make_unique<ws_client>(s.port());
  auto ha = open_session(*a, s.token("alice"));
  auto hb = open_session(*b, s.token("bob"));
  ASSERT_TRUE(ha && hb);
  join(*a, "keep");
  join(*b, "keep");
  join(*b, "left-before");
  ASSERT_TRUE(b->send_json({{"type", "leave_room"}, {"room_id", "left-before"}, {"ref", "l"}}));
  auto left = b->next_of_type("room_left", 5s);
  ASSERT_TRUE(left);
  ASSERT_EQ(str(*left, "room_id"), "left-before");
  if (planned) {
    EXPECT_EQ(s.terminate(), 0);
  } else {
    s.kill9();
  }
  a.reset();
  b.reset();
  s.restart();
  ws_client a2(s.port()), b2(s.port());
  auto ra = open_session(a2, s.token("alice"), str(*ha, "resume_token"));
  auto rb = open_session(b2, s.token("bob"), str(*hb, "resume_token"));
  ASSERT_TRUE(ra && rb);
  ASSERT_EQ((*ra)["resumed"], value(true));
  ASSERT_EQ((*rb)["resumed"], value(true));
  ASSERT_TRUE(a2.send_json({{"type", "publish"}, {"room_id", "keep"}, {"data", "still here"}}));
  auto got = next_about(b2, "room_message", "alice", 3s);
  ASSERT_TRUE(got) << "the rooms did not survive the restart";
  EXPECT_EQ(got->at("data"), value("still here"));
  // Frames of the rooms rejoined after the restart may come first: read up to the list.
  ASSERT_TRUE(b2.send_json({{"type", "watch_rooms"}, {"ref", "w"}}));
  auto list = b2.next_of_type("room_list");
  ASSERT_TRUE(list);
  // The room left before the restart stays left.
  for (auto& r : list->at("rooms").as_array()) EXPECT_NE(r.at("room_id"), value("left-before")) << serialize(*list);
}

TEST(Rooms, PlacesSurviveASigtermRestart) { rooms_survive(true); }
TEST(Rooms, PlacesSurviveACrash) { rooms_survive(false); }
