// Leak zoo: callbacks registered in a global timer wheel and never cancelled
// (Go: a time.Ticker never stopped, time.After in a loop).
//
// Each tick the service starts two jobs. Each job builds 64 KiB of state and
// registers a repeating progress ticker whose callback reports on that state
// every 10 ticks. When a job completes (2 to 6 ticks later) its ticker should
// be cancelled. The leaking completion path forgets to, so the ticker keeps
// firing forever and keeps the job state alive through its capture. The
// control job has the same shape and cancels its ticker on completion.
// One-shot heartbeat timers fire every tick around them.
//
//   StartJobWithProgressTicker   leak: +64 KiB per tick, the capture of a ticker never cancelled
//                                (16 MiB over 250 ticks)
//   TimerWheel::ScheduleEvery    also grows under the leak: one map node (~100 bytes) per ticker
//   StartJobWithStoppedTicker    control: the same job, its ticker cancelled on completion (stable)
//   ScheduleHeartbeat            churn: one-shot timers that fire on the next tick (stable)
//   CompleteJobsKeepingTicker    where the bug is (no cancel; allocates nothing)
//
// The wheel is an ordinary global: its destructor frees the forgotten
// tickers at exit.
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kJobStateBytes = 64 * 1024;  // 16 MiB over 250 ticks: ~32 samples at the default rate
constexpr int kProgressPeriodTicks = 10;
constexpr int kMinJobTicks = 2, kMaxJobTicks = 6;

struct TimerHandle {
  int due_tick = 0;
  uint64_t id = 0;
};

// Timers ordered by due tick, as an event loop keeps them. Not thread safe.
class TimerWheel {
 public:
  using Callback = std::function<void()>;

  // Runs `callback` at `first_tick`, then every `period` ticks (0: once).
  NOINLINE TimerHandle ScheduleEvery(int first_tick, int period, Callback callback) {
    TimerHandle handle{first_tick, next_id_++};
    timers_.emplace(Key(handle), Timer{period, std::move(callback)});
    return handle;
  }

  NOINLINE bool Cancel(TimerHandle handle) { return timers_.erase(Key(handle)) > 0; }

  // Runs the callbacks due at or before `now`; repeating timers are moved to
  // their next tick (the map node is re-keyed, not reallocated).
  NOINLINE int RunDue(int now) {
    int ran = 0;
    while (!timers_.empty() && timers_.begin()->first.first <= now) {
      auto node = timers_.extract(timers_.begin());
      node.mapped().callback();
      ++ran;
      if (node.mapped().period > 0) {
        node.key().first = now + node.mapped().period;
        timers_.insert(std::move(node));
      }
    }
    return ran;
  }

  size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    int period;
    Callback callback;
  };
  static std::pair<int, uint64_t> Key(TimerHandle handle) { return {handle.due_tick, handle.id}; }

  std::map<std::pair<int, uint64_t>, Timer> timers_;
  uint64_t next_id_ = 1;
};

TimerWheel g_timers;

struct Job {
  uint64_t id;
  int done_tick;
  TimerHandle progress_ticker;
};
std::vector<Job> g_jobs_keeping_ticker;    // in flight; reserved, never more than kMaxJobTicks + 1
std::vector<Job> g_jobs_stopping_ticker;
uint64_t g_progress_reports = 0;

void ReportProgress(uint64_t job_id, const std::vector<char>& state) {
  g_progress_reports += (job_id + static_cast<unsigned char>(state[job_id % 64])) % 2 + 1;
}

NOINLINE void ReserveJobLists() {
  g_jobs_keeping_ticker.reserve(kMaxJobTicks + 1);
  g_jobs_stopping_ticker.reserve(kMaxJobTicks + 1);
}

// The leak's registration site: its ticker will never be cancelled.
NOINLINE void StartJobWithProgressTicker(uint64_t job_id, int now, int duration) {
  std::vector<char> state(kJobStateBytes);
  FillBytes(state.data(), 64, job_id);
  TimerHandle ticker = g_timers.ScheduleEvery(now + kProgressPeriodTicks, kProgressPeriodTicks,
                                              [job_id, state = std::move(state)] { ReportProgress(job_id, state); });
  g_jobs_keeping_ticker.push_back(Job{job_id, now + duration, ticker});
}

NOINLINE void StartJobWithStoppedTicker(uint64_t job_id, int now, int duration) {
  std::vector<char> state(kJobStateBytes);
  FillBytes(state.data(), 64, job_id);
  TimerHandle ticker = g_timers.ScheduleEvery(now + kProgressPeriodTicks, kProgressPeriodTicks,
                                              [job_id, state = std::move(state)] { ReportProgress(job_id, state); });
  g_jobs_stopping_ticker.push_back(Job{job_id, now + duration, ticker});
}

// The bug: the completed job is dropped, its ticker is not cancelled.
NOINLINE void CompleteJobsKeepingTicker(int now) {
  std::erase_if(g_jobs_keeping_ticker, [now](const Job& job) { return job.done_tick <= now; });
}

NOINLINE void CompleteJobsStoppingTicker(int now) {
  std::erase_if(g_jobs_stopping_ticker, [now](const Job& job) {
    if (job.done_tick > now) return false;
    EXPECT_OR_DIE(g_timers.Cancel(job.progress_ticker));
    return true;
  });
}

NOINLINE void ScheduleHeartbeat(int now, uint64_t sequence) {
  std::string message = "heartbeat #" + std::to_string(sequence) + " from the job scheduler";
  g_timers.ScheduleEvery(now + 1, 0, [message = std::move(message)] { Escape(const_cast<char*>(message.data())); });
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  ReserveJobLists();
  uint64_t next_job = 1;
  RunRequestLoop(options, [&](int tick, Rng& rng) {
    ServeBackgroundTraffic(rng);
    g_timers.RunDue(tick);
    ScheduleHeartbeat(tick, tick);
    int duration = static_cast<int>(Uniform(rng, kMinJobTicks, kMaxJobTicks));
    if (!options.clean) {
      StartJobWithProgressTicker(next_job++, tick, duration);
      CompleteJobsKeepingTicker(tick);
    }
    StartJobWithStoppedTicker(next_job++, tick, duration);
    CompleteJobsStoppingTicker(tick);
  });
  // Heartbeats and in-flight jobs: a few; forgotten tickers: one per tick.
  size_t expected_at_most = 2 + 2 * (kMaxJobTicks + 1) + (options.clean ? 0 : options.iterations);
  EXPECT_OR_DIE(g_timers.pending() <= expected_at_most);
  return 0;
}
