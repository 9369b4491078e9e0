// A protocol buffer wire-format encoder that knows nothing of any schema.
//
// Why our own: the preload lives inside someone else's process and must not
// load a shared libprotobuf (or abseil) into it, nor allocate through the
// hooks it serves. Go's runtime writes its pprof output by hand for the same
// reasons; this is the same idea, in ~150 lines, checked in tests against
// the parser protoc generates from proto/profile.proto.
//
// Nested messages are written without computing their sizes first: remember
// where the message starts, write its body, then move the body to make room
// for the field key and length in front of it. Bytes go to the sink only when
// no message is open, so a message is never split across a flush.

#ifndef HEAPWATCH_PRELOAD_PROTOBUF_WRITER_H_
#define HEAPWATCH_PRELOAD_PROTOBUF_WRITER_H_

#include <cstddef>
#include <cstdint>

#include "preload/page_vector.h"

namespace heapwatch {

class ProtobufWriter {
 public:
  // Receives encoded bytes; returns false on error (writing stops).
  using Sink = bool (*)(void* context, const uint8_t* data, size_t size);

  ProtobufWriter(Sink sink, void* context) : sink_(sink), sink_context_(context) {}

  // Scalars. The *Opt forms omit zero values, as proto3 does for singular
  // fields; the others always write (for elements of repeated fields).
  void Uint64(int field, uint64_t value);
  void Uint64Opt(int field, uint64_t value);
  void Int64(int field, int64_t value) { Uint64(field, static_cast<uint64_t>(value)); }
  void Int64Opt(int field, int64_t value) { Uint64Opt(field, static_cast<uint64_t>(value)); }
  void BoolOpt(int field, bool value) { Uint64Opt(field, value ? 1 : 0); }

  // A string or bytes field; always written (string_table needs its "").
  void String(int field, const char* data, size_t length);

  // A packed repeated integer field (int64 / uint64 on the wire).
  template <typename Int>
  void Packed(int field, const Int* values, size_t count) {
    if (count == 0) return;
    size_t start = StartMessage();
    for (size_t i = 0; i < count; ++i) Varint(static_cast<uint64_t>(values[i]));
    EndMessage(field, start);
  }

  // An embedded message: everything written between StartMessage and
  // EndMessage(field, start) is its body.
  size_t StartMessage();
  void EndMessage(int field, size_t start);

  // Hands the remaining bytes to the sink. False if anything failed (sink
  // error or out of memory) at any point.
  bool Finish();

  bool failed() const { return failed_; }

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr int kWireVarint = 0;
  static constexpr int kWireLengthDelimited = 2;

  void Varint(uint64_t value);
  void Key(int field, int wire_type) { Varint((static_cast<uint64_t>(field) << 3) | wire_type); }
  void Append(const void* data, size_t length);
  void FlushIfIdle();

  Sink sink_;
  void* sink_context_;
  PageVector<uint8_t> buffer_;
  int open_messages_ = 0;
  bool failed_ = false;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_PROTOBUF_WRITER_H_
