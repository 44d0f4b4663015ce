// WorkQueue: the queue between an informer's events and a controller's workers.
//
//   - De-duplicating: a key waiting in the queue is there once however often it is added.
//   - Never concurrent for one key: a key added while a worker processes it is queued
//     again only when that worker calls Done, so no two workers reconcile one object.
//   - Rate-limited: AddRateLimited delays a key by base * 2^failures (up to a maximum),
//     and all rate-limited adds share a token bucket; Forget resets a key's failures.
//   - One waiting entry per key: a delayed add (AddAfter, AddRateLimited) for a key that
//     is already waiting keeps the earlier time, so a controller that asks to be called
//     again after every event still has one periodic reconcile, not one per event.
//
// Time comes from a Clock (tests drive a FakeClock). Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/clock.h"
#include "base/mutex.h"

namespace cstor::client {

struct RateLimit {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{std::chrono::seconds(300)};
  double qps = 10;     // the shared bucket's refill rate
  double burst = 100;  // and its size
};

class WorkQueue {
 public:
  explicit WorkQueue(RateLimit limit = {}, const Clock& clock = Clock::Real());

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // The next key to process, waiting for one; nullopt once shut down.
  std::optional<std::string> Get();
  void Done(const std::string& key);

  // Get returns nullopt from now on; keys not yet taken are dropped.
  void ShutDown();
  size_t Len() const;
  // Keys waiting for a delayed add's time (each once).
  size_t Waiting() const;

  // The delay AddRateLimited would use now for `key` (for tests and logging).
  std::chrono::milliseconds NextDelay(const std::string& key);

 private:
  void AddLocked(const std::string& key) REQUIRES(mu_);
  void AddAtLocked(const std::string& key, Clock::TimePoint at) REQUIRES(mu_);
  // The delay for `key` now; `consume` records the failure and takes the bucket's token.
  std::chrono::milliseconds DelayLocked(const std::string& key, bool consume) REQUIRES(mu_);

  const RateLimit limit_;
  const Clock& clock_;
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  std::unordered_set<std::string> dirty_ GUARDED_BY(mu_);       // waiting to be processed
  std::unordered_set<std::string> processing_ GUARDED_BY(mu_);  // taken by a worker
  using Delayed = std::multimap<Clock::TimePoint, std::string>;
  Delayed delayed_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Delayed::iterator> waiting_ GUARDED_BY(mu_);  // into delayed_
  std::unordered_map<std::string, int> failures_ GUARDED_BY(mu_);
  double tokens_ GUARDED_BY(mu_);  // negative: reserved by waiting keys
  Clock::TimePoint last_refill_ GUARDED_BY(mu_);
  bool shutdown_ GUARDED_BY(mu_) = false;
};

}  // namespace cstor::client
