#include "preload/protobuf_writer.h"

#include <cstring>

namespace heapwatch {
namespace {

// Encodes `value` as a varint into `out` (at least 10 bytes); returns its length.
size_t EncodeVarint(uint64_t value, uint8_t* out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<uint8_t>(value) | 0x80;
    value >>= 7;
  }
  out[n++] = static_cast<uint8_t>(value);
  return n;
}

}  // namespace

void ProtobufWriter::Append(const void* data, size_t length) {
  if (failed_) return;
  if (!buffer_.Append(static_cast<const uint8_t*>(data), length)) failed_ = true;
}

void ProtobufWriter::Varint(uint64_t value) {
  uint8_t bytes[10];
  Append(bytes, EncodeVarint(value, bytes));
}

void ProtobufWriter::Uint64(int field, uint64_t value) {
  Key(field, kWireVarint);
  Varint(value);
  FlushIfIdle();
}

void ProtobufWriter::Uint64Opt(int field, uint64_t value) {
  if (value != 0) Uint64(field, value);
}

void ProtobufWriter::String(int field, const char* data, size_t length) {
  Key(field, kWireLengthDelimited);
  Varint(length);
  Append(data, length);
  FlushIfIdle();
}

size_t ProtobufWriter::StartMessage() {
  ++open_messages_;
  return buffer_.size();
}

void ProtobufWriter::EndMessage(int field, size_t start) {
  --open_messages_;
  if (failed_) return;
  // Encode the key and the body's length, then slide the body along to make
  // room for them where the message started.
  size_t body_length = buffer_.size() - start;
  uint8_t header[20];
  size_t header_length = EncodeVarint((static_cast<uint64_t>(field) << 3) | kWireLengthDelimited, header);
  header_length += EncodeVarint(body_length, header + header_length);
  if (!buffer_.Resize(buffer_.size() + header_length)) {
    failed_ = true;
    return;
  }
  uint8_t* body = buffer_.data() + start;
  std::memmove(body + header_length, body, body_length);
  std::memcpy(body, header, header_length);
  FlushIfIdle();
}

void ProtobufWriter::FlushIfIdle() {
  if (open_messages_ != 0 || buffer_.size() < kFlushBytes || failed_) return;
  if (!sink_(sink_context_, buffer_.data(), buffer_.size())) failed_ = true;
  buffer_.Clear();
}

bool ProtobufWriter::Finish() {
  if (!failed_ && !buffer_.empty() && !sink_(sink_context_, buffer_.data(), buffer_.size())) failed_ = true;
  buffer_.Clear();
  buffer_.Release();
  return !failed_;
}

}  // namespace heapwatch
