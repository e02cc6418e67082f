#pragma once
// A streaming reader of a multipart/form-data body (RFC 7578), for uploads sent by an HTML form.
// It is fed the body in chunks as they arrive and hands on only the bytes of the one file part
// (the part whose Content-Disposition has a filename); other parts (form fields) are skipped.
// Memory is bounded: it keeps at most one chunk plus the part headers (8 KiB) and the delimiter.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tether {

class multipart_reader {
public:
  enum class status { more, done, error };
  // Receives consecutive pieces of the file part's content; false stops the reader (e.g. the disk
  // write failed; the caller knows why).
  using sink = std::function<bool(std::string_view)>;

  // Fixed, like the 8 KiB limit on a request's header: a browser sends a part's
  // Content-Disposition and Content-Type in well under 1 KiB (docs/protocol.md states the limit).
  static constexpr std::size_t max_part_headers = 8 * 1024;

  // The boundary parameter of a `multipart/form-data; boundary=...` Content-Type (quoted or not),
  // or nullopt when the type is not multipart/form-data or the boundary is missing or invalid.
  static std::optional<std::string> boundary_of(std::string_view content_type);
  // Whether the Content-Type names any multipart type (with or without a usable boundary).
  static bool is_multipart(std::string_view content_type);

  explicit multipart_reader(std::string boundary);

  // Feeds the next bytes of the body. After `done`, further bytes (the epilogue) are ignored.
  status feed(std::string_view chunk, const sink& write);
  // The body has ended: `done` when the closing boundary was seen and one file part was found.
  status finish();

  // Why the body was refused (set with status::error; empty when the sink stopped it).
  const std::string& error() const { return error_; }
  // The file part's filename (without any directory part a browser may have sent).
  const std::string& filename() const { return filename_; }
  bool found_file() const { return found_file_; }

private:
  enum class state { preamble, after_boundary, headers, content, epilogue, failed };
  status fail(std::string why);
  bool parse_headers(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  std::string pending_;    // bytes not yet consumed (bounded, see above)
  state state_ = state::preamble;
  bool in_file_part_ = false, found_file_ = false;
  std::string filename_, error_;
};

}  // namespace tether
