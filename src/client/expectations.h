// Expectations: the creations and deletions a controller has sent for a key and not yet
// seen in its informer cache.
//
// A reconcile that creates objects with generated names (a pool instance per pools[]
// entry, "cspc-x7kq") cannot tell from its cache whether the create it sent a moment ago
// landed: the watch event may still be on its way, and the next reconcile would create a
// second one. So it records what it sent (ExpectCreations), the informer's handlers
// report what arrives (Controller::Owns does this for owned kinds), and a reconcile
// creates or deletes only while Satisfied(key): everything observed, or the expectation
// older than the timeout (five minutes, as kube-controller-manager has it), so a lost
// event cannot wedge a key forever. A create or delete that failed will never be seen:
// report it with CreationObserved / DeletionObserved at once.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "base/clock.h"
#include "base/mutex.h"

namespace cstor::client {

class Expectations {
 public:
  explicit Expectations(const Clock& clock = Clock::Real(),
                        std::chrono::nanoseconds timeout = std::chrono::minutes(5));

  // Adds to what `key` waits for (and restarts its timeout).
  void ExpectCreations(const std::string& key, int count);
  void ExpectDeletions(const std::string& key, int count);
  void CreationObserved(const std::string& key);
  void DeletionObserved(const std::string& key);
  // Nothing outstanding, or the expectation has expired.
  bool Satisfied(const std::string& key) const;
  // The owner is gone: its expectations with it.
  void Forget(const std::string& key);

 private:
  struct Pending {
    int creations = 0;
    int deletions = 0;
    Clock::TimePoint since;
  };
  const Clock& clock_;
  const std::chrono::nanoseconds timeout_;
  mutable Mutex mu_;
  std::map<std::string, Pending> pending_ GUARDED_BY(mu_);
};

}  // namespace cstor::client
