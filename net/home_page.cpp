#include "net/home_page.hpp"

// CMakeLists.txt passes the project's version to tether_net.
#ifndef TETHER_VERSION
#define TETHER_VERSION "unknown"
#endif

namespace tether {

std::string home_page_html(const settings& cfg) {
  std::string v = TETHER_VERSION;
  std::string demos = cfg.server.web_dir.empty()
                          ? "<li>Demo pages are off: <code>server.web_dir</code> is not set.</li>"
                          : "<li><a href=\"/demo/create-post/\">/demo/create-post/</a> &mdash; the create-post demo: upload "
                            "photos, leave without posting, watch them being cleaned up (add "
                            "<code>?token=</code> a token from <code>tetherd token USER</code>)</li>"
                            "<li><a href=\"/demo/study-room/\">/demo/study-room/</a> &mdash; the study-room demo: rooms "
                            "with live occupancy and participants, as a guest (<code>POST /api/guests</code>)</li>"
                            "<li><a href=\"/demo/chat/\">/demo/chat/</a> &mdash; the chat demo: two users in a direct "
                            "chat with typing, delivered/read ticks and who is online (add <code>?token=</code> a token "
                            "from <code>tetherd token USER</code> and <code>&amp;peer=</code> the other user)</li>";
  return R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tether )" + v + R"(</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
h1 small { font-weight: normal; color: #777; font-size: 60%; }
</style>
</head>
<body>
<h1>tether <small>)" + v + R"(</small></h1>
<p>A real-time WebSocket server that cleans up what users leave behind: uploads of a post never
submitted are deleted, exactly once, when the user leaves.</p>
<h2>Try it</h2>
<ul>
)" + demos + R"(
<li>WebSocket endpoint: <code>/ws?token=TOKEN</code> (also <code>/ws/file-cleanup</code>)</li>
<li>Uploads: <code>POST /api/files?name=NAME</code> with <code>Authorization: Bearer TOKEN</code> and the file as the body</li>
</ul>
<h2>Operations</h2>
<ul>
<li><a href="/healthz">/healthz</a> &mdash; the process is alive</li>
<li><a href="/readyz">/readyz</a> &mdash; recovery is done and storage takes writes</li>
<li><a href="/metrics">/metrics</a> &mdash; Prometheus metrics</li>
</ul>
<h2>Documentation</h2>
<p>In the source tree: <code>README.md</code> (quick start), <code>docs/protocol.md</code> (the wire
protocol and HTTP API), <code>docs/operations.md</code> (configuration, data directory, recovery,
metrics), <code>config/tether.json</code> (every option). <code>tetherd --help</code> lists the commands.</p>
</body>
</html>
)";
}

}  // namespace tether
