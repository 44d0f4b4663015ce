// BoundedQueue<T>: a multi-producer multi-consumer FIFO with a fixed capacity. Push blocks
// while the queue is full (back-pressure); Pop blocks while it is empty. Close() wakes
// everyone: pushes then fail and pops drain what is left, then return nothing.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cassert>
#include <deque>
#include <optional>

#include "base/mutex.h"

namespace cstor {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) { assert(capacity > 0); }

  // Blocks until there is room. Returns false (and drops nothing) if the queue is closed.
  bool Push(T item) EXCLUDES(mu_) {
    MutexLock l(&mu_);
    while (!closed_ && items_.size() >= capacity_) not_full_.Wait();
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.Signal();
    return true;
  }

  // Returns false at once if the queue is full or closed.
  bool TryPush(T item) EXCLUDES(mu_) {
    MutexLock l(&mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    not_empty_.Signal();
    return true;
  }

  // Blocks until an item is available; nullopt once closed and drained.
  std::optional<T> Pop() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    while (!closed_ && items_.empty()) not_empty_.Wait();
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.Signal();
    return item;
  }

  void Close() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    closed_ = true;
    not_full_.SignalAll();
    not_empty_.SignalAll();
  }

  size_t size() EXCLUDES(mu_) {
    MutexLock l(&mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  Mutex mu_;
  CondVar not_full_{&mu_};
  CondVar not_empty_{&mu_};
  std::deque<T> items_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace cstor
