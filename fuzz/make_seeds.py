#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<target>/ (run from anywhere).

The seeds are committed; this script only documents how they were made and can remake them.
Files named crash-* (reproducers of findings) are left alone.
"""
import base64
import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- ws_frame_reader_fuzz -------------------------------------------------------------------
# Layout: [limit index][k-1][k split sizes][stream]; limits are 0,1,16,125,126,1024,65536,max.

def frame(op, payload=b"", fin=True, key=b"\x37\xfa\x21\x3d", rsv=0):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload)
    if n <= 125:
        hdr = bytes([b0, 0x80 | n])
    elif n <= 0xFFFF:
        hdr = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return hdr + key + masked


def ws(name, stream, limit=5, splits=(1, 3, 7)):
    write("ws_frame_reader_fuzz", name, bytes([limit, len(splits) - 1, *splits]) + stream)


ws("text_hello", frame(1, "Hello"))
ws("text_json", frame(1, '{"type":"ping","ref":1}'), splits=(200,))
ws("text_utf8", frame(1, "h\u00e9llo \u20ac \U0001F600"))
ws("binary", frame(2, bytes(range(40))))
ws("fragmented_text", frame(1, "Hel", fin=False) + frame(0, "lo, ", fin=False) + frame(0, "world"))
ws("fragmented_with_ping",
   frame(1, "one ", fin=False) + frame(9, "p") + frame(0, "two", fin=False) + frame(0, " three"))
ws("utf8_split_across_fragments", frame(1, b"\xe2\x82", fin=False) + frame(0, b"\xac!"))
ws("ping_pong", frame(9, "hb") + frame(10, "") + frame(10, "x" * 125))
ws("close_normal", frame(8, struct.pack(">H", 1000) + b"bye"))
ws("close_empty", frame(8))
ws("close_4000", frame(8, struct.pack(">H", 4000) + "d\u00e9j\u00e0".encode()), splits=(0, 2))
ws("len16", frame(1, "a" * 300), limit=6, splits=(2, 100))
ws("len64_header", frame(2, b"z" * 70000)[:14], limit=6)
ws("at_limit_16", frame(1, "x" * 16), limit=2)
ws("over_limit_16", frame(1, "x" * 17), limit=2)
ws("zero_key", frame(1, "plain", key=b"\0\0\0\0"))
ws("many_frames", b"".join(frame(1, str(i)) for i in range(20)), splits=(5, 1, 0, 9))
ws("bad_unmasked", bytes([0x81, 0x02]) + b"hi")
ws("bad_rsv", frame(1, "x", rsv=0x40))
ws("bad_utf8", frame(1, b"\xc0\xaf"))
ws("bad_close_code", frame(8, struct.pack(">H", 1005)))

# ---- codec_decode_fuzz ----------------------------------------------------------------------
codec = {
    "connect": {"type": "connect", "token": "eyJ.x.y", "ref": 1},
    "connect_resume": {"type": "connect", "token": "t", "resume_token": "r-1", "user_id": "alice"},
    "register": {"type": "register", "user_id": "alice", "file_ids": ["f1", "f2", "f1"],
                 "draft_id": "d:1", "ref": "r1"},
    "register_camel": {"type": "register", "userId": "bob", "fileIds": ["a.b", "c@d"]},
    "file_uploaded": {"type": "file_uploaded", "file_id": "f1", "ref": 7},
    "file_removed": {"type": "file_removed", "fileId": "f2"},
    "post_submitted": {"type": "post_submitted", "post_id": "p:9", "ref": "x"},
    "ping": {"type": "ping"},
    "before_disconnect": {"type": "before_disconnect", "ref": 18446744073709551615},
    "planned": {"type": "join_room", "room_id": "r", "ref": "q"},
    "unknown": {"type": "h\u00e9" * 40, "ref": -3},
    "bad_field": {"type": "file_uploaded", "file_id": "a b"},
    "bad_ref": {"type": "ping", "ref": 1.5},
}
for name, msg in codec.items():
    write("codec_decode_fuzz", name, json.dumps(msg, ensure_ascii=False))
# At the file_ids limit (1000, many duplicates: the hashing path) and one over it.
write("codec_decode_fuzz", "file_ids_1000", json.dumps({"type": "register", "file_ids": ["a"] * 999 + ["b"]},
                                                       separators=(",", ":")))
write("codec_decode_fuzz", "file_ids_1001", json.dumps({"type": "register", "file_ids": [0] * 1001},
                                                       separators=(",", ":")))
write("codec_decode_fuzz", "id_128", json.dumps({"type": "file_uploaded", "file_id": "f" * 128}))
write("codec_decode_fuzz", "id_129", json.dumps({"type": "file_removed", "file_id": "f" * 129}))
write("codec_decode_fuzz", "not_object", "[1,2,3]")
write("codec_decode_fuzz", "bad_json", '{"type":"ping",}')

# ---- jwt_verify_fuzz ------------------------------------------------------------------------
# Layout: [mode][rest]; mode 0 raw token, 1 header\npayload signed with "secret",
# 2 the same signed with a wrong secret, 3 sign() round trip of "sub\nname".

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(header, payload, secret=b"secret"):
    signing = b64url(json.dumps(header, separators=(",", ":")).encode()) + b"." + \
        b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, signing, hashlib.sha256).digest()
    return signing + b"." + b64url(sig)


HS = {"alg": "HS256", "typ": "JWT"}
FUTURE = 4102444800  # 2100-01-01
write("jwt_verify_fuzz", "valid", b"\0" + jwt(HS, {"sub": "alice", "exp": FUTURE, "name": "Alice"}))
write("jwt_verify_fuzz", "valid_guest", b"\0" + jwt(HS, {"sub": "guest-1", "exp": FUTURE, "guest": True}))
write("jwt_verify_fuzz", "expired", b"\0" + jwt(HS, {"sub": "alice", "exp": 1000}))
write("jwt_verify_fuzz", "no_exp", b"\0" + jwt(HS, {"sub": "alice"}))
write("jwt_verify_fuzz", "alg_none", b"\0" + jwt({"alg": "none"}, {"sub": "alice", "exp": FUTURE})[:-43])
write("jwt_verify_fuzz", "hs512_header", b"\0" + jwt({"alg": "HS512"}, {"sub": "alice", "exp": FUTURE}))
write("jwt_verify_fuzz", "wrong_secret", b"\0" + jwt(HS, {"sub": "alice", "exp": FUTURE}, b"other"))
write("jwt_verify_fuzz", "signed_claims", b"\x01" + json.dumps(HS).encode() + b"\n" +
      json.dumps({"sub": "bob", "exp": FUTURE, "name": "B"}).encode())
write("jwt_verify_fuzz", "signed_exp_string", b"\x01" + b'{"sub":"bob","exp":"4102444800"}')
write("jwt_verify_fuzz", "signed_sub_colon", b"\x01" + b'{"sub":"a:b","exp":4102444800}')
write("jwt_verify_fuzz", "wrong_key_mode", b"\x02" + b'{"sub":"bob","exp":4102444800}')
# Found by the fuzzer: libjwt ignores what follows a NUL in a decoded segment.
write("jwt_verify_fuzz", "signed_payload_nul_tail", b"\x01" + b'{"sub":"W","exp":4102444800}\x00\xa9')
write("jwt_verify_fuzz", "sign_roundtrip", b"\x07" + "carol\nCarol \u00e9".encode())

# ---- utf8_fuzz ------------------------------------------------------------------------------
utf8 = {
    "ascii": b"plain ascii text, long enough for the fast path",
    "mixed": "a\u00e9\u20ac\U0001F600z".encode(),
    "max": "\U0010FFFF".encode(),
    "overlong2": b"\xc0\x80",
    "overlong3": b"\xe0\x80\x80",
    "overlong4": b"\xf0\x80\x80\x80",
    "surrogate": b"\xed\xa0\x80",
    "above_max": b"\xf4\x90\x80\x80",
    "truncated": b"abcdefg\xe2\x82",
    "lone_continuation": b"12345678\x80",
}
for name, data in utf8.items():
    write("utf8_fuzz", name, data)
