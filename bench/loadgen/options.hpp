#pragma once
// The command line of tether-loadgen: what to run, against what, with how much.
#include <cstdint>
#include <string>
#include <vector>

namespace loadgen {

enum class scenario_kind { idle, echo, join, fanout, chat, history, notify };

struct options {
  scenario_kind scenario = scenario_kind::idle;
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/ws";
  std::vector<std::string> source_ips;  // empty: let the kernel choose
  std::string user_prefix = "lg";       // insecure ?user_id=<prefix><i> unless token_cmd is set
  std::string token_cmd;                // shell command printing a token; {user} is replaced
  unsigned threads = 1;
  std::size_t connections = 100;        // idle/echo/join: N; fanout: the room size
  double open_rate = 0;                 // new connections per second over all threads; 0: no pacing
  std::size_t max_pending = 200;        // handshakes in flight at once, per thread
  double duration_s = 10;
  double drain_s = 2;                   // after publishing stops, how long to wait for deliveries
  double timeout_s = 60;                // for opening and joining phases
  std::string room = "bench";
  bool wait_all_joined = false;         // join: also wait until every member saw every user_joined
  std::size_t publishers = 1;           // fanout
  double publish_rate = 0;              // fanout: messages/s per publisher; 0: closed loop
  std::size_t window = 1;               // closed loop: messages in flight per publisher/echo client
  std::size_t payload_bytes = 0;        // fanout: extra padding in data
  std::size_t max_queue = 4096;         // per connection: queued outgoing messages before a drop
  // chat: --chats C makes 2C connections, user pairs <prefix>a<k> < <prefix>b<k> in chat dm:a<k>:b<k>;
  // publish_rate is then each connection's message rate (0: closed loop, --window in flight).
  std::size_t chats = 0;
  std::size_t content_bytes = 16;       // chat/history fill: bytes of content per message
  // history: the chat read (default dm:<prefix>a0:<prefix>b0, the users of the connections),
  // messages per request, and how many messages connection 0 sends into it first (0: none).
  std::string chat;
  std::size_t limit = 50;
  std::size_t fill = 0;
  // notify: keep-alive HTTP connections posting /api/notify/like in closed loop, with this key.
  std::size_t http_connections = 4;
  std::string api_key;
  long server_pid = 0;                  // report this process's CPU over the measured phase
  bool json = false;
};

// Parses argv; prints usage and exits on --help or a bad flag.
options parse_options(int argc, char** argv);
const char* to_string(scenario_kind k);
// The user of connection i (chat: <prefix>a<k> / <prefix>b<k>; history: a0 / b0 in turn; else <prefix><i>).
std::string user_of(const options& o, std::size_t i);
// The chat of connection i (chat: dm:<prefix>a<i/2>:<prefix>b<i/2>; history: --chat).
std::string chat_of(const options& o, std::size_t i);

}  // namespace loadgen
