#include "client/events.h"

#include <random>

#include <fmt/format.h>

#include "api/kube_types.h"
#include "base/log.h"

namespace cstor::client {
namespace {

constexpr auto kCorrelationWindow = std::chrono::minutes(10);
constexpr size_t kRemembered = 4096;  // a bound, not an LRU: past it repeats create anew
constexpr std::string_view kCombined = "(combined from similar events): ";

RetryPolicy EventRetries(const EventRecorderOptions& o) {
  RetryPolicy p;
  p.attempts = 3;
  p.attempt_timeout = o.request_timeout;
  return p;
}

// What an Event needs of the object it is about; the rest is not kept while queued.
json InvolvedObject(const json& object) {
  const json& meta = object.value("metadata", json::object());
  json m = json::object();
  for (const char* field : {"name", "namespace", "uid", "resourceVersion"}) {
    if (meta.contains(field)) m[field] = meta[field];
  }
  return {{"apiVersion", object.value("apiVersion", "")}, {"kind", object.value("kind", "")}, {"metadata", m}};
}

}  // namespace

EventRecorder::EventRecorder(const Client& client, EventRecorderOptions opts)
    : client_(client.config(), EventRetries(opts)), opts_(std::move(opts)) {
  thread_ = std::thread([this] { Run(); });
}

EventRecorder::EventRecorder(const Client& client, std::string component, std::string host)
    : EventRecorder(client, EventRecorderOptions{.component = std::move(component), .host = std::move(host)}) {}

EventRecorder::~EventRecorder() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    drain_deadline_ = clock().Now() + opts_.drain_timeout;
    cv_.SignalAll();
  }
  thread_.join();
}

void EventRecorder::Normal(const json& object, const std::string& reason, const std::string& message) {
  Record(object, "Normal", reason, message);
}

void EventRecorder::Warning(const json& object, const std::string& reason,
                            const std::string& message) {
  Record(object, "Warning", reason, message);
}

void EventRecorder::Record(const json& object, const std::string& type, const std::string& reason,
                           const std::string& message) {
  Pending p{InvolvedObject(object), type, reason, message};
  const std::string uid = p.object["metadata"].value("uid", "");
  MutexLock lock(&mu_);
  if (stopping_) return;
  for (Pending& q : queue_) {
    if (q.type == type && q.reason == reason && q.message == message &&
        q.object["metadata"].value("uid", "") == uid &&
        q.object["metadata"].value("name", "") == p.object["metadata"].value("name", "")) {
      ++q.repeats;  // a repeat not yet sent: one write for both
      return;
    }
  }
  if (queue_.size() >= opts_.queue_limit) {
    const int64_t n = ++dropped_;
    if (n == 1 || n % 100 == 0) {
      CSTOR_LOG_WARN("events: {} dropped so far, {} waiting (is the API server slow?); latest: {} {} on {}",
                     n, queue_.size(), type, reason, p.object["metadata"].value("name", ""));
    }
    return;
  }
  queue_.push_back(std::move(p));
  cv_.SignalAll();
}

void EventRecorder::Flush() {
  MutexLock lock(&mu_);
  while (!queue_.empty() || writing_) cv_.Wait();
}

void EventRecorder::Run() {
  bool failed = false;  // the last write
  while (true) {
    Pending p;
    {
      MutexLock lock(&mu_);
      writing_ = false;
      cv_.SignalAll();
      while (queue_.empty() && !stopping_) cv_.Wait();
      if (queue_.empty()) return;  // stopping, and everything is written
      if (stopping_ && (failed || clock().Now() >= drain_deadline_)) {
        // Shutting down with a server that fails or is slow: do not hold the process.
        dropped_ += static_cast<int64_t>(queue_.size());
        CSTOR_LOG_WARN("events: {} not written at shutdown", queue_.size());
        queue_.clear();
        cv_.SignalAll();  // a Flush waiting for the queue
        return;
      }
      p = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
    }
    failed = !Write(std::move(p));
  }
}

bool EventRecorder::Write(Pending p) {
  const json& meta = p.object["metadata"];
  std::string ns = meta.value("namespace", "");
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects
  const std::string uid = meta.value("uid", "");
  const std::string object_key = uid + "\x1f" + meta.value("name", "") + "\x1f" + p.type + "\x1f" + p.reason;
  const auto mono = clock().Now();

  // Many distinct messages for one object and reason: past the limit, one combined Event.
  std::string message = p.message;
  std::string key = object_key + "\x1f" + p.message;
  bool combined = false;
  {
    if (similar_.size() > kRemembered) similar_.clear();
    auto& messages = similar_[object_key].messages;
    std::erase_if(messages, [&](const auto& m) { return mono - m.second >= kCorrelationWindow; });
    if (!messages.count(p.message) && static_cast<int>(messages.size()) >= opts_.similar_limit) {
      combined = true;
      message = std::string(kCombined) + p.message;
      key = object_key + "\x1f(combined)";
    } else {
      messages[p.message] = mono;
    }
  }

  const std::string now = api::NowTimestamp();
  if (auto it = seen_.find(key); it != seen_.end() && mono - it->second.last < kCorrelationWindow) {
    json patch = {{"count", it->second.count + p.repeats}, {"lastTimestamp", now}};
    if (combined) patch["message"] = message;
    if (client_.Patch(api::Event::kType, ns, it->second.name, PatchType::kMerge, patch).ok()) {
      it->second.count += p.repeats;
      it->second.last = mono;
      return true;
    }
    // The Event expired or was deleted: record it afresh.
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  api::Event ev;
  ev.metadata.name = fmt::format("{}.{:016x}", meta.value("name", "object"), rng());
  ev.metadata.namespace_ = ns;
  ev.involved_object.api_version = p.object.value("apiVersion", "");
  ev.involved_object.kind = p.object.value("kind", "");
  ev.involved_object.namespace_ = meta.value("namespace", "");
  ev.involved_object.name = meta.value("name", "");
  ev.involved_object.uid = uid;
  ev.involved_object.resource_version = meta.value("resourceVersion", "");
  ev.reason = p.reason;
  ev.message = message;
  ev.type = p.type;
  ev.count = p.repeats;
  ev.first_timestamp = now;
  ev.last_timestamp = now;
  ev.source.component = opts_.component;
  ev.source.host = opts_.host;
  ev.reporting_component = opts_.component;
  ev.reporting_instance = opts_.host;
  auto r = client_.Create(ev);
  if (!r.ok()) {
    ++dropped_;
    CSTOR_LOG_WARN("event {} {} on {}: not recorded: {}", p.type, p.reason, meta.value("name", ""),
                   r.status().ToString());
    return false;
  }
  if (seen_.size() > kRemembered) seen_.clear();
  seen_[key] = Seen{ev.metadata.name, ev.count, mono};
  return true;
}

}  // namespace cstor::client
