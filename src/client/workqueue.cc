#include "client/workqueue.h"

#include <algorithm>
#include <cmath>

namespace cstor::client {

WorkQueue::WorkQueue(RateLimit limit, const Clock& clock)
    : limit_(limit), clock_(clock), tokens_(limit.burst), last_refill_(clock.Now()) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutdown_ || dirty_.count(key)) return;
  dirty_.insert(key);
  if (processing_.count(key)) return;  // Done queues it again
  queue_.push_back(key);
  cv_.Signal();
}

void WorkQueue::Add(const std::string& key) {
  MutexLock lock(&mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  MutexLock lock(&mu_);
  if (shutdown_) return;
  if (delay.count() <= 0) return AddLocked(key);
  AddAtLocked(key, clock_.Now() + delay);
}

void WorkQueue::AddAtLocked(const std::string& key, Clock::TimePoint at) {
  auto [it, fresh] = waiting_.try_emplace(key);
  if (!fresh) {
    if (it->second->first <= at) return;  // already waiting for an earlier time
    delayed_.erase(it->second);
  }
  it->second = delayed_.emplace(at, key);
  cv_.SignalAll();
}

std::chrono::milliseconds WorkQueue::DelayLocked(const std::string& key, bool consume) {
  // Per key: exponential in the failures so far.
  int& failures = failures_[key];
  double per_item = static_cast<double>(limit_.base_delay.count()) * std::pow(2.0, std::min(failures, 40));
  auto item = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(per_item, static_cast<double>(limit_.max_delay.count()))));
  // Overall: a token bucket in which a caller without a token reserves the next one (the
  // balance goes negative), so waiting callers cannot be overtaken by later ones and the
  // rate never exceeds burst + qps * t.
  auto now = clock_.Now();
  double tokens = std::min(limit_.burst, tokens_ + std::chrono::duration<double>(now - last_refill_).count() * limit_.qps);
  tokens -= 1;
  auto bucket = std::chrono::milliseconds(
      tokens >= 0 ? 0 : static_cast<int64_t>(std::ceil(-tokens / limit_.qps * 1000)));
  if (consume) {
    ++failures;
    tokens_ = tokens;
    last_refill_ = now;
  }
  return std::max(item, bucket);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  MutexLock lock(&mu_);
  if (shutdown_) return;
  // A key already waiting for an earlier time takes no slot of the shared bucket (it
  // would reserve a slot nobody uses and delay other keys); its failure still counts.
  const auto at = clock_.Now() + DelayLocked(key, /*consume=*/false);
  if (auto it = waiting_.find(key); it != waiting_.end() && it->second->first <= at) {
    ++failures_[key];
    return;
  }
  AddAtLocked(key, clock_.Now() + DelayLocked(key, /*consume=*/true));
}

std::chrono::milliseconds WorkQueue::NextDelay(const std::string& key) {
  MutexLock lock(&mu_);
  return DelayLocked(key, /*consume=*/false);
}

void WorkQueue::Forget(const std::string& key) {
  MutexLock lock(&mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::Get() {
  MutexLock lock(&mu_);
  while (true) {
    if (shutdown_) return std::nullopt;
    const auto now = clock_.Now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      std::string key = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      waiting_.erase(key);
      AddLocked(key);
    }
    if (!queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.Wait();
    } else {
      clock_.WaitUntil(&cv_, delayed_.begin()->first);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  MutexLock lock(&mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutdown_) {
    queue_.push_back(key);
    cv_.Signal();
  }
}

void WorkQueue::ShutDown() {
  MutexLock lock(&mu_);
  shutdown_ = true;
  cv_.SignalAll();
}

size_t WorkQueue::Len() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

size_t WorkQueue::Waiting() const {
  MutexLock lock(&mu_);
  return delayed_.size();
}

}  // namespace cstor::client
