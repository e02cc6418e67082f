#pragma once
// RFC 6455 framing for the data phase of a connection: a server-side writer of pre-framed
// frames (unmasked, FIN set) and an incremental reader of client frames. Pure code: no sockets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tether::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// A whole server frame: header followed by payload.
std::string encode(opcode op, std::string_view payload);
// A close frame with a status code and a reason (reason is cut to fit 125 bytes).
std::string encode_close(std::uint16_t code, std::string_view reason);

struct event {
  enum kind_t { text, binary, ping, pong, close, protocol_error } kind = text;
  std::string payload;          // message or control payload, unmasked; close: the reason
  std::uint16_t close_code = 0; // close: the peer's code (1005 if none); protocol_error: the code to close with
};

// Reads client frames: checks masking, RSV bits, opcodes, control frame rules, reassembles
// fragments, enforces max_message_bytes on the whole message (N passes, N+1 -> 1009, detected
// from the header before buffering), and validates UTF-8 of text messages and close reasons (1007).
// Other violations -> 1002. After a protocol_error the reader consumes nothing more.
class frame_reader {
public:
  explicit frame_reader(std::size_t max_message_bytes);
  // Consumes bytes, appending complete events to `out`. Returns how many bytes were consumed:
  // all of them, unless a protocol_error was produced.
  std::size_t feed(const char* data, std::size_t size, std::vector<event>& out);
  bool failed() const { return failed_; }

private:
  std::size_t take_header(const unsigned char* p, std::size_t n, std::vector<event>& out);
  std::size_t take_payload(const unsigned char* p, std::size_t n, std::vector<event>& out);
  bool check_first_bytes(std::vector<event>& out);
  bool start_frame(std::vector<event>& out);
  void finish_frame(std::vector<event>& out);
  void finish_close(std::vector<event>& out);
  void finish_message(std::vector<event>& out);
  bool fail(std::uint16_t code, const char* reason, std::vector<event>& out);

  std::size_t max_message_bytes_;
  std::string partial_;       // bytes of an incomplete frame header, then a control frame's payload
  std::string message_;       // fragments of a message in progress
  std::uint64_t remaining_ = 0;  // payload bytes of the current frame not yet read
  unsigned char mask_[4] = {};   // the current frame's masking key
  std::uint8_t mask_phase_ = 0;  // payload bytes read so far, mod 4
  std::uint8_t op_ = 0;          // the current frame's opcode
  bool fin_ = false;
  bool in_payload_ = false;      // header complete, reading payload
  bool in_message_ = false;
  bool message_is_text_ = false;
  bool failed_ = false;
};

}  // namespace tether::ws
