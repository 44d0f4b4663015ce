// VolumeReadyController keeps a Ready condition on every CStorVolume: True while a quorum
// of its replicas is healthy (the volume serves IO), False otherwise, with a reason and a
// message that say what is wrong. cStor's phase alone leaves users guessing whether
// "Degraded" means "slower" or "down"; this condition answers that, and each change of
// it is recorded as an Event.
//
// A phase is only as good as its age. The target refreshes status.lastUpdateTime each
// time it reports (at least every few seconds); a volume whose report has not changed
// for `stale_after`, measured on this controller's clock from when it saw the report
// change (the timestamp itself is the target's clock, not ours), is Ready=False with
// reason TargetNotReporting, whatever its last phase said. This is the stale "Healthy"
// that cStor shows for a volume whose target died.
//
// It is also the worked example of the controller pattern (docs/control-plane.md): it
// reads the volume from the informer cache, computes the condition from the observed
// status alone, and writes only when the condition differs.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "api/cstor_types.h"
#include "base/clock.h"
#include "base/mutex.h"
#include "client/controller.h"
#include "client/events.h"

namespace cstor::controllers {

// The Ready condition a volume in this state should carry (lastTransitionTime unset),
// judged from its phase alone.
api::Condition VolumeReadyCondition(const api::CStorVolume& cv);

struct VolumeReadyOptions {
  std::chrono::milliseconds stale_after{std::chrono::seconds(30)};
  std::function<bool()> may_act = nullptr;  // see client::ControllerOptions
};

class VolumeReadyController : public client::Reconciler {
 public:
  // Volumes come from `informers` (its namespace, and its clock for staleness).
  VolumeReadyController(client::InformerFactory& informers, client::EventRecorder& events,
                        VolumeReadyOptions opts = {});

  Status Start();
  void Stop();

  Result<client::ReconcileResult> Reconcile(const std::string& ns, const std::string& name) override;

  client::Controller& controller() { return controller_; }
  // The status.lastUpdateTime last seen for `key` ("ns/name"), if any: for tests, which
  // must know a report was seen before they move the clock.
  std::optional<std::string> SeenReport(const std::string& key);

 private:
  client::Client& client_;
  const Clock& clock_;
  client::EventRecorder& events_;
  const VolumeReadyOptions opts_;
  // Per volume: the last status.lastUpdateTime seen, and when (our clock) it changed.
  struct Report {
    std::string last_update_time;
    Clock::TimePoint seen_at;
  };
  Mutex mu_;
  std::map<std::string, Report> reports_ GUARDED_BY(mu_);
  client::Controller controller_;
};

}  // namespace cstor::controllers
