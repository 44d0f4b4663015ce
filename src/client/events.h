// EventRecorder: Kubernetes Events about objects, the messages `kubectl describe` shows
// ("Warning  NoQuorum  only 1 of 3 replicas healthy").
//
// Recording never blocks and never fails the caller: Record puts the event on a bounded
// queue and returns; a thread of the recorder's own writes them. So a reconcile does not
// wait on the API server for a message to people, and an API server that is slow or
// away costs events (counted, logged), never progress.
//
// Like Kubernetes' event correlator, it keeps a busy object from flooding the API:
//   - a repeat of the same event (object, type, reason, message) within ten minutes bumps
//     the existing Event's count and lastTimestamp instead of creating another (and
//     repeats still queued are merged before they are sent);
//   - after `similar_limit` distinct messages with the same object, type and reason within
//     ten minutes, further ones go into one Event whose message starts with
//     "(combined from similar events): " and whose count grows.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/mutex.h"
#include "client/client.h"

namespace cstor::client {

struct EventRecorderOptions {
  std::string component = "cstor";  // source.component, e.g. "cstor-operator"
  std::string host = "";            // source.host
  size_t queue_limit = 1000;  // events waiting to be written; more are dropped
  int similar_limit = 10;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // At shutdown, queued events are written until this has passed or a write fails (a
  // write already under way finishes first: it is bounded by request_timeout).
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(5)};
  const Clock* clock = nullptr;  // null: the machine's
};

class EventRecorder {
 public:
  // Uses `client`'s configuration with connections of its own.
  EventRecorder(const Client& client, EventRecorderOptions opts);
  EventRecorder(const Client& client, std::string component, std::string host = "");
  ~EventRecorder();  // writes what is queued (bounded by drain_timeout), then stops

  // `object` is the involved object as JSON (it needs apiVersion, kind and metadata).
  void Normal(const json& object, const std::string& reason, const std::string& message);
  void Warning(const json& object, const std::string& reason, const std::string& message);
  void Record(const json& object, const std::string& type, const std::string& reason,
              const std::string& message);

  // Waits until everything recorded so far has been written or dropped (tests, shutdown).
  void Flush();
  // Events dropped because the queue was full or the API server refused them.
  int64_t dropped() const { return dropped_; }

 private:
  struct Pending {
    json object;  // apiVersion, kind, metadata of the involved object
    std::string type, reason, message;
    int repeats = 1;  // merged identical records
  };
  struct Seen {
    std::string name;  // the Event object
    int count = 0;
    Clock::TimePoint last;
  };
  struct Similar {
    std::map<std::string, Clock::TimePoint> messages;  // distinct messages, last seen
  };
  void Run();
  bool Write(Pending p);  // false if the API server did not take it
  const Clock& clock() const { return opts_.clock ? *opts_.clock : Clock::Real(); }

  Client client_;
  const EventRecorderOptions opts_;
  std::atomic<int64_t> dropped_{0};

  Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<Pending> queue_ GUARDED_BY(mu_);
  bool writing_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  Clock::TimePoint drain_deadline_ GUARDED_BY(mu_);
  // Only the writer thread touches these.
  std::map<std::string, Seen> seen_;
  std::map<std::string, Similar> similar_;
  std::thread thread_;
};

}  // namespace cstor::client
