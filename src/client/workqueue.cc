#include "client/workqueue.h"

#include <algorithm>
#include <cmath>

namespace cstor::client {

WorkQueue::WorkQueue(RateLimit limit)
    : limit_(limit), tokens_(limit.burst), last_refill_(Clock::now()) {}

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
  delayed_.emplace(Clock::now() + delay, key);
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
  auto now = Clock::now();
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
  delayed_.emplace(Clock::now() + DelayLocked(key, /*consume=*/true), key);
  cv_.SignalAll();
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
    auto now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      std::string key = delayed_.begin()->second;
      delayed_.erase(delayed_.begin());
      AddLocked(key);
    }
    if (!queue_.empty()) break;
    if (delayed_.empty()) {
      cv_.Wait();
    } else {
      cv_.WaitFor(std::chrono::duration_cast<std::chrono::microseconds>(delayed_.begin()->first - now));
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

}  // namespace cstor::client
