#include "client/events.h"

#include <random>

#include <fmt/format.h>

#include "api/kube_types.h"
#include "base/log.h"

namespace cstor::client {
EventRecorder::EventRecorder(Client& client, std::string component, std::string host)
    : client_(client), component_(std::move(component)), host_(std::move(host)) {}

void EventRecorder::Normal(const json& object, const std::string& reason, const std::string& message) {
  Record(object, "Normal", reason, message);
}

void EventRecorder::Warning(const json& object, const std::string& reason,
                            const std::string& message) {
  Record(object, "Warning", reason, message);
}

void EventRecorder::Record(const json& object, const std::string& type, const std::string& reason,
                           const std::string& message) {
  const json& meta = object.value("metadata", json::object());
  std::string ns = meta.value("namespace", "");
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects
  const std::string uid = meta.value("uid", "");
  const std::string key = uid + "\x1f" + type + "\x1f" + reason + "\x1f" + message;
  const std::string now = api::NowTimestamp();
  const auto mono = std::chrono::steady_clock::now();

  std::string existing;
  int count = 1;
  {
    MutexLock lock(&mu_);
    auto it = seen_.find(key);
    if (it != seen_.end() && mono - it->second.last < std::chrono::minutes(10)) {
      existing = it->second.name;
      count = ++it->second.count;
      it->second.last = mono;
    }
  }
  if (!existing.empty()) {
    auto r = client_.Patch(api::Event::kType, ns, existing, PatchType::kMerge,
                           {{"count", count}, {"lastTimestamp", now}});
    if (r.ok()) return;
    // The event expired or was deleted: record it afresh.
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  api::Event ev;
  ev.metadata.name = fmt::format("{}.{:016x}", meta.value("name", "object"), rng());
  ev.metadata.namespace_ = ns;
  ev.involved_object.api_version = object.value("apiVersion", "");
  ev.involved_object.kind = object.value("kind", "");
  ev.involved_object.namespace_ = meta.value("namespace", "");
  ev.involved_object.name = meta.value("name", "");
  ev.involved_object.uid = uid;
  ev.involved_object.resource_version = meta.value("resourceVersion", "");
  ev.reason = reason;
  ev.message = message;
  ev.type = type;
  ev.count = 1;
  ev.first_timestamp = now;
  ev.last_timestamp = now;
  ev.source.component = component_;
  ev.source.host = host_;
  ev.reporting_component = component_;
  ev.reporting_instance = host_;
  auto r = client_.Create(ev);
  if (!r.ok()) {
    CSTOR_LOG_WARN("event {} {} on {}: not recorded: {}", type, reason, meta.value("name", ""),
                   r.status().ToString());
    return;
  }
  MutexLock lock(&mu_);
  seen_[key] = Seen{ev.metadata.name, 1, mono};
  if (seen_.size() > 4096) seen_.clear();  // a bound, not an LRU: repeats after it just create anew
}

}  // namespace cstor::client
