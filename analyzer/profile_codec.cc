// Implementation of profile_codec.h.
//
// Reading happens in four steps, each with its own error prefix:
//   1. gzip (if the data starts with the gzip magic): inflated twice, first
//      into a fixed scratch buffer only to count, so a bomb stops at the limit
//      having used 64 KiB, then into a buffer of exactly the counted size;
//   2. a shape check of the top-level wire format (CodedInputStream, no
//      allocation): declared lengths must fit, tables must not be absurdly
//      long, before protobuf allocates anything;
//   3. the protoc-generated parser, then a walk that refuses known fields
//      sent with the wrong wire type (protobuf files those away as unknown
//      fields instead of failing);
//   4. the conversion to the resolved model, which checks every string index
//      and every id reference.

#include "analyzer/profile_codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "profile.pb.h"

namespace heapwatch {
namespace {

namespace pb = ::perftools::profiles;
using ::google::protobuf::io::CodedInputStream;
using ::google::protobuf::internal::WireFormatLite;

// Largest table (samples, locations, functions, mappings, strings) accepted.
// Heap profiles hold thousands of entries, very large ones hundreds of
// thousands; 16M empty samples take 2 bytes each on the wire but ~200 in
// memory (protobuf object plus model), which is how a small file would eat
// gigabytes.
constexpr size_t kMaxTableEntries = size_t{1} << 24;

// Largest magnitude of a sample value. 2^53 bytes is 8 PiB, 2^53 objects
// 9e15: no process gets there, and every smaller integer survives the trip
// through a double (percentages, JSON).
constexpr int64_t kMaxSampleValue = int64_t{1} << 53;

// Inflation works through a buffer of this size; it is all the memory the
// counting pass uses.
constexpr size_t kInflateChunk = size_t{64} << 10;

// zlib takes at most UINT_MAX bytes per call.
constexpr size_t kMaxZlibInput = size_t{1} << 30;

absl::Status Error(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// Prefixes `status`'s message with `context` ("decompressing: ...").
absl::Status WithContext(const absl::Status& status, std::string_view context) {
  return absl::Status(status.code(), absl::StrCat(std::string(context), ": ", status.message()));
}

std::string HumanBytes(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) return absl::StrCat(bytes >> 30, " GiB");
  return absl::StrCat(bytes, " bytes");
}

// protobuf reports some problems through its log rather than the return
// value; keep them off stderr (the CLI's stderr belongs to our messages).
void SilenceProtobufLog() {
  static std::once_flag once;
  std::call_once(once, [] { ::google::protobuf::SetLogHandler(nullptr); });
}

// ---- 1. gzip ---------------------------------------------------------------

bool IsGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

// Inflates the single gzip member in `gz`. With `out` null, only counts; else
// copies the inflated bytes to out[0, out_size). Returns the inflated size;
// fails as soon as it exceeds kMaxDecompressedBytes (or out_size).
absl::StatusOr<size_t> Inflate(std::string_view gz, char* out, size_t out_size) {
  z_stream zs{};
  // 16 + MAX_WBITS: a gzip wrapper, with its CRC and length checked at the end.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("zlib inflateInit2 failed");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  std::array<char, kInflateChunk> chunk;
  size_t fed = 0;
  size_t total = 0;
  while (true) {
    if (zs.avail_in == 0 && fed < gz.size()) {
      size_t n = std::min(gz.size() - fed, kMaxZlibInput);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    bool input_left = zs.avail_in > 0 || fed < gz.size();
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = chunk.size() - zs.avail_out;
    if (total + produced > kMaxDecompressedBytes) {
      return Error(absl::StrFormat("inflates to more than %s (gzip bomb?); stopped there",
                                   HumanBytes(kMaxDecompressedBytes)));
    }
    if (out) {
      if (total + produced > out_size) return absl::InternalError("inflated size differs between passes");
      std::memcpy(out + total, chunk.data(), produced);
    }
    total += produced;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK && (produced > 0 || input_left)) continue;
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      // No progress: zlib wants input that is not there.
      return Error("unexpected end of gzip data (truncated file?)");
    }
    return Error(absl::StrCat("corrupt gzip data: ", zs.msg ? zs.msg : absl::StrCat("zlib error ", rc)));
  }
  size_t trailing = zs.avail_in + (gz.size() - fed);
  if (trailing > 0) {
    std::string_view rest = gz.substr(gz.size() - trailing);
    if (IsGzip(rest)) return Error("more than one gzip member (concatenated profiles do not form a profile)");
    return Error(absl::StrFormat("%d bytes of trailing data after the gzip stream", trailing));
  }
  return total;
}

absl::Status Gunzip(std::string_view gz, std::string* out) {
  absl::StatusOr<size_t> size = Inflate(gz, nullptr, 0);
  if (!size.ok()) return size.status();
  out->resize(*size);
  absl::StatusOr<size_t> written = Inflate(gz, out->data(), out->size());
  if (!written.ok()) return written.status();
  if (*written != *size) return absl::InternalError("inflated size differs between passes");
  return absl::OkStatus();
}

// ---- 2. wire shape ---------------------------------------------------------

const char* TableName(int field) {
  switch (field) {
    case 2: return "samples";
    case 3: return "mappings";
    case 4: return "locations";
    case 5: return "functions";
    case 6: return "strings";
    default: return "entries";
  }
}

// Walks the top-level fields of a Profile without allocating: every declared
// length must fit in what is left, every wire type must be one protobuf
// knows, and no table may exceed kMaxTableEntries.
absl::Status CheckWireShape(std::string_view data) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()), static_cast<int>(data.size()));
  in.PushLimit(static_cast<int>(data.size()));
  std::array<size_t, 7> counts{};
  while (true) {
    size_t offset = static_cast<size_t>(in.CurrentPosition());
    uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (in.BytesUntilLimit() == 0) return absl::OkStatus();
      return Error(absl::StrFormat("invalid field tag at byte %d", offset));
    }
    int field = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (field == 0) return Error(absl::StrFormat("field number 0 at byte %d", offset));
    WireFormatLite::WireType wire_type = WireFormatLite::GetTagWireType(tag);
    switch (wire_type) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t ignored;
        if (!in.ReadVarint64(&ignored)) return Error(absl::StrFormat("truncated varint in field %d", field));
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64:
      case WireFormatLite::WIRETYPE_FIXED32: {
        int size = wire_type == WireFormatLite::WIRETYPE_FIXED64 ? 8 : 4;
        if (!in.Skip(size)) return Error(absl::StrFormat("truncated fixed-size value in field %d", field));
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint64_t length;
        if (!in.ReadVarint64(&length)) return Error(absl::StrFormat("truncated length of field %d", field));
        uint64_t left = static_cast<uint64_t>(in.BytesUntilLimit());
        if (length > left) {
          return Error(absl::StrFormat("field %d at byte %d declares %d bytes but only %d remain (truncated?)", field,
                                       offset, length, left));
        }
        in.Skip(static_cast<int>(length));
        if (field >= 2 && field <= 6 && ++counts[field] > kMaxTableEntries) {
          return Error(absl::StrFormat("more than %d %s: not a plausible profile", kMaxTableEntries,
                                       TableName(field)));
        }
        break;
      }
      default:
        return Error(absl::StrFormat("field %d at byte %d has wire type %d, which profiles never use", field, offset,
                                     static_cast<int>(wire_type)));
    }
  }
}

// ---- 3. wrong wire types ---------------------------------------------------

// protobuf keeps a field whose number it knows but whose wire type is wrong
// as an unknown field. Field numbers it does not know are a newer schema's and
// are fine to ignore.
absl::Status CheckNoMistypedFields(const ::google::protobuf::Message& message, std::string_view where) {
  const ::google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const ::google::protobuf::FieldDescriptor* field =
        message.GetDescriptor()->FindFieldByNumber(unknown.field(i).number());
    if (field != nullptr) {
      return Error(absl::StrFormat("%s: field '%s' (number %d) has the wrong wire type", where, field->name(),
                                   field->number()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAllWireTypes(const pb::Profile& profile) {
  if (auto s = CheckNoMistypedFields(profile, "profile"); !s.ok()) return s;
  for (int i = 0; i < profile.sample_type_size(); ++i) {
    if (auto s = CheckNoMistypedFields(profile.sample_type(i), absl::StrFormat("sample type #%d", i)); !s.ok()) {
      return s;
    }
  }
  if (profile.has_period_type()) {
    if (auto s = CheckNoMistypedFields(profile.period_type(), "period type"); !s.ok()) return s;
  }
  for (int i = 0; i < profile.sample_size(); ++i) {
    const pb::Sample& sample = profile.sample(i);
    if (auto s = CheckNoMistypedFields(sample, absl::StrFormat("sample #%d", i)); !s.ok()) return s;
    for (int j = 0; j < sample.label_size(); ++j) {
      if (auto s = CheckNoMistypedFields(sample.label(j), absl::StrFormat("sample #%d label #%d", i, j)); !s.ok()) {
        return s;
      }
    }
  }
  for (int i = 0; i < profile.mapping_size(); ++i) {
    if (auto s = CheckNoMistypedFields(profile.mapping(i), absl::StrFormat("mapping #%d", i)); !s.ok()) return s;
  }
  for (int i = 0; i < profile.location_size(); ++i) {
    const pb::Location& location = profile.location(i);
    if (auto s = CheckNoMistypedFields(location, absl::StrFormat("location #%d", i)); !s.ok()) return s;
    for (int j = 0; j < location.line_size(); ++j) {
      if (auto s = CheckNoMistypedFields(location.line(j), absl::StrFormat("location #%d line #%d", i, j));
          !s.ok()) {
        return s;
      }
    }
  }
  for (int i = 0; i < profile.function_size(); ++i) {
    if (auto s = CheckNoMistypedFields(profile.function(i), absl::StrFormat("function #%d", i)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// ---- 4. wire -> model ------------------------------------------------------

class ModelBuilder {
 public:
  explicit ModelBuilder(const pb::Profile& wire) : wire_(wire) {}

  absl::StatusOr<Profile> Build() {
    if (wire_.string_table_size() == 0 || !wire_.string_table(0).empty()) {
      return Error("string_table[0] must be the empty string");
    }
    if (wire_.sample_type_size() == 0) return Error("no sample types (not a profile?)");
    Profile profile;
    for (int i = 0; i < wire_.sample_type_size(); ++i) {
      auto type = Value(wire_.sample_type(i), absl::StrFormat("sample type #%d", i));
      if (!type.ok()) return type.status();
      profile.sample_types.push_back(*std::move(type));
    }
    if (auto s = BuildMappings(&profile); !s.ok()) return s;
    if (auto s = BuildFunctions(&profile); !s.ok()) return s;
    if (auto s = BuildLocations(&profile); !s.ok()) return s;
    if (auto s = BuildSamples(&profile); !s.ok()) return s;

    struct {
      int64_t index;
      std::string* out;
      const char* what;
    } scalars[] = {{wire_.drop_frames(), &profile.drop_frames, "drop_frames"},
                   {wire_.keep_frames(), &profile.keep_frames, "keep_frames"},
                   {wire_.default_sample_type(), &profile.default_sample_type, "default_sample_type"},
                   {wire_.doc_url(), &profile.doc_url, "doc_url"}};
    for (auto& scalar : scalars) {
      auto s = String(scalar.index, scalar.what);
      if (!s.ok()) return s.status();
      *scalar.out = **s;
    }
    profile.time_nanos = wire_.time_nanos();
    profile.duration_nanos = wire_.duration_nanos();
    if (wire_.has_period_type()) {
      auto type = Value(wire_.period_type(), "period type");
      if (!type.ok()) return type.status();
      profile.period_type = *std::move(type);
    }
    profile.period = wire_.period();
    for (int i = 0; i < wire_.comment_size(); ++i) {
      auto s = String(wire_.comment(i), absl::StrFormat("comment #%d", i));
      if (!s.ok()) return s.status();
      profile.comments.push_back(**s);
    }
    // The builder checked all of this already; this guards the builder.
    if (absl::Status s = profile.CheckValid(); !s.ok()) return s;
    return profile;
  }

 private:
  absl::StatusOr<const std::string*> String(int64_t index, std::string_view what) const {
    if (index < 0 || index >= wire_.string_table_size()) {
      return Error(absl::StrFormat("%s: string index %d out of range (the string table has %d entries)", what, index,
                                   wire_.string_table_size()));
    }
    return &wire_.string_table(static_cast<int>(index));
  }

  absl::StatusOr<ValueType> Value(const pb::ValueType& wire, std::string_view what) const {
    auto type = String(wire.type(), absl::StrCat(std::string(what), " type"));
    if (!type.ok()) return type.status();
    auto unit = String(wire.unit(), absl::StrCat(std::string(what), " unit"));
    if (!unit.ok()) return unit.status();
    return ValueType{**type, **unit};
  }

  // Records `id` of entry #`position` of `kind` into `index`; ids must be
  // non-zero and unique.
  static absl::Status AddId(absl::flat_hash_map<uint64_t, size_t>* index, uint64_t id, size_t position,
                            const char* kind) {
    if (id == 0) return Error(absl::StrFormat("%s #%d has id 0 (ids must be non-zero)", kind, position));
    if (!index->emplace(id, position).second) return Error(absl::StrFormat("%s id %d is used twice", kind, id));
    return absl::OkStatus();
  }

  absl::Status BuildMappings(Profile* profile) {
    for (int i = 0; i < wire_.mapping_size(); ++i) {
      const pb::Mapping& wire = wire_.mapping(i);
      if (auto s = AddId(&mapping_index_, wire.id(), i, "mapping"); !s.ok()) return s;
      std::string where = absl::StrFormat("mapping id %d", wire.id());
      auto filename = String(wire.filename(), where + " filename");
      if (!filename.ok()) return filename.status();
      auto build_id = String(wire.build_id(), where + " build_id");
      if (!build_id.ok()) return build_id.status();
      profile->mappings.push_back({.id = wire.id(),
                                   .memory_start = wire.memory_start(),
                                   .memory_limit = wire.memory_limit(),
                                   .file_offset = wire.file_offset(),
                                   .filename = **filename,
                                   .build_id = **build_id,
                                   .has_functions = wire.has_functions(),
                                   .has_filenames = wire.has_filenames(),
                                   .has_line_numbers = wire.has_line_numbers(),
                                   .has_inline_frames = wire.has_inline_frames()});
    }
    return absl::OkStatus();
  }

  absl::Status BuildFunctions(Profile* profile) {
    for (int i = 0; i < wire_.function_size(); ++i) {
      const pb::Function& wire = wire_.function(i);
      if (auto s = AddId(&function_index_, wire.id(), i, "function"); !s.ok()) return s;
      std::string where = absl::StrFormat("function id %d", wire.id());
      auto name = String(wire.name(), where + " name");
      if (!name.ok()) return name.status();
      auto system_name = String(wire.system_name(), where + " system_name");
      if (!system_name.ok()) return system_name.status();
      auto filename = String(wire.filename(), where + " filename");
      if (!filename.ok()) return filename.status();
      profile->functions.push_back({.id = wire.id(),
                                    .name = **name,
                                    .system_name = **system_name,
                                    .filename = **filename,
                                    .start_line = wire.start_line()});
    }
    return absl::OkStatus();
  }

  absl::Status BuildLocations(Profile* profile) {
    for (int i = 0; i < wire_.location_size(); ++i) {
      const pb::Location& wire = wire_.location(i);
      if (auto s = AddId(&location_index_, wire.id(), i, "location"); !s.ok()) return s;
      Location location{.id = wire.id(), .address = wire.address(), .is_folded = wire.is_folded()};
      if (wire.mapping_id() != 0) {
        auto it = mapping_index_.find(wire.mapping_id());
        if (it == mapping_index_.end()) {
          return Error(absl::StrFormat("location id %d refers to mapping id %d, which does not exist", wire.id(),
                                       wire.mapping_id()));
        }
        location.mapping = it->second;
      }
      location.lines.reserve(wire.line_size());
      for (const pb::Line& line : wire.line()) {
        // pprof accepts a line without a function; it carries nothing a
        // name can be made of, so the model has no room for it.
        if (line.function_id() == 0) continue;
        auto it = function_index_.find(line.function_id());
        if (it == function_index_.end()) {
          return Error(absl::StrFormat("location id %d refers to function id %d, which does not exist", wire.id(),
                                       line.function_id()));
        }
        location.lines.push_back({.function = it->second, .line = line.line(), .column = line.column()});
      }
      profile->locations.push_back(std::move(location));
    }
    return absl::OkStatus();
  }

  absl::Status BuildSamples(Profile* profile) {
    const int types = wire_.sample_type_size();
    profile->samples.reserve(wire_.sample_size());
    for (int i = 0; i < wire_.sample_size(); ++i) {
      const pb::Sample& wire = wire_.sample(i);
      if (wire.value_size() != types) {
        return Error(absl::StrFormat("sample #%d has %d values for %d sample types", i, wire.value_size(), types));
      }
      Sample sample;
      sample.values.assign(wire.value().begin(), wire.value().end());
      for (int64_t value : sample.values) {
        if (value > kMaxSampleValue || value < -kMaxSampleValue) {
          return Error(absl::StrFormat("sample #%d has the absurd value %d (more than 2^53)", i, value));
        }
      }
      sample.locations.reserve(wire.location_id_size());
      for (uint64_t id : wire.location_id()) {
        auto it = location_index_.find(id);
        if (it == location_index_.end()) {
          return Error(absl::StrFormat("sample #%d refers to location id %d, which does not exist", i, id));
        }
        sample.locations.push_back(it->second);
      }
      for (int j = 0; j < wire.label_size(); ++j) {
        const pb::Label& label = wire.label(j);
        std::string where = absl::StrFormat("sample #%d label #%d", i, j);
        auto key = String(label.key(), where + " key");
        if (!key.ok()) return key.status();
        auto num_unit = String(label.num_unit(), where + " num_unit");
        if (!num_unit.ok()) return num_unit.status();
        Label out{.key = **key, .num_unit = **num_unit};
        // As pprof reads it: a label is a string label when it has a string,
        // else a number (possibly 0).
        if (label.str() != 0) {
          auto str = String(label.str(), where + " str");
          if (!str.ok()) return str.status();
          out.str = **str;
        }
        if (label.str() == 0 || label.num() != 0 || label.num_unit() != 0) out.num = label.num();
        sample.labels.push_back(std::move(out));
      }
      profile->samples.push_back(std::move(sample));
    }
    return absl::OkStatus();
  }

  const pb::Profile& wire_;
  absl::flat_hash_map<uint64_t, size_t> mapping_index_;
  absl::flat_hash_map<uint64_t, size_t> function_index_;
  absl::flat_hash_map<uint64_t, size_t> location_index_;
};

// ---- model -> wire ---------------------------------------------------------

class StringTable {
 public:
  StringTable() { Intern(""); }
  int64_t Intern(const std::string& s) {
    auto [it, inserted] = index_.emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  absl::flat_hash_map<std::string, int64_t> index_;
  std::vector<std::string> strings_;
};

// The ids to write for `items`: their own when all are non-zero and unique,
// else 1..n (a table with a zero or repeated id is renumbered as a whole,
// which keeps ids dense and references stay right because the model refers
// by index).
template <typename T>
std::vector<uint64_t> WireIds(const std::vector<T>& items) {
  std::vector<uint64_t> ids;
  ids.reserve(items.size());
  absl::flat_hash_set<uint64_t> seen;
  bool keep = true;
  for (const T& item : items) {
    if (item.id == 0 || !seen.insert(item.id).second) keep = false;
    ids.push_back(item.id);
  }
  if (!keep) {
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = i + 1;
  }
  return ids;
}

void SetValueType(const ValueType& in, pb::ValueType* out, StringTable* strings) {
  out->set_type(strings->Intern(in.type));
  out->set_unit(strings->Intern(in.unit));
}

// zlib's deflate with a gzip wrapper.
absl::StatusOr<std::string> Gzip(std::string_view data) {
  z_stream zs{};
  // 15 + 16: the largest window, with a gzip header and trailer; 8: zlib's
  // default memory level.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("zlib deflateInit2 failed");
  }
  std::string out;
  std::array<char, kInflateChunk> chunk;
  size_t fed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && fed < data.size()) {
      size_t n = std::min(data.size() - fed, kMaxZlibInput);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = deflate(&zs, fed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return absl::InternalError(absl::StrCat("zlib deflate failed: ", rc));
    }
    out.append(chunk.data(), chunk.size() - zs.avail_out);
  }
  deflateEnd(&zs);
  return out;
}

std::string ErrnoText(int error) { return std::strerror(error); }

// A hint for input that is text, which protobuf will happily misread.
std::string TextHint(std::string_view data) {
  std::string_view head = data.substr(0, 512);
  for (char c : head) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\r' && c != '\t') return "";
    if (u == 0x7f) return "";
  }
  if (head.starts_with("heap profile:") || head.starts_with("--- heapz")) {
    return " (this is a legacy text heap profile; convert it with `go tool pprof -proto`)";
  }
  return " (this looks like a text file; heapwatch reads pprof protobuf profiles, gzipped or not)";
}

}  // namespace

absl::StatusOr<Profile> ParseProfile(std::string_view data) {
  SilenceProtobufLog();
  if (data.empty()) return Error("empty input (not a profile)");
  std::string inflated;
  if (IsGzip(data)) {
    if (absl::Status s = Gunzip(data, &inflated); !s.ok()) return WithContext(s, "decompressing");
    data = inflated;
    if (data.empty()) return Error("decompressing: the gzip stream holds no data");
  } else if (data.size() > kMaxDecompressedBytes) {
    return Error(absl::StrFormat("larger than %s", HumanBytes(kMaxDecompressedBytes)));
  }
  std::string hint = TextHint(data);
  if (absl::Status s = CheckWireShape(data); !s.ok()) {
    return Error(absl::StrCat("not a pprof protobuf profile: ", s.message(), hint));
  }
  pb::Profile wire;
  if (!wire.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Error(absl::StrCat("not a pprof protobuf profile: the protobuf does not parse (truncated or corrupt)", hint));
  }
  if (absl::Status s = CheckAllWireTypes(wire); !s.ok()) {
    return Error(absl::StrCat("malformed profile: ", s.message(), hint));
  }
  absl::StatusOr<Profile> profile = ModelBuilder(wire).Build();
  if (!profile.ok()) return Error(absl::StrCat("malformed profile: ", profile.status().message(), hint));
  return profile;
}

absl::StatusOr<Profile> ReadProfileFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", ErrnoText(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return absl::InternalError(absl::StrCat(path, ": ", ErrnoText(errno)));
  if (S_ISDIR(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  // Read at most one byte past the limit whatever stat says, so /dev/zero or
  // a growing file cannot make us read forever.
  std::string data;
  if (S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxDecompressedBytes) {
    data.reserve(static_cast<size_t>(st.st_size));
  }
  std::array<char, kInflateChunk> buffer;
  while (true) {
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", ErrnoText(errno)));
    }
    if (n == 0) break;
    data.append(buffer.data(), static_cast<size_t>(n));
    if (data.size() > kMaxDecompressedBytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: larger than %s", path, HumanBytes(kMaxDecompressedBytes)));
    }
  }
  absl::StatusOr<Profile> profile = ParseProfile(data);
  if (!profile.ok()) return WithContext(profile.status(), path);
  return profile;
}

std::string SerializeProfile(const Profile& profile) {
  SilenceProtobufLog();
  pb::Profile wire;
  StringTable strings;
  for (const ValueType& type : profile.sample_types) SetValueType(type, wire.add_sample_type(), &strings);

  std::vector<uint64_t> mapping_ids = WireIds(profile.mappings);
  std::vector<uint64_t> location_ids = WireIds(profile.locations);
  std::vector<uint64_t> function_ids = WireIds(profile.functions);

  for (const Sample& sample : profile.samples) {
    pb::Sample* out = wire.add_sample();
    for (size_t location : sample.locations) {
      out->add_location_id(location < location_ids.size() ? location_ids[location] : 0);
    }
    for (int64_t value : sample.values) out->add_value(value);
    for (const Label& label : sample.labels) {
      pb::Label* l = out->add_label();
      l->set_key(strings.Intern(label.key));
      if (label.str) l->set_str(strings.Intern(*label.str));
      if (label.num) l->set_num(*label.num);
      if (!label.num_unit.empty()) l->set_num_unit(strings.Intern(label.num_unit));
    }
  }
  for (size_t i = 0; i < profile.mappings.size(); ++i) {
    const Mapping& mapping = profile.mappings[i];
    pb::Mapping* out = wire.add_mapping();
    out->set_id(mapping_ids[i]);
    out->set_memory_start(mapping.memory_start);
    out->set_memory_limit(mapping.memory_limit);
    out->set_file_offset(mapping.file_offset);
    out->set_filename(strings.Intern(mapping.filename));
    out->set_build_id(strings.Intern(mapping.build_id));
    out->set_has_functions(mapping.has_functions);
    out->set_has_filenames(mapping.has_filenames);
    out->set_has_line_numbers(mapping.has_line_numbers);
    out->set_has_inline_frames(mapping.has_inline_frames);
  }
  for (size_t i = 0; i < profile.locations.size(); ++i) {
    const Location& location = profile.locations[i];
    pb::Location* out = wire.add_location();
    out->set_id(location_ids[i]);
    if (location.mapping && *location.mapping < mapping_ids.size()) {
      out->set_mapping_id(mapping_ids[*location.mapping]);
    }
    out->set_address(location.address);
    for (const Line& line : location.lines) {
      pb::Line* l = out->add_line();
      l->set_function_id(line.function < function_ids.size() ? function_ids[line.function] : 0);
      l->set_line(line.line);
      l->set_column(line.column);
    }
    out->set_is_folded(location.is_folded);
  }
  for (size_t i = 0; i < profile.functions.size(); ++i) {
    const Function& function = profile.functions[i];
    pb::Function* out = wire.add_function();
    out->set_id(function_ids[i]);
    out->set_name(strings.Intern(function.name));
    out->set_system_name(strings.Intern(function.system_name));
    out->set_filename(strings.Intern(function.filename));
    out->set_start_line(function.start_line);
  }
  wire.set_drop_frames(strings.Intern(profile.drop_frames));
  wire.set_keep_frames(strings.Intern(profile.keep_frames));
  wire.set_time_nanos(profile.time_nanos);
  wire.set_duration_nanos(profile.duration_nanos);
  if (!profile.period_type.type.empty() || !profile.period_type.unit.empty()) {
    SetValueType(profile.period_type, wire.mutable_period_type(), &strings);
  }
  wire.set_period(profile.period);
  for (const std::string& comment : profile.comments) wire.add_comment(strings.Intern(comment));
  wire.set_default_sample_type(strings.Intern(profile.default_sample_type));
  wire.set_doc_url(strings.Intern(profile.doc_url));
  for (const std::string& s : strings.strings()) wire.add_string_table(s);
  return wire.SerializeAsString();
}

absl::Status WriteProfileFile(const Profile& profile, const std::string& path) {
  absl::StatusOr<std::string> gz = Gzip(SerializeProfile(profile));
  if (!gz.ok()) return WithContext(gz.status(), path);
  std::string temp = path + ".tmp.XXXXXX";
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create a file: ", ErrnoText(errno)));
  auto fail = [&](const std::string& what) {
    int error = errno;
    close(fd);
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat(path, ": ", what, ": ", ErrnoText(error)));
  };
  // mkostemp creates the file 0600. A file replaced keeps its mode (the
  // preload writes profiles 0600: they show a program's internals, and a
  // rewrite, e.g. by symbolize, must not widen that); a new file gets the
  // usual 0666 less the umask.
  struct stat existing;
  mode_t mode;
  if (stat(path.c_str(), &existing) == 0) {
    mode = existing.st_mode & 07777;
  } else {
    mode_t mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(fd, mode) != 0) return fail("chmod");
  for (size_t written = 0; written < gz->size();) {
    ssize_t n = write(fd, gz->data() + written, gz->size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    int error = errno;
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat(path, ": close: ", ErrnoText(error)));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat(path, ": rename: ", ErrnoText(error)));
  }
  return absl::OkStatus();
}

}  // namespace heapwatch
