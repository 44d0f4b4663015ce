// Clock: the seam through which timing code reads time and waits, so that tests can drive
// it deterministically with a FakeClock instead of sleeping.
//
// Two readings: Now() is monotonic (deadlines, intervals, expiry measured locally; the
// machine's is CLOCK_BOOTTIME, a steady clock that also runs while suspended) and
// WallNow() is the calendar (timestamps written into objects). Code that compares its own
// wall clock with a timestamp another machine wrote trusts two clocks to agree; measure
// with Now() from when the timestamp was observed instead.
//
// WaitUntil waits on a CondVar until the clock reaches `deadline` or the CondVar is
// signalled. Like CondVar::WaitFor it may return early (callers loop on their condition
// and re-read Now()).
#pragma once

#include <chrono>
#include <vector>

#include "base/mutex.h"

namespace cstor {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual WallTime WallNow() const = 0;
  // REQUIRES: cv's mutex held (it is released while waiting).
  virtual void WaitUntil(CondVar* cv, TimePoint deadline) const = 0;

  // The machine's clocks; lives for the whole process.
  static const Clock& Real();
};

// Time that moves only when told. Both readings advance together; each FakeClock may
// start its wall reading anywhere, so two of them model machines whose clocks disagree.
// Advance wakes every waiter, which then re-reads the time. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall_start = WallTime(std::chrono::hours(24 * 365 * 56)));

  TimePoint Now() const override;
  WallTime WallNow() const override;
  void WaitUntil(CondVar* cv, TimePoint deadline) const override;

  void Advance(std::chrono::nanoseconds d);
  // True when exactly `threads` threads wait in WaitUntil, each for a time still ahead.
  // For a test whose threads all wait only on this clock (a lease candidate's loop): they
  // have done what the time so far asked of them. Threads waiting on a plain CondVar, or
  // signalled by something else and not yet awake, are not seen.
  bool Idle(int threads) const;

 private:
  struct Waiter {
    CondVar* cv;
    TimePoint deadline;
  };
  mutable Mutex mu_;
  std::chrono::nanoseconds elapsed_ GUARDED_BY(mu_){0};
  const WallTime wall_start_;
  mutable std::vector<Waiter> waiters_ GUARDED_BY(mu_);
};

}  // namespace cstor
