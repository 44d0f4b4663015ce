// EventRecorder: Kubernetes Events about objects, the messages `kubectl describe` shows
// ("Warning  NoQuorum  only 1 of 3 replicas healthy").
//
// A repeat of the same event (object, type, reason, message) within ten minutes bumps
// the existing Event's count and lastTimestamp instead of creating another. Recording
// never fails the caller: events are best effort, and errors are logged.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "base/mutex.h"
#include "client/client.h"

namespace cstor::client {

class EventRecorder {
 public:
  EventRecorder(Client& client, std::string component, std::string host = "");

  // `object` is the involved object as JSON (it needs apiVersion, kind and metadata).
  void Normal(const json& object, const std::string& reason, const std::string& message);
  void Warning(const json& object, const std::string& reason, const std::string& message);
  void Record(const json& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  struct Seen {
    std::string name;  // the Event object
    int count = 0;
    std::chrono::steady_clock::time_point last;
  };
  Client& client_;
  const std::string component_;
  const std::string host_;
  Mutex mu_;
  std::map<std::string, Seen> seen_ GUARDED_BY(mu_);
};

}  // namespace cstor::client
