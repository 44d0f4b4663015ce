#include "controllers/volume_ready.h"

#include <ctime>

#include <fmt/format.h>

namespace cstor::controllers {
api::Condition VolumeReadyCondition(const api::CStorVolume& cv) {
  const int rf = cv.spec.replication_factor;
  const int cf = cv.spec.consistency_factor > 0 ? cv.spec.consistency_factor : rf / 2 + 1;
  int healthy = 0;
  for (const api::ReplicaStatus& r : cv.status.replica_statuses) {
    if (r.mode == api::cvr_phase::kHealthy) ++healthy;
  }
  const std::string& phase = cv.status.phase;
  api::Condition c;
  c.type = api::cv_condition::kReady;
  if (phase == api::cv_phase::kHealthy) {
    c.status = api::kConditionTrue;
    c.reason = "QuorumHealthy";
    c.message = fmt::format("all {} replicas are healthy", rf);
  } else if (phase == api::cv_phase::kDegraded) {
    c.status = api::kConditionTrue;
    c.reason = "Degraded";
    c.message = fmt::format("{} of {} replicas are healthy; IO continues on a quorum of {} while "
                            "the others rebuild", healthy, rf, cf);
  } else if (phase.empty() || phase == api::cv_phase::kInit) {
    c.status = api::kConditionFalse;
    c.reason = "Initializing";
    c.message = fmt::format("waiting for {} of {} replicas to connect to the target", cf, rf);
  } else if (phase == api::cv_phase::kOffline) {
    c.status = api::kConditionFalse;
    c.reason = "NoQuorum";
    c.message = fmt::format("only {} of {} replicas are healthy, fewer than the quorum of {}; IO "
                            "is suspended until a quorum is back (check the pools holding the "
                            "replicas: kubectl get cvr -l cstorvolume.openebs.io/name={})",
                            healthy, rf, cf, cv.metadata.name);
  } else {
    c.status = api::kConditionFalse;
    c.reason = phase == api::cv_phase::kInvalid ? "InvalidSpec" : "TargetError";
    c.message = cv.status.message.empty() ? fmt::format("the volume's phase is {}", phase)
                                          : cv.status.message;
  }
  return c;
}

VolumeReadyController::VolumeReadyController(client::InformerFactory& informers,
                                             client::EventRecorder& events, VolumeReadyOptions opts)
    : client_(informers.client()),
      clock_(informers.clock()),
      events_(events),
      opts_(opts),
      controller_(informers, api::CStorVolume::kType, *this,
                  client::ControllerOptions{.name = "volume-ready", .may_act = opts_.may_act}) {}

std::optional<std::string> VolumeReadyController::SeenReport(const std::string& key) {
  MutexLock lock(&mu_);
  auto it = reports_.find(key);
  if (it == reports_.end()) return std::nullopt;
  return it->second.last_update_time;
}

Status VolumeReadyController::Start() { return controller_.Start(); }
void VolumeReadyController::Stop() { controller_.Stop(); }

Result<client::ReconcileResult> VolumeReadyController::Reconcile(const std::string& ns,
                                                                 const std::string& name) {
  std::optional<nlohmann::json> cached = controller_.primary().Get(ns, name);
  if (!cached) {  // deleted: nothing to keep up to date
    MutexLock lock(&mu_);
    reports_.erase(ns.empty() ? name : ns + "/" + name);
    return client::ReconcileResult{};
  }
  api::CStorVolume cv;
  try {
    cv = cached->get<api::CStorVolume>();
  } catch (const nlohmann::json::exception& e) {
    // A malformed object will not become well formed by retrying; report it once.
    events_.Warning(*cached, "Malformed", e.what());
    return client::ReconcileResult{};
  }
  const std::string key = client::Informer::KeyOf(*cached);
  if (cv.metadata.deletion_timestamp) {
    MutexLock lock(&mu_);
    reports_.erase(key);
    return client::ReconcileResult{};
  }

  // How long since the target's report last changed, by our clock.
  const auto now = clock_.Now();
  Clock::TimePoint::duration silent;
  {
    MutexLock lock(&mu_);
    auto [it, fresh] = reports_.try_emplace(key, Report{cv.status.last_update_time, now});
    if (!fresh && it->second.last_update_time != cv.status.last_update_time) {
      it->second = Report{cv.status.last_update_time, now};
    }
    silent = now - it->second.seen_at;
  }
  client::ReconcileResult result;
  api::Condition want = VolumeReadyCondition(cv);
  want.observed_generation = cv.metadata.generation;
  if (want.status == api::kConditionTrue) {
    if (silent >= opts_.stale_after) {
      want.status = api::kConditionFalse;
      want.reason = "TargetNotReporting";
      // No running count in the message: a settled stale volume is not rewritten.
      want.message = fmt::format(
          "the target has not reported for over {} s (its last report, at {}, said {}: {}); "
          "check the target pod: kubectl get pod -l openebs.io/persistent-volume={}",
          std::chrono::duration_cast<std::chrono::seconds>(opts_.stale_after).count(),
          cv.status.last_update_time.empty() ? "an unknown time" : cv.status.last_update_time,
          cv.status.phase, VolumeReadyCondition(cv).message, cv.metadata.name);
    } else {
      // Look again when the report would turn stale (a new report requeues sooner).
      result.requeue_after = std::chrono::ceil<std::chrono::milliseconds>(opts_.stale_after - silent);
    }
  }

  const api::Condition* before = api::FindCondition(cv.status.conditions, api::cv_condition::kReady);
  const std::string old_status = before ? before->status : "";
  if (!api::SetCondition(cv.status.conditions, want, api::NowTimestamp())) return result;

  // The cached object's resourceVersion makes this a compare-and-swap: if the volume
  // changed since the cache saw it, the write fails with a conflict, the key is retried,
  // and the next attempt works from the newer object.
  auto updated = client_.UpdateStatus(cv);
  if (!updated.ok()) return updated.status();
  if (old_status != want.status) {
    events_.Record(nlohmann::json(*updated), want.status == api::kConditionTrue ? "Normal" : "Warning",
                   want.status == api::kConditionTrue ? "Ready" : "NotReady",
                   want.reason + ": " + want.message);
  }
  return result;
}

}  // namespace cstor::controllers
