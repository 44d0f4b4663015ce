#include "base/clock.h"

#include <time.h>

#include <algorithm>

namespace cstor {
namespace {

class RealClock final : public Clock {
 public:
  // CLOCK_BOOTTIME: monotonic like steady_clock, and it also counts time the machine was
  // suspended, so a lease measured with it does not stretch across a suspend.
  TimePoint Now() const override {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return TimePoint(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void WaitUntil(CondVar* cv, TimePoint deadline) const override NO_THREAD_SAFETY_ANALYSIS {
    const auto now = Now();
    if (deadline <= now) return;
    // Bounded, so a far deadline (TimePoint::max()) cannot overflow the wait's arithmetic.
    const auto wait = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::hours(1));
    cv->WaitFor(std::chrono::ceil<std::chrono::microseconds>(wait));
  }
};

// A waiter re-checks this often even when no Advance woke it: a signal sent between the
// waiter's last look at the time and its wait would otherwise be missed.
constexpr std::chrono::milliseconds kFakeWaitSlice{5};

}  // namespace

const Clock& Clock::Real() {
  static const RealClock clock;
  return clock;
}

FakeClock::FakeClock(WallTime wall_start) : wall_start_(wall_start) {}

Clock::TimePoint FakeClock::Now() const {
  MutexLock lock(&mu_);
  return TimePoint(elapsed_);
}

Clock::WallTime FakeClock::WallNow() const {
  MutexLock lock(&mu_);
  return wall_start_ + std::chrono::duration_cast<WallTime::duration>(elapsed_);
}

void FakeClock::WaitUntil(CondVar* cv, TimePoint deadline) const NO_THREAD_SAFETY_ANALYSIS {
  {
    MutexLock lock(&mu_);
    if (TimePoint(elapsed_) >= deadline) return;
    waiters_.push_back({cv, deadline});
  }
  cv->WaitFor(kFakeWaitSlice);
  MutexLock lock(&mu_);
  waiters_.erase(std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
    return w.cv == cv && w.deadline == deadline;
  }));
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  MutexLock lock(&mu_);
  elapsed_ += d;
  // Signalling without the waiters' mutexes is allowed; a waiter that had not yet blocked
  // misses it and looks again after kFakeWaitSlice.
  for (const Waiter& w : waiters_) w.cv->SignalAll();
}

bool FakeClock::Idle(int threads) const {
  MutexLock lock(&mu_);
  return static_cast<int>(waiters_.size()) == threads &&
         std::all_of(waiters_.begin(), waiters_.end(),
                     [&](const Waiter& w) { return w.deadline > TimePoint(elapsed_); });
}

}  // namespace cstor
