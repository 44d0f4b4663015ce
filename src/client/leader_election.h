// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas of a
// controller at most one acts at a time.
//
// The rule, and why two candidates never both act:
//   - A candidate takes a lease only when it is free, or when it has seen the same lease
//     record, unchanged, for the record's leaseDurationSeconds measured on its own
//     monotonic clock from when it first saw it. The renewTime written in the lease is
//     for people: comparing another machine's wall clock with ours would let a skewed
//     clock end a live leader's term.
//   - The leader counts its term from the moment it *sent* its last successful renewal,
//     and IsLeader() turns false renew_deadline (< lease_duration) after that moment,
//     whether or not the thread is stuck in a request or the process was stopped
//     (SIGSTOP). The clock is CLOCK_BOOTTIME, which also runs while the machine sleeps.
//   - So work done for the leader must ask IsLeader() before it acts (a controller's
//     may_act); the callbacks only say when the loop noticed.
//   - The renewal reached the server after it was sent, and any other candidate saw it
//     after that, so the other waits at least lease_duration from the leader's send time.
//     Clocks may be offset by any amount; only their rates must roughly agree.
//   - Every write carries the resourceVersion read, so two candidates never both win one
//     round.
// Each request is one attempt bounded by a quarter of renew_deadline, so a hung server
// ends a term on time and Stop returns within about a renew deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/mutex.h"
#include "client/client.h"

namespace cstor::client {

struct LeaderElectionOptions {
  std::string ns = "default";
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. hostname_pid
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
  // Give the lease up on Stop, so the next leader need not wait for it to expire.
  bool release_on_stop = true;
};

class LeaderElector {
 public:
  // Uses `client`'s configuration with its own connections (one attempt per request,
  // bounded in time). Options are checked: renew_deadline must be below lease_duration
  // and retry_period below renew_deadline.
  LeaderElector(const Client& client, LeaderElectionOptions opts, const Clock& clock = Clock::Real());
  ~LeaderElector();  // stops

  // Campaigns on a thread and returns at once. on_started_leading runs on that thread
  // when the lease is won (start the work and return: it delays renewals);
  // on_stopped_leading when the loop sees the term has ended (not renewed in time), or
  // in Stop before the lease is released. After a lost term the candidate campaigns
  // again, so both may run more than once. Neither may call Stop.
  void Start(std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);
  void Stop();

  // Whether this candidate may act now: it won the lease and its last renewal was sent
  // less than renew_deadline ago, by its clock. Work done on the leader's behalf checks
  // this rather than trusting the callbacks' timing.
  bool IsLeader() const;

  // One attempt to acquire or renew; true if we hold the lease afterwards.
  bool TryAcquireOrRenew();

 private:
  void Run();
  bool TermCurrentLocked() const REQUIRES(mu_);

  Client client_;
  const LeaderElectionOptions opts_;
  const Clock& clock_;
  std::function<void()> on_started_;
  std::function<void()> on_stopped_;
  std::atomic<bool> stopping_{false};

  mutable Mutex mu_;
  CondVar cv_{&mu_};
  bool leading_ GUARDED_BY(mu_) = false;
  Clock::TimePoint renew_sent_ GUARDED_BY(mu_);  // of the last successful renewal
  // The lease record as last read, and when (our clock) it was first seen unchanged.
  std::string observed_record_ GUARDED_BY(mu_);
  Clock::TimePoint observed_at_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace cstor::client
