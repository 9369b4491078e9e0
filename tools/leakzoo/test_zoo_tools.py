"""Tests of the leak-zoo tools' parsers: checker reports, heapwatch check JSON, profiles.

The checker excerpts below are trimmed from real runs of the zoo programs
(valgrind 3.19, gcc 12 LeakSanitizer, heaptrack 1.4) on Debian 12.
Run: python3 -m unittest discover -s tools/leakzoo -p 'test_*.py'
"""

import gzip
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_checkers  # noqa: E402
import zoo  # noqa: E402

VALGRIND = """\
==19434== HEAP SUMMARY:
==19434==     in use at exit: 3,605,800 bytes in 110 blocks
==19434==
==19434== 3,604,480 bytes in 55 blocks are indirectly lost in loss record 1 of 3
==19434==    at 0x4842013: operator new[](unsigned long) (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==19434==    by 0x109432: make_unique<char []> (unique_ptr.h:1080)
==19434==    by 0x109432: AcceptClientConnection(unsigned long, int) (erased_slot_pointers.cc:54)
==19434==    by 0x109CF0: main (erased_slot_pointers.cc:80)
==19434==
==19434== 3,605,800 (1,320 direct, 3,604,480 indirect) bytes in 55 blocks are definitely lost in loss record 2 of 3
==19434==    at 0x4841F2F: operator new(unsigned long) (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==19434==    by 0x10941E: AcceptClientConnection(unsigned long, int) (erased_slot_pointers.cc:51)
==19434==    by 0x109CF0: main (erased_slot_pointers.cc:80)
==19434==
==19434== 232 bytes in 1 blocks are still reachable in loss record 3 of 3
==19434==    at 0x4841F2F: operator new(unsigned long) (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==19434==    by 0x10B974: Router() (blocked_threads.cc:44)
==19434==
==19434== LEAK SUMMARY:
==19434==    definitely lost: 1,320 bytes in 55 blocks
"""

LSAN = """\
=================================================================
==19506==ERROR: LeakSanitizer: detected memory leaks

Direct leak of 1320 byte(s) in 55 object(s) allocated from:
    #0 0x7f1678a11e35 in operator new(unsigned long) ../../../../src/libsanitizer/lsan/lsan_interceptors.cpp:248
    #1 0x56239891c437 in AcceptClientConnection(unsigned long, int) /src/tests/leakzoo/erased_slot_pointers.cc:51
    #2 0x56239891cd46 in main /src/tests/leakzoo/erased_slot_pointers.cc:80

Indirect leak of 1638400 byte(s) in 100 object(s) allocated from:
    #0 0x7f6163a11e35 in operator new(unsigned long) ../../../../src/libsanitizer/lsan/lsan_interceptors.cpp:248
    #1 0x55bfe4ac7403 in std::vector<char, std::allocator<char> >::resize(unsigned long) stl_vector.h:1011
    #2 0x55bfe4ac6347 in AttachOwningStream(std::shared_ptr<Session<std::shared_ptr> > const&) shared_ptr_cycles.cc:53

SUMMARY: LeakSanitizer: 1639720 byte(s) leaked in 155 allocation(s).
"""

HEAPTRACK = """\
reading file "ht.zst" - please wait, this might take some time...
MEMORY LEAKS
3.60M leaked over 400 calls from
std::__detail::_MakeUniq<>::__array std::make_unique<>(unsigned long)
  at /usr/include/c++/12/bits/unique_ptr.h:1080
AcceptClientConnection(unsigned long, int)
  at /src/tests/leakzoo/erased_slot_pointers.cc:54
3.60M leaked over 100 calls from:
    main
      at /src/tests/leakzoo/erased_slot_pointers.cc:80

1.32K leaked over 100 calls from
TimerWheel::ScheduleEvery(int, int, std::function<void ()>)
  at /src/tests/leakzoo/uncancelled_timers.cc:45
1.32K leaked over 100 calls from:
    main

total runtime: 2.01s.
total memory leaked: 3.61M
"""


class CheckerParsersTest(unittest.TestCase):
    def test_valgrind_records_count_direct_bytes_of_definitely_lost(self):
        records = compare_checkers.parse_valgrind(VALGRIND)
        self.assertEqual([(kind, size) for kind, size, _ in records],
                         [("indirectly lost", 3604480), ("definitely lost", 1320), ("still reachable", 232)])
        self.assertEqual(compare_checkers.findings_for(records, "AcceptClientConnection"),
                         {"indirectly lost": 3604480, "definitely lost": 1320})
        self.assertEqual(compare_checkers.findings_for(records, "Router"), {"still reachable": 232})
        self.assertEqual(compare_checkers.findings_for(records, "AcceptBackendConnection"), {})

    def test_lsan_direct_and_indirect(self):
        records = compare_checkers.parse_lsan(LSAN)
        self.assertEqual([(kind, size) for kind, size, _ in records],
                         [("definitely lost", 1320), ("indirectly lost", 1638400)])
        self.assertEqual(compare_checkers.findings_for(records, "AttachOwningStream"), {"indirectly lost": 1638400})
        # A different function whose name ends the same is not a match.
        self.assertEqual(compare_checkers.findings_for(records, "Stream"), {})

    def test_heaptrack_leak_list(self):
        records = compare_checkers.parse_heaptrack(HEAPTRACK)
        self.assertEqual([size for _, size, _ in records], [3600000, 1320])
        self.assertEqual(compare_checkers.findings_for(records, "TimerWheel::ScheduleEvery"),
                         {"not freed at exit": 1320})
        self.assertEqual(compare_checkers.parse_heaptrack("no leak section"), [])

    def test_caught_means_reported_as_lost(self):
        records = compare_checkers.parse_valgrind(VALGRIND)
        self.assertTrue(compare_checkers.caught((0, records, False), ["AcceptClientConnection"]))
        self.assertFalse(compare_checkers.caught((0, records, False), ["Router"]))  # still reachable only

    def test_describe_check_report(self):
        report = {"verdict": "fail", "processes": [{"pid": 1, "snapshots": 10, "sites": [
            {"classification": "leak", "site": "std::vector::_M_default_append",
             "stack": ["std::vector::_M_default_append", "AcceptClientConnection", "main"],
             "inuse_bytes": [1, 2], "growth_bytes": 16 << 20, "growth_bytes_per_sec": 4 << 20},
            {"classification": "plateau", "site": "AcceptBackendConnection", "stack": ["AcceptBackendConnection"],
             "inuse_bytes": [1, 1], "growth_bytes": 0, "growth_bytes_per_sec": 0}]}]}
        self.assertEqual(
            compare_checkers.describe_check(report, ["AcceptClientConnection", "AcceptBackendConnection", "Other"]),
            "AcceptClientConnection: leak (16.0 MiB, 4.0 MiB/s); AcceptBackendConnection: plateau (0 B, 0 B/s); "
            "Other: not reported")


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number, value):
    """A length-delimited field (bytes) or a varint field (int)."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


class ProfileReaderTest(unittest.TestCase):
    def test_reads_samples_packed_and_unpacked(self):
        strings = [b"", b"inuse_space", b"bytes", b"Leaf", b"Caller"]
        profile = b"".join([
            _field(1, _field(1, 1) + _field(2, 2)),                          # sample_type inuse_space/bytes
            _field(2, _field(1, _varint(1) + _varint(2)) + _field(2, _varint(4096))),  # packed ids, packed value
            _field(2, _field(1, 2) + _field(2, 100)),                        # unpacked
            _field(4, _field(1, 1) + _field(4, _field(1, 1))),               # location 1 -> function 1
            _field(4, _field(1, 2) + _field(4, _field(1, 2))),
            _field(5, _field(1, 1) + _field(2, 3)),                          # function 1 "Leaf"
            _field(5, _field(1, 2) + _field(2, 4)),
        ] + [_field(6, s) for s in strings] + [_field(9, 1234)])
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "heap.7.0001.pb.gz")
            with gzip.open(path, "wb") as f:
                f.write(profile)
            with open(os.path.join(directory, "heap.7.exit.pb.gz"), "wb") as f:
                f.write(gzip.compress(profile))
            series = zoo.profile_series(directory)
            self.assertEqual(list(series), [7])
            self.assertEqual(series[7][0], [path])
            p = zoo.read_profile(path)
        self.assertEqual(p.sample_types, ["inuse_space"])
        self.assertEqual(p.time_nanos, 1234)
        self.assertEqual(p.frame_names(p.samples[0]), ["Leaf", "Caller"])
        self.assertEqual(zoo.inuse_by_function(p, ["Leaf", "Caller"]), {"Leaf": 4096, "Caller": 4196})

    def test_rejects_garbage(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "heap.1.0001.pb.gz")
            with open(path, "wb") as f:
                f.write(b"\x0a\xff\xff\xff")  # a length running past the end
            with self.assertRaises(ValueError):
                zoo.read_profile(path)

    def test_short_name(self):
        self.assertEqual(zoo.short_name("void TimerWheel::ScheduleEvery(int, int, std::function<void ()>)"),
                         "TimerWheel::ScheduleEvery")
        self.assertEqual(zoo.short_name("std::vector<char, std::allocator<char> >::resize"), "std::vector::resize")


if __name__ == "__main__":
    unittest.main()
