// The controller runtime: a Reconciler says how to make one object's world match its
// spec; a Controller feeds it keys from informers through a rate-limited work queue.
//
// The pattern (see docs/control-plane.md):
//   - Level-triggered: Reconcile gets only a key and reads the current state itself,
//     from the informer caches and the API. It never relies on what an event said, so a
//     missed, merged or repeated event changes nothing.
//   - Idempotent: running Reconcile twice in a row does nothing the second time; writes
//     happen only when the observed state differs from the desired one.
//   - Errors are retried with per-key exponential backoff; success forgets the failures.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "client/client.h"
#include "client/expectations.h"
#include "client/informer.h"
#include "client/informer_factory.h"
#include "client/workqueue.h"

namespace cstor::client {

struct ReconcileResult {
  // Reconcile again after this long even without an event (e.g. to poll progress).
  std::chrono::milliseconds requeue_after{0};
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // `ns` is empty for cluster-scoped objects. The object may no longer exist.
  virtual Result<ReconcileResult> Reconcile(const std::string& ns, const std::string& name) = 0;
};

struct ControllerOptions {
  std::string name = "controller";
  int workers = 2;
  RateLimit rate_limit = {};
  // Asked before each reconcile; when false the key waits a second and is asked about
  // again. With leader election: [&] { return elector.IsLeader(); }, so that caches stay
  // warm on every replica and only the leader writes.
  std::function<bool()> may_act = nullptr;
};

class Controller {
 public:
  // The informers come from `informers`, shared with the process's other controllers;
  // the work queue runs on its clock.
  Controller(InformerFactory& informers, ResourceType primary, Reconciler& reconciler,
             ControllerOptions opts);
  ~Controller();  // stops

  // Also reconcile when objects of `type` change: `map` names the primary keys
  // ("ns/name") an object concerns.
  void Watch(ResourceType type, std::function<std::vector<std::string>(const json&)> map);
  // Also reconcile a primary object when an object of `type` that it owns (an
  // ownerReference of the primary's kind) is added, changed or deleted: a CVR change
  // requeues its CV.
  void Owns(ResourceType type);
  // What this controller's reconciles have sent and not yet seen, per primary key. Owns
  // reports owned objects' arrivals and departures; a deleted primary forgets its own.
  Expectations& expectations() { return expectations_; }
  // Keys of the primary objects that own `obj` with kind `kind` (for Watch).
  static std::vector<std::string> OwnerKeys(const json& obj, std::string_view kind);

  Informer& primary() { return primary_; }
  // The shared informer for `type` (its cache and indexes: index::kByOwner is on all).
  Informer& informer(const ResourceType& type) { return factory_.For(type); }
  WorkQueue& queue() { return queue_; }

  // Starts the factory's informers, waits for their first lists, then the workers.
  // Aborted if Stop came first (from another thread, during the wait).
  Status Start(std::chrono::milliseconds sync_timeout = std::chrono::seconds(30));
  // Stops the workers and this controller's handlers (the shared informers go on). Not
  // from inside a handler or a reconcile. A Controller must go before its factory.
  void Stop();

  // Reconciles done, and how many failed: for tests and metrics.
  int64_t reconciles() const { return reconciles_; }
  int64_t failures() const { return failures_; }

 private:
  void Work();

  InformerFactory& factory_;
  const ResourceType primary_type_;
  Informer& primary_;
  Reconciler& reconciler_;
  const ControllerOptions opts_;
  WorkQueue queue_;
  Expectations expectations_;
  std::vector<std::pair<Informer*, int>> handlers_;  // to remove at Stop
  Mutex lifecycle_mu_;  // Start against Stop
  std::vector<std::thread> workers_ GUARDED_BY(lifecycle_mu_);
  bool stopped_ GUARDED_BY(lifecycle_mu_) = false;
  std::atomic<int64_t> reconciles_{0};
  std::atomic<int64_t> failures_{0};
};

}  // namespace cstor::client
