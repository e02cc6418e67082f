#include "proto/ws_frame.hpp"

#include "proto/utf8.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tether::ws {

namespace {

constexpr std::size_t max_control_payload = 125;
// Buffers larger than this are freed rather than kept for the next message: an idle
// connection should hold no heap memory worth mentioning.
constexpr std::size_t keep_capacity = 4096;
// Upper bound on what a frame header alone can make us allocate up front; a client that
// announces a large frame and then trickles bytes must not pin a large buffer early.
constexpr std::size_t max_reserve = 64 * 1024;

constexpr unsigned char fin_bit = 0x80;
constexpr unsigned char rsv_bits = 0x70;
constexpr unsigned char mask_bit = 0x80;

bool is_control(std::uint8_t op) { return op >= 8; }

bool is_known_opcode(std::uint8_t op) {
  return op <= 2 || (op >= 8 && op <= 10);
}

// RFC 6455 7.4: codes a peer may send. 1004-1006 and 1015 are reserved for local use only.
bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

void release(std::string& s) {
  if (s.capacity() > keep_capacity) std::string().swap(s);
  else s.clear();
}

// Total header size once the first two bytes are known: base, extended length, masking key.
std::size_t header_size(unsigned char second) {
  std::size_t len7 = second & 0x7f;
  std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  return 2 + ext + ((second & mask_bit) ? 4 : 0);
}

std::uint64_t read_be(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// XORs with the key starting at `phase`; whole 8-byte words first since 8 is a multiple of 4.
void unmask(char* p, std::size_t n, const unsigned char key[4], unsigned phase) {
  unsigned char k[8];
  for (unsigned i = 0; i < 8; ++i) k[i] = key[(phase + i) & 3];
  std::uint64_t word_key;
  std::memcpy(&word_key, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= word_key;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ k[i & 7]);
}

void append_length(std::string& out, unsigned char first, std::size_t n) {
  out.push_back(static_cast<char>(first));
  if (n <= 125) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff));
  }
}

// Cuts at a code point boundary so a valid UTF-8 reason stays valid after truncation.
std::string_view cut_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace

std::string encode(opcode op, std::string_view payload) {
  std::string out;
  out.reserve(10 + payload.size());
  append_length(out, fin_bit | static_cast<unsigned char>(op), payload.size());
  out.append(payload);
  return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
  // 1005 means "no status code": RFC 6455 forbids sending it, so its frame has an empty body.
  if (code == 0 || code == 1005) return encode(opcode::close, {});
  std::string body;
  std::string_view cut = cut_utf8(reason, max_control_payload - 2);
  body.reserve(2 + cut.size());
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xff));
  body.append(cut);
  return encode(opcode::close, body);
}

frame_reader::frame_reader(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

std::size_t frame_reader::feed(const char* data, std::size_t size, std::vector<event>& out) {
  if (failed_) return 0;
  auto p = reinterpret_cast<const unsigned char*>(data);
  std::size_t pos = 0;
  while (pos < size && !failed_) {
    if (in_payload_) pos += take_payload(p + pos, size - pos, out);
    else pos += take_header(p + pos, size - pos, out);
  }
  return pos;
}

std::size_t frame_reader::take_header(const unsigned char* p, std::size_t n,
                                      std::vector<event>& out) {
  std::size_t used = 0;
  // The first two bytes decide the header size and carry most of the rules; check them
  // before waiting for the rest so a bad frame fails as early as possible.
  if (partial_.size() < 2) {
    used = std::min(n, 2 - partial_.size());
    partial_.append(reinterpret_cast<const char*>(p), used);
    if (partial_.size() < 2 || !check_first_bytes(out)) return used;
  }
  auto hdr = reinterpret_cast<const unsigned char*>(partial_.data());
  std::size_t need = header_size(hdr[1]) - partial_.size();
  std::size_t take = std::min(n - used, need);
  partial_.append(reinterpret_cast<const char*>(p + used), take);
  used += take;
  if (take == need && start_frame(out) && remaining_ == 0) finish_frame(out);
  return used;
}

bool frame_reader::check_first_bytes(std::vector<event>& out) {
  auto b0 = static_cast<unsigned char>(partial_[0]);
  auto b1 = static_cast<unsigned char>(partial_[1]);
  std::uint8_t op = b0 & 0x0f;
  if (b0 & rsv_bits) return fail(1002, "reserved bits set", out);
  if (!is_known_opcode(op)) return fail(1002, "unknown opcode", out);
  if (!(b1 & mask_bit)) return fail(1002, "unmasked client frame", out);
  if (is_control(op)) {
    if (!(b0 & fin_bit)) return fail(1002, "fragmented control frame", out);
    if ((b1 & 0x7f) > max_control_payload) return fail(1002, "control frame too long", out);
    return true;
  }
  bool continuation = op == static_cast<std::uint8_t>(opcode::continuation);
  if (continuation && !in_message_) return fail(1002, "unexpected continuation", out);
  if (!continuation && in_message_) return fail(1002, "expected continuation", out);
  return true;
}

// The header is complete: decode the length, enforce the size limit and set up the payload.
bool frame_reader::start_frame(std::vector<event>& out) {
  auto hdr = reinterpret_cast<const unsigned char*>(partial_.data());
  op_ = hdr[0] & 0x0f;
  fin_ = (hdr[0] & fin_bit) != 0;
  std::size_t len7 = hdr[1] & 0x7f;
  std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  std::uint64_t length = ext ? read_be(hdr + 2, ext) : len7;
  if (length >> 63) return fail(1002, "bad frame length", out);
  std::memcpy(mask_, hdr + 2 + ext, 4);
  mask_phase_ = 0;
  remaining_ = length;
  partial_.clear();
  in_payload_ = true;
  if (is_control(op_)) return true;

  if (length > max_message_bytes_ - message_.size()) return fail(1009, "message too big", out);
  if (op_ != static_cast<std::uint8_t>(opcode::continuation)) {
    in_message_ = true;
    message_is_text_ = op_ == static_cast<std::uint8_t>(opcode::text);
  }
  // Only the first fragment reserves; later ones rely on append's geometric growth.
  if (message_.empty())
    message_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(length, max_reserve)));
  return true;
}

std::size_t frame_reader::take_payload(const unsigned char* p, std::size_t n,
                                       std::vector<event>& out) {
  std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n));
  std::string& dest = is_control(op_) ? partial_ : message_;
  std::size_t old = dest.size();
  dest.append(reinterpret_cast<const char*>(p), take);
  unmask(&dest[old], take, mask_, mask_phase_);
  mask_phase_ = static_cast<std::uint8_t>((mask_phase_ + take) & 3);
  remaining_ -= take;
  if (remaining_ == 0) finish_frame(out);
  return take;
}

void frame_reader::finish_frame(std::vector<event>& out) {
  in_payload_ = false;
  switch (static_cast<opcode>(op_)) {
    case opcode::close:
      finish_close(out);
      break;
    case opcode::ping:
    case opcode::pong: {
      auto kind = op_ == static_cast<std::uint8_t>(opcode::ping) ? event::ping : event::pong;
      out.push_back(event{kind, std::move(partial_), 0});
      partial_.clear();
      break;
    }
    default:
      if (fin_) finish_message(out);
      break;
  }
}

void frame_reader::finish_close(std::vector<event>& out) {
  if (partial_.empty()) {
    out.push_back(event{event::close, {}, 1005});
    return;
  }
  if (partial_.size() == 1) {
    fail(1002, "close payload of one byte", out);
    return;
  }
  auto code = static_cast<std::uint16_t>(read_be(reinterpret_cast<const unsigned char*>(partial_.data()), 2));
  if (!valid_close_code(code)) {
    fail(1002, "invalid close code", out);
    return;
  }
  std::string_view reason(partial_.data() + 2, partial_.size() - 2);
  if (!valid_utf8(reason)) {
    fail(1007, "invalid UTF-8 in close reason", out);
    return;
  }
  out.push_back(event{event::close, std::string(reason), code});
  partial_.clear();
}

void frame_reader::finish_message(std::vector<event>& out) {
  if (message_is_text_ && !valid_utf8(message_)) {
    fail(1007, "invalid UTF-8", out);
    return;
  }
  out.push_back(event{message_is_text_ ? event::text : event::binary, std::move(message_), 0});
  release(message_);
  in_message_ = false;
}

// Frees buffers too: a failed reader is about to be dropped with its connection.
// Returns false so checks can `return fail(...)`.
bool frame_reader::fail(std::uint16_t code, const char* reason, std::vector<event>& out) {
  failed_ = true;
  in_payload_ = false;
  std::string().swap(partial_);
  std::string().swap(message_);
  out.push_back(event{event::protocol_error, reason, code});
  return false;
}

}  // namespace tether::ws
