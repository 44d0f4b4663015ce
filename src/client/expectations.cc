#include "client/expectations.h"

namespace cstor::client {

Expectations::Expectations(const Clock& clock, std::chrono::nanoseconds timeout)
    : clock_(clock), timeout_(timeout) {}

void Expectations::ExpectCreations(const std::string& key, int count) {
  MutexLock lock(&mu_);
  Pending& p = pending_[key];
  if (clock_.Now() - p.since >= timeout_) p = Pending{};  // expired: what it waited for is moot
  p.creations += count;
  p.since = clock_.Now();
}

void Expectations::ExpectDeletions(const std::string& key, int count) {
  MutexLock lock(&mu_);
  Pending& p = pending_[key];
  if (clock_.Now() - p.since >= timeout_) p = Pending{};  // expired: what it waited for is moot
  p.deletions += count;
  p.since = clock_.Now();
}

void Expectations::CreationObserved(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  if (it->second.creations > 0) --it->second.creations;
  if (it->second.creations == 0 && it->second.deletions == 0) pending_.erase(it);
}

void Expectations::DeletionObserved(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  if (it->second.deletions > 0) --it->second.deletions;
  if (it->second.creations == 0 && it->second.deletions == 0) pending_.erase(it);
}

bool Expectations::Satisfied(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return true;
  return clock_.Now() - it->second.since >= timeout_;
}

void Expectations::Forget(const std::string& key) {
  MutexLock lock(&mu_);
  pending_.erase(key);
}

}  // namespace cstor::client
