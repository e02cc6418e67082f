// Unit tests for proto/codec (PROTOCOL.md §1, §5, §11).
#include "proto/codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace json = boost::json;
using namespace tether::codec;
using tether::frame;

namespace {

client_message ok(std::string_view text) {
  decoded d = decode(text);
  if (auto* e = std::get_if<decode_error>(&d)) {
    ADD_FAILURE() << "decode(" << text << ") failed: " << to_string(e->code) << ": " << e->message;
    return {};
  }
  return std::get<client_message>(d);
}

decode_error bad(std::string_view text) {
  decoded d = decode(text);
  if (auto* m = std::get_if<client_message>(&d)) {
    ADD_FAILURE() << "decode(" << text << ") unexpectedly succeeded as " << type_name(*m);
    return {};
  }
  return std::get<decode_error>(d);
}

// Decodes `text`, fails the test unless it decodes to exactly the alternative T, returns it.
template <class T>
T as(std::string_view text) {
  client_message m = ok(text);
  if (T* t = std::get_if<T>(&m)) return std::move(*t);
  ADD_FAILURE() << "decode(" << text << ") gave " << type_name(m) << ", not "
                << type_name(client_message(T{}));
  return T{};
}

std::string jstr(const std::string& s) { return "\"" + s + "\""; }

// Payload of a server frame: checks FIN + text opcode, no mask, and the 2/4/10-byte header.
std::string frame_payload(const std::string& f) {
  EXPECT_GE(f.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 0x81);  // FIN, text
  auto b1 = static_cast<unsigned char>(f[1]);
  EXPECT_EQ(b1 & 0x80, 0);  // servers do not mask
  std::size_t len = b1 & 0x7F, header = 2;
  if (len == 126) {
    len = (static_cast<unsigned char>(f[2]) << 8) | static_cast<unsigned char>(f[3]);
    header = 4;
    EXPECT_GE(len, 126u);
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(f[2 + i]);
    header = 10;
    EXPECT_GT(len, 65535u);
  }
  EXPECT_EQ(f.size(), header + len);
  return f.substr(header);
}

// The JSON of a server frame, which must be one whole text frame holding one JSON object.
json::object frame_json(const frame& f) {
  EXPECT_TRUE(f);
  if (!f) return {};
  json::error_code ec;
  json::value v = json::parse(frame_payload(*f), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(v.is_object()) << v;
  return v.is_object() ? v.get_object() : json::object{};
}

// The object's keys in the order they were written.
std::vector<std::string> keys(const json::object& o) {
  std::vector<std::string> k;
  for (const auto& kv : o) k.emplace_back(kv.key());
  return k;
}

template <std::size_t... I>
std::vector<std::string> all_type_names(std::index_sequence<I...>) {
  return {type_name(client_message(std::in_place_index<I>))...};
}

}  // namespace

// ---- enums and helpers ----------------------------------------------------------------------

TEST(Codec, ErrorCodesHaveWireSpelling) {
  const std::pair<err, const char*> spellings[] = {
      {err::bad_json, "bad_json"},         {err::unsupported_frame, "unsupported_frame"},
      {err::unknown_type, "unknown_type"}, {err::invalid_field, "invalid_field"},
      {err::unauthorized, "unauthorized"}, {err::forbidden, "forbidden"},
      {err::not_found, "not_found"},       {err::rate_limited, "rate_limited"},
      {err::room_full, "room_full"},       {err::capacity, "capacity"},
      {err::conflict, "conflict"},         {err::too_large, "too_large"},
      {err::internal, "internal"},
  };
  for (auto [e, wire] : spellings) EXPECT_STREQ(to_string(e), wire);
}

TEST(Codec, MessageTypesHaveWireSpelling) {
  // Every alternative of the variant has a name (a new one fails here until it is listed), and
  // its wire name decodes back to that alternative.
  std::vector<std::string> names =
      all_type_names(std::make_index_sequence<std::variant_size_v<client_message>>{});
  EXPECT_EQ(names, (std::vector<std::string>{"connect", "register", "file_uploaded", "file_removed",
                                             "post_submitted", "ping", "before_disconnect", "join_room",
                                             "leave_room", "publish", "watch_rooms", "unwatch_rooms", "subscribe",
                                             "unsubscribe", "message", "message_read", "typing", "history"}));
  for (std::size_t i = 0; i < names.size(); ++i) {
    client_message m = ok(R"({"type":")" + names[i] +
                          R"(","file_id":"f","room_id":"r","data":1,"channel":"feed","content":"c","message_id":1})");
    EXPECT_EQ(m.index(), i) << names[i];
  }
}

TEST(Codec, BadFrameCodesFollowSection11) {
  EXPECT_TRUE(counts_as_bad_frame(err::bad_json));
  EXPECT_TRUE(counts_as_bad_frame(err::unsupported_frame));
  EXPECT_TRUE(counts_as_bad_frame(err::unknown_type));
  EXPECT_TRUE(counts_as_bad_frame(err::invalid_field));
  for (err e : {err::unauthorized, err::forbidden, err::not_found, err::rate_limited, err::room_full,
                err::capacity, err::conflict, err::too_large, err::internal})
    EXPECT_FALSE(counts_as_bad_frame(e)) << to_string(e);
}

TEST(Codec, BinaryFrameError) {
  decode_error e = binary_frame_error();
  EXPECT_EQ(e.code, err::unsupported_frame);
  EXPECT_EQ(e.message, "binary frames are not supported; send JSON text frames");
  EXPECT_TRUE(e.ref.is_null());
  EXPECT_TRUE(e.field.empty());
}

// ---- id rules -----------------------------------------------------------------------------

TEST(Codec, IdBoundaries) {
  EXPECT_TRUE(valid_id("a"));
  EXPECT_TRUE(valid_id(std::string(128, 'x')));
  EXPECT_FALSE(valid_id(std::string(129, 'x')));
  EXPECT_FALSE(valid_id(""));
  EXPECT_TRUE(valid_id("AZaz09_.:@-"));
  EXPECT_TRUE(valid_id("dm:alice:bob"));
  for (const char* s : {"a b", "a/b", "a\\b", "a\"b", "é", "a\tb", "a+b", "a#b", "a%b", "a,b"})
    EXPECT_FALSE(valid_id(s)) << s;
  EXPECT_FALSE(valid_id(std::string_view("a\0b", 3)));

  EXPECT_TRUE(valid_user_id("alice@example.com"));
  EXPECT_TRUE(valid_user_id("AZaz09_.@-"));
  EXPECT_TRUE(valid_user_id(std::string(128, 'u')));
  EXPECT_FALSE(valid_user_id(std::string(129, 'u')));
  EXPECT_FALSE(valid_user_id(""));
  EXPECT_FALSE(valid_user_id("dm:alice"));  // ':' only in other ids
  EXPECT_FALSE(valid_user_id("a b"));
}

// ---- bad_json -----------------------------------------------------------------------------

TEST(Codec, InvalidJsonIsBadJson) {
  for (const char* text : {"", "{", "{\"type\":\"ping\"", "nope", "{\"type\":\"ping\",}",
                           "{\"type\":\"ping\"} // comment", "/* c */ {\"type\":\"ping\"}",
                           "{\"type\":\"ping\"} {}", "{'type':'ping'}"}) {
    decode_error e = bad(text);
    EXPECT_EQ(e.code, err::bad_json) << text;
    EXPECT_TRUE(e.field.empty()) << text;
    EXPECT_FALSE(e.message.empty());
    EXPECT_TRUE(e.ref.is_null());
  }
}

TEST(Codec, JsonThatIsNotAnObjectIsBadJson) {
  for (const char* text : {"[]", "[{\"type\":\"ping\"}]", "\"ping\"", "1", "null", "true"}) {
    decode_error e = bad(text);
    EXPECT_EQ(e.code, err::bad_json) << text;
    EXPECT_TRUE(e.field.empty());
  }
}

TEST(Codec, TooDeepIsBadJson) {
  std::string deep = "{\"type\":\"ping\",\"x\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(bad(deep).code, err::bad_json);
}

// ---- type ---------------------------------------------------------------------------------

TEST(Codec, MissingOrNonStringTypeIsInvalidField) {
  for (const char* text : {"{}", "{\"type\":null}", "{\"type\":1}", "{\"type\":[\"ping\"]}",
                           "{\"type\":{}}", "{\"Type\":\"ping\"}", "{\"type\":true}"}) {
    decode_error e = bad(text);
    EXPECT_EQ(e.code, err::invalid_field) << text;
    EXPECT_EQ(e.field, "type") << text;
    EXPECT_NE(e.message.find("type"), std::string::npos);
  }
}

TEST(Codec, UnknownTypeNamesIt) {
  decode_error e = bad(R"({"type":"fly"})");
  EXPECT_EQ(e.code, err::unknown_type);
  EXPECT_NE(e.message.find("fly"), std::string::npos) << e.message;
  EXPECT_TRUE(e.field.empty());

  EXPECT_EQ(bad(R"({"type":""})").code, err::unknown_type);
  EXPECT_EQ(bad(R"({"type":"PING"})").code, err::unknown_type);
  EXPECT_EQ(bad(R"({"type":"register_files"})").code, err::unknown_type);  // enum name, not wire name
}

TEST(Codec, UnknownTypeMessageIsBoundedAndValidUtf8) {
  // 100 two-byte characters: a cut at 64 bytes must not split one.
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\xC3\xA9";
  decode_error e = bad("{\"type\":\"x" + name + "\"}");
  EXPECT_EQ(e.code, err::unknown_type);
  EXPECT_LT(e.message.size(), 120u);
  frame f = error_frame(e.code, e.message, e.ref);
  json::error_code ec;
  json::parse(frame_payload(*f), ec);  // Boost.JSON refuses invalid UTF-8
  EXPECT_FALSE(ec) << ec.message();
}

// ---- channels (§7, §11) ----------------------------------------------------------------------

TEST(Codec, Subscribe) {
  auto m = as<subscribe_msg>(R"({"type":"subscribe","channel":"messages/dm:alice:bob","since_id":12,"ref":3})");
  EXPECT_EQ(m.channel, "messages/dm:alice:bob");
  EXPECT_EQ(m.since_id, 12);
  EXPECT_EQ(m.ref, json::value(3));
  for (const char* c : {"feed", "online", "notifications", "connections"})
    EXPECT_EQ(as<subscribe_msg>(std::string(R"({"type":"subscribe","channel":")") + c + "\"}").channel, c);
  EXPECT_FALSE(as<subscribe_msg>(R"({"type":"subscribe","channel":"feed"})").since_id);
  EXPECT_EQ(as<unsubscribe_msg>(R"({"type":"unsubscribe","channel":"online"})").channel, "online");
}

TEST(Codec, SubscribeRefusesUnknownChannelsAndBadIds) {
  for (const char* body : {R"({"type":"subscribe"})", R"({"type":"subscribe","channel":"news"})",
                           R"({"type":"subscribe","channel":"messages/"})",
                           R"({"type":"subscribe","channel":"messages/a b"})", R"({"type":"subscribe","channel":7})",
                           R"({"type":"unsubscribe","channel":"Feed"})"}) {
    auto e = bad(body);
    EXPECT_EQ(e.code, err::invalid_field) << body;
    EXPECT_EQ(e.field, "channel") << body;
  }
  EXPECT_EQ(bad(R"({"type":"subscribe","channel":"feed","since_id":-1})").field, "since_id");
  EXPECT_EQ(bad(R"({"type":"subscribe","channel":"feed","since_id":"3"})").field, "since_id");
  EXPECT_EQ(bad(R"({"type":"subscribe","channel":"feed","since_id":1.5})").field, "since_id");
  std::string long_chat(301, 'c');
  EXPECT_EQ(bad(R"({"type":"subscribe","channel":"messages/)" + long_chat + "\"}").field, "channel");
  EXPECT_EQ(as<subscribe_msg>(R"({"type":"subscribe","channel":"messages/)" + long_chat.substr(1) + "\"}").channel,
            "messages/" + long_chat.substr(1));  // 300 bytes pass
}

TEST(Codec, ChatMessage) {
  auto m = as<chat_message_msg>(
      R"({"type":"message","chat_id":"team-1","content":"héllo","attachment":{"url":"/f/1"},"client_msg_id":"c-1"})");
  EXPECT_EQ(m.chat_id, "team-1");
  EXPECT_EQ(m.content, "héllo");
  EXPECT_EQ(json::serialize(m.attachment), R"({"url":"/f/1"})");
  EXPECT_EQ(m.client_msg_id, "c-1");
  auto bare = as<chat_message_msg>(R"({"type":"message","content":""})");  // the endpoint names the chat
  EXPECT_EQ(bare.chat_id, "");
  EXPECT_TRUE(bare.attachment.is_null());
  EXPECT_FALSE(bare.client_msg_id);
  EXPECT_EQ(bad(R"({"type":"message","chat_id":"c"})").field, "content");
  EXPECT_EQ(bad(R"({"type":"message","chat_id":"c","content":5})").field, "content");
  EXPECT_EQ(bad(R"({"type":"message","chat_id":"c d","content":"x"})").field, "chat_id");
  EXPECT_EQ(bad(R"({"type":"message","content":"x","client_msg_id":"a b"})").field, "client_msg_id");
}

TEST(Codec, ReadsTypingAndHistory) {
  auto r = as<message_read_msg>(R"({"type":"message_read","chat_id":"c","message_id":9})");
  EXPECT_EQ(r.message_id, 9);
  EXPECT_EQ(bad(R"({"type":"message_read","chat_id":"c"})").field, "message_id");
  EXPECT_EQ(bad(R"({"type":"message_read","chat_id":"c","message_id":0})").field, "message_id");

  EXPECT_TRUE(as<typing_msg>(R"({"type":"typing","chat_id":"c"})").is_typing);
  EXPECT_FALSE(as<typing_msg>(R"({"type":"typing","chat_id":"c","is_typing":false})").is_typing);
  EXPECT_EQ(bad(R"({"type":"typing","is_typing":"no"})").field, "is_typing");

  auto h = as<history_msg>(R"({"type":"history","chat_id":"c"})");
  EXPECT_EQ(h.limit, 50);
  EXPECT_FALSE(h.before_id);
  h = as<history_msg>(R"({"type":"history","chat_id":"c","before_id":40,"limit":500})");
  EXPECT_EQ(h.limit, 200);  // clamped (§11), not refused
  EXPECT_EQ(h.before_id, 40);
  EXPECT_EQ(bad(R"({"type":"history","limit":0})").field, "limit");
  EXPECT_EQ(bad(R"({"type":"history","before_id":0})").field, "before_id");
}

// ---- rooms --------------------------------------------------------------------------------

TEST(Codec, JoinRoom) {
  auto m = as<join_room_msg>(R"({"type":"join_room","room_id":"study:42","display_name":"Ada L.","ref":1})");
  EXPECT_EQ(m.room_id, "study:42");
  EXPECT_EQ(m.display_name, "Ada L.");
  EXPECT_EQ(m.ref, json::value(1));
  EXPECT_FALSE(as<join_room_msg>(R"({"type":"join_room","roomId":"r"})").display_name);
  EXPECT_EQ(as<join_room_msg>(R"({"type":"join_room","room_id":"r","displayName":"Zoë"})").display_name, "Zoë");
}

TEST(Codec, JoinRoomFieldErrors) {
  struct tc { std::string text; const char* field; };
  for (const tc& c : std::vector<tc>{
           {R"({"type":"join_room"})", "room_id"},
           {R"({"type":"join_room","room_id":"a b"})", "room_id"},
           {R"({"type":"join_room","room_id":"r","display_name":""})", "display_name"},
           {R"({"type":"join_room","room_id":"r","display_name":7})", "display_name"},
           {R"({"type":"join_room","room_id":"r","display_name":"a\u0007b"})", "display_name"},
           {R"({"type":"join_room","room_id":"r","display_name":")" + std::string(129, 'n') + "\"}", "display_name"},
           {R"({"type":"leave_room"})", "room_id"},
           {R"({"type":"publish","room_id":"r"})", "data"},
           {R"({"type":"publish","room_id":"r","data":null})", "data"},
           {R"({"type":"publish","data":1})", "room_id"},
       }) {
    decode_error e = bad(c.text);
    EXPECT_EQ(e.code, err::invalid_field) << c.text;
    EXPECT_EQ(e.field, c.field) << c.text;
  }
  EXPECT_EQ(as<join_room_msg>(R"({"type":"join_room","room_id":"r","display_name":")" + std::string(128, 'n') + "\"}")
                .display_name->size(),
            128u);
}

TEST(Codec, PublishKeepsAnyData) {
  for (const char* data : {R"(1)", R"("s")", R"([1,{"a":[]}])", R"({"sdp":"v=0\r\n"})", R"(false)"}) {
    auto m = as<publish_msg>(std::string(R"({"type":"publish","room_id":"r","data":)") + data + "}");
    EXPECT_EQ(m.room_id, "r");
    EXPECT_EQ(m.data, json::parse(data)) << data;
  }
}

TEST(Codec, WatchAndUnwatchRooms) {
  EXPECT_EQ(as<watch_rooms_msg>(R"({"type":"watch_rooms","ref":"w"})").ref, json::value("w"));
  as<unwatch_rooms_msg>(R"({"type":"unwatch_rooms"})");
}

TEST(ServerCodec, RoomMessages) {
  room_joined j{"r1", {{"u1", "s_1", "U One", "2026-01-01T00:00:00.000Z"}}, 1, 50, json::value("x")};
  EXPECT_EQ(frame_json(encode(j)),
            json::parse(R"({"type":"room_joined","room_id":"r1","participants":[{"user_id":"u1","session_id":"s_1",)"
                        R"("display_name":"U One","joined_at":"2026-01-01T00:00:00.000Z"}],"occupancy":1,"capacity":50,"ref":"x"})"));
  EXPECT_EQ(frame_json(encode(user_joined{"r1", "u2", "Two"})),
            json::parse(R"({"type":"user_joined","room_id":"r1","user_id":"u2","display_name":"Two"})"));
  EXPECT_EQ(frame_json(encode(room_left{"r1", nullptr})), json::parse(R"({"type":"room_left","room_id":"r1"})"));
  EXPECT_EQ(frame_json(encode(user_left{"r1", "u2", "timeout"})),
            json::parse(R"({"type":"user_left","room_id":"r1","user_id":"u2","reason":"timeout"})"));
  EXPECT_EQ(frame_json(encode(room_message{"r1", "u2", json::parse(R"({"k":[1]})")})),
            json::parse(R"({"type":"room_message","room_id":"r1","user_id":"u2","data":{"k":[1]}})"));
  EXPECT_EQ(frame_json(encode(session_switched{"r1", "s_2"})),
            json::parse(R"({"type":"session_switched","room_id":"r1","session_id":"s_2"})"));
  EXPECT_EQ(frame_json(encode(room_list{{{"r1", 2, 50}}, json::value(3)})),
            json::parse(R"({"type":"room_list","rooms":[{"room_id":"r1","occupancy":2,"capacity":50}],"ref":3})"));
  EXPECT_EQ(frame_json(encode(room_occupancy_update{"r1", 0})),
            json::parse(R"({"type":"room_occupancy_update","room_id":"r1","occupancy":0})"));
  EXPECT_EQ(frame_json(encode(ack_unwatch_rooms{json::value("u")})),
            json::parse(R"({"type":"ack","for":"unwatch_rooms","ref":"u"})"));
}

// ---- ref ----------------------------------------------------------------------------------

TEST(Codec, RefIsKeptOnMessages) {
  EXPECT_EQ(as<ping_msg>(R"({"type":"ping","ref":"abc"})").ref, json::value("abc"));
  EXPECT_EQ(as<ping_msg>(R"({"type":"ping","ref":42})").ref, json::value(42));
  EXPECT_EQ(as<ping_msg>(R"({"type":"ping","ref":-3})").ref, json::value(-3));
  EXPECT_EQ(as<ping_msg>(R"({"type":"ping","ref":18446744073709551615})").ref,
            json::value(std::uint64_t(18446744073709551615ull)));
  EXPECT_TRUE(as<ping_msg>(R"({"type":"ping"})").ref.is_null());
  EXPECT_TRUE(as<ping_msg>(R"({"type":"ping","ref":null})").ref.is_null());  // null counts as absent
}

TEST(Codec, RefOfEveryType) {
  // ref_of reads the ref of whichever alternative it is.
  for (const char* text :
       {R"({"type":"connect","ref":"r"})", R"({"type":"register","ref":"r"})",
        R"({"type":"file_uploaded","file_id":"f","ref":"r"})",
        R"({"type":"file_removed","file_id":"f","ref":"r"})", R"({"type":"post_submitted","ref":"r"})",
        R"({"type":"ping","ref":"r"})", R"({"type":"before_disconnect","ref":"r"})"}) {
    EXPECT_EQ(ref_of(ok(text)), json::value("r")) << text;
  }
  EXPECT_TRUE(ref_of(ok(R"({"type":"register"})")).is_null());
}

TEST(Codec, RefIsEchoedInErrors) {
  decode_error e = bad(R"({"type":"file_uploaded","ref":"r-1"})");
  EXPECT_EQ(e.code, err::invalid_field);
  EXPECT_EQ(e.ref, json::value("r-1"));

  e = bad(R"({"type":"file_uploaded","ref":9})");
  EXPECT_EQ(e.ref, json::value(9));

  e = bad(R"({"type":"nope","ref":"u"})");
  EXPECT_EQ(e.code, err::unknown_type);
  EXPECT_EQ(e.ref, json::value("u"));

  e = bad(R"({"ref":"t"})");
  EXPECT_EQ(e.field, "type");
  EXPECT_EQ(e.ref, json::value("t"));
}

TEST(Codec, RefOfWrongTypeIsInvalidField) {
  for (const char* ref : {"1.5", "1e3", "true", "[1]", "{\"a\":1}"}) {
    decode_error e = bad(std::string(R"({"type":"ping","ref":)") + ref + "}");
    EXPECT_EQ(e.code, err::invalid_field) << ref;
    EXPECT_EQ(e.field, "ref") << ref;
    EXPECT_TRUE(e.ref.is_null()) << ref;  // an invalid ref is not echoed
  }
  // A bad ref is not echoed in other errors either.
  decode_error e = bad(R"({"type":"nope","ref":[1]})");
  EXPECT_TRUE(e.ref.is_null());
}

// ---- connect ------------------------------------------------------------------------------

TEST(Codec, ConnectSnakeCase) {
  // as<connect_msg>: exactly a connect (which has no file_id or file_ids to check).
  connect_msg m = as<connect_msg>(R"({"type":"connect","token":"t.k.n","resume_token":"R1","user_id":"alice"})");
  EXPECT_EQ(m.token, "t.k.n");
  EXPECT_EQ(m.resume_token, "R1");
  EXPECT_EQ(m.user_id, "alice");
}

TEST(Codec, ConnectCamelCaseAndEmpty) {
  connect_msg m = as<connect_msg>(R"({"type":"connect","userId":"bob"})");
  EXPECT_EQ(m.user_id, "bob");
  EXPECT_FALSE(m.token);

  m = as<connect_msg>(R"({"type":"connect"})");
  EXPECT_FALSE(m.token);
  EXPECT_FALSE(m.resume_token);
  EXPECT_FALSE(m.user_id);

  m = as<connect_msg>(R"({"type":"connect","token":null,"user_id":null})");
  EXPECT_FALSE(m.token);
  EXPECT_FALSE(m.user_id);
}

TEST(Codec, SnakeCaseWinsOverCamelCase) {
  EXPECT_EQ(as<connect_msg>(R"({"type":"connect","userId":"camel","user_id":"snake"})").user_id, "snake");
  EXPECT_EQ(as<connect_msg>(R"({"type":"connect","user_id":"snake","userId":"camel"})").user_id, "snake");
  // null snake_case counts as absent: the alias is used
  EXPECT_EQ(as<connect_msg>(R"({"type":"connect","user_id":null,"userId":"camel"})").user_id, "camel");
  // the winner is the one validated
  EXPECT_EQ(as<connect_msg>(R"({"type":"connect","user_id":"ok","userId":"not ok"})").user_id, "ok");
}

TEST(Codec, ConnectFieldErrors) {
  struct tc { const char* text; const char* field; };
  for (tc c : std::initializer_list<tc>{
           {R"({"type":"connect","token":""})", "token"},
           {R"({"type":"connect","token":5})", "token"},
           {R"({"type":"connect","resume_token":""})", "resume_token"},
           {R"({"type":"connect","resume_token":[]})", "resume_token"},
           {R"({"type":"connect","user_id":"a:b"})", "user_id"},
           {R"({"type":"connect","userId":"a:b"})", "user_id"},
           {R"({"type":"connect","user_id":7})", "user_id"},
           {R"({"type":"connect","user_id":""})", "user_id"},
       }) {
    decode_error e = bad(c.text);
    EXPECT_EQ(e.code, err::invalid_field) << c.text;
    EXPECT_EQ(e.field, c.field) << c.text;
    EXPECT_EQ(e.message.rfind(c.field, 0), 0u) << e.message;  // message starts with the field
  }
  decode_error e = bad(R"({"type":"connect","user_id":"a:b"})");
  EXPECT_EQ(e.message, "user_id must be 1-128 characters of [A-Za-z0-9_.@-]");
}

TEST(Codec, TokenLength) {
  std::string t8192(8192, 't'), t8193(8193, 't');
  auto token = as<connect_msg>(R"({"type":"connect","token":)" + jstr(t8192) + "}").token;
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 8192u);
  decode_error e = bad(R"({"type":"connect","token":)" + jstr(t8193) + "}");
  EXPECT_EQ(e.code, err::invalid_field);
  EXPECT_EQ(e.field, "token");
  e = bad(R"({"type":"connect","resume_token":)" + jstr(t8193) + "}");
  EXPECT_EQ(e.field, "resume_token");
}

// ---- register -----------------------------------------------------------------------------

TEST(Codec, RegisterSnakeCase) {
  register_msg m = as<register_msg>(
      R"({"type":"register","user_id":"alice","file_ids":["f1","f:2"],"draft_id":"d:1","token":"T","resume_token":"R","ref":"x"})");
  EXPECT_EQ(m.user_id, "alice");
  EXPECT_EQ(m.file_ids, (std::vector<std::string>{"f1", "f:2"}));
  EXPECT_EQ(m.draft_id, "d:1");
  EXPECT_EQ(m.token, "T");
  EXPECT_EQ(m.resume_token, "R");
  EXPECT_EQ(m.ref, json::value("x"));
}

TEST(Codec, RegisterCamelCase) {
  register_msg m = as<register_msg>(R"({"type":"register","userId":"alice","fileIds":["a","b"]})");
  EXPECT_EQ(m.user_id, "alice");
  EXPECT_EQ(m.file_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(m.draft_id);

  m = as<register_msg>(R"({"type":"register","fileIds":["camel"],"file_ids":["snake"]})");
  EXPECT_EQ(m.file_ids, (std::vector<std::string>{"snake"}));
}

TEST(Codec, RegisterOptionalFields) {
  // Absent, empty and null file_ids all decode as an empty list.
  register_msg m = as<register_msg>(R"({"type":"register"})");
  EXPECT_TRUE(m.file_ids.empty());
  EXPECT_FALSE(m.user_id);
  EXPECT_FALSE(m.draft_id);
  EXPECT_FALSE(m.token);
  EXPECT_FALSE(m.resume_token);
  m = as<register_msg>(R"({"type":"register","file_ids":[]})");
  EXPECT_TRUE(m.file_ids.empty());
  m = as<register_msg>(R"({"type":"register","file_ids":null})");
  EXPECT_TRUE(m.file_ids.empty());
}

TEST(Codec, FileIdsDeduplicatedInOrder) {
  register_msg m = as<register_msg>(R"({"type":"register","file_ids":["b","a","b","c","a"]})");
  EXPECT_EQ(m.file_ids, (std::vector<std::string>{"b", "a", "c"}));

  // The hashed path (long lists).
  std::string arr = "[";
  std::vector<std::string> want;
  for (int i = 0; i < 300; ++i) {
    if (i) arr += ',';
    arr += jstr("f" + std::to_string(i % 100));
    if (i < 100) want.push_back("f" + std::to_string(i));
  }
  arr += "]";
  m = as<register_msg>(R"({"type":"register","file_ids":)" + arr + "}");
  EXPECT_EQ(m.file_ids, want);
}

TEST(Codec, FileIdsLimit) {
  auto list = [](int n) {
    std::string arr = "[";
    for (int i = 0; i < n; ++i) {
      if (i) arr += ',';
      arr += jstr("file-" + std::to_string(i));
    }
    return arr + "]";
  };
  register_msg m = as<register_msg>(R"({"type":"register","file_ids":)" + list(1000) + "}");
  ASSERT_EQ(m.file_ids.size(), 1000u);
  EXPECT_EQ(m.file_ids.back(), "file-999");

  decode_error e = bad(R"({"type":"register","file_ids":)" + list(1001) + "}");
  EXPECT_EQ(e.code, err::invalid_field);
  EXPECT_EQ(e.field, "file_ids");
  EXPECT_NE(e.message.find("1000"), std::string::npos) << e.message;
}

TEST(Codec, FileIdsErrors) {
  for (const char* v : {R"("f1")", "{}", "7", R"(["ok",""])", R"(["ok",1])", R"(["a b"])",
                        R"([null])", R"([["f"]])"}) {
    decode_error e = bad(std::string(R"({"type":"register","file_ids":)") + v + "}");
    EXPECT_EQ(e.code, err::invalid_field) << v;
    EXPECT_EQ(e.field, "file_ids") << v;
  }
  decode_error e = bad(R"({"type":"register","fileIds":["ok","bad id"]})");
  EXPECT_EQ(e.message, "file_ids[1] must be 1-128 characters of [A-Za-z0-9_.:@-]");
  e = bad(R"({"type":"register","file_ids":)" + std::string("[") + jstr(std::string(129, 'f')) + "]}");
  EXPECT_EQ(e.field, "file_ids");
}

TEST(Codec, RegisterFieldErrors) {
  struct tc { const char* text; const char* field; };
  for (tc c : std::initializer_list<tc>{
           {R"({"type":"register","user_id":"a:b"})", "user_id"},
           {R"({"type":"register","draft_id":"a b"})", "draft_id"},
           {R"({"type":"register","draft_id":3})", "draft_id"},
           {R"({"type":"register","token":""})", "token"},
           {R"({"type":"register","resume_token":false})", "resume_token"},
       }) {
    decode_error e = bad(c.text);
    EXPECT_EQ(e.code, err::invalid_field) << c.text;
    EXPECT_EQ(e.field, c.field) << c.text;
  }
}

// ---- file_uploaded / file_removed ---------------------------------------------------------

TEST(Codec, FileUploadedAndRemoved) {
  EXPECT_EQ(as<file_uploaded_msg>(R"({"type":"file_uploaded","file_id":"f:1"})").file_id, "f:1");
  EXPECT_EQ(as<file_uploaded_msg>(R"({"type":"file_uploaded","fileId":"f2"})").file_id, "f2");
  file_removed_msg m = as<file_removed_msg>(R"({"type":"file_removed","file_id":"f3","ref":1})");
  EXPECT_EQ(m.file_id, "f3");
  EXPECT_EQ(m.ref, json::value(1));
  EXPECT_EQ(as<file_removed_msg>(R"({"type":"file_removed","fileId":"f4"})").file_id, "f4");
  EXPECT_EQ(as<file_removed_msg>(R"({"type":"file_removed","fileId":"camel","file_id":"snake"})").file_id,
            "snake");
}

TEST(Codec, FileIdRequiredAndValidated) {
  for (const char* type : {"file_uploaded", "file_removed"}) {
    std::string pre = std::string(R"({"type":")") + type + R"(")";
    decode_error e = bad(pre + "}");
    EXPECT_EQ(e.code, err::invalid_field);
    EXPECT_EQ(e.field, "file_id");
    EXPECT_EQ(e.message, "file_id is required");

    e = bad(pre + R"(,"file_id":null})");
    EXPECT_EQ(e.field, "file_id");
    EXPECT_EQ(e.message, "file_id is required");

    e = bad(pre + R"(,"file_id":12})");
    EXPECT_EQ(e.field, "file_id");

    e = bad(pre + R"(,"file_id":""})");
    EXPECT_EQ(e.field, "file_id");
    EXPECT_EQ(e.message, "file_id must be 1-128 characters of [A-Za-z0-9_.:@-]");

    e = bad(pre + R"(,"file_id":"../etc/passwd"})");
    EXPECT_EQ(e.field, "file_id");

    e = bad(pre + R"(,"fileId":"a b"})");
    EXPECT_EQ(e.field, "file_id");

    client_message m = ok(pre + R"(,"file_id":)" + jstr(std::string(128, 'f')) + "}");
    EXPECT_STREQ(type_name(m), type);
    std::visit(
        [](const auto& msg) {
          if constexpr (std::is_same_v<std::decay_t<decltype(msg)>, file_uploaded_msg> ||
                        std::is_same_v<std::decay_t<decltype(msg)>, file_removed_msg>) {
            EXPECT_EQ(msg.file_id.size(), 128u);
          } else {
            ADD_FAILURE() << "not a file message: " << type_name(msg);
          }
        },
        m);
    e = bad(pre + R"(,"file_id":)" + jstr(std::string(129, 'f')) + "}");
    EXPECT_EQ(e.field, "file_id");
  }
}

// ---- post_submitted, ping, before_disconnect ----------------------------------------------

TEST(Codec, PostSubmitted) {
  EXPECT_EQ(as<post_submitted_msg>(R"({"type":"post_submitted","post_id":"p:1"})").post_id, "p:1");
  EXPECT_EQ(as<post_submitted_msg>(R"({"type":"post_submitted","postId":"p2"})").post_id, "p2");
  EXPECT_EQ(as<post_submitted_msg>(R"({"type":"post_submitted","postId":"c","post_id":"s"})").post_id, "s");
  EXPECT_FALSE(as<post_submitted_msg>(R"({"type":"post_submitted"})").post_id);

  decode_error e = bad(R"({"type":"post_submitted","post_id":"a b"})");
  EXPECT_EQ(e.code, err::invalid_field);
  EXPECT_EQ(e.field, "post_id");
  e = bad(R"({"type":"post_submitted","postId":[]})");
  EXPECT_EQ(e.field, "post_id");
}

TEST(Codec, PingAndBeforeDisconnect) {
  EXPECT_TRUE(std::holds_alternative<ping_msg>(ok(R"({"type":"ping"})")));
  EXPECT_TRUE(std::holds_alternative<before_disconnect_msg>(ok(R"({"type":"before_disconnect"})")));
  EXPECT_EQ(as<ping_msg>(R"({"ref":1,"type":"ping"})").ref, json::value(1));
}

TEST(Codec, UnknownAndForeignFieldsAreIgnored) {
  // Exactly a ping: it has no file_id or token to carry the foreign (and invalid) fields.
  EXPECT_TRUE(std::holds_alternative<ping_msg>(
      ok(R"({"type":"ping","extra":{"deep":[1,2,3]},"file_id":"bad id","token":5})")));
  // Exactly a file_uploaded (no user_id or post_id), with its own field read.
  EXPECT_EQ(as<file_uploaded_msg>(R"({"type":"file_uploaded","file_id":"f","user_id":"a:b","post_id":[]})").file_id,
            "f");
}

TEST(Codec, LargeMessageDecodes) {
  // Well past the stack arena: the parse spills to the heap and the result is intact.
  std::string pad(60000, 'p');
  file_uploaded_msg m = as<file_uploaded_msg>(R"({"type":"file_uploaded","pad":)" + jstr(pad) +
                                              R"(,"file_id":"f9","ref":)" + jstr(std::string(200, 'r')) + "}");
  EXPECT_EQ(m.file_id, "f9");
  EXPECT_EQ(m.ref, json::value(std::string(200, 'r')));
}

// ---- frames -------------------------------------------------------------------------------

TEST(Codec, ToFrameRoundTrips) {
  for (std::size_t n : {0u, 10u, 125u, 126u, 200u, 65535u, 65536u, 70000u}) {
    json::object o{{"type", "pong"}, {"ref", 3}};
    // Pad so that the serialized payload crosses each header size boundary.
    std::string base = json::serialize(o);
    json::object padded = o;
    std::size_t overhead = base.size() + std::string(R"(,"pad":"")").size();
    padded["pad"] = std::string(n > overhead ? n - overhead : 0, 'x');
    frame f = to_frame(padded);
    ASSERT_TRUE(f);
    std::string payload = frame_payload(*f);
    EXPECT_EQ(json::parse(payload), json::value(padded)) << n;
    if (n > overhead) {
      EXPECT_EQ(payload.size(), n);
    }
  }
}

TEST(Codec, ErrorFrame) {
  frame f = error_frame(err::invalid_field, "file_id is required", json::value("r7"));
  json::value v = json::parse(frame_payload(*f));
  EXPECT_EQ(v, json::parse(
                   R"({"type":"error","code":"invalid_field","message":"file_id is required","ref":"r7"})"));

  f = error_frame(err::bad_json, "invalid JSON", json::value(nullptr));
  v = json::parse(frame_payload(*f));
  EXPECT_EQ(v, json::parse(R"({"type":"error","code":"bad_json","message":"invalid JSON"})"));
  EXPECT_FALSE(v.as_object().contains("ref"));

  f = error_frame(err::not_found, "no such file", json::value(12));
  EXPECT_EQ(json::parse(frame_payload(*f)).at("ref"), json::value(12));
}

TEST(Codec, DecodeErrorToErrorFrame) {
  decode_error e = bad(R"({"type":"file_removed","ref":"q"})");
  json::value v = json::parse(frame_payload(*error_frame(e.code, e.message, e.ref)));
  EXPECT_EQ(v.at("code"), json::value("invalid_field"));
  EXPECT_EQ(v.at("ref"), json::value("q"));
}

// ---- server messages (proto/server_messages.hpp) ------------------------------------------
// Each encoder gives one whole text frame holding exactly the expected fields; `ref` only when
// the client sent one, and then last.

TEST(ServerCodec, Connected) {
  connected m;
  m.session_id = "s-1";
  m.user_id = "alice";
  m.resume_token = "R.T";
  m.heartbeat_ms = 25000;
  m.file_ids = {"ignored"};  // not resumed: not sent
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"connected","session_id":"s-1","user_id":"alice",
                               "resume_token":"R.T","heartbeat_ms":25000,"resumed":false})"))
      << o;
  EXPECT_FALSE(o.contains("file_ids"));
  EXPECT_FALSE(o.contains("ref"));
  EXPECT_EQ(keys(o).front(), "type");

  m.ref = "c1";
  o = frame_json(encode(m));
  EXPECT_EQ(o.at("ref"), json::value("c1"));
  EXPECT_EQ(keys(o).back(), "ref");
  EXPECT_EQ(o.size(), 7u);
}

TEST(ServerCodec, ConnectedResumedListsFileIds) {
  connected m;
  m.session_id = "s-2";
  m.user_id = "bob";
  m.resume_token = "R2";
  m.heartbeat_ms = 1000;
  m.resumed = true;
  m.file_ids = {"f1", "f:2"};
  m.ref = 7;
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"connected","session_id":"s-2","user_id":"bob","resume_token":"R2",
                               "heartbeat_ms":1000,"resumed":true,"file_ids":["f1","f:2"],"ref":7})"))
      << o;
  EXPECT_EQ(keys(o).back(), "ref");

  m.file_ids.clear();  // resumed with nothing tracked: an empty list, not an absent one
  m.ref = nullptr;
  o = frame_json(encode(m));
  ASSERT_TRUE(o.contains("file_ids"));
  EXPECT_EQ(o.at("file_ids"), json::array{});
  EXPECT_FALSE(o.contains("ref"));
}

TEST(ServerCodec, Pong) {
  pong m;
  m.server_time = "2026-01-01T00:00:00.123Z";
  EXPECT_EQ(frame_json(encode(m)), json::parse(R"({"type":"pong","server_time":"2026-01-01T00:00:00.123Z"})"));
  m.ref = "p";
  EXPECT_EQ(frame_json(encode(m)),
            json::parse(R"({"type":"pong","server_time":"2026-01-01T00:00:00.123Z","ref":"p"})"));
  m.ref = std::uint64_t(18446744073709551615ull);  // echoed as is, whatever integer it was
  EXPECT_EQ(json::serialize(frame_json(encode(m)).at("ref")), "18446744073709551615");
}

TEST(ServerCodec, Registered) {
  registered m;
  m.session_id = "s-3";
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"registered","session_id":"s-3","file_ids":[],"rejected":[]})")) << o;

  m.file_ids = {"a", "b"};
  m.rejected = {{"x", err::forbidden}, {"y", err::not_found}};
  m.ref = "r";
  o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"registered","session_id":"s-3","file_ids":["a","b"],
                               "rejected":[{"file_id":"x","code":"forbidden"},
                                           {"file_id":"y","code":"not_found"}],"ref":"r"})"))
      << o;
  EXPECT_EQ(keys(o).back(), "ref");
}

TEST(ServerCodec, RegisteredLargeUsesLongerHeader) {
  registered m;
  m.session_id = "s";
  for (int i = 0; i < 1000; ++i) m.file_ids.push_back("file-" + std::to_string(i));
  frame f = encode(m);
  ASSERT_TRUE(f);
  EXPECT_EQ(static_cast<unsigned char>((*f)[1]) & 0x7F, 126);  // 16-bit length (checked by frame_payload)
  json::object o = frame_json(f);
  ASSERT_EQ(o.at("file_ids").as_array().size(), 1000u);
  EXPECT_EQ(o.at("file_ids").as_array().back(), json::value("file-999"));
}

TEST(ServerCodec, AckFile) {
  ack_file m;
  m.file_id = "f1";
  EXPECT_EQ(frame_json(encode(m)), json::parse(R"({"type":"ack","for":"file_uploaded","file_id":"f1"})"));
  m.what = file_change::removed;
  m.ref = 3;
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"ack","for":"file_removed","file_id":"f1","ref":3})")) << o;
  EXPECT_EQ(keys(o), (std::vector<std::string>{"type", "for", "file_id", "ref"}));
}

TEST(ServerCodec, AckPostSubmitted) {
  ack_post_submitted m;
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"ack","for":"post_submitted","kept":[],"post_id":null})")) << o;
  ASSERT_TRUE(o.contains("post_id"));  // null, not absent
  EXPECT_TRUE(o.at("post_id").is_null());

  m.kept = {"f1", "f2"};
  m.post_id = "p:9";
  m.ref = "q";
  o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"ack","for":"post_submitted","kept":["f1","f2"],"post_id":"p:9","ref":"q"})"))
      << o;
  EXPECT_EQ(keys(o).back(), "ref");
}

TEST(ServerCodec, AckBeforeDisconnect) {
  ack_before_disconnect m;
  EXPECT_EQ(frame_json(encode(m)), json::parse(R"({"type":"ack","for":"before_disconnect"})"));
  m.ref = -1;
  EXPECT_EQ(frame_json(encode(m)), json::parse(R"({"type":"ack","for":"before_disconnect","ref":-1})"));
}

TEST(ServerCodec, Queued) {
  queued m;
  m.position = 12;
  EXPECT_EQ(frame_json(encode(m)), json::parse(R"({"type":"queued","position":12})"));
}

TEST(ServerCodec, ErrorEncodesLikeErrorFrame) {
  error m;
  m.code = err::rate_limited;
  m.message = "slow down \"now\"\n\xC3\xA9";  // escapes and UTF-8 survive
  json::object o = frame_json(encode(m));
  EXPECT_EQ(o.at("type"), json::value("error"));
  EXPECT_EQ(o.at("code"), json::value("rate_limited"));
  EXPECT_EQ(o.at("message"), json::value(m.message));
  EXPECT_EQ(o.size(), 3u);  // no ref
  EXPECT_EQ(*encode(m), *error_frame(m.code, m.message, m.ref));

  m.code = err::internal;
  m.ref = "e";
  o = frame_json(encode(m));
  EXPECT_EQ(o, json::parse(R"({"type":"error","code":"internal","message":"slow down \"now\"\n\u00e9","ref":"e"})"))
      << o;
  EXPECT_EQ(keys(o).back(), "ref");
  EXPECT_EQ(*encode(m), *error_frame(m.code, m.message, m.ref));
}

TEST(ServerCodec, ErrorFrameCarriesEveryWireCode) {
  for (int i = 0; i <= static_cast<int>(err::internal); ++i) {
    err code = static_cast<err>(i);
    json::object o = frame_json(error_frame(code, "m", json::value(nullptr)));
    EXPECT_EQ(o.at("code"), json::value(to_string(code)));
  }
}
