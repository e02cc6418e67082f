// libFuzzer target: tether::codec::decode on the text of one client message.
//
// The input is the message text as is (decode() is documented for UTF-8-checked text, but
// Boost.JSON checks UTF-8 again, so arbitrary bytes are fair game). Checks:
//  - a client_message is the alternative its wire type names (type_name), and obeys §11: ids
//    set are valid_id / valid_user_id, a file message's file_id is set, file_ids has at most
//    1000 entries and no duplicates, tokens are 1..8192 bytes, ref (ref_of) is null, a string
//    or an integer (fields a type does not use have no place in its struct); and it agrees with
//    an independent parse of the same text (type name, ids and tokens as sent, snake_case
//    winning over camelCase, file_ids empty when absent or null);
//  - a decode_error has a non-empty message, a code decode() can produce, a field when the code
//    is invalid_field, and a ref that is null, a string or an integer;
//  - error_frame(code, message, ref) of the result is one unmasked FIN text frame whose payload
//    parses back as JSON with the same type, code, message and ref (for a client_message, with
//    a code picked from the input size and the message's ref).
#include "fuzz/fuzz_check.hpp"
#include "proto/codec.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace json = boost::json;
using namespace tether::codec;

namespace {

bool ref_shape_ok(const json::value& v) {
  return v.is_null() || v.is_string() || v.is_int64() || v.is_uint64();
}

// The payload of a server frame: FIN + text, unmasked, with a minimal length encoding.
std::string_view frame_payload(const std::string& f) {
  FUZZ_CHECK(f.size() >= 2, "frame of %zu bytes", f.size());
  auto b = reinterpret_cast<const unsigned char*>(f.data());
  FUZZ_CHECK(b[0] == 0x81, "first byte 0x%02x", b[0]);
  FUZZ_CHECK(!(b[1] & 0x80), "server frame is masked");
  std::size_t len7 = b[1] & 0x7f, hdr = 2;
  std::uint64_t len = len7;
  if (len7 == 126) {
    FUZZ_CHECK(f.size() >= 4, "short header");
    len = (std::uint64_t(b[2]) << 8) | b[3];
    hdr = 4;
    FUZZ_CHECK(len > 125, "non-minimal 16-bit length %llu", (unsigned long long)len);
  } else if (len7 == 127) {
    FUZZ_CHECK(f.size() >= 10, "short header");
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
    hdr = 10;
    FUZZ_CHECK(len > 0xffff && !(len >> 63), "bad 64-bit length %llu", (unsigned long long)len);
  }
  FUZZ_CHECK(f.size() - hdr == len, "frame says %llu bytes, has %zu", (unsigned long long)len,
             f.size() - hdr);
  return std::string_view(f).substr(hdr);
}

void check_error_frame(err code, const std::string& message, const json::value& ref) {
  tether::frame f = error_frame(code, message, ref);
  FUZZ_CHECK(f != nullptr, "null frame");
  std::string_view payload = frame_payload(*f);
  json::error_code ec;
  json::value v = json::parse(json::string_view(payload.data(), payload.size()), ec);
  FUZZ_CHECK(!ec, "error frame is not JSON (%s): %.200s", ec.message().c_str(),
             std::string(payload).c_str());
  const json::object* o = v.if_object();
  FUZZ_CHECK(o, "error frame is not an object");
  auto str = [&](const char* k) -> std::string {
    auto it = o->find(k);
    FUZZ_CHECK(it != o->end() && it->value().is_string(), "error frame lacks string %s", k);
    return std::string(it->value().get_string());
  };
  FUZZ_CHECK(str("type") == "error", "type is not error");
  FUZZ_CHECK(str("code") == to_string(code), "code differs");
  FUZZ_CHECK(str("message") == message, "message did not round-trip");
  auto it = o->find("ref");
  if (ref.is_null()) {
    FUZZ_CHECK(it == o->end(), "ref present though null");
  } else {
    FUZZ_CHECK(it != o->end(), "ref missing");
    // Integers may come back as int64 where they went out as uint64 (and vice versa):
    // compare their serializations.
    FUZZ_CHECK(json::serialize(it->value()) == json::serialize(ref), "ref did not round-trip");
  }
}

// The value decode() should have read: snake_case first, then the alias; null means absent.
const json::value* lookup(const json::object& o, const char* name, const char* alias = nullptr) {
  if (auto it = o.find(name); it != o.end() && !it->value().is_null()) return &it->value();
  if (alias)
    if (auto it = o.find(alias); it != o.end() && !it->value().is_null()) return &it->value();
  return nullptr;
}

void check_same_string(const std::optional<std::string>& got, const json::object& o,
                       const char* name, const char* alias = nullptr) {
  if (!got) return;
  const json::value* v = lookup(o, name, alias);
  FUZZ_CHECK(v && v->is_string() && std::string_view(v->get_string()) == *got,
             "%s decoded as \"%.60s\" but the message says otherwise", name, got->c_str());
}

void check_same_string(const std::string& got, const json::object& o, const char* name,
                       const char* alias = nullptr) {
  check_same_string(std::optional<std::string>(got), o, name, alias);
}

void check_id(const std::optional<std::string>& s, const char* name) {
  if (s) FUZZ_CHECK(valid_id(*s), "%s \"%.60s\" is not a valid id", name, s->c_str());
}
void check_user_id(const std::optional<std::string>& s) {
  if (s) FUZZ_CHECK(valid_user_id(*s), "user_id \"%.60s\" invalid", s->c_str());
}
void check_token(const std::optional<std::string>& s, const char* name) {
  if (s) FUZZ_CHECK(!s->empty() && s->size() <= 8192, "%s of %zu bytes", name, s->size());
}

// file_ids: at most 1000 valid ids, no duplicates, the distinct ids of what was sent (empty
// when the field is absent or null).
void check_file_ids(const std::vector<std::string>& ids, const json::object& o) {
  FUZZ_CHECK(ids.size() <= 1000, "%zu file_ids", ids.size());
  std::set<std::string> seen;
  for (const std::string& f : ids) {
    FUZZ_CHECK(valid_id(f), "file_ids entry \"%.60s\" invalid", f.c_str());
    FUZZ_CHECK(seen.insert(f).second, "duplicate file_id \"%.60s\"", f.c_str());
  }
  const json::value* v = lookup(o, "file_ids", "fileIds");
  if (!v) {
    FUZZ_CHECK(ids.empty(), "%zu file_ids decoded from nothing", ids.size());
    return;
  }
  FUZZ_CHECK(v->is_array(), "file_ids decoded from a non-array");
  std::set<std::string> sent;
  for (const json::value& e : v->get_array()) {
    FUZZ_CHECK(e.is_string(), "file_ids held a non-string");
    sent.insert(std::string(e.get_string()));
  }
  FUZZ_CHECK(sent == seen, "%zu distinct ids sent, %zu decoded (or different ones)", sent.size(),
             ids.size());
}

// The fields of each type, against §11 and against the independent parse `o`.
struct field_checks {
  const json::object& o;

  void operator()(const connect_msg& m) const {
    check_token(m.token, "token");
    check_token(m.resume_token, "resume_token");
    check_user_id(m.user_id);
    check_same_string(m.token, o, "token");
    check_same_string(m.resume_token, o, "resume_token");
    check_same_string(m.user_id, o, "user_id", "userId");
  }
  void operator()(const register_msg& m) const {
    check_token(m.token, "token");
    check_token(m.resume_token, "resume_token");
    check_user_id(m.user_id);
    check_id(m.draft_id, "draft_id");
    check_file_ids(m.file_ids, o);
    check_same_string(m.token, o, "token");
    check_same_string(m.resume_token, o, "resume_token");
    check_same_string(m.user_id, o, "user_id", "userId");
    check_same_string(m.draft_id, o, "draft_id");
  }
  void file(const std::string& file_id) const {
    // Required: a file message always has one.
    FUZZ_CHECK(valid_id(file_id), "file_id \"%.60s\" is not a valid id", file_id.c_str());
    check_same_string(file_id, o, "file_id", "fileId");
  }
  void operator()(const file_uploaded_msg& m) const { file(m.file_id); }
  void operator()(const file_removed_msg& m) const { file(m.file_id); }
  void operator()(const post_submitted_msg& m) const {
    check_id(m.post_id, "post_id");
    check_same_string(m.post_id, o, "post_id", "postId");
  }
  void operator()(const ping_msg&) const {}
  void operator()(const before_disconnect_msg&) const {}
  void room(const std::string& room_id) const {
    FUZZ_CHECK(valid_id(room_id), "room_id \"%.60s\" is not a valid id", room_id.c_str());
    check_same_string(room_id, o, "room_id", "roomId");
  }
  void operator()(const join_room_msg& m) const {
    room(m.room_id);
    if (m.display_name) {
      FUZZ_CHECK(!m.display_name->empty() && m.display_name->size() <= 128, "display_name of %zu bytes",
                 m.display_name->size());
      for (char c : *m.display_name)
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "display_name with a control character");
    }
    check_same_string(m.display_name, o, "display_name", "displayName");
  }
  void operator()(const leave_room_msg& m) const { room(m.room_id); }
  void operator()(const publish_msg& m) const {
    room(m.room_id);
    const json::value* d = lookup(o, "data");
    FUZZ_CHECK(d && !m.data.is_null() && *d == m.data, "publish data differs from the text's");
  }
  void operator()(const watch_rooms_msg&) const {}
  void operator()(const unwatch_rooms_msg&) const {}
};

void check_message(const client_message& m, std::string_view text) {
  const json::value& mref = ref_of(m);
  FUZZ_CHECK(ref_shape_ok(mref), "ref of kind %d", static_cast<int>(mref.kind()));

  // Against an independent parse of the same text.
  json::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  FUZZ_CHECK(!ec, "decoded, but the text does not parse: %s", ec.message().c_str());
  const json::object* o = doc.if_object();
  FUZZ_CHECK(o, "decoded, but the text is not an object");
  // The alternative is the one the type names (fields by type then follow from the struct).
  const json::value* type = lookup(*o, "type");
  FUZZ_CHECK(type && type->is_string() && std::string_view(type->get_string()) == type_name(m),
             "type differs from %s", type_name(m));
  std::visit(field_checks{*o}, m);
  const json::value* ref = lookup(*o, "ref");
  FUZZ_CHECK(ref ? json::serialize(*ref) == json::serialize(mref) : mref.is_null(),
             "ref differs from the message");
}

void check_error(const decode_error& e) {
  FUZZ_CHECK(!e.message.empty(), "decode_error without a message (code %s)", to_string(e.code));
  FUZZ_CHECK(e.code == err::bad_json || e.code == err::unknown_type || e.code == err::invalid_field,
             "unexpected code %s", to_string(e.code));
  FUZZ_CHECK(counts_as_bad_frame(e.code), "decode error that does not count as bad");
  FUZZ_CHECK(e.code != err::invalid_field || !e.field.empty(), "invalid_field without a field");
  FUZZ_CHECK(ref_shape_ok(e.ref), "error ref of kind %d", static_cast<int>(e.ref.kind()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  decoded d = decode(text);
  if (auto* m = std::get_if<client_message>(&d)) {
    check_message(*m, text);
    // Any error code may answer a valid message (forbidden, rate_limited, ...): vary it.
    check_error_frame(static_cast<err>(size % (static_cast<std::size_t>(err::internal) + 1)),
                      type_name(*m), ref_of(*m));
  } else {
    const decode_error& e = std::get<decode_error>(d);
    check_error(e);
    check_error_frame(e.code, e.message, e.ref);
  }
  if (size == 0) {
    decode_error b = binary_frame_error();
    FUZZ_CHECK(b.code == err::unsupported_frame && !b.message.empty(), "binary_frame_error");
    check_error_frame(b.code, b.message, json::value(nullptr));
  }
  return 0;
}
