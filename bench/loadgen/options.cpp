#include "bench/loadgen/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace loadgen {
namespace {

const char* usage =
    "usage: tether-loadgen --scenario idle|echo|join|fanout|chat|history|notify [options]\n"
    "  --target ws://HOST:PORT/PATH   server (default ws://127.0.0.1:8080/ws)\n"
    "  --threads T                    worker threads, each with its own io_context (1)\n"
    "  --connections N                connections (idle/echo/join); fanout: same as --room-size\n"
    "  --room-size N                  fanout: members in the room\n"
    "  --rate R                       connections opened per second, all threads (0: unpaced)\n"
    "  --max-pending K                handshakes in flight per thread (200)\n"
    "  --duration S                   hold / measure for S seconds (10)\n"
    "  --drain S                      fanout: wait S s for in-flight deliveries (2)\n"
    "  --timeout S                    limit of the open and join phases (60)\n"
    "  --source-ips A,B,...           bind each connection to one of these (round robin)\n"
    "  --user-prefix P                insecure ?user_id=P<i> (default lg)\n"
    "  --token-cmd CMD                run CMD ({user} replaced) per user, send ?token=<output>\n"
    "  --room ID                      room id (bench)\n"
    "  --wait-all-joined              join: also wait for every user_joined (N^2/2 messages)\n"
    "  --publishers P                 fanout: members that publish (1)\n"
    "  --publish-rate R               fanout: messages/s per publisher (0: closed loop)\n"
    "  --window W                     closed loop: messages in flight per sender (1)\n"
    "  --payload B                    fanout: padding bytes in data (0)\n"
    "  --max-queue Q                  outgoing messages queued per connection before a drop (4096)\n"
    "  --chats C                      chat: C chats of 2 members (2C connections; default 100)\n"
    "  --send-rate R                  chat: messages/s per connection (0: closed loop, --window)\n"
    "  --content B                    chat, history fill: content bytes per message (16)\n"
    "  --chat ID                      history: the chat (dm:<prefix>a0:<prefix>b0)\n"
    "  --limit L                      history: messages per request (50)\n"
    "  --fill N                       history: connection 0 first sends N messages (--window in flight)\n"
    "  --http-connections H           notify: keep-alive HTTP connections posting (4)\n"
    "  --api-key K | --api-key-file F notify: the server's api key\n"
    "  --server-pid PID               also report this process's CPU over the measured phase\n"
    "  --json                         one JSON object on stdout instead of text\n";

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tether-loadgen: %s\n%s", what.c_str(), usage);
  std::exit(2);
}

double to_number(const char* flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || v < 0) fail(std::string("bad value for ") + flag + ": " + text);
  return v;
}

void parse_target(options& o, const std::string& url) {
  const std::string scheme = "ws://";
  if (url.compare(0, scheme.size(), scheme) != 0) fail("--target must start with ws:// (no TLS): " + url);
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    o.host = hostport;
    o.port = "80";
  } else {
    o.host = hostport.substr(0, colon);
    o.port = hostport.substr(colon + 1);
  }
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string read_key(const char* path) {
  std::ifstream in(path);
  std::string key;
  if (!std::getline(in, key)) fail(std::string("cannot read ") + path);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  return key;
}

}  // namespace

std::string user_of(const options& o, std::size_t i) {
  const char* side = i % 2 ? "b" : "a";
  if (o.scenario == scenario_kind::chat) return o.user_prefix + side + std::to_string(i / 2);
  if (o.scenario == scenario_kind::history) return o.user_prefix + side + "0";
  return o.user_prefix + std::to_string(i);
}

std::string chat_of(const options& o, std::size_t i) {
  if (o.scenario == scenario_kind::chat)
    return "dm:" + o.user_prefix + "a" + std::to_string(i / 2) + ":" + o.user_prefix + "b" + std::to_string(i / 2);
  return o.chat;
}

const char* to_string(scenario_kind k) {
  switch (k) {
    case scenario_kind::idle: return "idle";
    case scenario_kind::echo: return "echo";
    case scenario_kind::join: return "join";
    case scenario_kind::fanout: return "fanout";
    case scenario_kind::chat: return "chat";
    case scenario_kind::history: return "history";
    case scenario_kind::notify: return "notify";
  }
  return "?";
}

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) fail("missing value for " + flag);
      return argv[++i];
    };
    auto count = [&] { return static_cast<std::size_t>(to_number(flag.c_str(), value())); };
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (flag == "--scenario") {
      const std::string s = value();
      if (s == "idle") o.scenario = scenario_kind::idle;
      else if (s == "echo") o.scenario = scenario_kind::echo;
      else if (s == "join") o.scenario = scenario_kind::join;
      else if (s == "fanout") o.scenario = scenario_kind::fanout;
      else if (s == "chat") o.scenario = scenario_kind::chat;
      else if (s == "history") o.scenario = scenario_kind::history;
      else if (s == "notify") o.scenario = scenario_kind::notify;
      else fail("unknown scenario " + s);
    } else if (flag == "--target") parse_target(o, value());
    else if (flag == "--threads") o.threads = static_cast<unsigned>(std::max<std::size_t>(1, count()));
    else if (flag == "--connections" || flag == "--room-size") o.connections = count();
    else if (flag == "--rate") o.open_rate = to_number(flag.c_str(), value());
    else if (flag == "--max-pending") o.max_pending = std::max<std::size_t>(1, count());
    else if (flag == "--duration") o.duration_s = to_number(flag.c_str(), value());
    else if (flag == "--drain") o.drain_s = to_number(flag.c_str(), value());
    else if (flag == "--timeout") o.timeout_s = to_number(flag.c_str(), value());
    else if (flag == "--source-ips") o.source_ips = split(value(), ',');
    else if (flag == "--user-prefix") o.user_prefix = value();
    else if (flag == "--token-cmd") o.token_cmd = value();
    else if (flag == "--room") o.room = value();
    else if (flag == "--wait-all-joined") o.wait_all_joined = true;
    else if (flag == "--publishers") o.publishers = count();
    else if (flag == "--publish-rate") o.publish_rate = to_number(flag.c_str(), value());
    else if (flag == "--window") o.window = std::max<std::size_t>(1, count());
    else if (flag == "--payload") o.payload_bytes = count();
    else if (flag == "--max-queue") o.max_queue = std::max<std::size_t>(1, count());
    else if (flag == "--chats") o.chats = count();
    else if (flag == "--send-rate") o.publish_rate = to_number(flag.c_str(), value());
    else if (flag == "--content") o.content_bytes = count();
    else if (flag == "--chat") o.chat = value();
    else if (flag == "--limit") o.limit = std::max<std::size_t>(1, count());
    else if (flag == "--fill") o.fill = count();
    else if (flag == "--http-connections") o.http_connections = count();
    else if (flag == "--api-key") o.api_key = value();
    else if (flag == "--api-key-file") o.api_key = read_key(value());
    else if (flag == "--server-pid") o.server_pid = static_cast<long>(to_number(flag.c_str(), value()));
    else if (flag == "--json") o.json = true;
    else fail("unknown flag " + flag);
  }
  if (o.scenario == scenario_kind::chat) {
    if (o.chats == 0) o.chats = 100;
    o.connections = 2 * o.chats;
  }
  if (o.scenario == scenario_kind::history && o.chat.empty())
    o.chat = "dm:" + o.user_prefix + "a0:" + o.user_prefix + "b0";
  if (o.scenario == scenario_kind::notify && o.api_key.empty()) fail("notify needs --api-key or --api-key-file");
  if (o.connections == 0) fail("--connections must be at least 1");
  if (o.scenario == scenario_kind::fanout && (o.publishers == 0 || o.publishers > o.connections))
    fail("--publishers must be 1..room size");
  return o;
}

}  // namespace loadgen
