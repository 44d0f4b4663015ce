#include "client/client.h"

#include <csignal>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/log.h"

namespace cstor::client {
namespace {

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + k + "=" + UrlEncode(v);
  }
  return q;
}

// The Status an API error response describes.
Status ErrorStatus(int http, const std::string& body) {
  std::string message;
  std::string reason;
  try {
    json j = json::parse(body);
    message = j.value("message", "");
    reason = j.value("reason", "");
  } catch (const json::exception&) {
    message = body.substr(0, 200);
  }
  if (message.empty()) message = fmt::format("HTTP {}", http);
  message += fmt::format(" (HTTP {}{})", http, reason.empty() ? "" : " " + reason);
  switch (http) {
    case 400:
    case 415:
    case 422: return Status::InvalidArgument(message);
    case 401:
    case 403: return Status::FailedPrecondition(message);
    case 404: return Status::NotFound(message);
    case 409: return reason == "AlreadyExists" ? Status::AlreadyExists(message) : Status::Aborted(message);
    case 410: return Status::OutOfRange(message);
    default: break;
  }
  if (http == 429 || http >= 500) return Status::Unavailable(message);
  return Status::Protocol(message);
}

bool Retryable(int http) { return http == 429 || http == 502 || http == 503 || http == 504; }

std::chrono::milliseconds Backoff(const RetryPolicy& p, int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto base = std::min(p.max_backoff, p.initial_backoff * (1 << std::min(attempt, 16)));
  std::uniform_int_distribution<int64_t> jitter(0, base.count() / 2);
  return base + std::chrono::milliseconds(jitter(rng));
}

}  // namespace

bool IsNotFound(const Status& s) { return s.Is(Code::kNotFound); }
bool IsConflict(const Status& s) { return s.Is(Code::kAborted); }
bool IsAlreadyExists(const Status& s) { return s.Is(Code::kAlreadyExists); }
bool IsGone(const Status& s) { return s.Is(Code::kOutOfRange); }

void WatchCanceller::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (http_ != nullptr) http_->stop();
}

struct Client::Credentials {
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, EVP_PKEY_free};
};

namespace {

// "https://[::1]:6443/prefix" -> https, "::1", 6443, "/prefix".
bool ParseServer(const std::string& url, bool* https, std::string* host, int* port, std::string* prefix) {
  std::string rest;
  if (url.starts_with("https://")) {
    *https = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    *https = false;
    rest = url.substr(7);
  } else {
    return false;
  }
  const size_t slash = rest.find('/');
  *prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  std::string authority = rest.substr(0, slash);
  std::string port_text;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    *host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port_text = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.find(':');
    *host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (host->empty()) return false;
  *port = *https ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5) return false;
    *port = std::stoi(port_text);
  }
  return *port > 0 && *port < 65536;
}

}  // namespace

Client::Client(Config config, RetryPolicy retry) : config_(std::move(config)), retry_(retry) {
  // httplib writes to sockets without MSG_NOSIGNAL: a peer that closed would otherwise
  // kill the process with SIGPIPE instead of failing one request.
  signal(SIGPIPE, SIG_IGN);
  if (!ParseServer(config_.server, &https_, &host_, &port_, &prefix_)) {
    config_error_ = Status::InvalidArgument(
        fmt::format("the API server address \"{}\" is not an http(s)://host[:port] URL", config_.server));
  }
  if (!config_.client_cert_pem.empty() && config_error_.ok() && !https_) {
    config_error_ = Status::InvalidArgument("a client certificate needs an https:// server, not " + config_.server);
  }
  if (!config_.client_cert_pem.empty()) {
    credentials_ = std::make_unique<Credentials>();
    BIO* bio = BIO_new_mem_buf(config_.client_cert_pem.data(), static_cast<int>(config_.client_cert_pem.size()));
    credentials_->cert.reset(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    bio = BIO_new_mem_buf(config_.client_key_pem.data(), static_cast<int>(config_.client_key_pem.size()));
    credentials_->key.reset(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (!credentials_->cert || !credentials_->key) {
      config_error_ = Status::InvalidArgument("the client certificate or its key is not valid PEM");
    } else if (X509_check_private_key(credentials_->cert.get(), credentials_->key.get()) != 1) {
      config_error_ = Status::InvalidArgument("the client key does not belong to the client certificate");
    }
  }
  token_ = config_.token;
  token_read_ = std::chrono::steady_clock::now();
}
Client::~Client() = default;

std::string Client::Token(bool reload, bool* changed) {
  std::lock_guard<std::mutex> lock(token_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!config_.token_file.empty() && (reload || now - token_read_ >= std::chrono::minutes(1))) {
    token_read_ = now;
    std::ifstream in(config_.token_file);
    std::string fresh((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!fresh.empty() && std::isspace(static_cast<unsigned char>(fresh.back()))) fresh.pop_back();
    if (!fresh.empty() && fresh != token_) {
      token_ = std::move(fresh);
      if (changed != nullptr) *changed = true;
    }
  }
  return token_;
}

std::string Client::Path(const ResourceType& type, const std::string& ns, const std::string& name,
                         const std::string& sub) {
  std::string p = type.group.empty() ? fmt::format("/api/{}", type.version)
                                     : fmt::format("/apis/{}/{}", type.group, type.version);
  if (type.namespaced && !ns.empty()) p += "/namespaces/" + ns;
  p += "/" + std::string(type.resource);
  if (!name.empty()) p += "/" + name;
  if (!sub.empty()) p += "/" + sub;
  return p;
}

std::unique_ptr<httplib::ClientImpl> Client::NewConnection() const {
  std::unique_ptr<httplib::ClientImpl> c;
  if (https_) {
    // The connection's context takes its own references to the certificate and key.
    auto ssl = credentials_ && config_error_.ok()
                   ? std::make_unique<httplib::SSLClient>(host_, port_, credentials_->cert.get(), credentials_->key.get())
                   : std::make_unique<httplib::SSLClient>(host_, port_);
    ssl->enable_server_certificate_verification(!config_.insecure_skip_tls_verify);
    if (!config_.ca_pem.empty()) {
      X509_STORE* store = X509_STORE_new();
      BIO* bio = BIO_new_mem_buf(config_.ca_pem.data(), static_cast<int>(config_.ca_pem.size()));
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, cert);
        X509_free(cert);
      }
      BIO_free(bio);
      ssl->set_ca_cert_store(store);  // the connection owns it
    }
    c = std::move(ssl);
  } else {
    c = std::make_unique<httplib::ClientImpl>(host_, port_);
  }
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);  // small requests, each waited for: no Nagle delay
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(retry_.attempt_timeout);
  c->set_connection_timeout(std::min<std::chrono::microseconds>(timeout, std::chrono::seconds(5)));
  c->set_read_timeout(timeout);
  c->set_write_timeout(std::min<std::chrono::microseconds>(timeout, std::chrono::seconds(30)));
  c->set_decompress(true);
  return c;
}

std::unique_ptr<httplib::ClientImpl> Client::Acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return NewConnection();
}

void Client::Release(std::unique_ptr<httplib::ClientImpl> c) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.size() < 16) idle_.push_back(std::move(c));
}

Result<Client::Response> Client::Do(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type,
                                    bool idempotent) {
  if (!config_error_.ok()) return config_error_;
  const std::string full = prefix_ + path;
  Status last;
  bool token_reloaded = false;
  for (int attempt = 0; attempt < retry_.attempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(Backoff(retry_, attempt - 1));
    httplib::Headers headers = {{"Accept", "application/json"}, {"User-Agent", config_.user_agent}};
    if (std::string token = Token(); !token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto http = Acquire();
    httplib::Result r = method == "GET"     ? http->Get(full, headers)
                        : method == "POST"  ? http->Post(full, headers, body, content_type)
                        : method == "PUT"   ? http->Put(full, headers, body, content_type)
                        : method == "PATCH" ? http->Patch(full, headers, body, content_type)
                                            : http->Delete(full, headers, body, content_type);
    if (!r) {
      // A request that may have reached the server is retried only when repeating it is
      // harmless; a refused connection never reached it.
      const auto err = r.error();
      last = Status::Unavailable(fmt::format("{} {}: {}", method, path, httplib::to_string(err)));
      {
        // The other idle connections are most likely broken the same way (the server
        // restarted): drop them rather than fail on each in turn.
        std::lock_guard<std::mutex> lock(pool_mu_);
        idle_.clear();
      }
      if (!idempotent && err != httplib::Error::Connection) return last;
      continue;
    }
    Release(std::move(http));
    if (r->status == 401 && !token_reloaded) {
      // The token may have rotated under us (a projected service-account token): read it
      // again, and if it changed, try once more with the new one (the server refused the
      // request before acting on it).
      token_reloaded = true;
      bool changed = false;
      Token(/*reload=*/true, &changed);
      if (changed) {
        --attempt;
        continue;
      }
    }
    if (Retryable(r->status) && (idempotent || r->status == 429)) {
      last = ErrorStatus(r->status, r->body);
      continue;
    }
    return Response{r->status, r->body};
  }
  return last;
}

Result<json> Client::Call(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& content_type,
                          bool idempotent) {
  auto r = Do(method, path, body, content_type, idempotent);
  if (!r.ok()) return r.status();
  if (r->status >= 300) return ErrorStatus(r->status, r->body);
  try {
    return json::parse(r->body);
  } catch (const json::exception& e) {
    return Status::Protocol(fmt::format("{} {}: the response is not JSON: {}", method, path, e.what()));
  }
}

Result<json> Client::Get(const ResourceType& type, const std::string& ns, const std::string& name) {
  return Call("GET", Path(type, ns, name), "", "", true);
}

Result<json> Client::List(const ResourceType& type, const std::string& ns, const ListOptions& o) {
  std::string q = Query({{"labelSelector", o.label_selector},
                         {"fieldSelector", o.field_selector},
                         {"limit", o.limit ? std::to_string(o.limit) : ""},
                         {"continue", o.continue_token}});
  return Call("GET", Path(type, ns) + q, "", "", true);
}

Result<json> Client::ListAll(const ResourceType& type, const std::string& ns, ListOptions opts) {
  json all;
  while (true) {
    auto page = List(type, ns, opts);
    if (!page.ok()) return page.status();
    if (opts.on_page) opts.on_page(*page);
    opts.continue_token = (*page)["metadata"].value("continue", "");
    if (all.is_null()) {
      all = std::move(*page);
    } else {
      for (auto& item : (*page)["items"]) all["items"].push_back(std::move(item));
    }
    if (opts.continue_token.empty()) break;
  }
  all["metadata"].erase("continue");
  all["metadata"].erase("remainingItemCount");
  return all;
}

Result<json> Client::Create(const ResourceType& type, const std::string& ns, const json& object) {
  return Call("POST", Path(type, ns), object.dump(), "application/json", false);
}

Result<json> Client::Update(const ResourceType& type, const std::string& ns, const json& object) {
  const std::string name = object.value("metadata", json::object()).value("name", "");
  if (name.empty()) return Status::InvalidArgument("update: the object has no metadata.name");
  // A PUT carries its resourceVersion, so repeating it cannot apply twice.
  return Call("PUT", Path(type, ns, name), object.dump(), "application/json", true);
}

Result<json> Client::UpdateStatus(const ResourceType& type, const std::string& ns,
                                  const json& object) {
  const std::string name = object.value("metadata", json::object()).value("name", "");
  if (name.empty()) return Status::InvalidArgument("update status: the object has no metadata.name");
  return Call("PUT", Path(type, ns, name, "status"), object.dump(), "application/json", true);
}

Result<json> Client::Patch(const ResourceType& type, const std::string& ns, const std::string& name,
                           PatchType patch_type, const json& patch, bool status) {
  const char* ct = patch_type == PatchType::kJson ? "application/json-patch+json"
                   : patch_type == PatchType::kMerge ? "application/merge-patch+json"
                                                     : "application/strategic-merge-patch+json";
  return Call("PATCH", Path(type, ns, name, status ? "status" : ""), patch.dump(), ct, false);
}

Status Client::Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                      const DeleteOptions& o) {
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
  if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = o.precondition_uid;
  if (!o.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = o.precondition_resource_version;
  }
  // With a precondition a repeated delete cannot remove a newer object of the same name.
  auto r = Call("DELETE", Path(type, ns, name), body.dump(), "application/json", true);
  return r.status();
}

Status Client::Watch(const ResourceType& type, const std::string& ns, const WatchOptions& o,
                     const std::function<bool(WatchEvent&)>& on_event, WatchCanceller* cancel) {
  std::string q = Query({{"watch", "true"},
                         {"resourceVersion", o.resource_version},
                         {"labelSelector", o.label_selector},
                         {"fieldSelector", o.field_selector},
                         {"timeoutSeconds", o.timeout_seconds ? std::to_string(o.timeout_seconds) : ""},
                         {"allowWatchBookmarks", o.bookmarks ? "true" : ""}});
  if (!config_error_.ok()) return config_error_;
  auto http = NewConnection();
  http->set_read_timeout(o.timeout_seconds > 0 ? o.timeout_seconds + 30 : 3600);
  httplib::Headers headers = {{"Accept", "application/json"}, {"User-Agent", config_.user_agent}};
  if (std::string token = Token(); !token.empty()) headers.emplace("Authorization", "Bearer " + token);
  if (cancel != nullptr) {
    std::lock_guard<std::mutex> lock(cancel->mu_);
    if (cancel->cancelled_) return Status::Aborted("watch cancelled");
    cancel->http_ = http.get();
  }
  std::string buffer;
  Status result;
  bool stopped = false;
  int http_status = 0;
  std::string error_body;
  auto r = http->Get(
      prefix_ + Path(type, ns) + q, headers,
      [&](const httplib::Response& response) {
        http_status = response.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (http_status >= 300) {
          error_body.append(data, len);
          return true;
        }
        buffer.append(data, len);
        size_t start = 0;
        for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
          WatchEvent ev;
          try {
            json line = json::parse(buffer.begin() + static_cast<std::ptrdiff_t>(start),
                                    buffer.begin() + static_cast<std::ptrdiff_t>(nl));
            ev.type = line.value("type", "");
            ev.object = std::move(line["object"]);
          } catch (const json::exception& e) {
            result = Status::Protocol(std::string("watch: malformed event: ") + e.what());
            return false;
          }
          if (ev.type == "ERROR") {
            result = ErrorStatus(ev.object.value("code", 500), ev.object.dump());
            return false;
          }
          if (!on_event(ev)) {
            stopped = true;
            return false;
          }
        }
        buffer.erase(0, start);
        return true;
      });
  if (cancel != nullptr) {
    std::lock_guard<std::mutex> lock(cancel->mu_);
    cancel->http_ = nullptr;
    if (cancel->cancelled_) return Status::Aborted("watch cancelled");
  }
  if (!result.ok()) return result;
  if (stopped) return Status::Ok();
  if (http_status == 401) Token(/*reload=*/true);  // rotated? the informer's next watch uses the new one
  if (http_status >= 300) return ErrorStatus(http_status, error_body);
  if (!r) return Status::Unavailable(std::string("watch: ") + httplib::to_string(r.error()));
  return Status::Ok();  // the server ended the watch
}

}  // namespace cstor::client
