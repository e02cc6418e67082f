#include "proto/ws_frame.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

using namespace tether::ws;

namespace {

constexpr unsigned char FIN = 0x80;
const std::array<unsigned char, 4> default_key{0x37, 0xfa, 0x21, 0x3d};

// A client frame as a browser sends it: masked, with the shortest length encoding.
// `first` is the whole first byte (FIN, RSV and opcode) so tests can set any bit.
std::string client_frame(unsigned char first, std::string_view payload, bool masked = true,
                         std::array<unsigned char, 4> key = default_key) {
  std::string f;
  f.push_back(static_cast<char>(first));
  unsigned char mask = masked ? 0x80 : 0;
  std::size_t n = payload.size();
  if (n <= 125) {
    f.push_back(static_cast<char>(mask | n));
  } else if (n <= 0xffff) {
    f.push_back(static_cast<char>(mask | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(mask | 127));
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((std::uint64_t(n) >> s) & 0xff));
  }
  if (masked) f.append(reinterpret_cast<const char*>(key.data()), 4);
  for (std::size_t i = 0; i < n; ++i)
    f.push_back(static_cast<char>(payload[i] ^ (masked ? key[i % 4] : 0)));
  return f;
}

std::string frame(opcode op, std::string_view payload, bool fin = true) {
  return client_frame(static_cast<unsigned char>((fin ? FIN : 0) | static_cast<unsigned char>(op)), payload);
}

// Only the header, claiming `length` bytes of payload.
std::string header_only(opcode op, std::uint64_t length, bool fin = true) {
  std::string f;
  f.push_back(static_cast<char>((fin ? FIN : 0) | static_cast<unsigned char>(op)));
  f.push_back(static_cast<char>(0x80 | 127));
  for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((length >> s) & 0xff));
  f.append(reinterpret_cast<const char*>(default_key.data()), 4);
  return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::vector<event> feed_all(frame_reader& r, std::string_view bytes) {
  std::vector<event> out;
  std::size_t used = r.feed(bytes.data(), bytes.size(), out);
  if (!r.failed()) {
    EXPECT_EQ(used, bytes.size());
  }
  return out;
}

std::vector<event> read_all(std::string_view bytes, std::size_t max = 1 << 20) {
  frame_reader r(max);
  return feed_all(r, bytes);
}

std::vector<event> read_bytewise(std::string_view bytes, std::size_t max = 1 << 20) {
  frame_reader r(max);
  std::vector<event> out;
  for (char c : bytes) {
    if (r.failed()) break;
    std::size_t used = r.feed(&c, 1, out);
    if (!r.failed()) {
      EXPECT_EQ(used, 1u);
    }
  }
  return out;
}

// The single protocol_error among `events`, or 0 if there is none.
std::uint16_t error_code(const std::vector<event>& events) {
  for (const auto& e : events)
    if (e.kind == event::protocol_error) return e.close_code;
  return 0;
}

std::uint16_t error_of(std::string_view bytes, std::size_t max = 1 << 20) {
  return error_code(read_all(bytes, max));
}

// Decodes a server frame: checks FIN, no mask, the shortest length form; returns the payload.
std::string parse_server_frame(const std::string& f, opcode expected_op, std::size_t expected_header) {
  EXPECT_GE(f.size(), 2u);
  auto b = reinterpret_cast<const unsigned char*>(f.data());
  EXPECT_EQ(b[0], FIN | static_cast<unsigned char>(expected_op));
  EXPECT_EQ(b[1] & 0x80, 0);
  std::size_t len7 = b[1] & 0x7f, header = 2;
  std::uint64_t len = len7;
  if (len7 == 126) len = (std::uint64_t(b[2]) << 8) | b[3], header = 4;
  if (len7 == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
    header = 10;
  }
  EXPECT_EQ(header, expected_header);
  EXPECT_EQ(f.size(), header + len);
  return f.substr(header);
}

}  // namespace

TEST(WsEncode, LengthForms) {
  const std::pair<std::size_t, std::size_t> cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}};
  for (auto [n, header] : cases) {
    std::string payload = pattern(n);
    EXPECT_EQ(parse_server_frame(encode(opcode::binary, payload), opcode::binary, header), payload) << n;
    EXPECT_EQ(parse_server_frame(encode(opcode::text, payload), opcode::text, header), payload) << n;
  }
}

TEST(WsEncode, ControlFrames) {
  EXPECT_EQ(encode(opcode::ping, "hb"), std::string("\x89\x02hb", 4));
  EXPECT_EQ(encode(opcode::pong, ""), std::string("\x8a\x00", 2));
}

TEST(WsEncode, Close) {
  EXPECT_EQ(encode_close(1000, "bye"), std::string("\x88\x05\x03\xe8" "bye", 7));
  EXPECT_EQ(encode_close(4001, ""), std::string("\x88\x02\x0f\xa1", 4));
  // No status code: an empty close frame, since 1005 must never be sent.
  EXPECT_EQ(encode_close(1005, "ignored"), std::string("\x88\x00", 2));
}

TEST(WsEncode, CloseReasonIsCutToFit) {
  std::string f = encode_close(1009, std::string(300, 'r'));
  EXPECT_EQ(parse_server_frame(f, opcode::close, 2), close_payload(1009, std::string(123, 'r')));
  // A cut never splits a UTF-8 sequence: 122 ASCII + a 2-byte 'é' would straddle the limit.
  std::string reason = std::string(122, 'r') + "\xc3\xa9";
  EXPECT_EQ(parse_server_frame(encode_close(1000, reason), opcode::close, 2),
            close_payload(1000, std::string(122, 'r')));
}

TEST(WsRead, RoundTripAtLengthBoundaries) {
  for (std::size_t n : {0, 1, 7, 8, 9, 125, 126, 65535, 65536}) {
    std::string payload = pattern(n);
    for (opcode op : {opcode::text, opcode::binary}) {
      auto ev = read_all(frame(op, payload));
      ASSERT_EQ(ev.size(), 1u) << n;
      EXPECT_EQ(ev[0].kind, op == opcode::text ? event::text : event::binary);
      EXPECT_EQ(ev[0].payload, payload) << n;
    }
  }
}

TEST(WsRead, ByteAtATime) {
  std::string bytes = frame(opcode::text, "hello") + frame(opcode::ping, "p") +
                      frame(opcode::binary, pattern(300)) + frame(opcode::text, "") +
                      frame(opcode::text, pattern(65536)) + frame(opcode::close, close_payload(1000, "done"));
  auto ev = read_bytewise(bytes);
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].payload, "hello");
  EXPECT_EQ(ev[1].kind, event::ping);
  EXPECT_EQ(ev[1].payload, "p");
  EXPECT_EQ(ev[2].payload, pattern(300));
  EXPECT_EQ(ev[3].kind, event::text);
  EXPECT_EQ(ev[3].payload, "");
  EXPECT_EQ(ev[4].payload, pattern(65536));
  EXPECT_EQ(ev[5].kind, event::close);
  EXPECT_EQ(ev[5].close_code, 1000);
  EXPECT_EQ(ev[5].payload, "done");
}

TEST(WsRead, EverySplitPointGivesTheSameEvents) {
  std::string bytes = frame(opcode::text, "abc", false) + frame(opcode::pong, "xyz") +
                      frame(opcode::continuation, pattern(130)) + frame(opcode::binary, pattern(20));
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    frame_reader r(1024);
    std::vector<event> ev;
    EXPECT_EQ(r.feed(bytes.data(), split, ev), split);
    EXPECT_EQ(r.feed(bytes.data() + split, bytes.size() - split, ev), bytes.size() - split);
    ASSERT_EQ(ev.size(), 3u) << split;
    EXPECT_EQ(ev[0].kind, event::pong);
    EXPECT_EQ(ev[0].payload, "xyz");
    EXPECT_EQ(ev[1].payload, "abc" + pattern(130));
    EXPECT_EQ(ev[2].kind, event::binary);
    EXPECT_EQ(ev[2].payload, pattern(20));
  }
}

TEST(WsRead, ManyFramesInOneFeed) {
  std::string bytes;
  for (int i = 0; i < 100; ++i) bytes += frame(opcode::text, std::to_string(i));
  auto ev = read_all(bytes);
  ASSERT_EQ(ev.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ev[i].payload, std::to_string(i));
}

TEST(WsRead, UnmaskingWithVariousKeys) {
  std::string payload = pattern(1000);
  for (std::array<unsigned char, 4> key : {std::array<unsigned char, 4>{0, 0, 0, 0},
                                           std::array<unsigned char, 4>{0xff, 0xff, 0xff, 0xff},
                                           std::array<unsigned char, 4>{1, 2, 3, 4}}) {
    auto ev = read_bytewise(client_frame(FIN | 2, payload, true, key));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].payload, payload);
  }
}

TEST(WsRead, FragmentationWithInterleavedControlFrames) {
  std::string bytes = frame(opcode::text, "Hel", false) + frame(opcode::ping, "p1") +
                      frame(opcode::continuation, "lo", false) + frame(opcode::pong, "") +
                      frame(opcode::continuation, "!", true);
  for (auto ev : {read_all(bytes), read_bytewise(bytes)}) {
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].kind, event::ping);
    EXPECT_EQ(ev[0].payload, "p1");
    EXPECT_EQ(ev[1].kind, event::pong);
    EXPECT_EQ(ev[2].kind, event::text);
    EXPECT_EQ(ev[2].payload, "Hello!");
  }
}

TEST(WsRead, BinaryFragmentsAndEmptyFinalFragment) {
  auto ev = read_all(frame(opcode::binary, std::string_view("\xff\x00", 2), false) + frame(opcode::continuation, "", true));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, event::binary);
  EXPECT_EQ(ev[0].payload, std::string("\xff\x00", 2));
}

TEST(WsRead, CloseInTheMiddleOfAMessage) {
  auto ev = read_all(frame(opcode::text, "par", false) + frame(opcode::close, close_payload(1001)));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, event::close);
  EXPECT_EQ(ev[0].close_code, 1001);
}

TEST(WsRead, UnmaskedFrameIs1002) {
  EXPECT_EQ(error_of(client_frame(FIN | 1, "hi", false)), 1002);
  EXPECT_EQ(error_of(client_frame(FIN | 9, "", false)), 1002);
}

TEST(WsRead, ReservedBitsAre1002) {
  for (unsigned char rsv : {0x40, 0x20, 0x10, 0x70})
    EXPECT_EQ(error_of(client_frame(FIN | rsv | 1, "hi")), 1002) << int(rsv);
}

TEST(WsRead, UnknownOpcodesAre1002) {
  for (unsigned char op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
    EXPECT_EQ(error_of(client_frame(FIN | op, "")), 1002) << int(op);
}

TEST(WsRead, FragmentedControlFrameIs1002) {
  EXPECT_EQ(error_of(frame(opcode::ping, "x", false)), 1002);
  EXPECT_EQ(error_of(frame(opcode::close, "", false)), 1002);
}

TEST(WsRead, ControlFrameLongerThan125Is1002) {
  EXPECT_TRUE(error_of(frame(opcode::ping, pattern(125))) == 0);
  EXPECT_EQ(error_of(frame(opcode::ping, pattern(126))), 1002);
  EXPECT_EQ(error_of(frame(opcode::pong, pattern(126))), 1002);
  EXPECT_EQ(error_of(frame(opcode::close, close_payload(1000, pattern(124)))), 1002);
}

TEST(WsRead, ContinuationWithoutMessageIs1002) {
  EXPECT_EQ(error_of(frame(opcode::continuation, "x")), 1002);
  EXPECT_EQ(error_of(frame(opcode::text, "done") + frame(opcode::continuation, "x")), 1002);
}

TEST(WsRead, NewMessageDuringFragmentedMessageIs1002) {
  EXPECT_EQ(error_of(frame(opcode::text, "a", false) + frame(opcode::text, "b")), 1002);
  EXPECT_EQ(error_of(frame(opcode::binary, "a", false) + frame(opcode::binary, "b")), 1002);
  EXPECT_EQ(error_of(frame(opcode::text, "a", false) + frame(opcode::binary, "b")), 1002);
}

TEST(WsRead, LengthWithTopBitSetIs1002) {
  EXPECT_EQ(error_of(header_only(opcode::binary, 1ULL << 63), SIZE_MAX), 1002);
}

TEST(WsRead, MaxMessageBytesBoundary) {
  const std::size_t max = 1000;
  auto ok = read_all(frame(opcode::text, pattern(max)), max);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].payload.size(), max);
  EXPECT_EQ(error_of(frame(opcode::text, pattern(max + 1)), max), 1009);
  EXPECT_EQ(error_of(frame(opcode::binary, pattern(max + 1)), max), 1009);
}

TEST(WsRead, TooBigIsDetectedFromTheHeaderAlone) {
  frame_reader r(65536);
  std::vector<event> ev;
  std::string h = header_only(opcode::binary, 65537);
  r.feed(h.data(), h.size(), ev);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(error_code(ev), 1009);

  // A huge announced length fails at once, without waiting for (or allocating) the payload.
  EXPECT_EQ(error_of(header_only(opcode::text, 1ULL << 40), 65536), 1009);
}

TEST(WsRead, MaxMessageBytesAcrossFragments) {
  const std::size_t max = 300;
  std::string exact = frame(opcode::text, pattern(100), false) + frame(opcode::ping, pattern(100)) +
                      frame(opcode::continuation, pattern(100), false) +
                      frame(opcode::continuation, pattern(100), true);
  auto ok = read_all(exact, max);
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[1].payload.size(), max);

  std::string over = frame(opcode::text, pattern(100), false) +
                     frame(opcode::continuation, pattern(100), false) +
                     frame(opcode::continuation, pattern(101), true);
  EXPECT_EQ(error_of(over, max), 1009);
  EXPECT_EQ(error_code(read_bytewise(over, max)), 1009);
}

TEST(WsRead, MaxMessageBytesIsPerMessage) {
  const std::size_t max = 100;
  std::string bytes = frame(opcode::text, pattern(100)) + frame(opcode::text, pattern(60), false) +
                      frame(opcode::continuation, pattern(40));
  auto ev = read_all(bytes, max);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(error_code(ev), 0);
}

TEST(WsRead, InvalidUtf8TextIs1007) {
  EXPECT_EQ(error_of(frame(opcode::text, "ok \xc0\xaf")), 1007);
  EXPECT_EQ(error_of(frame(opcode::text, "\xed\xa0\x80")), 1007);
  EXPECT_EQ(error_of(frame(opcode::text, "cut \xe2\x82")), 1007);
  // Binary is not checked.
  EXPECT_EQ(error_of(frame(opcode::binary, "\xc0\xaf")), 0);
}

TEST(WsRead, Utf8IsCheckedOnTheWholeMessage) {
  // "€" = e2 82 ac split across fragments: valid once reassembled.
  auto ev = read_all(frame(opcode::text, "\xe2", false) + frame(opcode::continuation, "\x82", false) +
                     frame(opcode::continuation, "\xac"));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, "\xe2\x82\xac");
  EXPECT_EQ(error_of(frame(opcode::text, "\xe2\x82", false) + frame(opcode::continuation, "x")), 1007);
}

TEST(WsRead, CloseWithoutPayloadIs1005) {
  auto ev = read_all(frame(opcode::close, ""));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, event::close);
  EXPECT_EQ(ev[0].close_code, 1005);
  EXPECT_EQ(ev[0].payload, "");
}

TEST(WsRead, CloseWithOneByteIs1002) { EXPECT_EQ(error_of(frame(opcode::close, "\x03")), 1002); }

TEST(WsRead, ValidCloseCodes) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4001, 4999}) {
    auto ev = read_all(frame(opcode::close, close_payload(code, "why")));
    ASSERT_EQ(ev.size(), 1u) << code;
    EXPECT_EQ(ev[0].kind, event::close) << code;
    EXPECT_EQ(ev[0].close_code, code);
    EXPECT_EQ(ev[0].payload, "why");
  }
}

TEST(WsRead, InvalidCloseCodesAre1002) {
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535})
    EXPECT_EQ(error_of(frame(opcode::close, close_payload(code))), 1002) << code;
}

TEST(WsRead, CloseReasonMustBeUtf8) {
  EXPECT_EQ(error_of(frame(opcode::close, close_payload(1000, "\xff"))), 1007);
  auto ev = read_all(frame(opcode::close, close_payload(1000, "tsch\xc3\xbcss")));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].payload, "tsch\xc3\xbcss");
}

TEST(WsRead, NothingIsConsumedAfterAnError) {
  frame_reader r(1024);
  std::vector<event> ev;
  std::string bad = client_frame(FIN | 1, "x", false) + frame(opcode::text, "later");
  std::size_t used = r.feed(bad.data(), bad.size(), ev);
  EXPECT_TRUE(r.failed());
  EXPECT_LT(used, bad.size());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, event::protocol_error);
  std::string more = frame(opcode::text, "more");
  EXPECT_EQ(r.feed(more.data(), more.size(), ev), 0u);
  EXPECT_EQ(ev.size(), 1u);
}

TEST(WsRead, EventsBeforeAnErrorAreKept) {
  auto ev = read_all(frame(opcode::text, "first") + frame(opcode::continuation, "x"));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].payload, "first");
  EXPECT_EQ(ev[1].kind, event::protocol_error);
  EXPECT_EQ(ev[1].close_code, 1002);
}

TEST(WsRead, ErrorsAreFoundWhenFedByteAtATime) {
  EXPECT_EQ(error_code(read_bytewise(client_frame(FIN | 0x40 | 1, "x"))), 1002);
  EXPECT_EQ(error_code(read_bytewise(frame(opcode::text, "\xc0\xaf"))), 1007);
  EXPECT_EQ(error_code(read_bytewise(frame(opcode::close, "\x03"))), 1002);
  EXPECT_EQ(error_code(read_bytewise(frame(opcode::text, pattern(11)), 10)), 1009);
}

TEST(WsRead, ReaderIsReusableAcrossManyMessages) {
  frame_reader r(1 << 20);
  for (int i = 0; i < 50; ++i) {
    std::vector<event> ev = feed_all(r, frame(opcode::binary, pattern(i % 2 ? 100000 : 10)));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].payload.size(), i % 2 ? 100000u : 10u);
  }
  EXPECT_FALSE(r.failed());
}
