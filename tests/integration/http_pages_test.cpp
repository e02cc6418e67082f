// The operator-facing pages: `/` and `/readyz` when storage stops taking writes.
#include "support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace tether::it;
namespace fs = std::filesystem;

namespace {

int readyz(const server_process& s) { return http_call(s.port(), http::verb::get, "/readyz", "", "", "", 2s).status; }

// Replaces the directory `dir` by a regular file (root ignores permission bits, so a read-only
// directory would still take writes in these tests; a file where a directory should be fails for
// everyone), and puts it back.
class directory_replaced {
public:
  explicit directory_replaced(std::string dir) : dir_(std::move(dir)), saved_(dir_ + ".saved") {
    fs::rename(dir_, saved_);
    std::ofstream(dir_) << "not a directory";
  }
  void restore() {
    if (restored_) return;
    fs::remove(dir_);
    fs::rename(saved_, dir_);
    restored_ = true;
  }
  ~directory_replaced() { restore(); }

private:
  std::string dir_, saved_;
  bool restored_ = false;
};

}  // namespace

TEST(Readyz, UnhealthyWhileTheBlobDirectoryCannotBeWritten) {
  server_process s;
  ASSERT_EQ(readyz(s), 200);
  http_result r;
  {
    directory_replaced gone(s.data_dir() + "/blobs");
    ASSERT_TRUE(wait_until([&] { return readyz(s) == 503; }, 5s)) << "still ready with no blob directory";
    r = http_call(s.port(), http::verb::get, "/readyz");
    EXPECT_EQ(r.status, 503);
    auto v = r.json();
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(str(v.as_object(), "status"), "unhealthy") << r.body;
    ASSERT_TRUE(v.as_object()["failed"].is_array()) << r.body;
    auto& failed = v.as_object()["failed"].as_array();
    ASSERT_FALSE(failed.empty()) << r.body;
    EXPECT_EQ(str(failed[0].as_object(), "check"), "blob_dir") << r.body;
    EXPECT_NE(str(failed[0].as_object(), "path").find("/blobs"), std::string::npos) << r.body;
    EXPECT_FALSE(str(failed[0].as_object(), "error").empty()) << r.body;
    // Liveness is not readiness: the process still answers /healthz.
    EXPECT_EQ(http_call(s.port(), http::verb::get, "/healthz").status, 200);
    gone.restore();
    EXPECT_TRUE(wait_until([&] { return readyz(s) == 200; }, 5s)) << "not ready again after the directory came back";
  }
  EXPECT_NE(s.log().find("not writable"), std::string::npos) << "the change is logged";
}

TEST(Readyz, UnhealthyWhileTheDataDirectoryCannotBeWritten) {
  server_process s;
  ASSERT_EQ(readyz(s), 200);
  {
    directory_replaced gone(s.data_dir());
    ASSERT_TRUE(wait_until([&] { return readyz(s) == 503; }, 5s)) << "still ready with no data directory";
    auto r = http_call(s.port(), http::verb::get, "/readyz");
    EXPECT_NE(r.body.find("\"data_dir\""), std::string::npos) << r.body;
    gone.restore();
    EXPECT_TRUE(wait_until([&] { return readyz(s) == 200; }, 5s));
  }
}

TEST(HomePage, NamesTheServerAndLinksWhatThereIs) {
  server_process s({"server.web_dir="});
  auto r = http_call(s.port(), http::verb::get, "/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["Content-Type"], "text/html; charset=utf-8");
  for (const char* needle : {"<title>tether ", "href=\"/healthz\"", "href=\"/readyz\"", "href=\"/metrics\"",
                             "docs/operations.md", "docs/protocol.md"})
    EXPECT_NE(r.body.find(needle), std::string::npos) << "missing " << needle << " in\n" << r.body;
#ifdef TETHER_PROJECT_VERSION
  EXPECT_NE(r.body.find("<title>tether " TETHER_PROJECT_VERSION "</title>"), std::string::npos) << r.body;
#endif
  // Self-contained: nothing is fetched from anywhere else.
  EXPECT_EQ(r.body.find("http://"), std::string::npos);
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  // Without server.web_dir the demo link would lead nowhere: the page says so instead.
  EXPECT_NE(r.body.find("server.web_dir"), std::string::npos) << r.body;

  auto head = http_call(s.port(), http::verb::head, "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.headers["Content-Length"], std::to_string(r.body.size()));
}

TEST(HomePage, LinksTheDemoWhenThereIsOne) {
  auto web = fs::temp_directory_path() / ("tether-web-" + std::to_string(::getpid()));
  fs::create_directories(web / "demo" / "create-post");
  std::ofstream(web / "demo" / "create-post" / "index.html") << "<p>demo</p>";
  {
    server_process s({"server.web_dir=" + web.string()});
    auto r = http_call(s.port(), http::verb::get, "/");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("href=\"/demo/create-post/\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("href=\"/demo/study-room/\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("href=\"/demo/chat/\""), std::string::npos) << r.body;
    EXPECT_EQ(http_call(s.port(), http::verb::get, "/demo/create-post/").status, 200);
  }
  fs::remove_all(web);
}
