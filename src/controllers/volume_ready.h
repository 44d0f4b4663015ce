// VolumeReadyController keeps a Ready condition on every CStorVolume: True while a quorum
// of its replicas is healthy (the volume serves IO), False otherwise, with a reason and a
// message that say what is wrong. cStor's phase alone leaves users guessing whether
// "Degraded" means "slower" or "down"; this condition answers that, and each change of
// it is recorded as an Event.
//
// It is also the worked example of the controller pattern (docs/control-plane.md): it
// reads the volume from the informer cache, computes the condition from the observed
// status alone, and writes only when the condition differs.
#pragma once

#include "api/cstor_types.h"
#include "client/controller.h"
#include "client/events.h"

namespace cstor::controllers {

// The Ready condition a volume in this state should carry (lastTransitionTime unset).
api::Condition VolumeReadyCondition(const api::CStorVolume& cv);

class VolumeReadyController : public client::Reconciler {
 public:
  VolumeReadyController(client::Client& client, client::EventRecorder& events, std::string ns);

  Status Start();
  void Stop();

  Result<client::ReconcileResult> Reconcile(const std::string& ns, const std::string& name) override;

  client::Controller& controller() { return controller_; }

 private:
  static client::ControllerOptions Options(std::string ns);

  client::Client& client_;
  client::EventRecorder& events_;
  client::Controller controller_;
};

}  // namespace cstor::controllers
