// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas of a
// controller exactly one acts at a time.
//
// The leader renews the lease every `retry_period`; if it cannot renew within
// `renew_deadline` it stops leading (and calls on_stopped_leading) before the lease can
// expire and another candidate take it. Candidates take a lease whose renewTime is older
// than its leaseDurationSeconds. Every write carries the lease's resourceVersion, so two
// candidates can never both win.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

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
  LeaderElector(Client& client, LeaderElectionOptions opts);
  ~LeaderElector();  // stops

  // Campaigns on a thread; on_started_leading runs when the lease is won (on that
  // thread: start the work and return), on_stopped_leading when it is lost or given up.
  void Start(std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);
  void Stop();
  bool IsLeader() const { return leading_; }

  // One attempt to acquire or renew; true if we hold the lease afterwards.
  bool TryAcquireOrRenew();

 private:
  void Run();

  Client& client_;
  const LeaderElectionOptions opts_;
  std::function<void()> on_started_;
  std::function<void()> on_stopped_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  CondVar cv_{&mu_};
  std::thread thread_;
};

}  // namespace cstor::client
