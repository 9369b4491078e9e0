// Leak zoo: a realloc'd buffer growing forever (the C form of an append-only
// slice or log that nobody truncates).
//
// Each tick the service appends 64 records of 1 KiB to an in-memory audit
// journal and 64 to an upload batch. Both are C byte buffers grown with
// realloc by half their capacity when full. The journal is never truncated.
// The batch, the control, is sent and freed whenever it reaches 4 MiB (every
// 64 ticks, 1.3 s), so its in-use bytes climb and drop: a sawtooth whose
// teeth span two to three 0.5 s snapshots.
//
//   AppendToAuditJournal   leak: +64 KiB per tick (16 MiB over 250 ticks), in steps
//                          of x1.5 as realloc moves it
//   AppendToUploadBatch    control: 0 to 5.4 MiB (capacity) and back every 64 ticks (sawtooth)
//
// Each append function has its own copy of the five lines of growth code on
// purpose: a shared helper would be the first user frame of both.
#include <cstdlib>
#include <cstring>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kRecordBytes = 1024;
constexpr int kJournalRecordsPerTick = 64;   // 16 MiB over 250 ticks
constexpr int kBatchRecordsPerTick = 64;     // the same traffic, flushed every 64 ticks
constexpr size_t kBatchFlushBytes = 4 * 1024 * 1024;
constexpr size_t kInitialCapacity = 64 * 1024;

struct ByteBuffer {
  char* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;
};

ByteBuffer g_audit_journal;  // never truncated; still referenced at exit
ByteBuffer g_upload_batch;
size_t g_batches_sent = 0;

NOINLINE void AppendToAuditJournal(const char* record, size_t size) {
  if (g_audit_journal.size + size > g_audit_journal.capacity) {
    size_t capacity = g_audit_journal.capacity == 0 ? kInitialCapacity : g_audit_journal.capacity;
    while (capacity < g_audit_journal.size + size) capacity += capacity / 2;
    g_audit_journal.data = static_cast<char*>(std::realloc(g_audit_journal.data, capacity));
    EXPECT_OR_DIE(g_audit_journal.data != nullptr);
    g_audit_journal.capacity = capacity;
  }
  std::memcpy(g_audit_journal.data + g_audit_journal.size, record, size);
  g_audit_journal.size += size;
}

NOINLINE void AppendToUploadBatch(const char* record, size_t size) {
  if (g_upload_batch.size + size > g_upload_batch.capacity) {
    size_t capacity = g_upload_batch.capacity == 0 ? kInitialCapacity : g_upload_batch.capacity;
    while (capacity < g_upload_batch.size + size) capacity += capacity / 2;
    g_upload_batch.data = static_cast<char*>(std::realloc(g_upload_batch.data, capacity));
    EXPECT_OR_DIE(g_upload_batch.data != nullptr);
    g_upload_batch.capacity = capacity;
  }
  std::memcpy(g_upload_batch.data + g_upload_batch.size, record, size);
  g_upload_batch.size += size;
}

// "Sends" the batch and frees it; the next append starts a new one.
NOINLINE void FlushUploadBatch() {
  Escape(g_upload_batch.data);
  std::free(g_upload_batch.data);
  g_upload_batch = ByteBuffer{};
  ++g_batches_sent;
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  char record[kRecordBytes];
  uint64_t sequence = 0;
  RunRequestLoop(options, [&](int, Rng& rng) {
    ServeBackgroundTraffic(rng);
    if (!options.clean) {
      for (int i = 0; i < kJournalRecordsPerTick; ++i) {
        FillBytes(record, 32, ++sequence);
        AppendToAuditJournal(record, sizeof(record));
      }
    }
    for (int i = 0; i < kBatchRecordsPerTick; ++i) {
      FillBytes(record, 32, ++sequence);
      AppendToUploadBatch(record, sizeof(record));
    }
    if (g_upload_batch.size >= kBatchFlushBytes) FlushUploadBatch();
  });
  FlushUploadBatch();  // at shutdown, the partial batch goes too
  EXPECT_OR_DIE(options.clean || g_audit_journal.size == static_cast<size_t>(options.iterations) *
                                                            kJournalRecordsPerTick * kRecordBytes);
  return 0;
}
