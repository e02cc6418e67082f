#include "proto/multipart_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using tether::multipart_reader;
using status = multipart_reader::status;

namespace {

const std::string boundary = "----tether7MA4YWxkTrZu0gW";

std::string form(const std::string& file_content, const std::string& filename = "photo.jpg") {
  return "--" + boundary + "\r\n" +
         "Content-Disposition: form-data; name=\"title\"\r\n\r\n" +
         "my post\r\n" +
         "--" + boundary + "\r\n" +
         "Content-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n" +
         "Content-Type: image/jpeg\r\n\r\n" + file_content + "\r\n" +
         "--" + boundary + "--\r\n";
}

struct result {
  status last = status::more;
  status finished = status::more;
  std::string file, filename, error;
};

// Feeds `body` in pieces of `step` bytes (the last may be shorter), then finishes.
result read_in_steps(const std::string& body, std::size_t step) {
  multipart_reader r(boundary);
  result out;
  auto sink = [&](std::string_view piece) {
    out.file.append(piece);
    return true;
  };
  for (std::size_t i = 0; i < body.size(); i += step) {
    out.last = r.feed(std::string_view(body).substr(i, step), sink);
    if (out.last == status::error) break;
  }
  out.finished = out.last == status::error ? status::error : r.finish();
  out.filename = r.filename();
  out.error = r.error();
  return out;
}

}  // namespace

TEST(MultipartReader, BoundaryOfContentType) {
  EXPECT_EQ(multipart_reader::boundary_of("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_reader::boundary_of("Multipart/Form-Data;boundary=\"a b;c\""), "a b;c");
  EXPECT_EQ(multipart_reader::boundary_of("multipart/form-data; charset=utf-8; boundary=xyz"), "xyz");
  EXPECT_FALSE(multipart_reader::boundary_of("multipart/form-data"));
  EXPECT_FALSE(multipart_reader::boundary_of("multipart/form-data; boundary="));
  EXPECT_FALSE(multipart_reader::boundary_of("multipart/form-data; boundary=" + std::string(71, 'x')));
  EXPECT_FALSE(multipart_reader::boundary_of("multipart/mixed; boundary=abc"));
  EXPECT_FALSE(multipart_reader::boundary_of("application/octet-stream"));
  EXPECT_TRUE(multipart_reader::is_multipart("multipart/mixed; boundary=abc"));
  EXPECT_TRUE(multipart_reader::is_multipart(" MULTIPART/form-data"));
  EXPECT_FALSE(multipart_reader::is_multipart("image/jpeg"));
  EXPECT_FALSE(multipart_reader::is_multipart(""));
}

TEST(MultipartReader, StoresOnlyTheFilePartWhateverTheChunking) {
  // Content that looks like boundaries but is not one: CRLFs, dashes, the boundary without "--".
  std::string content = "\r\n--\r\n" + boundary + "\r\n-" + boundary.substr(0, 10) + "\r\n\r\nend\r";
  auto body = form(content);
  for (std::size_t step : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(7), boundary.size() + 3,
                           std::size_t(64), body.size()}) {
    auto r = read_in_steps(body, step);
    EXPECT_EQ(r.finished, status::done) << "step " << step << ": " << r.error;
    EXPECT_EQ(r.file, content) << "step " << step;
    EXPECT_EQ(r.filename, "photo.jpg") << "step " << step;
  }
}

TEST(MultipartReader, BoundarySplitAcrossEveryChunkPosition) {
  std::string content(300, 'x');
  auto body = form(content);
  auto delimiter_at = body.find("\r\n--" + boundary + "--");
  ASSERT_NE(delimiter_at, std::string::npos);
  // Two chunks, cut at every byte of the closing delimiter and around it.
  for (std::size_t cut = delimiter_at - 2; cut < delimiter_at + boundary.size() + 8; ++cut) {
    multipart_reader r(boundary);
    std::string file;
    auto sink = [&](std::string_view p) {
      file.append(p);
      return true;
    };
    ASSERT_NE(r.feed(std::string_view(body).substr(0, cut), sink), status::error) << cut;
    r.feed(std::string_view(body).substr(cut), sink);
    EXPECT_EQ(r.finish(), status::done) << "cut " << cut << ": " << r.error();
    EXPECT_EQ(file, content) << "cut " << cut;
  }
}

TEST(MultipartReader, EmptyFileAndEmptyHeaderBlock) {
  auto r = read_in_steps(form(""), 5);
  EXPECT_EQ(r.finished, status::done) << r.error;
  EXPECT_EQ(r.file, "");
  // A part with no headers at all is a form field without a name: skipped.
  std::string body = "--" + boundary + "\r\n\r\nignored\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=f; filename=a.txt\r\n\r\nA\r\n--" + boundary + "--";
  auto r2 = read_in_steps(body, 4);
  EXPECT_EQ(r2.finished, status::done) << r2.error;
  EXPECT_EQ(r2.file, "A");
  EXPECT_EQ(r2.filename, "a.txt");
}

TEST(MultipartReader, PreambleEpilogueAndTransportPadding) {
  std::string body = "This is a preamble.\r\n--" + boundary + "  \t\r\n" +
                     "content-disposition: form-data; name=\"f\"; filename=\"C:\\\\Users\\\\me\\\\cat.png\"\r\n\r\n" +
                     "PNG\r\n--" + boundary + "--\r\nepilogue, ignored\r\n--" + boundary + "--";
  auto r = read_in_steps(body, 3);
  EXPECT_EQ(r.finished, status::done) << r.error;
  EXPECT_EQ(r.file, "PNG");
  EXPECT_EQ(r.filename, "cat.png");  // the directory a browser sent is dropped
}

TEST(MultipartReader, Rfc5987FilenameWins) {
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=f; filename=\"x.jpg\"; filename*=UTF-8''%E2%82%AC%20rates.jpg\r\n\r\n" +
                     "€\r\n--" + boundary + "--\r\n";
  auto r = read_in_steps(body, 1000);
  EXPECT_EQ(r.finished, status::done) << r.error;
  EXPECT_EQ(r.filename, "€ rates.jpg");
}

TEST(MultipartReader, MissingClosingBoundaryIsAnError) {
  auto body = form("data");
  body.resize(body.find("\r\n--" + boundary + "--"));  // cut before the closing delimiter
  auto r = read_in_steps(body, 4);
  EXPECT_EQ(r.finished, status::error);
  EXPECT_NE(r.error.find("closing boundary"), std::string::npos) << r.error;
  // The closing delimiter without its final "--" is not a closing one either.
  auto r2 = read_in_steps("--" + boundary + "\r\nContent-Disposition: form-data; filename=a\r\n\r\nA\r\n--" + boundary, 4);
  EXPECT_EQ(r2.finished, status::error);
}

TEST(MultipartReader, BadInputs) {
  // LF-only line ends: the boundary is never followed by CRLF.
  auto lf = read_in_steps("--" + boundary + "\nContent-Disposition: form-data; filename=a\n\nA\n--" + boundary + "--\n", 5);
  EXPECT_EQ(lf.finished, status::error);
  // No file part.
  auto fields = read_in_steps("--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + boundary + "--", 5);
  EXPECT_EQ(fields.finished, status::error);
  EXPECT_NE(fields.error.find("no file part"), std::string::npos) << fields.error;
  // Two file parts.
  std::string part = "--" + boundary + "\r\nContent-Disposition: form-data; name=f; filename=a\r\n\r\nA\r\n";
  auto two = read_in_steps(part + part + "--" + boundary + "--", 5);
  EXPECT_EQ(two.finished, status::error);
  EXPECT_NE(two.error.find("one file"), std::string::npos) << two.error;
  // Part headers that never end are bounded.
  auto endless = read_in_steps("--" + boundary + "\r\nX: " + std::string(20000, 'h'), 1000);
  EXPECT_EQ(endless.finished, status::error);
  EXPECT_NE(endless.error.find("8 KiB"), std::string::npos) << endless.error;
  // Nothing but a preamble.
  auto none = read_in_steps("just some bytes", 3);
  EXPECT_EQ(none.finished, status::error);
  // Empty body.
  multipart_reader empty(boundary);
  EXPECT_EQ(empty.finish(), status::error);
}

TEST(MultipartReader, SinkFailureStops) {
  multipart_reader r(boundary);
  int calls = 0;
  auto st = r.feed(form(std::string(1000, 'z')), [&](std::string_view) {
    ++calls;
    return false;
  });
  EXPECT_EQ(st, status::error);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(r.error().empty());
  EXPECT_EQ(r.feed("more", [](std::string_view) { return true; }), status::error);
}

TEST(MultipartReader, MemoryStaysBoundedForALargeFile) {
  // 4 MiB of content in 64 KiB chunks: the pieces handed on are at most about one chunk.
  multipart_reader r(boundary);
  std::size_t total = 0, largest = 0;
  auto sink = [&](std::string_view p) {
    total += p.size();
    largest = std::max(largest, p.size());
    return true;
  };
  r.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n", sink);
  std::string chunk(64 * 1024, 'q');
  for (int i = 0; i < 64; ++i) ASSERT_EQ(r.feed(chunk, sink), status::more);
  r.feed("\r\n--" + boundary + "--\r\n", sink);
  EXPECT_EQ(r.finish(), status::done);
  EXPECT_EQ(total, 64u * chunk.size());
  EXPECT_LE(largest, chunk.size() + boundary.size() + 4);
}
