// Client: the one way every cstor component talks to the Kubernetes API (the real one or
// cstor's embedded server): typed and JSON get/list/create/update/patch/delete/watch,
// with retries and backoff for transient failures.
//
// Errors are Statuses whose codes say what a controller can do about them:
//   kNotFound (404), kAlreadyExists (409 AlreadyExists), kAborted (409 Conflict: re-read
//   and retry), kOutOfRange (410 Gone: the resourceVersion is too old, relist),
//   kInvalidArgument (400, 422), kFailedPrecondition (401, 403), kUnavailable (5xx, 429,
//   no connection, after the retries).
//
// Thread-safe: requests from many threads share a small pool of connections. Creating a
// Client sets SIGPIPE to be ignored for the process (the HTTP library needs it).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/meta.h"
#include "api/resource.h"
#include "base/result.h"
#include "client/config.h"

namespace httplib {
class ClientImpl;
}

namespace cstor::client {

using api::ResourceType;
using nlohmann::json;

bool IsNotFound(const Status& s);
bool IsConflict(const Status& s);
bool IsAlreadyExists(const Status& s);
bool IsGone(const Status& s);

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  size_t limit = 0;            // 0: everything in one response
  std::string continue_token;  // from the previous page
  // ListAll calls this after each page arrives (progress for long lists).
  std::function<void(const json& page)> on_page;
};

struct WatchOptions {
  std::string resource_version;  // empty: current state first, as ADDED events
  std::string label_selector;
  std::string field_selector;
  int timeout_seconds = 0;       // 0: the server's limit
  bool bookmarks = true;
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct DeleteOptions {
  std::string propagation_policy;  // "", "Background", "Foreground" or "Orphan"
  std::string precondition_uid;
  std::string precondition_resource_version;
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK (ERROR ends the watch with a Status)
  json object;
};

struct RetryPolicy {
  int attempts = 5;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{3000};
  // Bounds one attempt's connect, send and wait for the response (not a watch's stream).
  std::chrono::milliseconds attempt_timeout{std::chrono::seconds(60)};
};

// Stops a Watch running on another thread.
class WatchCanceller {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_; }

 private:
  friend class Client;
  std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  httplib::ClientImpl* http_ = nullptr;  // the watch's connection while it is open
};

class Client {
 public:
  // A malformed server URL or client certificate is reported by every request.
  explicit Client(Config config, RetryPolicy retry = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return config_; }

  // JSON objects. `ns` is ignored for cluster-scoped resources.
  Result<json> Get(const ResourceType& type, const std::string& ns, const std::string& name);
  Result<json> List(const ResourceType& type, const std::string& ns, const ListOptions& opts = {});
  // Every page of a list, joined. Its resourceVersion is the first page's: a server may
  // serve each page from its state at that moment, and a watch from the first page's
  // version then replays whatever changed while the later pages were read (a watch from
  // the last page's would skip changes to objects on pages already read).
  Result<json> ListAll(const ResourceType& type, const std::string& ns, ListOptions opts = {});
  Result<json> Create(const ResourceType& type, const std::string& ns, const json& object);
  Result<json> Update(const ResourceType& type, const std::string& ns, const json& object);
  Result<json> UpdateStatus(const ResourceType& type, const std::string& ns, const json& object);
  Result<json> Patch(const ResourceType& type, const std::string& ns, const std::string& name,
                     PatchType patch_type, const json& patch, bool status = false);
  Status Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& opts = {});

  // Streams events to `on_event` until it returns false, the server ends the watch (OK),
  // `cancel` is cancelled (kAborted), or an error (kOutOfRange for 410 Gone). Not retried:
  // informers resume watches themselves.
  Status Watch(const ResourceType& type, const std::string& ns, const WatchOptions& opts,
               const std::function<bool(WatchEvent&)>& on_event, WatchCanceller* cancel = nullptr);

  // Typed forms, for the api:: kinds (anything with kType and JSON conversions).
  template <class T>
  Result<T> Get(const std::string& ns, const std::string& name) {
    return Decode<T>(Get(T::kType, ns, name));
  }
  template <class T>
  Result<api::List<T>> List(const std::string& ns, const ListOptions& opts = {}) {
    return Decode<api::List<T>>(ListAll(T::kType, ns, opts));
  }
  template <class T>
  Result<T> Create(const T& object) {
    return Decode<T>(Create(T::kType, object.metadata.namespace_, json(object)));
  }
  template <class T>
  Result<T> Update(const T& object) {
    return Decode<T>(Update(T::kType, object.metadata.namespace_, json(object)));
  }
  template <class T>
  Result<T> UpdateStatus(const T& object) {
    return Decode<T>(UpdateStatus(T::kType, object.metadata.namespace_, json(object)));
  }
  template <class T>
  Result<T> Patch(const std::string& ns, const std::string& name, PatchType type,
                  const json& patch, bool status = false) {
    return Decode<T>(Patch(T::kType, ns, name, type, patch, status));
  }
  template <class T>
  Status Delete(const std::string& ns, const std::string& name, const DeleteOptions& opts = {}) {
    return Delete(T::kType, ns, name, opts);
  }

  template <class T>
  static Result<T> Decode(Result<json> r) {
    if (!r.ok()) return r.status();
    try {
      return r->template get<T>();
    } catch (const nlohmann::json::exception& e) {
      return Status::Protocol(std::string("the server sent an object that does not decode: ") +
                              e.what());
    }
  }

  // "/apis/cstor.openebs.io/v1/namespaces/openebs/cstorvolumes/pvc-1/status"
  static std::string Path(const ResourceType& type, const std::string& ns,
                          const std::string& name = "", const std::string& sub = "");

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  Result<Response> Do(const std::string& method, const std::string& path, const std::string& body,
                      const std::string& content_type, bool idempotent);
  Result<json> Call(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& content_type, bool idempotent);
  std::unique_ptr<httplib::ClientImpl> NewConnection() const;
  std::unique_ptr<httplib::ClientImpl> Acquire();
  void Release(std::unique_ptr<httplib::ClientImpl> c);
  // The bearer token to send; from config_.token_file, read again when a minute old or
  // when `reload` (after a 401). Returns whether it changed.
  std::string Token(bool reload = false, bool* changed = nullptr);

  const Config config_;
  const RetryPolicy retry_;
  // config_.server taken apart: "https://host:port/prefix".
  bool https_ = false;
  std::string host_;
  int port_ = 0;
  std::string prefix_;
  Status config_error_;  // a server URL or certificate that cannot work
  struct Credentials;  // the parsed client certificate and key, if any
  std::unique_ptr<Credentials> credentials_;
  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::ClientImpl>> idle_;
};

}  // namespace cstor::client
