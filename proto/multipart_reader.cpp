#include "proto/multipart_reader.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace tether {

namespace {

// Spaces/tabs allowed after a boundary (RFC 2046 "transport padding"). RFC 2046 sets no number and
// no known sender pads at all; 64 keeps the bytes held while looking for the CRLF bounded.
constexpr std::size_t max_padding = 64;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `type/subtype; key=value; key="quoted \" value"` -> the media type (lower case) and the parameters
// (keys lower case, values unquoted).
struct header_value {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  std::optional<std::string> param(const std::string& key) const {
    for (const auto& [k, v] : params)
      if (k == key) return v;
    return std::nullopt;
  }
};

header_value parse_header_value(std::string_view s) {
  header_value out;
  auto semi = s.find(';');
  out.type = lower(trim(s.substr(0, semi)));
  std::size_t i = semi == std::string_view::npos ? s.size() : semi + 1;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ';')) ++i;
    auto eq = s.find('=', i);
    auto next_semi = s.find(';', i);
    if (eq == std::string_view::npos || (next_semi != std::string_view::npos && next_semi < eq)) {
      // A parameter without a value: skip it.
      i = next_semi == std::string_view::npos ? s.size() : next_semi + 1;
      continue;
    }
    std::string key = lower(trim(s.substr(i, eq - i)));
    i = eq + 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i]);
      }
      if (i < s.size()) ++i;  // the closing quote
      auto end = s.find(';', i);
      i = end == std::string_view::npos ? s.size() : end + 1;
    } else {
      auto end = s.find(';', i);
      value = std::string(trim(s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? s.size() : end + 1;
    }
    out.params.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5987 ext-value: charset'language'percent-encoded (only UTF-8 and ASCII are taken).
std::optional<std::string> decode_ext_value(const std::string& v) {
  auto q1 = v.find('\'');
  auto q2 = q1 == std::string::npos ? std::string::npos : v.find('\'', q1 + 1);
  if (q2 == std::string::npos) return std::nullopt;
  auto charset = lower(v.substr(0, q1));
  if (charset != "utf-8" && charset != "us-ascii") return std::nullopt;
  std::string out;
  for (std::size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex_value(v[i + 1]) >= 0 && hex_value(v[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2])));
      i += 2;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

// Old browsers sent the client's full path ("C:\Users\me\photo.jpg"): keep the last segment.
std::string base_name(const std::string& name) {
  auto slash = name.find_last_of("/\\");
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

}  // namespace

bool multipart_reader::is_multipart(std::string_view content_type) {
  return parse_header_value(content_type).type.rfind("multipart/", 0) == 0;
}

std::optional<std::string> multipart_reader::boundary_of(std::string_view content_type) {
  auto v = parse_header_value(content_type);
  if (v.type != "multipart/form-data") return std::nullopt;
  auto b = v.param("boundary");
  // RFC 2046 §5.1.1 fixes 1 to 70 characters; no line breaks (they would never match).
  if (!b || b->empty() || b->size() > 70 || b->find_first_of("\r\n") != std::string::npos) return std::nullopt;
  return b;
}

// The body is read as if it began with CRLF, so the first boundary (which may open the body
// without one) is found by the same search as every other delimiter.
multipart_reader::multipart_reader(std::string boundary) : delimiter_("\r\n--" + boundary), pending_("\r\n") {}

multipart_reader::status multipart_reader::fail(std::string why) {
  state_ = state::failed;
  error_ = std::move(why);
  pending_.clear();
  pending_.shrink_to_fit();
  return status::error;
}

bool multipart_reader::parse_headers(std::string_view block) {
  std::optional<std::string> filename, filename_ext;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    auto line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (lower(trim(line.substr(0, colon))) != "content-disposition") continue;
    auto v = parse_header_value(line.substr(colon + 1));
    filename = v.param("filename");
    if (auto ext = v.param("filename*")) filename_ext = decode_ext_value(*ext);
  }
  if (!filename && !filename_ext) return true;  // a form field: skipped
  if (found_file_) return false;
  found_file_ = in_file_part_ = true;
  filename_ = base_name(filename_ext ? *filename_ext : *filename);
  return true;
}

multipart_reader::status multipart_reader::feed(std::string_view chunk, const sink& write) {
  if (state_ == state::failed) return status::error;
  if (state_ == state::epilogue) return status::done;
  pending_.append(chunk.data(), chunk.size());
  const std::size_t keep = delimiter_.size() - 1;  // a delimiter may start in these last bytes
  for (;;) {
    switch (state_) {
      case state::preamble:
      case state::content: {
        auto at = pending_.find(delimiter_);
        std::size_t emit = at != std::string::npos ? at : (pending_.size() > keep ? pending_.size() - keep : 0);
        if (state_ == state::content && in_file_part_ && emit > 0 &&
            !write(std::string_view(pending_.data(), emit))) {
          state_ = state::failed;
          return status::error;
        }
        if (at == std::string::npos) {
          pending_.erase(0, emit);
          return status::more;
        }
        pending_.erase(0, at + delimiter_.size());
        in_file_part_ = false;
        state_ = state::after_boundary;
        break;
      }
      case state::after_boundary: {
        if (pending_.size() < 2) return status::more;
        if (pending_.compare(0, 2, "--") == 0) {
          state_ = state::epilogue;
          pending_.clear();
          if (!found_file_) return fail("the form has no file part (a part with a filename)");
          return status::done;
        }
        std::size_t i = 0;
        while (i < pending_.size() && i <= max_padding && (pending_[i] == ' ' || pending_[i] == '\t')) ++i;
        if (i > max_padding) return fail("malformed multipart body: a boundary line goes on");
        if (pending_.size() < i + 2) return status::more;
        if (pending_.compare(i, 2, "\r\n") != 0) return fail("malformed multipart body: a boundary is not followed by CRLF");
        pending_.erase(0, i + 2);
        state_ = state::headers;
        break;
      }
      case state::headers: {
        std::size_t end = pending_.compare(0, 2, "\r\n") == 0 ? 0 : pending_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (pending_.size() > max_part_headers) return fail("malformed multipart body: part headers over 8 KiB");
          return status::more;
        }
        if (end > max_part_headers) return fail("malformed multipart body: part headers over 8 KiB");
        if (!parse_headers(std::string_view(pending_.data(), end)))
          return fail("only one file per upload: the form has a second file part");
        pending_.erase(0, end == 0 ? 2 : end + 4);
        state_ = state::content;
        break;
      }
      case state::epilogue:
        pending_.clear();
        return status::done;
      case state::failed:
        return status::error;
    }
  }
}

multipart_reader::status multipart_reader::finish() {
  if (state_ == state::failed) return status::error;
  if (state_ != state::epilogue) return fail("the multipart body ended without its closing boundary");
  return status::done;
}

}  // namespace tether
