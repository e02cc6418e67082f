#pragma once
// What one worker thread counts. Only its own thread writes it; the main thread reads the
// atomics in `progress` while the run goes (to know when a phase is over) and everything else
// after the worker has stopped, so no message pays for a lock or a shared cache line.
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "bench/loadgen/histogram.hpp"

namespace loadgen {

struct alignas(64) progress {
  std::atomic<std::uint64_t> opened{0};        // upgrades completed
  std::atomic<std::uint64_t> open_failed{0};   // connect or handshake failed
  std::atomic<std::uint64_t> joined{0};        // room_joined received
  std::atomic<std::uint64_t> fully_seen{0};    // members that saw every user_joined due to them
  std::atomic<std::uint64_t> lost{0};          // connections closed or failed after opening
  std::atomic<std::uint64_t> filled{0};        // history --fill: messages stored (echo received)

  progress() = default;
  // A snapshot, for results handed back by value.
  progress(const progress& o)
      : opened(o.opened.load()), open_failed(o.open_failed.load()), joined(o.joined.load()),
        fully_seen(o.fully_seen.load()), lost(o.lost.load()), filled(o.filled.load()) {}
  progress& operator=(const progress&) = delete;
};

struct worker_stats {
  progress live;
  std::uint64_t connect_failed = 0;
  std::uint64_t handshake_failed = 0;
  std::uint64_t closed_by_server = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t send_dropped = 0;      // the bounded per-connection queue was full
  std::uint64_t server_errors = 0;     // {"type":"error"} messages
  std::uint64_t unparsed = 0;          // a message we could not read the fields we need from
  std::uint64_t pings_answered = 0;    // server WebSocket pings (Beast answers them while reading)
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t bytes_received = 0;   // message payloads, not counting WebSocket and TCP framing
  std::uint64_t round_trips = 0;       // echo
  std::uint64_t round_trips_in_window = 0;  // echo: of those, completed before the window ended
  std::uint64_t user_joined_seen = 0;  // join / fanout
  std::uint64_t published = 0;         // fanout: publishes sent while measuring
  std::uint64_t delivered = 0;         // fanout: room_message of this run's publishers received
  std::uint64_t delivered_in_window = 0;  // fanout: of those, received before publishing stopped
  std::uint64_t gaps = 0;              // fanout: seqs skipped in a (member, publisher) stream
  std::uint64_t reordered = 0;         // fanout: seq lower than the one expected (dup or reorder)
  std::uint64_t receipts = 0;          // chat: message_delivered received by senders
  std::uint64_t echoes = 0;            // chat: a sender's own new_message (its message is stored)
  std::uint64_t history_messages = 0;  // history: messages in the answers
  std::uint64_t http_requests = 0;     // notify: answers received (any status)
  std::uint64_t http_in_window = 0;    // notify: of those, 202 before the window ended
  std::uint64_t http_failed = 0;       // notify: not 202 (status 0: the connection failed)
  std::uint64_t notify_delivered = 0;  // notify: sum of the answers' "delivered"
  std::uint64_t notify_stored = 0;     // notify: sum of the answers' "stored"
  std::map<std::string, std::uint64_t> reasons;  // error codes and close codes, by name
  histogram upgrade_ns;   // connect start -> upgrade done
  histogram join_ns;      // join_room sent -> room_joined received
  histogram latency_ns;   // echo: ping -> pong; fanout: publish -> delivery (t in the payload);
                          // chat: send -> the recipient's new_message; history: request -> answer;
                          // notify: POST sent -> the live subscriber's notification
  histogram http_ns;      // notify: POST sent -> answer received
};

}  // namespace loadgen
