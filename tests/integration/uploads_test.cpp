// Uploads as real clients send them (PROTOCOL.md §5, docs/protocol.md "POST /api/files"): large
// bodies with a Content-Length (curl --data-binary, browsers), Expect: 100-continue, chunked
// bodies, empty bodies and HTML forms (multipart/form-data).
#include "support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace tether::it;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Bytes that differ from position to position, so a shifted or truncated copy is noticed.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

std::string file_of(const server_process& s, const std::string& file_id) {
  std::ifstream in(s.blob_path(file_id), std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string error_code_of(const http_result& r) {
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("error")) return "";
  return str(v.as_object()["error"].as_object(), "code");
}

std::string hex(std::size_t n) {
  std::ostringstream s;
  s << std::hex << n;
  return s.str();
}

// A chunked body of `total` bytes of pattern() in chunks of `chunk`, with the final 0-chunk.
std::string chunked(std::size_t total, std::size_t chunk) {
  auto data = pattern(total);
  std::string out;
  for (std::size_t i = 0; i < total; i += chunk) {
    auto piece = data.substr(i, chunk);
    out += hex(piece.size()) + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

const std::string boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

std::string form(const std::string& content, const std::string& filename) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nbeach\r\n" +
         "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
         "\"\r\nContent-Type: image/jpeg\r\n\r\n" + content + "\r\n--" + boundary + "--\r\n";
}

}  // namespace

// Beast's default body limit (1 MiB) used to cut every larger upload with a Content-Length
// without an answer. Now every size up to storage.max_upload_bytes is stored, byte for byte.
TEST(Uploads, LargeBodiesWithContentLengthUpToTheLimit) {
  const std::size_t limit = 3 * mib;
  server_process s({"storage.max_upload_bytes=" + std::to_string(limit)});
  auto alice = s.token("alice");
  for (std::size_t size : {mib, mib + 1, std::size_t(2500000), limit}) {
    auto body = pattern(size);
    auto r = http_call(s.port(), http::verb::post, "/api/files?name=photo.jpg", alice, body,
                       "application/octet-stream", 20s);
    ASSERT_EQ(r.status, 201) << size << " bytes: " << r.error << r.body;
    auto v = r.json().as_object();
    EXPECT_EQ(v["size"].to_number<std::int64_t>(), static_cast<std::int64_t>(size));
    auto id = str(v, "file_id");
    EXPECT_EQ(file_of(s, id), body) << size << " bytes: the stored file differs";
    auto got = http_call(s.port(), http::verb::get, "/api/files/" + id, alice, "", "", 20s);
    EXPECT_EQ(got.status, 200);
    EXPECT_TRUE(got.body == body) << size << " bytes: the download differs";
  }
  auto over = http_call(s.port(), http::verb::post, "/api/files?name=big", alice, pattern(limit + 1),
                        "application/octet-stream", 20s);
  EXPECT_EQ(over.status, 413) << over.error << over.body;
  EXPECT_EQ(error_code_of(over), "too_large") << over.body;
}

// The default limit (100 MiB): the 2.5 MB photo of the create-post demo goes through.
TEST(Uploads, PhotoWithTheDefaultLimit) {
  server_process s;
  auto body = pattern(2500000);
  auto r = http_call(s.port(), http::verb::post, "/api/files?name=photo.jpg", s.token("alice"), body,
                     "image/jpeg", 20s);
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  EXPECT_EQ(file_of(s, str(r.json().as_object(), "file_id")), body);
}

// A Content-Length over the limit is refused from the header alone: the answer comes although
// no byte of the body was sent.
TEST(Uploads, ContentLengthOverTheLimitIsRefusedBeforeTheBody) {
  server_process s({"storage.max_upload_bytes=1000"});
  raw_http c(s.port());
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files?name=x",
                                   "Content-Length: 1001\r\nExpect: 100-continue\r\n")))
      << c.last_error();
  auto r = c.read(3s);
  EXPECT_EQ(r.status, 413) << r.error << r.body;  // not 100 Continue
  EXPECT_EQ(error_code_of(r), "too_large") << r.body;
  EXPECT_EQ(r.headers["Connection"], "close");

  // With the default limit and a 200 MiB Content-Length, likewise.
  server_process d;
  raw_http c2(d.port());
  ASSERT_TRUE(c2.send(upload_header(d.port(), d.token("alice"), "/api/files", "Content-Length: 209715200\r\n")));
  auto r2 = c2.read(3s);
  EXPECT_EQ(r2.status, 413) << r2.error << r2.body;
}

// A client still sending its body after the 413 is read and dropped for a moment, so the answer
// is not destroyed by a reset, and the upload leaves nothing behind.
TEST(Uploads, RefusedBodyStillBeingSentGetsTheAnswer) {
  server_process s({"storage.max_upload_bytes=1000"});
  raw_http c(s.port());
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files", "Content-Length: 300000\r\n") +
                     pattern(300000)))
      << c.last_error();
  auto r = c.read(3s);
  EXPECT_EQ(r.status, 413) << r.error << r.body;
  EXPECT_TRUE(c.closed_by_server(5s));
}

// An upload that stops sending holds its connection for server.request_timeout_ms (30 s by
// default), then the connection closes and the partial file is removed; a request header that
// never ends likewise.
TEST(Uploads, StalledUploadIsCutAfterTheRequestTimeout) {
  server_process s({"server.request_timeout_ms=300"});
  raw_http c(s.port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files?name=slow", "Content-Length: 1000\r\n") +
                     "ten bytes!"))
      << c.last_error();
  EXPECT_TRUE(c.closed_by_server(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  auto incoming = s.data_dir() + "/blobs/.incoming";
  EXPECT_TRUE(wait_until([&] { return std::filesystem::is_empty(incoming); }, 2s)) << "partial upload left behind";

  raw_http h(s.port());
  ASSERT_TRUE(h.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")) << h.last_error();
  EXPECT_TRUE(h.closed_by_server(5s));
}

// curl sends `Expect: 100-continue` with bodies over 1 MiB and waits a second for the interim
// answer; it comes at once for an accepted request.
TEST(Uploads, ExpectContinueIsAnswered) {
  server_process s;
  raw_http c(s.port());
  auto body = pattern(2 * mib);
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files?name=c.bin",
                                   "Content-Length: " + std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n")));
  auto interim = c.read(500ms);
  ASSERT_EQ(interim.status, 100) << interim.error;
  ASSERT_TRUE(c.send(body, 10s)) << c.last_error();
  auto r = c.read(10s);
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  EXPECT_EQ(file_of(s, str(r.json().as_object(), "file_id")), body);
}

// An empty body is an empty file (201 at once), not a 30 s wait for bytes that never come.
TEST(Uploads, EmptyBodyIsAnEmptyFileAtOnce) {
  server_process s;
  raw_http c(s.port());
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files?name=empty.txt", "Content-Length: 0\r\n")));
  auto r = c.read(3s);
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  auto v = r.json().as_object();
  EXPECT_EQ(v["size"].to_number<std::int64_t>(), 0);
  EXPECT_TRUE(s.blob_exists(str(v, "file_id")));
  // The connection stays usable (keep-alive): a second upload on it works.
  ASSERT_TRUE(c.send(upload_header(s.port(), s.token("alice"), "/api/files?name=a", "Content-Length: 1\r\n") + "a"));
  EXPECT_EQ(c.read(3s).status, 201);
}

// Chunked transfer encoding (no Content-Length): up to the limit it is stored; past it, 413 as
// soon as the limit is passed, and the partial file is removed.
TEST(Uploads, ChunkedBodiesUpToTheLimit) {
  const std::size_t limit = 100000;
  server_process s({"storage.max_upload_bytes=" + std::to_string(limit)});
  auto alice = s.token("alice");
  {
    raw_http c(s.port());
    ASSERT_TRUE(c.send(upload_header(s.port(), alice, "/api/files?name=chunked", "Transfer-Encoding: chunked\r\n") +
                       chunked(limit, 7000)));
    auto r = c.read(5s);
    ASSERT_EQ(r.status, 201) << r.error << r.body;
    EXPECT_EQ(file_of(s, str(r.json().as_object(), "file_id")), pattern(limit));
  }
  {
    raw_http c(s.port());
    ASSERT_TRUE(c.send(upload_header(s.port(), alice, "/api/files?name=chunked", "Transfer-Encoding: chunked\r\n") +
                       chunked(limit + 1, 7000)));
    auto r = c.read(5s);
    EXPECT_EQ(r.status, 413) << r.error << r.body;
    EXPECT_EQ(error_code_of(r), "too_large") << r.body;
  }
  EXPECT_TRUE(wait_until([&] { return s.log().find("answered 413") != std::string::npos; }, 2s))
      << "a cut upload is logged";
  // Nothing is left half-written.
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(s.data_dir() + "/blobs/.incoming", ec)) << ec.message();
}

// An HTML form: the file part is stored as the file itself, named after its filename.
TEST(Uploads, MultipartFormStoresTheFilePart) {
  server_process s;
  auto alice = s.token("alice");
  auto content = pattern(300000) + "\r\n--" + boundary.substr(0, 20);  // ends like a boundary, but is not one
  auto r = http_call(s.port(), http::verb::post, "/api/files", alice, form(content, "beach day.jpg"),
                     "multipart/form-data; boundary=" + boundary);
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  auto v = r.json().as_object();
  EXPECT_EQ(str(v, "name"), "beach day.jpg");
  EXPECT_EQ(v["size"].to_number<std::int64_t>(), static_cast<std::int64_t>(content.size()));
  EXPECT_TRUE(file_of(s, str(v, "file_id")) == content) << "the stored file is not the part's content";

  // ?name= wins over the part's filename.
  auto named = http_call(s.port(), http::verb::post, "/api/files?name=cover.jpg", alice, form("abc", "x.jpg"),
                         "multipart/form-data; boundary=" + boundary);
  ASSERT_EQ(named.status, 201) << named.body;
  EXPECT_EQ(str(named.json().as_object(), "name"), "cover.jpg");

  // Chunked multipart (a streaming client) works the same.
  raw_http c(s.port());
  auto body = form("chunky", "c.txt");
  ASSERT_TRUE(c.send(upload_header(s.port(), alice, "/api/files",
                                   "Content-Type: multipart/form-data; boundary=" + boundary +
                                       "\r\nTransfer-Encoding: chunked\r\n") +
                     hex(body.size() / 2) + "\r\n" + body.substr(0, body.size() / 2) + "\r\n" +
                     hex(body.size() - body.size() / 2) + "\r\n" + body.substr(body.size() / 2) + "\r\n0\r\n\r\n"));
  auto rc = c.read(3s);
  ASSERT_EQ(rc.status, 201) << rc.error << rc.body;
  EXPECT_EQ(file_of(s, str(rc.json().as_object(), "file_id")), "chunky");
}

TEST(Uploads, BadMultipartIsRefusedAndStoresNothing) {
  server_process s;
  auto alice = s.token("alice");
  auto type = "multipart/form-data; boundary=" + boundary;
  auto cut = form("data", "a.jpg");
  cut.resize(cut.find("\r\n--" + boundary + "--"));
  auto r = http_call(s.port(), http::verb::post, "/api/files", alice, cut, type);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("closing boundary"), std::string::npos) << r.body;

  auto no_file = "--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + boundary + "--\r\n";
  auto r2 = http_call(s.port(), http::verb::post, "/api/files", alice, no_file, type);
  EXPECT_EQ(r2.status, 400) << r2.body;

  auto r3 = http_call(s.port(), http::verb::post, "/api/files", alice, "x", "multipart/form-data");
  EXPECT_EQ(r3.status, 415) << r3.body;  // no boundary
  auto r4 = http_call(s.port(), http::verb::post, "/api/files", alice, "x", "multipart/mixed; boundary=b");
  EXPECT_EQ(r4.status, 415) << r4.body;
  EXPECT_NE(r4.body.find("raw body"), std::string::npos) << r4.body;

  auto files = sql_rows(s, "SELECT count(*) FROM files");
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files[0][0], "0") << "a refused upload was recorded";
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(s.data_dir() + "/blobs/.incoming", ec));
}

// A request the server cannot parse gets an answer instead of a silent close.
TEST(Uploads, MalformedRequestGetsAnAnswer) {
  server_process s;
  raw_http c(s.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n"));
  auto r = c.read(3s);
  EXPECT_EQ(r.status, 400) << r.error << r.body;
}
