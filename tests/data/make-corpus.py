#!/usr/bin/env python3
# Writes the hostile POST /projects bodies and their INDEX into DIR
# (created if missing): `make check` runs it into the build's
# tests/data/bodies, the unit and integration suites read them there
# (tests/lib/corpus.c) and fuzz/run adds them to fuzz_body's seeds.
# Every body must be refused: invalid_json (not one strict RFC 8259 value,
# see latchkeyd(8) "Requests") or validation_failed (valid JSON, but not
# {"name": 1-100 code points, no controls, "environment": one of three}).
# Every file stays within the default 64 KiB body limit, so a running
# server answers 400, never 413.
#
#	make-corpus.py DIR
import os
import sys

J = "invalid_json"
V = "validation_failed"
bodies = []


def add(desc, body, code):
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    assert len(body) <= 65536, desc
    bodies.append((desc, body, code))


def name(raw):
    # A project body whose name value is the raw bytes given.
    return b'{"name":' + raw + b'}'


def sname(raw):
    return name(b'"' + raw + b'"')


# Empty, NUL bytes, \u0000.
add("empty", b"", J)
add("whitespace-only", b" \t\r\n ", J)
add("nul-only", b"\0", J)
add("nul-after-object", b'{"name":"a"}\0', J)
add("nul-inside-name", sname(b"a\0b"), J)
add("nul-before-object", b'\0{"name":"a"}', J)
add("escaped-nul-name", sname(b"\\u0000"), V)
add("escaped-nul-in-key", b'{"na\\u0000me":"a"}', J)
add("escaped-nul-after-name", sname(b"abc\\u0000"), V)
add("utf16le-body", '{"name":"a"}'.encode("utf-16-le"), J)
add("utf16be-body-with-bom", '{"name":"a"}'.encode("utf-16"), J)

# Not strict UTF-8.
for desc, raw in [
    ("overlong-2-byte-nul", b"\xc0\x80"),
    ("overlong-2-byte-slash", b"\xc0\xaf"),
    ("overlong-2-byte-max", b"\xc1\xbf"),
    ("overlong-2-byte-quote", b"\xc0\xa2"),
    ("overlong-3-byte-nul", b"\xe0\x80\x80"),
    ("overlong-3-byte-max", b"\xe0\x9f\xbf"),
    ("overlong-4-byte-nul", b"\xf0\x80\x80\x80"),
    ("overlong-4-byte-max", b"\xf0\x8f\xbf\xbf"),
    ("raw-high-surrogate", b"\xed\xa0\x80"),
    ("raw-low-surrogate", b"\xed\xbf\xbf"),
    ("cesu8-surrogate-pair", b"\xed\xa0\xbd\xed\xb8\x80"),
    ("above-u10ffff", b"\xf4\x90\x80\x80"),
    ("f5-lead-byte", b"\xf5\x80\x80\x80"),
    ("f8-five-byte-form", b"\xf8\x88\x80\x80\x80"),
    ("fc-six-byte-form", b"\xfc\x84\x80\x80\x80\x80"),
    ("fe-byte", b"\xfe"),
    ("ff-byte", b"\xff"),
    ("latin1-e-acute", b"caf\xe9"),
    ("truncated-2-byte", b"\xc3"),
    ("truncated-3-byte", b"\xe2\x82"),
    ("truncated-4-byte", b"\xf0\x9f\x98"),
    ("stray-continuation-80", b"a\x80b"),
    ("stray-continuation-bf", b"\xbf"),
    ("lead-byte-then-ascii", b"\xc3a"),
]:
    add("utf8-" + desc, sname(raw), J)
add("utf8-invalid-in-key", b'{"n\xffame":"a"}', J)
add("utf8-invalid-outside-string", b'{"name":"a"}\xff', J)
add("utf8-truncated-at-end-of-body", b'{"name":"a\xe2', J)
add("utf8-overlong-in-environment",
    b'{"name":"a","environment":"\xc0\xafproduction"}', J)
add("utf8-raw-surrogate-after-escape", sname(b"\\ud83d\xed\xb8\x80"), J)
add("utf8-bom-before-object", b'\xef\xbb\xbf{"name":"a"}', J)

# Numbers RFC 8259 does not have.
for desc, raw in [
    ("nan", b"NaN"), ("infinity", b"Infinity"), ("negative-infinity",
    b"-Infinity"), ("leading-zero", b"01"), ("negative-leading-zero",
    b"-01"), ("double-zero", b"00"), ("trailing-dot", b"1."),
    ("leading-dot", b".5"), ("plus-sign", b"+1"), ("hex", b"0x10"),
    ("exponent-without-digits", b"1e"), ("exponent-sign-only", b"1e+"),
    ("minus-alone", b"-"), ("double-minus", b"--1"),
    ("overflow-1e400", b"1e400"), ("overflow-negative-1e400", b"-1e400"),
    ("integer-above-uint64", b"18446744073709551616"),
    ("integer-below-int64", b"-9223372036854775809"),
    ("integer-1000-digits", b"9" * 1000),
    ("comma-decimal", b"1,5"),
]:
    add("number-" + desc, name(raw), J)

# Strings, keys and escapes.
add("single-quoted-value", b"{\"name\":'a'}", J)
add("single-quoted-key", b"{'name':\"a\"}", J)
add("python-dict-repr", b"{'name': 'a'}", J)
add("unquoted-key", b'{name:"a"}', J)
add("number-key", b'{1:"a"}', J)
add("null-key", b'{null:"a"}', J)
add("array-key", b'{["name"]:"a"}', J)
for desc, raw in [
    ("tab", b"\t"), ("newline", b"\n"), ("carriage-return", b"\r"),
    ("0x01", b"\x01"), ("0x1f", b"\x1f"), ("escape-0x1b", b"\x1b"),
]:
    add("raw-control-" + desc + "-in-string", sname(b"a" + raw + b"b"), J)
add("raw-control-in-key", b'{"na\x01me":"a"}', J)
for desc, raw in [
    ("x", b"\\x41"), ("a", b"\\a"), ("single-quote", b"\\'"),
    ("zero", b"\\0"), ("capital-u", b"\\U0041"), ("short-u", b"\\u12"),
    ("non-hex-u", b"\\u12g4"), ("u-then-space", b"\\u 123"),
    ("backslash-space", b"\\ "), ("backslash-newline", b"\\\n"),
]:
    add("invalid-escape-" + desc, sname(raw), J)
add("short-u-escape-at-end", b'{"name":"\\u12', J)
add("backslash-at-end", b'{"name":"a\\', J)
for desc, raw in [
    ("lone-high", b"\\ud83d"), ("lone-low", b"\\ude00"),
    ("high-then-text", b"\\ud83dx"), ("high-then-high", b"\\ud83d\\ud83d"),
    ("reversed-pair", b"\\ude00\\ud83d"),
    ("high-then-ascii-escape", b"\\ud83d\\u0041"),
    ("high-then-newline-escape", b"\\ud83d\\n"),
    ("high-at-end-of-name", b"abc\\udbff"),
]:
    add("surrogate-" + desc, sname(raw), J)

# Structure.
for desc, raw in [
    ("trailing-comma-object", b'{"name":"a",}'),
    ("trailing-comma-array", b'["a",]'),
    ("leading-comma", b'{,"name":"a"}'),
    ("double-comma", b'{"name":"a",,"environment":"staging"}'),
    ("missing-comma", b'{"name":"a" "environment":"staging"}'),
    ("missing-colon", b'{"name" "a"}'),
    ("double-colon", b'{"name"::"a"}'),
    ("equals-for-colon", b'{"name"="a"}'),
    ("missing-value", b'{"name":}'),
    ("unclosed-object", b'{"name":"a"'),
    ("unclosed-string", b'{"name":"a}'),
    ("unclosed-array", b'['),
    ("lone-open-brace", b'{'),
    ("lone-close-brace", b'}'),
    ("extra-close-brace", b'{"name":"a"}}'),
    ("mismatched-bracket", b'{"name":"a"]'),
    ("line-comment", b'{"name":"a"} // x'),
    ("block-comment", b'{/* c */"name":"a"}'),
    ("hash-comment", b'# c\n{"name":"a"}'),
    ("trailing-garbage", b'{"name":"a"}xyz'),
    ("empty-object-then-garbage", b'{}xyz'),
    ("two-empty-objects", b'{} {}'),
    ("two-objects-on-two-lines", b'{"name":"a"}\n{"name":"b"}'),
    ("object-then-number", b'{"name":"a"}1'),
    ("trailing-semicolon", b'{"name":"a"};'),
    ("capitalised-true", b'{"name":True}'),
    ("uppercase-null", b'NULL'),
    ("python-none", b'{"name":None}'),
    ("undefined", b'{"name":undefined}'),
    ("truncated-true", b'{"name":tru}'),
    ("form-feed-whitespace", b'\x0c{"name":"a"}'),
    ("vertical-tab-whitespace", b'{\x0b"name":"a"}'),
    ("nbsp-whitespace", b'\xc2\xa0{"name":"a"}'),
    ("form-urlencoded", b'name=a&environment=staging'),
    ("xml", b'<project><name>a</name></project>'),
    ("yaml", b'name: a\n'),
    ("json-null", b'null'),
    ("json-null-with-whitespace", b' null\n'),
]:
    add(desc, raw, J)

# Depth: 32 levels parse, 33 do not; long runs must not cost much.
add("nesting-33-arrays-in-name", name(b"[" * 32 + b"]" * 32), J)
add("nesting-33-objects", b'{"a":' * 32 + b'{}' + b'}' * 32, J)
add("nesting-33-mixed", b'{"name":[{"a":' * 16 + b'1' + b'}]' * 16 + b'}', J)
add("nesting-60000-open-brackets", b"[" * 60000, J)
add("nesting-12000-open-objects", b'{"a":' * 12000, J)
add("nesting-30000-balanced-arrays", b"[" * 30000 + b"]" * 30000, J)

# Duplicate keys, compared as decoded text.
for desc, raw in [
    ("name", b'{"name":"a","name":"b"}'),
    ("name-escaped", b'{"name":"a","\\u006eame":"b"}'),
    ("escaped-solidus", b'{"name":"a","a/":1,"a\\/":2}'),
    ("non-ascii-escaped", b'{"caf\xc3\xa9":1,"caf\\u00e9":2}'),
    ("environment", b'{"name":"a","environment":"staging",'
        b'"environment":"production"}'),
    ("object-value-first", b'{"name":{"x":1},"name":"a"}'),
    ("nested", b'{"name":"a","x":{"k":1,"k":2}}'),
    ("in-array", b'[{"a":1},{"b":1,"b":2}]'),
    ("empty-key", b'{"":1,"":2}'),
    ("deep-30", b'{"a":' * 30 + b'{"k":1,"k":1}' + b'}' * 30),
    ("10000-times", b'{' + b','.join([b'"k":0'] * 10000) + b'}'),
    ("last-of-5000", b'{' + b','.join(b'"k%d":0' % i for i in range(5000))
        + b',"k0":1}'),
]:
    add("duplicate-key-" + desc, raw, J)

# Valid JSON that is not an object: the API files it under invalid_json.
for desc, raw in [
    ("empty-array", b"[]"), ("array-of-project", b'[{"name":"a"}]'),
    ("string", b'"a"'), ("number", b"1"), ("zero", b"0"),
    ("negative-float", b"-1.5"), ("true", b"true"), ("false", b"false"),
]:
    add("top-level-" + desc, raw, J)

# Missing name.
add("empty-object", b"{}", V)
add("empty-object-with-whitespace", b" \r\n{ }\t", V)
add("environment-without-name", b'{"environment":"staging"}', V)

# Name of the wrong type.
for desc, raw in [
    ("number", b"1"), ("zero", b"0"), ("negative", b"-1"),
    ("float", b"1.5"), ("exponent", b"1e3"), ("true", b"true"),
    ("false", b"false"), ("null", b"null"), ("empty-array", b"[]"),
    ("array-of-string", b'["a"]'), ("empty-object", b"{}"),
    ("object", b'{"name":"a"}'),
]:
    add("name-" + desc, name(raw), V)

# Name lengths: code points, not bytes or characters on screen.
add("name-empty", sname(b""), V)
add("name-101-ascii", sname(b"a" * 101), V)
add("name-101-emoji", sname("\U0001F600".encode() * 101), V)
add("name-101-cjk", sname("\u6f22".encode() * 101), V)
add("name-101-hebrew", sname("\u05d0".encode() * 101), V)
add("name-101-escaped-emoji", sname(b"\\ud83d\\ude00" * 101), V)
add("name-102-combining", sname("e\u0301".encode() * 51), V)
add("name-21-zwj-families", sname("\U0001F468\u200d\U0001F469\u200d"
    "\U0001F467".encode() * 21), V)
add("name-101-escaped-ascii", sname(b"\\u0061" * 101), V)
add("name-60000-ascii", sname(b"a" * 60000), V)

# Names with control characters.
for desc, raw in [
    ("u0001", b"\\u0001"), ("u001f", b"\\u001f"), ("u007f", b"\\u007f"),
    ("newline", b"\\n"), ("tab", b"\\t"), ("carriage-return", b"\\r"),
    ("backspace", b"\\b"), ("form-feed", b"\\f"), ("escape", b"\\u001b"),
    ("raw-del", b"\x7f"), ("only-newline", None),
]:
    add("name-control-" + desc,
        sname(b"\\n" if raw is None else b"a" + raw + b"b"), V)

# Environments.
for desc, raw in [
    ("capitalised", b'"Production"'), ("uppercase", b'"PRODUCTION"'),
    ("abbreviated", b'"prod"'), ("empty", b'""'),
    ("leading-space", b'" production"'), ("trailing-space",
    b'"production "'), ("trailing-newline", b'"production\\n"'),
    ("test", b'"test"'), ("dev", b'"dev"'), ("null", b"null"),
    ("number", b"1"), ("true", b"true"), ("array", b'["production"]'),
    ("object", b'{"production":true}'), ("two-values",
    b'"staging,production"'), ("truncated", b'"productio"'),
    ("zero-width-space", b'"production\\u200b"'),
    ("fullwidth", '"\uff50roduction"'.encode()),
]:
    add("environment-" + desc, b'{"name":"a","environment":' + raw + b'}', V)

# Unknown fields.
for desc, key in [
    ("id", b"id"), ("capitalised-name", b"Name"), ("uppercase-name", b"NAME"),
    ("name-trailing-space", b"name "), ("name-leading-space", b" name"),
    ("createdAt", b"createdAt"), ("updatedAt", b"updatedAt"),
    ("apiKey", b"apiKey"), ("organizationId", b"organizationId"),
    ("empty", b""), ("proto", b"__proto__"), ("env", b"env"),
    ("escaped-capital-name", b"\\u004eame"),
]:
    add("unknown-field-" + desc, b'{"name":"a","' + key + b'":"x"}', V)
add("unknown-field-only", b'{"title":"a"}', V)
add("unknown-field-first", b'{"id":"prj_x","name":"a"}', V)
add("unknown-field-null", b'{"name":"a","description":null}', V)
add("unknown-field-with-all-valid", b'{"name":"a","environment":"staging",'
    b'"apiKeyId":"key_x"}', V)

if len(sys.argv) != 2:
    sys.exit("usage: make-corpus.py DIR")
here = sys.argv[1]
os.makedirs(here, exist_ok=True)
for f in os.listdir(here):
    if f.endswith(".json"):
        os.unlink(os.path.join(here, f))
seen = set()
with open(os.path.join(here, "INDEX.tmp"), "w") as index:
    for i, (desc, body, code) in enumerate(bodies, 1):
        assert desc not in seen, desc
        seen.add(desc)
        fn = "%03d-%s.json" % (i, desc)
        with open(os.path.join(here, fn), "wb") as f:
            f.write(body)
        index.write("%s\t%s\n" % (fn, code))
os.rename(os.path.join(here, "INDEX.tmp"), os.path.join(here, "INDEX"))
