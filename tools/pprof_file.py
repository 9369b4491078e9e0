"""Just enough of the pprof format (profile.proto) to read heapwatch's
profiles from Python tools: samples, locations, function names, comments.
Standard library only; the C++ analyzer (analyzer/profile_codec.h) is the
real reader. Used by tools/leakzoo and tools/bench."""

import gzip
from dataclasses import dataclass, field


def _varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """Yields (field number, wire type, value) of one message; value is int or bytes."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("a field runs past the end of its message")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _repeated_ints(wire, value):
    """A repeated int64/uint64 field element: packed (wire 2) or not."""
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(v)
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class Profile:
    sample_types: list = field(default_factory=list)   # ["alloc_objects", ...]
    samples: list = field(default_factory=list)        # (location ids leaf first, values)
    locations: dict = field(default_factory=dict)      # id -> [function id, ...] innermost first
    functions: dict = field(default_factory=dict)      # id -> name
    comments: list = field(default_factory=list)       # the comment lines
    time_nanos: int = 0

    def value_index(self, sample_type):
        return self.sample_types.index(sample_type)

    def frame_names(self, sample):
        names = []
        for location_id in sample[0]:
            names.extend(self.functions.get(f, "") for f in self.locations.get(location_id, []))
        return names


def read_profile(path):
    """Parses a gzip (or plain) profile.proto file. Raises ValueError if it does not parse."""
    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    strings, sample_types, functions_raw, comment_ids, p = [], [], {}, [], Profile()
    try:
        for number, wire, value in _fields(data):
            if number == 6:
                strings.append(value.decode("utf-8", "replace"))
            elif number == 1:
                type_index = dict((n, v) for n, _, v in _fields(value)).get(1, 0)
                sample_types.append(type_index)
            elif number == 2:
                locations, values = [], []
                for n, w, v in _fields(value):
                    if n == 1:
                        locations += _repeated_ints(w, v)
                    elif n == 2:
                        values += [_signed(x) for x in _repeated_ints(w, v)]
                p.samples.append((locations, values))
            elif number == 4:
                location_id, lines = 0, []
                for n, _, v in _fields(value):
                    if n == 1:
                        location_id = v
                    elif n == 4:
                        lines.append(dict((ln, lv) for ln, _, lv in _fields(v)).get(1, 0))
                p.locations[location_id] = lines
            elif number == 5:
                fields_ = {}
                for n, _, v in _fields(value):
                    fields_[n] = v
                functions_raw[fields_.get(1, 0)] = (fields_.get(2, 0), fields_.get(3, 0))
            elif number == 9:
                p.time_nanos = value
            elif number == 13:
                comment_ids += _repeated_ints(wire, value)
    except (IndexError, ValueError) as e:
        raise ValueError(f"{path}: not a profile.proto message ({e})") from e
    try:
        p.sample_types = [strings[i] for i in sample_types]
        for function_id, (name, system_name) in functions_raw.items():
            p.functions[function_id] = strings[name] or strings[system_name]
        p.comments = [strings[i] for i in comment_ids]
    except IndexError as e:
        raise ValueError(f"{path}: string index out of range") from e
    if not strings or strings[0] != "":
        raise ValueError(f"{path}: string_table[0] is not empty")
    return p
