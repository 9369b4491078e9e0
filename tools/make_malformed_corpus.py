#!/usr/bin/env python3
"""Writes the analyzer's input corpus: tests/corpus/valid/ and tests/corpus/malformed/.

    tools/make_malformed_corpus.py [REPO_ROOT]

valid/ holds two small, correct heap profiles (gzipped and plain); malformed/
holds one file per way a profile can be broken, each derived from the valid
profile by a single change, and a README listing them. The tests require every
malformed file to fail with exit status 2 and a message naming the file
(tests/unit/profile_codec_test.cc, tests/e2e/cli_inputs_test.cc), and the
fuzzer starts from the whole corpus.

The protobuf is encoded by hand (a dozen lines below): the point is to write
bytes that protobuf libraries refuse to produce. Output is deterministic
(gzip mtime 0), so regenerating changes nothing unless this script changed.
"""

import gzip
import io
import os
import sys
import zlib

# ---- protobuf wire format -------------------------------------------------

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5


def varint(n):
    n &= (1 << 64) - 1  # negative int64 values are ten-byte two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def f_int(field, n):
    return tag(field, VARINT) + varint(n) if n else b""


def f_bytes(field, data):
    return tag(field, LEN) + varint(len(data)) + data


def f_packed(field, numbers):
    return f_bytes(field, b"".join(varint(n) for n in numbers)) if numbers else b""


# perftools.profiles field numbers (proto/profile.proto).
P_SAMPLE_TYPE, P_SAMPLE, P_MAPPING, P_LOCATION, P_FUNCTION, P_STRING = 1, 2, 3, 4, 5, 6
P_TIME, P_PERIOD_TYPE, P_PERIOD, P_COMMENT, P_DEFAULT_TYPE = 9, 11, 12, 13, 14


def value_type(type_index, unit_index):
    return f_int(1, type_index) + f_int(2, unit_index)


def sample(location_ids, values, labels=b""):
    return f_packed(1, location_ids) + f_packed(2, values) + labels


def mapping(id, start, limit, offset, filename, has_functions=True):
    return f_int(1, id) + f_int(2, start) + f_int(3, limit) + f_int(4, offset) + f_int(5, filename) + f_int(
        7, 1 if has_functions else 0)


def location(id, mapping_id, address, function_id, line):
    return f_int(1, id) + f_int(2, mapping_id) + f_int(3, address) + f_bytes(4, f_int(1, function_id) + f_int(2, line))


def function(id, name, filename):
    return f_int(1, id) + f_int(2, name) + f_int(3, name) + f_int(4, filename)


STRINGS = ["", "inuse_space", "bytes", "inuse_objects", "count", "main", "leak", "/usr/bin/app", "app.c",
           "space", "pid=4242"]
S = {s: i for i, s in enumerate(STRINGS)}


def profile_parts():
    """The valid profile as an ordered list of (field, encoded message) to edit."""
    return [
        (P_SAMPLE_TYPE, value_type(S["inuse_space"], S["bytes"])),
        (P_SAMPLE_TYPE, value_type(S["inuse_objects"], S["count"])),
        # leak <- main: 4 blocks, 4096 bytes; main alone: 1 block, 1024 bytes.
        (P_SAMPLE, sample([1, 2], [4096, 4])),
        (P_SAMPLE, sample([2], [1024, 1])),
        (P_MAPPING, mapping(1, 0x400000, 0x500000, 0, S["/usr/bin/app"])),
        (P_LOCATION, location(1, 1, 0x401000, 2, 10)),
        (P_LOCATION, location(2, 1, 0x402000, 1, 20)),
        (P_FUNCTION, function(1, S["main"], S["app.c"])),
        (P_FUNCTION, function(2, S["leak"], S["app.c"])),
    ] + [(P_STRING, s.encode()) for s in STRINGS]


def encode(parts, tail=b""):
    body = b"".join(f_bytes(field, data) for field, data in parts)
    return body + f_int(P_TIME, 1_700_000_000_000_000_000) + f_bytes(
        P_PERIOD_TYPE, value_type(S["space"], S["bytes"])) + f_int(P_PERIOD, 524288) + f_packed(
        P_COMMENT, [S["pid=4242"]]) + f_int(P_DEFAULT_TYPE, S["inuse_space"]) + tail


def replace(parts, field, index, data):
    """parts with the index-th message of `field` replaced by data."""
    out, seen = [], 0
    for f, d in parts:
        if f == field:
            if seen == index:
                d = data
            seen += 1
        out.append((f, d))
    return out


def gz(data):
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


def gzip_bomb(inflated_bytes):
    """A gzip member of zeros, about inflated_bytes / 1030 bytes on disk."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, mtime 0, best compression, unknown OS
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    crc, body = 0, []
    for _ in range(inflated_bytes // len(chunk)):
        body.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    body.append(compressor.flush())
    trailer = crc.to_bytes(4, "little") + (inflated_bytes & 0xFFFFFFFF).to_bytes(4, "little")
    return header + b"".join(body) + trailer


# kMaxDecompressedBytes (analyzer/profile_codec.h) is 1 GiB; one MiB past it.
MAX_DECOMPRESSED = 1 << 30
# kMaxTableEntries (analyzer/profile_codec.cc) is 2^24.
MAX_TABLE_ENTRIES = 1 << 24


def malformed_files():
    """(name, bytes, what is wrong) for every file of malformed/."""
    valid = encode(profile_parts())
    valid_gz = gz(valid)
    parts = profile_parts()
    corrupt_crc = bytearray(valid_gz)
    corrupt_crc[-8] ^= 0xFF
    bad_deflate = valid_gz[:10] + b"\xff" * 32  # reserved block type 3
    cut = len(valid) // 2
    return [
        ("empty.pb.gz", b"", "an empty file"),
        ("empty_gzip.pb.gz", gz(b""), "a gzip stream that inflates to nothing"),
        ("text.txt", b"This is a text file, not a profile.\nIt has two lines.\n", "a text file"),
        ("legacy_text_heap.prof",
         b"heap profile:   1:   1024 [   1:   1024] @ heapprofile\n   1:   1024 [   1:   1024] @ 0x401000\n",
         "a legacy (gperftools text) heap profile"),
        ("bad_gzip.pb.gz", bad_deflate, "a gzip header followed by an invalid deflate block"),
        ("bad_gzip_crc.pb.gz", bytes(corrupt_crc), "a gzip stream whose CRC does not match"),
        ("truncated_gzip.pb.gz", valid_gz[:len(valid_gz) // 2], "the first half of a gzipped profile"),
        ("concatenated.pb.gz", valid_gz + valid_gz, "two gzipped profiles, one after the other"),
        ("gzip_bomb.pb.gz", gzip_bomb(MAX_DECOMPRESSED + (1 << 20)),
         "about 1 MB of gzip that inflates to 1 GiB + 1 MiB of zeros, past kMaxDecompressedBytes"),
        ("truncated_protobuf.pb", valid[:cut], "the first half of a plain profile"),
        ("huge_declared_length.pb", tag(P_SAMPLE, LEN) + varint(1 << 62) + b"\x0a\x00",
         "a sample field declaring 2^62 bytes"),
        ("invalid_tag.pb", b"\x00\x00\x00\x00" + valid, "field number 0"),
        ("group_wire_type.pb", tag(P_SAMPLE, START_GROUP) + valid, "a field in the deprecated group wire type"),
        ("wrong_wire_type.pb", f_int(P_SAMPLE_TYPE, 7) + valid, "sample_type (a message) sent as a varint"),
        ("wrong_wire_type_nested.pb", encode(replace(parts, P_LOCATION, 0, f_bytes(1, b"\x01"))),
         "a location whose id (a varint) is sent length-delimited"),
        ("no_sample_types.pb", encode([p for p in parts if p[0] != P_SAMPLE_TYPE and p[0] != P_SAMPLE]),
         "no sample types"),
        ("string_table_first_not_empty.pb",
         encode([(f, d) for f, d in parts if f != P_STRING] + [(P_STRING, b"x")] +
                [(P_STRING, s.encode()) for s in STRINGS[1:]]), "string_table[0] is not empty"),
        ("string_index_out_of_range.pb", encode(replace(parts, P_FUNCTION, 1, function(2, 99, S["app.c"]))),
         "a function name pointing past the string table"),
        ("negative_string_index.pb",
         encode(replace(parts, P_SAMPLE_TYPE, 0, value_type(-1, S["bytes"]))),
         "a sample type name at string index -1"),
        ("dangling_location_id.pb", encode(replace(parts, P_SAMPLE, 0, sample([1, 9], [4096, 4]))),
         "a sample referring to location 9, which does not exist"),
        ("dangling_function_id.pb", encode(replace(parts, P_LOCATION, 1, location(2, 1, 0x402000, 9, 20))),
         "a location line referring to function 9, which does not exist"),
        ("dangling_mapping_id.pb", encode(replace(parts, P_LOCATION, 0, location(1, 9, 0x401000, 2, 10))),
         "a location referring to mapping 9, which does not exist"),
        ("zero_location_id.pb", encode(replace(parts, P_LOCATION, 1, location(0, 1, 0x402000, 1, 20))),
         "a location with id 0"),
        ("zero_mapping_id.pb", encode(replace(parts, P_MAPPING, 0, mapping(0, 0x400000, 0x500000, 0, 7))),
         "a mapping with id 0"),
        ("duplicate_function_id.pb", encode(replace(parts, P_FUNCTION, 1, function(1, S["leak"], S["app.c"]))),
         "two functions with id 1"),
        ("duplicate_location_id.pb", encode(replace(parts, P_LOCATION, 1, location(1, 1, 0x402000, 1, 20))),
         "two locations with id 1"),
        ("wrong_value_count.pb", encode(replace(parts, P_SAMPLE, 1, sample([2], [1024]))),
         "a sample with one value for two sample types"),
        ("absurd_value.pb", encode(replace(parts, P_SAMPLE, 1, sample([2], [1 << 62, 1]))),
         "a sample value of 2^62 bytes"),
        ("too_many_samples.pb.gz", gz(encode(parts) + f_bytes(P_SAMPLE, b"") * MAX_TABLE_ENTRIES),
         "2^24 + 2 (empty) samples, past kMaxTableEntries: 32 MiB that would cost gigabytes parsed"),
    ]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    valid_dir = os.path.join(root, "tests", "corpus", "valid")
    malformed_dir = os.path.join(root, "tests", "corpus", "malformed")
    os.makedirs(valid_dir, exist_ok=True)
    os.makedirs(malformed_dir, exist_ok=True)

    valid = encode(profile_parts())
    write(os.path.join(valid_dir, "small.pb.gz"), gz(valid))
    write(os.path.join(valid_dir, "small.pb"), valid)

    files = malformed_files()
    for name in os.listdir(malformed_dir):
        if name != "README.md" and name not in {f[0] for f in files}:
            os.remove(os.path.join(malformed_dir, name))
    lines = [
        "# Malformed profiles",
        "",
        "Generated by `tools/make_malformed_corpus.py` (do not edit by hand; rerun it).",
        "Each file is the profile of `../valid/small.pb` broken in one way. Every verb",
        "that reads profiles must reject each of them with exit status 2 and a message",
        "naming the file, without crashing or hanging.",
        "",
        "| file | what is wrong |",
        "| --- | --- |",
    ]
    for name, data, what in files:
        write(os.path.join(malformed_dir, name), data)
        lines.append(f"| `{name}` | {what} |")
    write(os.path.join(malformed_dir, "README.md"), ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    main()
