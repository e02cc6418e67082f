// tetherd serve: open the data dir, start the actors and the listener, recover, serve until
// SIGTERM, then close every session with 1001 (persisted for resume), commit, and exit 0.
#include "app/commands.hpp"

#include "actors/live_counts.hpp"
#include "actors/supervisor.hpp"
#include "app/activity_log.hpp"
#include "app/data_dir_lock.hpp"
#include "app/json_log_formatter.hpp"
#include "app/listen_socket.hpp"
#include "app/version.hpp"
#include "net/ask.hpp"
#include "proto/clock.hpp"
#include "net/listener.hpp"
#include "net/webhook_client.hpp"
#include "storage/database.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <malloc.h>
#include <sched.h>
#include <unistd.h>

namespace net = boost::asio;

namespace tether {

namespace {

// A core actor died: exit non-zero at once. Everything acknowledged is in SQLite, and the next
// start recovers it (crash-only design: there is no half-alive mode).
constexpr int fatal_exit_code = 70;
// A clean shutdown the server decided on itself (rooms crashing beyond rooms.max_restarts).
constexpr int gave_up_exit_code = 75;
// How long shutdown waits for close frames to be written before stopping I/O.
constexpr auto close_grace = std::chrono::seconds(2);

void configure_logging(const settings& s) {
  spdlog::set_level(spdlog::level::from_str(s.log.level));
  if (s.log.format == "json") spdlog::default_logger()->set_formatter(std::make_unique<json_log_formatter>());
  spdlog::flush_on(spdlog::level::warn);
}

// The cores this process may run on: its CPU affinity (taskset, a container's cpuset), which
// hardware_concurrency() ignores. Pinned to one core, one thread per core of the machine only makes
// the threads take turns on it: 1000 clients joining a room went 1.5x faster with one I/O thread
// than with two (docs/benchmarks.md, "Rooms").
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

unsigned thread_count(std::int64_t configured) {
  if (configured > 0) return static_cast<unsigned>(configured);
  return usable_cores();
}

// TLS 1.2+ with the configured certificate chain and key; a bad file stops start-up.
std::shared_ptr<net::ssl::context> make_tls_context(const settings& s) {
  auto tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                   net::ssl::context::single_dh_use);
  boost::system::error_code ec;
  tls->use_certificate_chain_file(s.server.tls_cert, ec);
  if (ec) throw std::runtime_error("server.tls_cert: cannot load " + s.server.tls_cert + ": " + ec.message());
  tls->use_private_key_file(s.server.tls_key, net::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("server.tls_key: cannot load " + s.server.tls_key + ": " + ec.message());
  return tls;
}

session_deps fetch_deps(caf::actor_system& sys, const supervisor_actor& supervisor) {
  caf::scoped_actor self{sys};
  session_deps deps;
  self->request(supervisor, caf::infinite, deps_atom::value)
      .receive([&](session_deps& d) { deps = std::move(d); },
               [&](caf::error& e) { throw std::runtime_error("supervisor: " + to_string(e)); });
  return deps;
}

// The server_started audit record: which build ran on which data dir, and when.
std::string start_details(const settings& s) {
  boost::json::object o{{"version", version},
                        {"data_dir", std::filesystem::absolute(s.storage.data_dir).lexically_normal().string()},
                        {"pid", static_cast<std::int64_t>(::getpid())}};
  return boost::json::serialize(o);
}

// How long a clean exit may take once the sessions are done (the storage actor's last commit).
constexpr auto exit_timeout = std::chrono::seconds(10);

// A clean exit must not become a hang: if the actors have not finished in time, log and leave.
void start_exit_watchdog(int exit_code) {
  std::thread([exit_code] {
    std::this_thread::sleep_for(exit_timeout);
    spdlog::error("shutdown: actors still running after {} s; exiting without waiting", exit_timeout.count());
    spdlog::shutdown();
    std::_Exit(exit_code);
  }).detach();
}

// glibc gives the top of a thread's heap back to the kernel whenever more than the trim threshold
// is free there (128 KiB by default), and takes it again on the next allocation. The storage
// thread does exactly that once per stored message (SQLite's savepoint journal, freed at RELEASE):
// one madvise and a TLB shootdown to every other thread each time, ~26 % of the server's CPU under
// chat load (docs/benchmarks.md, "Channels"). A fixed threshold of 16 MiB per heap keeps that
// memory; mid-size buffers (up to 1 MiB: history pages, coalesced writes) come from the heap rather
// than a fresh mmap each time (a fixed threshold turns off glibc's sliding mmap threshold).
void tune_malloc() {
  mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

}  // namespace

int serve(settings s) {
  configure_logging(s);
  tune_malloc();
  // First the things that can refuse at once (another server on this data dir, a bad bind, a bad
  // certificate), before anything is opened or recovered and before any actor runs: an error
  // thrown after the actor system started would wait for its actors instead of exiting.
  // The lock is held until serve returns (or the kernel drops it at _Exit).
  data_dir_lock lock(s.storage.data_dir);
  // The actor system is declared before everything that holds actor handles or sockets, so it is
  // destroyed last: its destructor waits for every actor, and a detached actor's thread waits
  // until every handle to it is gone.
  caf::actor_system_config caf_cfg;
  caf_cfg.set("scheduler.max-threads", static_cast<std::size_t>(thread_count(0)));
  caf_cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{caf_cfg};
  net::io_context ioc{static_cast<int>(thread_count(s.server.io_threads))};
  auto listening = open_listen_socket(ioc, s.server.bind, static_cast<std::uint16_t>(s.server.port));
  auto tls = s.server.tls_cert.empty() ? nullptr : make_tls_context(s);

  auto cfg = std::make_shared<const settings>(s);
  // Before anything is opened: a bad webhooks.url stops start-up with its reason.
  std::shared_ptr<webhook_client> webhooks;
  if (!s.webhooks.url.empty()) {
    try {
      webhooks = std::make_shared<webhook_client>(ioc.get_executor(), s.webhooks.url,
                                                  std::chrono::milliseconds(s.webhooks.timeout_ms));
    } catch (const std::invalid_argument& e) {
      throw config_error(e.what());
    }
  }
  auto db = std::make_shared<database>(s.storage.data_dir + "/tether.db", s.storage.synchronous);
  // Events are recorded only while webhooks are on: with the url unset nothing is written.
  if (webhooks)
    db->enable_webhooks(webhook_policy{s.webhooks.max_attempts, s.webhooks.retry_base_ms, s.webhooks.retry_max_ms,
                                       s.webhooks.max_pending});
  // Before the storage actor takes the database over; committed on its own.
  db->audit("server_started", "", "", "", "", start_details(s), unix_ms());
  // The reader's own connection, opened once the file exists and is migrated: what it reads is
  // committed (WAL), whatever batch the writer has open.
  auto reader_db = std::make_shared<database>(s.storage.data_dir + "/tether.db", database::read_only);
  auto blobs = std::make_shared<local_blob_store>(blob_dir_of(s));
  blobs->clear_incoming();

  auto ctx = std::make_shared<server_context>(sys, cfg);
  ctx->blobs = blobs;
  ctx->storage_probe = std::make_shared<readiness_probe>(blobs->dir(), s.storage.data_dir);
  ctx->tls = tls;
  ctx->io = ioc.get_executor();
  supervisor_options options;
  options.cfg = cfg;
  options.db = db;
  options.reader_db = reader_db;
  options.blobs = blobs;
  options.webhooks = webhooks;
  options.hooks.on_ready = [ctx] {
    ctx->ready = true;
    spdlog::info("ready");
  };
  // Giving up takes the SIGTERM path (sessions persisted for resume), then exits non-zero.
  auto gave_up = std::make_shared<std::atomic<bool>>(false);
  options.hooks.on_give_up = [gave_up](const std::string&) {
    gave_up->store(true);
    ::kill(::getpid(), SIGTERM);
  };
  options.hooks.on_fatal = [](const std::string& why) {
    spdlog::critical("fatal: {}; exiting", why);
    spdlog::shutdown();
    std::_Exit(fatal_exit_code);
  };
  ctx->supervisor = spawn_supervisor(sys, std::move(options));
  ctx->deps = fetch_deps(sys, ctx->supervisor);

  auto server = std::make_shared<listener>(ioc, std::move(listening), ctx);
  server->run();
  // One info line a second at most summarising sessions and deletions (per event: debug).
  auto activity = std::make_shared<activity_log>(ioc);
  activity->run();
  auto bound = server->local_endpoint();
  std::cout << "listening on " << bound.address().to_string() << ":" << bound.port() << std::endl;
  spdlog::info("listening on {}:{} (data dir {})", bound.address().to_string(), bound.port(), s.storage.data_dir);
  spdlog::info("threads: {} I/O, {} actor scheduler ({} usable cores)", thread_count(s.server.io_threads),
               thread_count(0), usable_cores());
  caf::anon_send(ctx->supervisor, start_atom::value);

  int exit_code = 0;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    ctx->stopping = true;
    server->stop();
    // Clients that answer their 1001 at once leave the io_context without work; it must keep
    // running until the sessions are persisted and storage has committed.
    auto busy = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(ioc.get_executor());
    // Every session closes with 1001 and is persisted for resume; then storage commits.
    ask<bool>(sys, ctx->supervisor, [&ioc, ctx, busy](caf::expected<bool> done) {
      if (!done) spdlog::error("shutdown: {}", to_string(done.error()));
      auto deadline = std::make_shared<net::steady_timer>(ioc, close_grace);
      auto poll = std::make_shared<std::function<void()>>();
      // The loop holds itself only through its pending tick (weakly in between): once it stops, it
      // and the context it holds are freed, so the actor handles in the context are gone before
      // the actor system's destructor waits for its detached actors.
      *poll = [&ioc, ctx, deadline, weak = std::weak_ptr<std::function<void()>>(poll)] {
        if (ctx->websocket_connections == 0 || deadline->expiry() <= net::steady_timer::clock_type::now()) {
          ioc.stop();
          return;
        }
        auto tick = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(20));
        tick->async_wait([tick, self = weak.lock()](boost::system::error_code) { (*self)(); });
      };
      // Connections no session closed (still authenticating, or queued) are told 1001 too.
      ctx->connections.close_all(1001, "server going away");
      net::post(ioc, [poll, busy] {
        busy->reset();
        (*poll)();
      });
    }, shutdown_atom::value);
  });

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < thread_count(s.server.io_threads); ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  if (gave_up->load()) exit_code = gave_up_exit_code;

  // Every session has quit by now unless one is stuck: then exit at once, as everything
  // acknowledged is durable. Otherwise stop the core actors (storage commits what is pending as it
  // exits) and let the destructors run in order: network objects and handles first, then the
  // actor system, which waits for every actor. A clean exit is what lets LeakSanitizer and
  // heaptrack see real leaks. A watchdog bounds the wait.
  if (live().session_actors > 0) {
    spdlog::warn("{} session(s) did not finish in time; exiting without waiting for them",
                 live().session_actors.load());
    spdlog::shutdown();
    std::cout.flush();
    std::_Exit(exit_code);
  }
  caf::anon_send_exit(ctx->supervisor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.rooms, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.channels, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.presence, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.cleaner, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.storage, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ctx->deps.reader, caf::exit_reason::user_shutdown);
  start_exit_watchdog(exit_code);
  sys.await_all_actors_done();
  spdlog::info("stopped");
  return exit_code;
}

}  // namespace tether
