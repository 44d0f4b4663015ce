#include "client/workqueue.h"

#include <algorithm>
#include <cmath>

namespace cstor::client {

WorkQueue::WorkQueue(RateLimit limit)
    : limit_(limit), tokens_(limit.burst), last_refill_(Clock::now()), bucket_free_at_(Clock::now()) {}

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

std::chrono::milliseconds WorkQueue::DelayLocked(const std::string& key) {
  // Per key: exponential in the failures so far.
  int n = failures_[key]++;
  double per_item = static_cast<double>(limit_.base_delay.count()) * std::pow(2.0, std::min(n, 40));
  auto item = std::chrono::milliseconds(
      static_cast<int64_t>(std::min(per_item, static_cast<double>(limit_.max_delay.count()))));
  // Overall: a token bucket; without a token, wait for the next slot.
  auto now = Clock::now();
  tokens_ = std::min(limit_.burst, tokens_ + std::chrono::duration<double>(now - last_refill_).count() * limit_.qps);
  last_refill_ = now;
  std::chrono::milliseconds bucket{0};
  if (tokens_ >= 1) {
    tokens_ -= 1;
  } else {
    bucket_free_at_ = std::max(bucket_free_at_, now) +
                      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / limit_.qps));
    bucket = std::chrono::duration_cast<std::chrono::milliseconds>(bucket_free_at_ - now);
  }
  return std::max(item, bucket);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  MutexLock lock(&mu_);
  if (shutdown_) return;
  delayed_.emplace(Clock::now() + DelayLocked(key), key);
  cv_.SignalAll();
}

std::chrono::milliseconds WorkQueue::NextDelay(const std::string& key) {
  MutexLock lock(&mu_);
  auto d = DelayLocked(key);
  failures_[key]--;
  return d;
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
