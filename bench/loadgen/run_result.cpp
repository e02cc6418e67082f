#include "bench/loadgen/run_result.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <iostream>

namespace loadgen {
namespace {

namespace json = boost::json;

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }
double per_s(std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }
double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

json::object latency(const histogram& h) {
  return {{"count", h.count()},         {"p50_ms", ms(h.quantile(0.50))},  {"p99_ms", ms(h.quantile(0.99))},
          {"p999_ms", ms(h.quantile(0.999))}, {"max_ms", ms(h.max())}, {"mean_ms", h.mean() / 1e6}};
}

json::object to_json(const options& o, const run_result& r) {
  const auto& t = r.totals;
  json::object errors{{"connect_failed", t.connect_failed}, {"handshake_failed", t.handshake_failed},
                      {"closed_by_server", t.closed_by_server}, {"read_errors", t.read_errors},
                      {"write_errors", t.write_errors}, {"send_dropped", t.send_dropped},
                      {"server_errors", t.server_errors}, {"unparsed", t.unparsed}};
  json::object reasons;
  for (const auto& [k, v] : t.reasons) reasons[k] = v;
  json::object out{
      {"scenario", to_string(o.scenario)},
      {"threads", o.threads},
      {"connections", o.connections},
      {"opened", r.opened},
      {"open_failed", r.open_failed},
      {"lost", r.lost},
      {"open_s", r.open_s},
      {"upgrades_per_s", r.open_s > 0 ? per_s(r.opened, r.open_s) : 0.0},
      {"upgrade", latency(t.upgrade_ns)},
      {"pings_answered", t.pings_answered},
      {"sent", t.sent},
      {"received", t.received},
      {"bytes_received", t.bytes_received},
      {"errors", errors},
      {"reasons", reasons},
      {"cpu", {{"measured_phase", r.measured},
               {"wall_s", r.measure_s},
               {"generator_pct_of_core", pct(r.cpu_s, r.measure_s)},
               {"busiest_thread_pct", pct(r.max_thread_cpu_s, r.measure_s)},
               {"server_pct_of_core", r.server_cpu_s >= 0 ? json::value(pct(r.server_cpu_s, r.measure_s)) : json::value(nullptr)}}},
  };
  if (o.scenario == scenario_kind::join || o.scenario == scenario_kind::fanout) {
    out["joined"] = r.joined;
    out["join_s"] = r.join_s;
    out["joins_per_s"] = r.join_s > 0 ? per_s(r.joined, r.join_s) : 0.0;
    out["join_latency"] = latency(t.join_ns);
    out["all_seen_s"] = r.all_seen_s;
    out["fully_seen"] = r.fully_seen;
    out["user_joined_seen"] = t.user_joined_seen;
  }
  if (o.scenario == scenario_kind::echo) {
    out["round_trips"] = t.round_trips;
    out["round_trips_per_s"] = per_s(t.round_trips_in_window, r.measure_s);
    out["latency"] = latency(t.latency_ns);
  }
  if (o.scenario == scenario_kind::chat) {
    out["chats"] = o.chats;
    out["subscribed"] = r.joined;
    out["subscribe_s"] = r.join_s;
    out["send_rate_per_connection"] = o.publish_rate;
    out["window"] = o.window;
    out["sent"] = t.published;
    out["sent_per_s"] = per_s(t.published, r.measure_s);
    out["stored_echoes"] = t.echoes;           // every message comes back to its sender once stored
    out["delivered"] = t.delivered;            // new_message received by the other member
    out["delivered_in_window"] = t.delivered_in_window;
    out["messages_per_s"] = per_s(t.delivered_in_window, r.measure_s);
    out["receipts"] = t.receipts;
    out["reordered"] = t.reordered;
    out["latency"] = latency(t.latency_ns);
    out["server_us_per_message"] = t.delivered_in_window && r.server_cpu_s >= 0
        ? json::value(r.server_cpu_s * 1e6 / static_cast<double>(t.delivered_in_window)) : json::value(nullptr);
  }
  if (o.scenario == scenario_kind::history) {
    out["chat"] = o.chat;
    out["limit"] = o.limit;
    out["window"] = o.window;
    out["filled"] = r.filled;
    out["fill_s"] = r.fill_s;
    out["fill_per_s"] = r.fill_s > 0 ? per_s(r.filled, r.fill_s) : 0.0;
    out["requests"] = t.round_trips;
    out["requests_per_s"] = per_s(t.round_trips_in_window, r.measure_s);
    out["messages_returned"] = t.history_messages;
    out["latency"] = latency(t.latency_ns);
  }
  if (o.scenario == scenario_kind::notify) {
    out["subscribed"] = r.joined;
    out["http_connections"] = o.http_connections;
    out["requests"] = t.http_requests;
    out["requests_failed"] = t.http_failed;
    out["requests_per_s"] = per_s(t.http_in_window, r.measure_s);
    out["request_latency"] = latency(t.http_ns);
    out["answered_delivered"] = t.notify_delivered;
    out["answered_stored"] = t.notify_stored;
    out["notifications_received"] = t.delivered;
    out["delivery_latency"] = latency(t.latency_ns);
  }
  if (o.scenario == scenario_kind::fanout) {
    const auto expected = t.published * r.joined;  // every member, the sender included
    out["room_size"] = r.joined;
    out["publishers"] = o.publishers;
    out["publish_rate_per_publisher"] = o.publish_rate;
    out["published"] = t.published;
    out["publishes_per_s"] = per_s(t.published, r.measure_s);
    out["expected_deliveries"] = expected;
    out["delivered"] = t.delivered;
    out["delivered_in_window"] = t.delivered_in_window;
    out["deliveries_per_s"] = per_s(t.delivered_in_window, r.measure_s);
    out["missing_after_drain"] = expected > t.delivered ? expected - t.delivered : 0;
    out["gaps"] = t.gaps;
    out["reordered"] = t.reordered;
    out["latency"] = latency(t.latency_ns);
    // CPU per delivery: comparable across runs even when the cores are shared with other work.
    out["generator_us_per_delivery"] = t.delivered_in_window ? r.cpu_s * 1e6 / static_cast<double>(t.delivered_in_window) : 0.0;
    out["server_us_per_delivery"] = t.delivered_in_window && r.server_cpu_s >= 0
        ? json::value(r.server_cpu_s * 1e6 / static_cast<double>(t.delivered_in_window)) : json::value(nullptr);
  }
  return out;
}

void print_text(const json::object& o, const std::string& indent) {
  for (const auto& kv : o) {
    if (kv.value().is_object()) {
      std::cout << indent << kv.key() << ":\n";
      print_text(kv.value().as_object(), indent + "  ");
    } else if (kv.value().is_double()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", kv.value().as_double());
      std::cout << indent << kv.key() << ": " << buf << "\n";
    } else {
      std::cout << indent << kv.key() << ": " << json::serialize(kv.value()) << "\n";
    }
  }
}

}  // namespace

void print_result(const options& o, const run_result& r) {
  const auto obj = to_json(o, r);
  if (o.json) std::cout << json::serialize(obj) << std::endl;
  else print_text(obj, "");
}

}  // namespace loadgen
