// libFuzzer target: tether::ws::frame_reader on hostile client bytes.
//
// Input layout:
//   byte 0        low 3 bits pick max_message_bytes from kLimits
//   byte 1        low 3 bits + 1 = k, the number of split sizes that follow
//   k bytes       split sizes (cycled): n -> feed n bytes; 0 -> an empty feed, then 1 byte
//   the rest      the byte stream a client sends
//
// The stream is fed three ways (all at once, in the chosen splits, one byte at a time) and
// compared with a small whole-buffer reference parser written from RFC 6455 and the header
// comment of ws_frame.hpp. All must produce the same events. Invariants checked on the way:
// feed() returns <= size, and == size unless it produced a protocol_error; after an error,
// failed() holds and later feeds consume 0 and add nothing; text payloads are valid UTF-8;
// message payloads fit max_message_bytes; control payloads fit 125 bytes; close codes are
// 1005 or a code a peer may send; protocol_error codes are 1002, 1007 or 1009.
// Then each event is written again with encode()/encode_close() (the server side), masked as
// a client would, and read back: it must come back the same (a close reason cut to at most
// 123 bytes at a code point boundary).
#include "fuzz/fuzz_check.hpp"
#include "proto/utf8.hpp"
#include "proto/ws_frame.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using tether::ws::event;
using tether::ws::frame_reader;

namespace {

constexpr std::size_t kLimits[8] = {0, 1, 16, 125, 126, 1024, 65536,
                                    std::numeric_limits<std::size_t>::max()};

bool peer_close_code(std::uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

const char* kind_name(event::kind_t k) {
  switch (k) {
    case event::text: return "text";
    case event::binary: return "binary";
    case event::ping: return "ping";
    case event::pong: return "pong";
    case event::close: return "close";
    case event::protocol_error: return "protocol_error";
  }
  return "?";
}

// Events are equal when kind and close code match; payloads too, except a protocol_error's
// (its reason is a diagnostic, compared only between the reader's own runs).
bool same(const event& a, const event& b, bool compare_error_text) {
  if (a.kind != b.kind || a.close_code != b.close_code) return false;
  if (a.kind == event::protocol_error && !compare_error_text) return true;
  return a.payload == b.payload;
}

void check_same(const std::vector<event>& a, const std::vector<event>& b, const char* what,
                bool compare_error_text) {
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i)
    FUZZ_CHECK(same(a[i], b[i], compare_error_text),
               "%s: event %zu differs: %s(%u, %zu bytes, \"%.40s\") vs %s(%u, %zu bytes, \"%.40s\")",
               what, i, kind_name(a[i].kind), a[i].close_code, a[i].payload.size(),
               a[i].payload.c_str(), kind_name(b[i].kind), b[i].close_code, b[i].payload.size(),
               b[i].payload.c_str());
  FUZZ_CHECK(a.size() == b.size(), "%s: %zu events vs %zu", what, a.size(), b.size());
}

void check_events(const std::vector<event>& ev, std::size_t max_message) {
  for (std::size_t i = 0; i < ev.size(); ++i) {
    const event& e = ev[i];
    switch (e.kind) {
      case event::text:
        FUZZ_CHECK(tether::valid_utf8(e.payload), "text event %zu is not valid UTF-8", i);
        [[fallthrough]];
      case event::binary:
        FUZZ_CHECK(e.payload.size() <= max_message, "message of %zu bytes > max %zu",
                   e.payload.size(), max_message);
        FUZZ_CHECK(e.close_code == 0, "message event with close_code %u", e.close_code);
        break;
      case event::ping:
      case event::pong:
        FUZZ_CHECK(e.payload.size() <= 125, "control payload of %zu bytes", e.payload.size());
        break;
      case event::close:
        FUZZ_CHECK(e.close_code == 1005 || peer_close_code(e.close_code), "close code %u",
                   e.close_code);
        FUZZ_CHECK(e.close_code != 1005 || e.payload.empty(), "1005 with a reason");
        FUZZ_CHECK(e.payload.size() <= 123, "close reason of %zu bytes", e.payload.size());
        FUZZ_CHECK(tether::valid_utf8(e.payload), "close reason is not valid UTF-8");
        break;
      case event::protocol_error:
        FUZZ_CHECK(e.close_code == 1002 || e.close_code == 1007 || e.close_code == 1009,
                   "protocol_error code %u", e.close_code);
        FUZZ_CHECK(!e.payload.empty(), "protocol_error without a reason");
        FUZZ_CHECK(i + 1 == ev.size(), "events after a protocol_error");
        break;
      default:
        FUZZ_CHECK(false, "unknown event kind %d", static_cast<int>(e.kind));
    }
  }
}

// One feed with the per-call invariants.
void feed_checked(frame_reader& r, const char* p, std::size_t n, std::vector<event>& out) {
  bool was_failed = r.failed();
  std::size_t before = out.size();
  std::size_t used = r.feed(p, n, out);
  FUZZ_CHECK(used <= n, "feed consumed %zu of %zu", used, n);
  if (was_failed) {
    FUZZ_CHECK(used == 0 && out.size() == before, "a failed reader consumed %zu bytes", used);
    return;
  }
  bool error_now = out.size() > before && out.back().kind == event::protocol_error;
  FUZZ_CHECK(r.failed() == error_now, "failed()=%d but protocol_error emitted=%d", r.failed(),
             error_now);
  if (!error_now) FUZZ_CHECK(used == n, "consumed %zu of %zu without an error", used, n);
  for (std::size_t i = before; i < out.size(); ++i)
    FUZZ_CHECK(out[i].kind != event::protocol_error || i + 1 == out.size(),
               "events after a protocol_error in one feed");
}

// ---- reference: the whole stream at once, straight from the rules -------------------------

std::uint64_t be(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

std::vector<event> reference(const unsigned char* p, std::size_t n, std::size_t max_message) {
  std::vector<event> out;
  auto fail = [&](std::uint16_t code) { out.push_back(event{event::protocol_error, "x", code}); };
  std::string message;
  bool in_message = false, is_text = false;
  std::size_t pos = 0;
  for (;;) {
    if (n - pos < 2) return out;
    unsigned b0 = p[pos], b1 = p[pos + 1];
    unsigned op = b0 & 0x0f;
    bool fin = b0 & 0x80;
    bool control = op >= 8;
    if (b0 & 0x70) return fail(1002), out;
    if (!(op <= 2 || (op >= 8 && op <= 10))) return fail(1002), out;
    if (!(b1 & 0x80)) return fail(1002), out;
    if (control && !fin) return fail(1002), out;
    if (control && (b1 & 0x7f) > 125) return fail(1002), out;
    if (!control && op == 0 && !in_message) return fail(1002), out;
    if (!control && op != 0 && in_message) return fail(1002), out;
    std::size_t len7 = b1 & 0x7f;
    std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    std::size_t hdr = 2 + ext + 4;
    if (n - pos < hdr) return out;
    std::uint64_t length = ext ? be(p + pos + 2, ext) : len7;
    if (length >> 63) return fail(1002), out;
    const unsigned char* key = p + pos + 2 + ext;
    if (!control && length > max_message - message.size()) return fail(1009), out;
    if (n - pos - hdr < length) return out;
    std::string payload(reinterpret_cast<const char*>(p + pos + hdr), length);
    for (std::size_t i = 0; i < payload.size(); ++i)
      payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
    pos += hdr + length;
    if (op == 8) {
      if (payload.empty()) {
        out.push_back(event{event::close, {}, 1005});
      } else if (payload.size() == 1) {
        return fail(1002), out;
      } else {
        auto code = static_cast<std::uint16_t>(be(reinterpret_cast<const unsigned char*>(payload.data()), 2));
        if (!peer_close_code(code)) return fail(1002), out;
        std::string reason = payload.substr(2);
        if (!tether::valid_utf8(reason)) return fail(1007), out;
        out.push_back(event{event::close, reason, code});
      }
    } else if (op == 9 || op == 10) {
      out.push_back(event{op == 9 ? event::ping : event::pong, payload, 0});
    } else {
      if (op != 0) in_message = true, is_text = op == 1;
      message += payload;
      if (fin) {
        if (is_text && !tether::valid_utf8(message)) return fail(1007), out;
        out.push_back(event{is_text ? event::text : event::binary, message, 0});
        message.clear();
        in_message = false;
      }
    }
  }
}

// ---- the writer: re-encode what was read, mask it as a client would, read it back ---------

// A server frame with the mask bit and an all-zero key added: what a client would send.
std::string as_client_frame(const std::string& f) {
  FUZZ_CHECK(f.size() >= 2 && !(f[1] & 0x80), "server frame is masked or short");
  std::size_t len7 = f[1] & 0x7f, hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
  FUZZ_CHECK(f.size() >= hdr, "short server header");
  std::string c = f.substr(0, hdr);
  c[1] = static_cast<char>(c[1] | 0x80);
  c.append(4, '\0');
  c.append(f, hdr, std::string::npos);
  return c;
}

// encode_close(code, reason) reads back as a close with `code` and `reason` cut to at most
// 123 bytes, at a code point boundary (so at most 3 bytes short of that).
void check_close_writer(std::uint16_t code, const std::string& reason) {
  std::vector<event> back;
  frame_reader r(0);
  std::string f = tether::ws::encode_close(code, reason);
  FUZZ_CHECK(f.size() <= 2 + 125, "close frame of %zu bytes", f.size());
  std::string c = as_client_frame(f);
  feed_checked(r, c.data(), c.size(), back);
  FUZZ_CHECK(back.size() == 1 && back[0].kind == event::close, "encode_close(%u, %zu bytes) did "
             "not read back: %s", code, reason.size(), back.empty() ? "-" : back[0].payload.c_str());
  FUZZ_CHECK(back[0].close_code == code, "close code %u read back as %u", code, back[0].close_code);
  const std::string& got = back[0].payload;
  std::size_t want = std::min<std::size_t>(reason.size(), 123);
  FUZZ_CHECK(code == 1005 ? got.empty()
                          : reason.compare(0, got.size(), got) == 0 && got.size() + 3 >= want,
             "reason of %zu bytes cut to %zu", reason.size(), got.size());
}

void check_writer(const event& e) {
  using tether::ws::opcode;
  switch (e.kind) {
    case event::text:
    case event::binary:
    case event::ping:
    case event::pong: {
      opcode op = e.kind == event::text ? opcode::text : e.kind == event::binary ? opcode::binary
                : e.kind == event::ping ? opcode::ping : opcode::pong;
      std::string f = tether::ws::encode(op, e.payload);
      FUZZ_CHECK(static_cast<unsigned char>(f[0]) == (0x80 | static_cast<unsigned>(op)),
                 "first byte 0x%02x", static_cast<unsigned char>(f[0]));
      std::string c = as_client_frame(f);
      std::vector<event> back;
      frame_reader r(std::numeric_limits<std::size_t>::max());
      feed_checked(r, c.data(), c.size(), back);
      FUZZ_CHECK(back.size() == 1 && same(back[0], e, true), "encode() did not read back");
      if (e.kind == event::text) check_close_writer(4000, e.payload);  // long UTF-8 reasons
      break;
    }
    case event::close:
      check_close_writer(e.close_code, e.payload);
      break;
    case event::protocol_error:
      check_close_writer(e.close_code, e.payload);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t max_message = kLimits[size > 0 ? data[0] & 7 : 3];
  std::size_t k = size > 1 ? (data[1] & 7) + 1 : 1;
  std::vector<std::size_t> splits;
  std::size_t at = 2;
  for (std::size_t i = 0; i < k && at < size; ++i) splits.push_back(data[at++]);
  if (splits.empty()) splits.push_back(1);
  if (at > size) at = size;
  const char* stream = reinterpret_cast<const char*>(data + at);
  std::size_t n = size - at;

  // 1. All at once.
  std::vector<event> whole;
  frame_reader a(max_message);
  feed_checked(a, stream, n, whole);
  check_events(whole, max_message);
  if (a.failed()) {
    std::vector<event> more;
    feed_checked(a, stream, n, more);  // consumes nothing
    static const char junk[] = "\x81\x80\0\0\0\0";
    feed_checked(a, junk, sizeof junk - 1, more);
    FUZZ_CHECK(more.empty(), "events after failure");
  }

  // 2. The chosen splits, with empty feeds where a split size is 0.
  std::vector<event> split;
  frame_reader b(max_message);
  std::size_t pos = 0, s = 0;
  while (pos < n) {
    std::size_t want = splits[s++ % splits.size()];
    if (want == 0) {
      feed_checked(b, stream + pos, 0, split);
      want = 1;
    }
    std::size_t len = want < n - pos ? want : n - pos;
    feed_checked(b, stream + pos, len, split);
    pos += len;
  }
  check_events(split, max_message);
  check_same(whole, split, "all-at-once vs split", true);
  FUZZ_CHECK(a.failed() == b.failed(), "failed() differs: %d vs %d", a.failed(), b.failed());

  // 3. One byte at a time (bounded: quadratic in nothing, but slow on big inputs).
  if (n <= 2048) {
    std::vector<event> bytes;
    frame_reader c(max_message);
    for (std::size_t i = 0; i < n; ++i) feed_checked(c, stream + i, 1, bytes);
    check_same(whole, bytes, "all-at-once vs byte-at-a-time", true);
  }

  // 4. The reference parser.
  std::vector<event> ref = reference(reinterpret_cast<const unsigned char*>(stream), n, max_message);
  check_same(ref, whole, "reference vs reader", false);

  // 5. What was read, written again by encode()/encode_close(), reads back the same.
  for (const event& e : whole) check_writer(e);
  return 0;
}
