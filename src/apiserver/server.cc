#include "apiserver/server.h"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/crypto.h>

#include "api/yaml.h"
#include "apiserver/authn.h"
#include "apiserver/registry.h"
#include "apiserver/schema.h"
#include "apiserver/selector.h"
#include "apiserver/store.h"
#include "apiserver/table.h"
#include "apiserver/tls.h"
#include "apiserver/validation.h"
#include "base/log.h"
#include "base/mutex.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kCrdKey = "apiextensions.k8s.io/customresourcedefinitions";
constexpr const char* kNamespaceKey = "/namespaces";
constexpr const char* kForegroundFinalizer = "foregroundDeletion";
constexpr const char* kOrphanFinalizer = "orphan";

// An error answered as a Kubernetes Status object. Handlers throw it; one place catches.
struct ApiError : std::exception {
  int code;
  std::string reason;
  std::string message;
  json details;
  ApiError(int c, std::string r, std::string m, json d = nullptr)
      : code(c), reason(std::move(r)), message(std::move(m)), details(std::move(d)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

json StatusObject(int code, const std::string& reason, const std::string& message,
                  const json& details) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", code < 300 ? "Success" : "Failure"}, {"message", message},
            {"reason", reason}, {"code", code}};
  if (!details.is_null()) s["details"] = details;
  return s;
}

json Details(const ResourceDef& def, const std::string& name) {
  return {{"name", name}, {"group", def.group}, {"kind", def.plural}};
}

ApiError BadRequest(std::string msg) { return {400, "BadRequest", std::move(msg)}; }
ApiError NotFoundPath() {
  return {404, "NotFound", "the server could not find the requested resource"};
}
ApiError NotFound(const ResourceDef& def, const std::string& name) {
  return {404, "NotFound", fmt::format("{} \"{}\" not found", def.QualifiedName(), name),
          Details(def, name)};
}
ApiError AlreadyExists(const ResourceDef& def, const std::string& name) {
  return {409, "AlreadyExists", fmt::format("{} \"{}\" already exists", def.QualifiedName(), name),
          Details(def, name)};
}
ApiError Conflict(const ResourceDef& def, const std::string& name, const std::string& why) {
  return {409, "Conflict",
          fmt::format("Operation cannot be fulfilled on {} \"{}\": {}", def.QualifiedName(), name,
                      why),
          Details(def, name)};
}
ApiError Invalid(const ResourceDef& def, const std::string& name,
                 const std::vector<FieldError>& errors) {
  json causes = json::array();
  std::string list;
  for (const FieldError& e : errors) {
    // Clients print causes as "field: message", so the message does not repeat the field.
    std::string detail = e.message;
    if (detail.starts_with(e.field + ": ")) detail = detail.substr(e.field.size() + 2);
    causes.push_back({{"reason", e.reason}, {"message", detail}, {"field", e.field}});
    list += (list.empty() ? "" : ", ") + e.message;
  }
  json details = Details(def, name);
  details["kind"] = def.kind;
  details["causes"] = causes;
  std::string kind = def.group.empty() ? def.kind : def.kind + "." + def.group;
  return {422, "Invalid",
          fmt::format("{} \"{}\" is invalid: {}", kind, name,
                      errors.size() == 1 ? list : "[" + list + "]"),
          details};
}

std::string Now() { return FormatTimestamp(std::chrono::system_clock::now()); }

json ParseBody(const std::string& body) {
  if (body.empty()) throw BadRequest("the request body is empty");
  try {
    json j = json::parse(body);
    if (!j.is_object()) throw BadRequest("the request body must be a JSON object");
    return j;
  } catch (const json::parse_error& e) {
    throw BadRequest(std::string("the request body is not valid JSON: ") + e.what());
  }
}

const json& Meta(const json& obj) {
  static const json kEmpty = json::object();
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}
std::string MetaString(const json& obj, const char* key) { return Meta(obj).value(key, ""); }
bool IsDeleting(const json& obj) { return Meta(obj).contains("deletionTimestamp"); }

std::vector<std::string> Finalizers(const json& obj) {
  std::vector<std::string> out;
  for (const auto& f : Meta(obj).value("finalizers", json::array())) {
    if (f.is_string()) out.push_back(f);
  }
  return out;
}
void SetFinalizers(json& obj, const std::vector<std::string>& finalizers) {
  if (finalizers.empty()) {
    obj["metadata"].erase("finalizers");
  } else {
    obj["metadata"]["finalizers"] = finalizers;
  }
}

// "everything but metadata and status": what a change to bumps generation.
bool SpecChanged(const json& a, const json& b) {
  json x = a, y = b;
  for (json* j : {&x, &y}) {
    j->erase("metadata");
    j->erase("status");
  }
  return x != y;
}

// A request's target, parsed from its path.
struct Target {
  ResourceDefPtr def;
  std::string ns;
  std::string name;
  std::string sub;  // "" or "status"
  bool legacy_watch = false;
};

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/')) {
    if (!p.empty()) parts.push_back(p);
  }
  return parts;
}

int64_t IntParam(const httplib::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used != v.size() || n < 0) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw BadRequest(fmt::format("invalid {}: \"{}\"", name, v));
  }
}

bool BoolParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  return v == "1" || v == "true";
}

// dryRun=All, in the query or (for deletes) in the DeleteOptions body.
bool DryRun(const httplib::Request& req, const json& options) {
  std::vector<std::string> values;
  if (req.has_param("dryRun")) values.push_back(req.get_param_value("dryRun"));
  if (options.is_object() && options.contains("dryRun") && options["dryRun"].is_array()) {
    for (const auto& v : options["dryRun"]) values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  for (const std::string& v : values) {
    if (v != "All") throw BadRequest(fmt::format("dryRun \"{}\" is not supported; the only value is All", v));
  }
  return !values.empty();
}

// A JSON patch, one operation at a time: "copy" and "add" can double an object with each
// operation, so the object may not outgrow the request size limit along the way.
constexpr size_t kMaxObjectBytes = 3 * 1024 * 1024;
constexpr size_t kMaxPatchOperations = 10'000;

json ApplyJsonPatch(const json& object, const json& patch) {
  if (patch.size() > kMaxPatchOperations) {
    throw ApiError(422, "Invalid", fmt::format("the JSON patch has more than {} operations", kMaxPatchOperations));
  }
  json out = object;
  for (const json& op : patch) {
    try {
      out = out.patch(json::array({op}));
    } catch (const json::exception& e) {
      throw ApiError(422, "Invalid", std::string("the JSON patch could not be applied: ") + e.what());
    }
    if (op.is_object() && (op.value("op", "") == "copy" || op.value("op", "") == "add") &&
        out.dump().size() > kMaxObjectBytes) {
      throw ApiError(422, "Invalid", "the JSON patch makes the object larger than 3 MiB");
    }
  }
  return out;
}

bool WantsTable(const httplib::Request& req) {
  return req.get_header_value("Accept").find("as=Table") != std::string::npos;
}

IncludeObject IncludeParam(const httplib::Request& req) {
  const std::string v = req.get_param_value("includeObject");
  if (v == "None") return IncludeObject::kNone;
  if (v == "Object") return IncludeObject::kObject;
  return IncludeObject::kMetadata;
}

std::string ReadFileOr(const fs::path& p, const std::string& fallback) {
  std::ifstream in(p);
  if (!in) return fallback;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const fs::path& p, const std::string& content, fs::perms perms) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out.flush()) return Status::IoError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::permissions(tmp, perms, ec);
  fs::rename(tmp, p, ec);
  if (ec) return Status::IoError("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

class ApiServer::Impl {
 public:
  explicit Impl(ApiServerOptions options) : opts_(std::move(options)) {}
  ~Impl() { Stop(); }

  Status Init();
  void Stop();

  int port_ = 0;
  std::string token_;
  std::string ca_pem_;
  Certificate admin_cert_;  // the kubeconfig's client-certificate user
  ApiServerOptions opts_;

 private:
  // Request handling.
  void Handle(const httplib::Request& req, httplib::Response& res);
  void Route(const httplib::Request& req, httplib::Response& res);
  bool Discovery(const httplib::Request& req, httplib::Response& res,
                 const std::vector<std::string>& parts);
  Target Resolve(const std::vector<std::string>& parts, size_t rest_at, const std::string& group,
                 const std::string& version);

  void Get(const Target& t, const httplib::Request& req, httplib::Response& res);
  void List(const Target& t, const httplib::Request& req, httplib::Response& res);
  struct WatchState;
  void Watch(const Target& t, const httplib::Request& req, httplib::Response& res);
  bool StreamWatch(WatchState& st, httplib::DataSink& sink);
  void Create(const Target& t, const httplib::Request& req, httplib::Response& res);
  void Update(const Target& t, const httplib::Request& req, httplib::Response& res);
  void Patch(const Target& t, const httplib::Request& req, httplib::Response& res);
  void Delete(const Target& t, const httplib::Request& req, httplib::Response& res);
  void DeleteCollection(const Target& t, const httplib::Request& req, httplib::Response& res);

  // Object rules shared by the write paths.
  void CheckTypeMeta(const ResourceDef& def, json& obj) const;
  void CheckNamespace(const ResourceDef& def, const std::string& path_ns, json& obj) const;
  void ValidateObject(const ResourceDef& def, json& obj, const httplib::Request* req,
                      httplib::Response* res) const;
  Mutation FinishUpdate(const ResourceDef& def, const json& current, json next,
                        const std::string& sub, const httplib::Request* req,
                        httplib::Response* res) const;
  // Deletes (or marks for deletion) one object; returns the stored result and whether
  // it is gone.
  std::pair<ObjectPtr, bool> DeleteObject(const ResourceDef& def, const std::string& ns,
                                          const std::string& name, const std::string& policy,
                                          const json& preconditions, bool dry_run = false);
  ObjectPtr Commit(const ResourceDef& def, const std::string& ns, const std::string& name,
                   const std::function<Mutation(const json*)>& decide, bool dry_run = false);

  // CustomResourceDefinitions.
  void ServeCrd(const json& crd);
  Status ApplyManifest(const json& crd);

  // Garbage collection: ownerReferences, foreground/orphan deletion, namespaces.
  void CollectGarbage();
  void GarbageLoop();

  void WriteJson(httplib::Response& res, int code, const json& body) const;
  json ListObject(const ResourceDef& def, const Store::Page& page, bool table,
                  IncludeObject include) const;
  ResourceDefPtr FindDef(const std::string& storage_key) const;
  json OpenApi(const std::vector<std::string>& parts) const;

  std::unique_ptr<Store> store_;
  std::unique_ptr<httplib::Server> http_;
  std::thread serve_thread_;
  std::thread gc_thread_;
  std::atomic<bool> stopping_{false};
  mutable SharedMutex registry_mu_;
  Registry registry_ GUARDED_BY(registry_mu_);
};

// ---------------------------------------------------------------------------------------
// Start-up and shutdown

Status ApiServer::Impl::Init() {
  std::error_code ec;
  fs::create_directories(opts_.data_dir, ec);
  if (ec) return Status::IoError("cannot create " + opts_.data_dir + ": " + ec.message());
  const fs::path dir = opts_.data_dir;

  token_ = opts_.token;
  if (token_.empty()) {
    token_ = ReadFileOr(dir / "token", "");
    while (!token_.empty() && std::isspace(static_cast<unsigned char>(token_.back()))) token_.pop_back();
    if (token_.empty()) {
      token_ = RandomHex(32);
      if (Status s = WriteFile(dir / "token", token_ + "\n", fs::perms::owner_read | fs::perms::owner_write); !s.ok()) return s;
    }
  }

  auto store = Store::Open((dir / "state.db").string(), opts_.history_limit);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);

  // Serve every CRD already stored, then apply the built-in manifests over them.
  for (const auto& [resource, obj] : store_->Snapshot()) {
    if (resource == kCrdKey) ServeCrd(*obj);
  }
  for (const std::string& manifest : opts_.crd_manifests) {
    auto docs = api::ParseYamlDocuments(manifest);
    if (!docs.ok()) return docs.status().WithContext("built-in CRD manifest");
    for (const json& crd : *docs) {
      if (Status s = ApplyManifest(crd); !s.ok()) return s;
    }
  }
  for (const char* ns : {"default", "kube-system"}) {
    if (!store_->Get(kNamespaceKey, "", ns)) {
      (void)ApplyManifest({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    }
  }

  if (opts_.tls) {
    std::string cert = ReadFileOr(dir / "tls.crt", "");
    std::string key = ReadFileOr(dir / "tls.key", "");
    if (cert.empty() || key.empty()) {
      std::vector<std::string> hosts = {"127.0.0.1", "localhost", "::1"};
      if (opts_.address != "127.0.0.1" && opts_.address != "0.0.0.0") hosts.push_back(opts_.address);
      auto generated = GenerateSelfSigned("cstor-apiserver", hosts);
      if (!generated.ok()) return generated.status();
      cert = generated->cert_pem;
      key = generated->key_pem;
      if (Status s = WriteFile(dir / "tls.key", key, fs::perms::owner_read | fs::perms::owner_write); !s.ok()) return s;
      if (Status s = WriteFile(dir / "tls.crt", cert, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read); !s.ok()) return s;
    }
    ca_pem_ = cert;
    // The CA for client certificates, kept like the serving certificate; the kubeconfig's
    // certificate user gets a fresh certificate from it at every start.
    Certificate client_ca{ReadFileOr(dir / "client-ca.crt", ""), ReadFileOr(dir / "client-ca.key", "")};
    if (client_ca.cert_pem.empty() || client_ca.key_pem.empty()) {
      auto generated = GenerateCa("cstor-client-ca");
      if (!generated.ok()) return generated.status();
      client_ca = *generated;
      if (Status s = WriteFile(dir / "client-ca.key", client_ca.key_pem, fs::perms::owner_read | fs::perms::owner_write); !s.ok()) return s;
      if (Status s = WriteFile(dir / "client-ca.crt", client_ca.cert_pem, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read); !s.ok()) return s;
    }
    auto admin = IssueClientCertificate(client_ca, "cstor-admin", "system:masters");
    if (!admin.ok()) return admin.status();
    admin_cert_ = *admin;
    http_ = std::make_unique<httplib::SSLServer>([cert, key, ca = client_ca.cert_pem](SSL_CTX& ctx) {
      return SetUpTls(ctx, cert, key, ca);
    });
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  if (!http_->is_valid()) return Status::Internal("cannot set up the HTTP server (TLS key or certificate?)");

  const int threads = opts_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_keep_alive_max_count(100000);
  // httplib lets an idle keep-alive connection hold its thread (and delay Stop) this long.
  http_->set_keep_alive_timeout(2);
  http_->set_read_timeout(60);
  http_->set_payload_max_length(kMaxObjectBytes);  // Kubernetes' request size limit
  http_->set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  http_->Get(".*", handler);
  http_->Post(".*", handler);
  http_->Put(".*", handler);
  http_->Patch(".*", handler);
  http_->Delete(".*", handler);

  if (opts_.port == 0) {
    port_ = http_->bind_to_any_port(opts_.address);
  } else {
    port_ = http_->bind_to_port(opts_.address, opts_.port) ? opts_.port : -1;
  }
  if (port_ <= 0) {
    return Status::Unavailable(fmt::format("cannot listen on {}:{} (in use?)", opts_.address, opts_.port));
  }

  // A kubeconfig for clients: the server, the CA to trust, the token.
  const std::string server = fmt::format("{}://{}:{}", opts_.tls ? "https" : "http",
                                         opts_.address == "0.0.0.0" ? "127.0.0.1" : opts_.address, port_);
  json cluster = {{"server", server}};
  if (opts_.tls) cluster["certificate-authority-data"] = Base64Encode(ca_pem_);
  json kubeconfig = {
      {"apiVersion", "v1"}, {"kind", "Config"}, {"preferences", json::object()},
      {"clusters", {{{"name", "cstor"}, {"cluster", cluster}}}},
      {"users", {{{"name", "cstor-admin"}, {"user", {{"token", token_}}}}}},
      {"contexts", {{{"name", "cstor"}, {"context", {{"cluster", "cstor"}, {"user", "cstor-admin"}, {"namespace", "default"}}}}}},
      {"current-context", "cstor"}};
  if (opts_.tls) {
    // The same user by client certificate, as kubeadm, kind and minikube write them.
    kubeconfig["users"].push_back({{"name", "cstor-admin-cert"},
                                   {"user", {{"client-certificate-data", Base64Encode(admin_cert_.cert_pem)},
                                             {"client-key-data", Base64Encode(admin_cert_.key_pem)}}}});
    kubeconfig["contexts"].push_back({{"name", "cstor-cert"},
                                      {"context", {{"cluster", "cstor"}, {"user", "cstor-admin-cert"}, {"namespace", "default"}}}});
  }
  if (Status s = WriteFile(dir / "kubeconfig", api::ToYaml(kubeconfig), fs::perms::owner_read | fs::perms::owner_write); !s.ok()) return s;

  serve_thread_ = std::thread([this] { http_->listen_after_bind(); });
  gc_thread_ = std::thread([this] { GarbageLoop(); });
  CSTOR_LOG_INFO("apiserver: serving {} (kubeconfig {})", server, (dir / "kubeconfig").string());
  return Status::Ok();
}

void ApiServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  if (store_) store_->Shutdown();  // open watches return
  if (http_) http_->stop();
  if (serve_thread_.joinable()) serve_thread_.join();
  if (gc_thread_.joinable()) gc_thread_.join();
  http_.reset();
  store_.reset();
}

// ---------------------------------------------------------------------------------------
// Routing

void ApiServer::Impl::WriteJson(httplib::Response& res, int code, const json& body) const {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void ApiServer::Impl::Handle(const httplib::Request& req, httplib::Response& res) {
  try {
    const std::string& path = req.path;
    if (path == "/healthz" || path == "/livez" || path == "/readyz") {
      res.set_content("ok", "text/plain");
      return;
    }
    if (!Authenticated(req, token_)) throw ApiError(401, "Unauthorized", "Unauthorized");
    Route(req, res);
  } catch (const ApiError& e) {
    WriteJson(res, e.code, StatusObject(e.code, e.reason, e.message, e.details));
  } catch (const json::exception& e) {
    WriteJson(res, 400, StatusObject(400, "BadRequest", std::string("malformed object: ") + e.what(), nullptr));
  } catch (const std::exception& e) {
    CSTOR_LOG_ERROR("apiserver: {} {}: {}", req.method, req.path, e.what());
    WriteJson(res, 500, StatusObject(500, "InternalError", e.what(), nullptr));
  }
}

void ApiServer::Impl::Route(const httplib::Request& req, httplib::Response& res) {
  const std::vector<std::string> parts = SplitPath(req.path);
  if (Discovery(req, res, parts)) return;
  Target t;
  if (parts.size() >= 3 && parts[0] == "api") {
    t = Resolve(parts, 2, "", parts[1]);
  } else if (parts.size() >= 4 && parts[0] == "apis") {
    t = Resolve(parts, 3, parts[1], parts[2]);
  } else {
    throw NotFoundPath();
  }
  const std::string& m = req.method;
  const bool watch = t.legacy_watch || BoolParam(req, "watch");
  if (m == "GET") {
    if (watch && t.name.empty()) return Watch(t, req, res);
    if (t.name.empty()) return List(t, req, res);
    return Get(t, req, res);
  }
  if (m == "POST" && t.name.empty()) return Create(t, req, res);
  if (m == "PUT" && !t.name.empty()) return Update(t, req, res);
  if (m == "PATCH" && !t.name.empty()) return Patch(t, req, res);
  if (m == "DELETE" && !t.name.empty()) return Delete(t, req, res);
  if (m == "DELETE" && t.sub.empty()) return DeleteCollection(t, req, res);
  throw ApiError(405, "MethodNotAllowed", fmt::format("{} is not supported on {}", m, req.path));
}

Target ApiServer::Impl::Resolve(const std::vector<std::string>& parts, size_t at,
                                const std::string& group, const std::string& version) {
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(at), parts.end());
  Target t;
  if (!rest.empty() && rest[0] == "watch") {
    t.legacy_watch = true;
    rest.erase(rest.begin());
  }
  if (rest.size() >= 3 && rest[0] == "namespaces" &&
      !(group.empty() && (rest[2] == "status" || rest[2] == "finalize"))) {
    t.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) throw NotFoundPath();
  {
    ReaderLock lock(&registry_mu_);
    t.def = registry_.Find(group, version, rest[0]);
  }
  if (!t.def) throw NotFoundPath();
  if (rest.size() > 1) t.name = rest[1];
  if (rest.size() > 2) t.sub = rest[2];
  if (!t.sub.empty() && !(t.sub == "status" && t.def->status_subresource)) throw NotFoundPath();
  if (!t.def->namespaced && !t.ns.empty()) throw NotFoundPath();
  if (t.def->namespaced && t.ns.empty() && !t.name.empty()) throw NotFoundPath();
  return t;
}

bool ApiServer::Impl::Discovery(const httplib::Request& req, httplib::Response& res,
                                const std::vector<std::string>& parts) {
  if (req.method != "GET") return false;
  auto resource_list = [&](const std::string& group, const std::string& version) {
    json resources = json::array();
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (d->group != group || d->version != version) continue;
      json r = {{"name", d->plural}, {"singularName", d->singular}, {"namespaced", d->namespaced},
                {"kind", d->kind},
                {"verbs", {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}}};
      if (!d->short_names.empty()) r["shortNames"] = d->short_names;
      if (d->custom) r["categories"] = {"all", "cstor"};
      resources.push_back(r);
      if (d->status_subresource) {
        resources.push_back({{"name", d->plural + "/status"}, {"singularName", ""},
                             {"namespaced", d->namespaced}, {"kind", d->kind},
                             {"verbs", {"get", "patch", "update"}}});
      }
    }
    if (resources.empty()) throw NotFoundPath();
    return json{{"kind", "APIResourceList"}, {"apiVersion", "v1"},
                {"groupVersion", group.empty() ? version : group + "/" + version},
                {"resources", resources}};
  };
  auto groups = [&] {
    std::map<std::string, std::set<std::string>> versions;
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (!d->group.empty()) versions[d->group].insert(d->version);
    }
    json list = json::array();
    for (const auto& [g, vs] : versions) {
      json group = {{"name", g}, {"versions", json::array()}};
      for (const std::string& v : vs) group["versions"].push_back({{"groupVersion", g + "/" + v}, {"version", v}});
      group["preferredVersion"] = group["versions"][0];
      list.push_back(group);
    }
    return list;
  };
  if (!parts.empty() && parts[0] == "openapi") {
    WriteJson(res, 200, OpenApi(parts));
  } else if (parts.size() == 1 && parts[0] == "version") {
    WriteJson(res, 200, {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-cstor"},
                         {"platform", "linux/amd64"}, {"compiler", "gc"}});
  } else if (parts.size() == 1 && parts[0] == "api") {
    WriteJson(res, 200, {{"kind", "APIVersions"}, {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"},
                                                          {"serverAddress", fmt::format("{}:{}", opts_.address, port_)}}}}});
  } else if (parts.size() == 2 && parts[0] == "api") {
    WriteJson(res, 200, resource_list("", parts[1]));
  } else if (parts.size() == 1 && parts[0] == "apis") {
    WriteJson(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups()}});
  } else if (parts.size() == 2 && parts[0] == "apis") {
    for (const json& g : groups()) {
      if (g["name"] == parts[1]) {
        json out = g;
        out["kind"] = "APIGroup";
        out["apiVersion"] = "v1";
        WriteJson(res, 200, out);
        return true;
      }
    }
    throw NotFoundPath();
  } else if (parts.size() == 3 && parts[0] == "apis") {
    WriteJson(res, 200, resource_list(parts[1], parts[2]));
  } else {
    return false;
  }
  return true;
}

// OpenAPI v3, as much as clients use: an index of group-versions, and per group-version
// the operations each resource supports, so that kubectl sees that the server validates
// fields itself (the fieldValidation parameter), and each CRD's schema.
json ApiServer::Impl::OpenApi(const std::vector<std::string>& parts) const {
  ReaderLock lock(&registry_mu_);
  auto gv_path = [](const ResourceDef& d) {
    return d.group.empty() ? "api/" + d.version : "apis/" + d.group + "/" + d.version;
  };
  if (parts.size() == 2 && parts[1] == "v3") {
    json paths = json::object();
    for (const ResourceDefPtr& d : registry_.All()) {
      paths[gv_path(*d)] = {{"serverRelativeURL", "/openapi/v3/" + gv_path(*d)}};
    }
    return {{"paths", paths}};
  }
  if (parts.size() < 3 || parts[1] != "v3") throw NotFoundPath();
  std::string wanted;
  for (size_t i = 2; i < parts.size(); ++i) wanted += (i > 2 ? "/" : "") + parts[i];
  json paths = json::object();
  json schemas = json::object();
  for (const ResourceDefPtr& d : registry_.All()) {
    if (gv_path(*d) != wanted) continue;
    const json gvk = {{"group", d->group}, {"version", d->version}, {"kind", d->kind}};
    const json params = {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                         {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}}};
    const json body = {{"content", {{"application/json-patch+json", json::object()},
                                    {"application/merge-patch+json", json::object()}}}};
    const std::string item = "/" + wanted + (d->namespaced ? "/namespaces/{namespace}/" : "/") +
                             d->plural + "/{name}";
    for (const std::string& p : {item, item + "/status"}) {
      if (p != item && !d->status_subresource) continue;
      paths[p] = {{"patch", {{"x-kubernetes-group-version-kind", gvk}, {"parameters", params},
                             {"requestBody", body}}},
                  {"put", {{"x-kubernetes-group-version-kind", gvk}, {"parameters", params}}}};
    }
    std::string schema_name = d->group.empty() ? "io.k8s.api.core.v1." + d->kind : d->group + "." + d->version + "." + d->kind;
    json schema = d->schema.is_object() && !d->schema.empty() ? d->schema
                                                              : json{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    schema["x-kubernetes-group-version-kind"] = json::array({gvk});
    schemas[schema_name] = schema;
  }
  if (paths.empty()) throw NotFoundPath();
  return {{"openapi", "3.0.0"}, {"info", {{"title", "cstor"}, {"version", "v1.32.0"}}},
          {"paths", paths}, {"components", {{"schemas", schemas}}}};
}

ResourceDefPtr ApiServer::Impl::FindDef(const std::string& storage_key) const {
  ReaderLock lock(&registry_mu_);
  return registry_.FindByStorageKey(storage_key);
}

// ---------------------------------------------------------------------------------------
// Reads

void ApiServer::Impl::Get(const Target& t, const httplib::Request& req, httplib::Response& res) {
  ObjectPtr obj = store_->Get(t.def->StorageKey(), t.ns, t.name);
  if (!obj) throw NotFound(*t.def, t.name);
  if (WantsTable(req)) {
    WriteJson(res, 200, {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", {{"resourceVersion", MetaString(*obj, "resourceVersion")}}},
                         {"columnDefinitions", TableColumns(*t.def)},
                         {"rows", {TableRow(*t.def, *obj, IncludeParam(req))}}});
    return;
  }
  WriteJson(res, 200, *obj);
}

json ApiServer::Impl::ListObject(const ResourceDef& def, const Store::Page& page, bool table,
                                 IncludeObject include) const {
  json meta = {{"resourceVersion", std::to_string(page.revision)}};
  if (!page.last_key.empty()) {
    // The continue token: where the next page starts. Pages are read from the current
    // state, not a snapshot at the first page's revision.
    meta["continue"] = Base64Encode(json{{"rv", page.revision}, {"start", page.last_key}}.dump());
    meta["remainingItemCount"] = page.remaining;
  }
  if (table) {
    json rows = json::array();
    for (const ObjectPtr& o : page.items) rows.push_back(TableRow(def, *o, include));
    return {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta},
            {"columnDefinitions", TableColumns(def)}, {"rows", rows}};
  }
  json items = json::array();
  for (const ObjectPtr& o : page.items) items.push_back(*o);
  return {{"kind", def.list_kind}, {"apiVersion", def.ApiVersion()}, {"metadata", meta},
          {"items", std::move(items)}};
}

// The request's field selector, on paths the kind serves: as on a real server, a custom
// resource selects only on metadata.name, metadata.namespace and its CRD's
// selectableFields, and a built-in kind on its own short list; anything else is a 400.
static Result<FieldSelector> ParseFieldSelector(const ResourceDef& def, const httplib::Request& req) {
  auto fields = FieldSelector::Parse(req.get_param_value("fieldSelector"));
  if (!fields.ok()) throw BadRequest(fields.status().message());
  for (const std::string& path : fields->Paths()) {
    if (path == "metadata.name" || path == "metadata.namespace") continue;
    if (std::find(def.selectable_fields.begin(), def.selectable_fields.end(), path) !=
        def.selectable_fields.end()) {
      continue;
    }
    throw BadRequest(fmt::format("field label not supported: {}", path));
  }
  return fields;
}

void ApiServer::Impl::List(const Target& t, const httplib::Request& req, httplib::Response& res) {
  auto labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) throw BadRequest(labels.status().message());
  auto fields = ParseFieldSelector(*t.def, req);
  const size_t limit = static_cast<size_t>(IntParam(req, "limit", 0));
  std::string after;
  if (const std::string token = req.get_param_value("continue"); !token.empty()) {
    try {
      auto decoded = Base64Decode(token);
      if (!decoded.ok()) throw std::invalid_argument(token);
      after = json::parse(*decoded).at("start").get<std::string>();
    } catch (const std::exception&) {
      throw BadRequest("continue key is not valid: malformed token");
    }
  }
  const LabelSelector& ls = *labels;
  const FieldSelector& fs = *fields;
  Store::Page page = store_->List(t.def->StorageKey(), t.ns, after, limit, [&](const json& o) {
    return ls.Matches(Meta(o).value("labels", json(nullptr))) && fs.Matches(o);
  });
  WriteJson(res, 200, ListObject(*t.def, page, WantsTable(req), IncludeParam(req)));
}

// One open watch: what it selects, how it encodes, and where it is in the history.
struct ApiServer::Impl::WatchState {
  ResourceDefPtr def;
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  bool table = false;
  IncludeObject include = IncludeObject::kMetadata;
  bool bookmarks = false;
  uint64_t revision = 0;
  std::vector<std::string> initial;  // encoded ADDED events to send first
  std::chrono::steady_clock::time_point deadline, last_bookmark;

  bool Matches(const json& o) const {
    return labels.Matches(Meta(o).value("labels", json(nullptr))) && fields.Matches(o);
  }
  std::string Encode(const char* type, const json& obj) const {
    json event = {{"type", type}};
    if (table) {
      event["object"] = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", {{"resourceVersion", MetaString(obj, "resourceVersion")}}},
                         {"columnDefinitions", TableColumns(*def)},
                         {"rows", {TableRow(*def, obj, include)}}};
    } else {
      event["object"] = obj;
    }
    return event.dump() + "\n";
  }
};

void ApiServer::Impl::Watch(const Target& t, const httplib::Request& req, httplib::Response& res) {
  auto labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) throw BadRequest(labels.status().message());
  auto fields = ParseFieldSelector(*t.def, req);

  auto st = std::make_shared<WatchState>();
  st->def = t.def;
  st->ns = t.ns;
  st->labels = *labels;
  st->fields = *fields;
  st->table = WantsTable(req);
  st->include = IncludeParam(req);
  st->bookmarks = BoolParam(req, "allowWatchBookmarks");
  const int64_t timeout = IntParam(req, "timeoutSeconds", opts_.max_watch_seconds);
  st->deadline = std::chrono::steady_clock::now() +
                 std::chrono::seconds(std::min<int64_t>(timeout, opts_.max_watch_seconds));
  st->last_bookmark = std::chrono::steady_clock::now();

  const std::string rv = req.get_param_value("resourceVersion");
  if (rv.empty() || rv == "0") {
    // Start with the current state, as ADDED events, then follow changes from there.
    Store::Page page = store_->List(t.def->StorageKey(), t.ns, "", 0,
                                    [&](const json& o) { return st->Matches(o); });
    st->revision = page.revision;
    for (const ObjectPtr& o : page.items) st->initial.push_back(st->Encode("ADDED", *o));
  } else {
    try {
      size_t used = 0;
      st->revision = std::stoull(rv, &used);
      if (used != rv.size()) throw std::invalid_argument(rv);
    } catch (const std::exception&) {
      throw BadRequest(fmt::format("invalid resourceVersion \"{}\"", rv));
    }
  }
  res.set_chunked_content_provider(
      "application/json;stream=watch", [st, this](size_t, httplib::DataSink& sink) {
        // This runs outside Handle(): nothing may escape it.
        try {
          return StreamWatch(*st, sink);
        } catch (const std::exception& e) {
          CSTOR_LOG_ERROR("apiserver: a watch of {} ended: {}", st->def->plural, e.what());
          return false;
        }
      });
}

// Sends what the watch has not seen yet; false ends the response (the client went away).
bool ApiServer::Impl::StreamWatch(WatchState& st, httplib::DataSink& sink) {
  auto write = [&sink](const std::string& s) { return sink.write(s.data(), s.size()); };
  if (!st.initial.empty()) {
    for (const std::string& e : st.initial) {
      if (!write(e)) return false;
    }
    st.initial.clear();
    return true;
  }
  auto now = std::chrono::steady_clock::now();
  if (stopping_ || now >= st.deadline) {
    sink.done();
    return true;
  }
  bool too_old = false;
  auto wait = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(500),
      std::chrono::duration_cast<std::chrono::milliseconds>(st.deadline - now));
  std::vector<StoredEvent> events = store_->EventsAfter(st.revision, wait, &too_old);
  if (too_old) {
    json status = StatusObject(
        410, "Expired",
        fmt::format("too old resource version: {} ({})", st.revision, store_->Revision()), nullptr);
    write(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
    sink.done();
    return true;
  }
  const std::string key = st.def->StorageKey();
  for (const StoredEvent& ev : events) {
    st.revision = ev.revision;
    if (ev.resource != key || (!st.ns.empty() && ev.ns != st.ns)) continue;
    // Selector transitions: an object that stops matching is DELETED for this watch, one
    // that starts matching is ADDED.
    const bool now_matches = st.Matches(*ev.object);
    const bool was_matching = ev.type == EventType::kModified && ev.previous
                                  ? st.Matches(*ev.previous)
                                  : ev.type != EventType::kAdded && now_matches;
    const char* type = nullptr;
    if (ev.type == EventType::kAdded && now_matches) type = "ADDED";
    if (ev.type == EventType::kDeleted && now_matches) type = "DELETED";
    if (ev.type == EventType::kModified) {
      if (now_matches && was_matching) type = "MODIFIED";
      if (now_matches && !was_matching) type = "ADDED";
      if (!now_matches && was_matching) type = "DELETED";
    }
    if (type != nullptr && !write(st.Encode(type, *ev.object))) return false;
  }
  now = std::chrono::steady_clock::now();
  if (st.bookmarks && now - st.last_bookmark >= opts_.bookmark_interval) {
    st.last_bookmark = now;
    json bookmark = {{"type", "BOOKMARK"},
                     {"object", {{"kind", st.def->kind},
                                 {"apiVersion", st.def->ApiVersion()},
                                 {"metadata", {{"resourceVersion", std::to_string(st.revision)}}}}}};
    if (!write(bookmark.dump() + "\n")) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Writes

void ApiServer::Impl::CheckTypeMeta(const ResourceDef& def, json& obj) const {
  const std::string api_version = obj.value("apiVersion", "");
  const std::string kind = obj.value("kind", "");
  if (kind.empty()) throw BadRequest("Object 'Kind' is missing in the request body");
  if (api_version.empty()) throw BadRequest("Object 'apiVersion' is missing in the request body");
  if (api_version != def.ApiVersion() || kind != def.kind) {
    throw BadRequest(fmt::format("the object's type ({}, {}) does not match the resource ({}, {})",
                                 api_version, kind, def.ApiVersion(), def.kind));
  }
  if (!obj.contains("metadata")) obj["metadata"] = json::object();
  if (!obj["metadata"].is_object()) throw BadRequest("metadata must be an object");
}

void ApiServer::Impl::CheckNamespace(const ResourceDef& def, const std::string& path_ns,
                                     json& obj) const {
  json& meta = obj["metadata"];
  if (!def.namespaced) {
    meta.erase("namespace");
    return;
  }
  const std::string ns = meta.value("namespace", "");
  if (!ns.empty() && ns != path_ns) {
    throw BadRequest(fmt::format("the namespace of the object ({}) does not match the namespace on "
                                 "the request ({})", ns, path_ns));
  }
  meta["namespace"] = path_ns;
}

void ApiServer::Impl::ValidateObject(const ResourceDef& def, json& obj, const httplib::Request* req,
                                     httplib::Response* res) const {
  std::vector<FieldError> errors = ValidateObjectMeta(Meta(obj), def.plural == "namespaces");
  if (def.custom && def.schema.is_object() && !def.schema.empty()) {
    SchemaResult r = ValidateAndPrune(def.schema, obj);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    // Kubernetes' default when the client does not say is Warn.
    std::string mode = req ? req->get_param_value("fieldValidation") : "Ignore";
    if (mode.empty()) mode = "Warn";
    if (!r.unknown_fields.empty() && mode == "Strict" && errors.empty()) {
      std::string list;
      for (const std::string& f : r.unknown_fields) list += (list.empty() ? "" : ", ") + ("unknown field \"" + f + "\"");
      throw BadRequest("strict decoding error: " + list);
    }
    if (!r.unknown_fields.empty() && mode == "Warn" && res) {
      for (const std::string& f : r.unknown_fields) {
        res->set_header("Warning", fmt::format("299 - \"unknown field \\\"{}\\\"\"", f));
      }
    }
  }
  if (!errors.empty()) throw Invalid(def, MetaString(obj, "name"), errors);
}

ObjectPtr ApiServer::Impl::Commit(const ResourceDef& def, const std::string& ns,
                                  const std::string& name,
                                  const std::function<Mutation(const json*)>& decide,
                                  bool dry_run) {
  if (dry_run) {
    // Everything a real write checks, and the would-be result; nothing stored, no event.
    ObjectPtr cur = store_->Get(def.StorageKey(), ns, name);
    Mutation m = decide(cur.get());
    if (m.kind == Mutation::kPut) {
      if (cur) m.object["metadata"]["resourceVersion"] = MetaString(*cur, "resourceVersion");
      return std::make_shared<const json>(std::move(m.object));
    }
    if (m.kind == Mutation::kDelete && !cur) throw NotFound(def, name);
    return cur;
  }
  auto r = store_->Mutate(def.StorageKey(), ns, name, decide);
  if (!r.ok()) {
    if (r.status().Is(Code::kNotFound)) throw NotFound(def, name);
    throw ApiError(500, "InternalError", r.status().ToString());
  }
  return *r;
}

void ApiServer::Impl::Create(const Target& t, const httplib::Request& req, httplib::Response& res) {
  const ResourceDef& def = *t.def;
  json obj = ParseBody(req.body);
  CheckTypeMeta(def, obj);
  if (def.namespaced && t.ns.empty()) throw NotFoundPath();
  CheckNamespace(def, t.ns, obj);
  json& meta = obj["metadata"];
  std::string name = meta.value("name", "");
  if (name.empty() && !meta.value("generateName", "").empty()) {
    static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
    std::string suffix = RandomHex(3).substr(0, 5);
    for (char& c : suffix) c = kChars[static_cast<unsigned char>(c) % (sizeof(kChars) - 1)];
    name = meta.value("generateName", "") + suffix;
  }
  meta["name"] = name;
  for (const char* k : {"uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "selfLink", "managedFields"}) {
    meta.erase(k);
  }
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = Now();
  meta["generation"] = 1;
  if (def.custom && def.status_subresource) obj.erase("status");
  if (def.plural == "namespaces") obj["status"] = {{"phase", "Active"}};
  ValidateObject(def, obj, &req, &res);

  if (def.namespaced) {
    ObjectPtr ns = store_->Get(kNamespaceKey, "", t.ns);
    if (!ns) throw ApiError(404, "NotFound", fmt::format("namespaces \"{}\" not found", t.ns),
                            json{{"name", t.ns}, {"kind", "namespaces"}});
    if (IsDeleting(*ns)) {
      throw ApiError(403, "Forbidden",
                     fmt::format("{} \"{}\" is forbidden: unable to create new content in "
                                 "namespace {} because it is being terminated",
                                 def.QualifiedName(), name, t.ns));
    }
  }
  if (def.plural == "customresourcedefinitions") {
    auto served = Registry::FromCrd(obj);
    if (!served.ok()) throw Invalid(def, name, {{"FieldValueInvalid", "spec", "spec: " + served.status().message()}});
  }
  const bool dry_run = DryRun(req, json::object());
  ObjectPtr stored = Commit(def, t.ns, name, [&](const json* cur) {
    if (cur) throw AlreadyExists(def, name);
    return Mutation{Mutation::kPut, obj};
  }, dry_run);
  if (def.plural == "customresourcedefinitions" && !dry_run) {
    ServeCrd(*stored);
    stored = store_->Get(def.StorageKey(), t.ns, name);  // with the status ServeCrd wrote
  }
  WriteJson(res, 201, *stored);
}

Mutation ApiServer::Impl::FinishUpdate(const ResourceDef& def, const json& current, json next,
                                       const std::string& sub, const httplib::Request* req,
                                       httplib::Response* res) const {
  json result;
  if (sub == "status") {
    result = current;
    if (next.contains("status")) {
      result["status"] = next["status"];
    } else {
      result.erase("status");
    }
  } else {
    result = std::move(next);
    json& meta = result["metadata"];
    const json& old = Meta(current);
    for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "name", "namespace"}) {
      if (old.contains(k)) {
        meta[k] = old[k];
      } else {
        meta.erase(k);
      }
    }
    if (def.status_subresource) {
      if (current.contains("status")) {
        result["status"] = current["status"];
      } else {
        result.erase("status");
      }
    }
    if (SpecChanged(current, result)) meta["generation"] = old.value("generation", int64_t{1}) + 1;
    if (IsDeleting(current)) {
      std::vector<std::string> before = Finalizers(current);
      for (const std::string& f : Finalizers(result)) {
        if (std::find(before.begin(), before.end(), f) == before.end()) {
          throw Invalid(def, MetaString(current, "name"),
                        {{"FieldValueForbidden", "metadata.finalizers",
                          "metadata.finalizers: Forbidden: no new finalizers can be added if the "
                          "object is being deleted, found new finalizers [\"" + f + "\"]"}});
        }
      }
    }
  }
  ValidateObject(def, result, req, res);
  json a = result, b = current;
  a["metadata"].erase("resourceVersion");
  b["metadata"].erase("resourceVersion");
  if (a == b) return {};  // a no-op write changes nothing, not even the resourceVersion
  if (IsDeleting(result) && Finalizers(result).empty() && def.plural != "namespaces") {
    return {Mutation::kDelete, {}};
  }
  return {Mutation::kPut, std::move(result)};
}

void ApiServer::Impl::Update(const Target& t, const httplib::Request& req, httplib::Response& res) {
  const ResourceDef& def = *t.def;
  json obj = ParseBody(req.body);
  CheckTypeMeta(def, obj);
  CheckNamespace(def, t.ns, obj);
  const std::string body_name = MetaString(obj, "name");
  if (body_name != t.name) {
    throw BadRequest(fmt::format("the name of the object ({}) does not match the name on the URL ({})",
                                 body_name, t.name));
  }
  const std::string rv = MetaString(obj, "resourceVersion");
  const bool dry_run = DryRun(req, json::object());
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    if (rv.empty()) {
      throw Invalid(def, t.name, {{"FieldValueInvalid", "metadata.resourceVersion",
                                   "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"}});
    }
    if (rv != MetaString(*cur, "resourceVersion")) {
      throw Conflict(def, t.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    Mutation m = FinishUpdate(def, *cur, obj, t.sub, &req, &res);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.plural == "customresourcedefinitions" && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

void ApiServer::Impl::Patch(const Target& t, const httplib::Request& req, httplib::Response& res) {
  const ResourceDef& def = *t.def;
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  json patch;
  try {
    patch = json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw BadRequest(std::string("the patch is not valid JSON: ") + e.what());
  }
  const bool json_patch = type == "application/json-patch+json";
  if (!json_patch && type != "application/merge-patch+json" &&
      type != "application/strategic-merge-patch+json") {
    throw ApiError(415, "UnsupportedMediaType",
                   fmt::format("the body of the request was in an unknown format - accepted "
                               "media types include: application/json-patch+json, "
                               "application/merge-patch+json, "
                               "application/strategic-merge-patch+json (got \"{}\")", type));
  }
  if (json_patch ? !patch.is_array() : !patch.is_object()) {
    throw BadRequest(json_patch ? "a JSON patch must be an array of operations"
                                : "a merge patch must be a JSON object");
  }
  const bool dry_run = DryRun(req, json::object());
  bool deleted = false;
  ObjectPtr stored = Commit(def, t.ns, t.name, [&](const json* cur) {
    if (!cur) throw NotFound(def, t.name);
    json next;
    if (json_patch) {
      next = ApplyJsonPatch(*cur, patch);
    } else {
      // Strategic merge patches are applied as JSON merge patches: lists are replaced
      // whole rather than merged by key.
      next = *cur;
      next.merge_patch(patch);
    }
    if (!next.is_object() || !next.contains("metadata") || !next["metadata"].is_object()) {
      throw ApiError(422, "Invalid", "the patch removes the object's metadata");
    }
    const std::string rv = MetaString(next, "resourceVersion");
    if (rv != MetaString(*cur, "resourceVersion")) {
      throw Conflict(def, t.name, "the object has been modified; please apply your changes to the latest version and try again");
    }
    if (next.value("apiVersion", "") != def.ApiVersion() || next.value("kind", "") != def.kind) {
      throw BadRequest("a patch may not change apiVersion or kind");
    }
    Mutation m = FinishUpdate(def, *cur, std::move(next), t.sub, &req, &res);
    deleted = m.kind == Mutation::kDelete;
    return m;
  }, dry_run);
  if (def.plural == "customresourcedefinitions" && !deleted && !dry_run) ServeCrd(*stored);
  WriteJson(res, 200, *stored);
}

std::pair<ObjectPtr, bool> ApiServer::Impl::DeleteObject(const ResourceDef& def,
                                                         const std::string& ns,
                                                         const std::string& name,
                                                         const std::string& policy,
                                                         const json& preconditions, bool dry_run) {
  bool gone = false;
  ObjectPtr result = Commit(def, ns, name, [&](const json* cur) -> Mutation {
    if (!cur) throw NotFound(def, name);
    if (preconditions.is_object()) {
      const std::string uid = preconditions.value("uid", "");
      const std::string rv = preconditions.value("resourceVersion", "");
      if (!uid.empty() && uid != MetaString(*cur, "uid")) {
        throw Conflict(def, name, fmt::format("Precondition failed: UID in precondition: {}, UID in object meta: {}", uid, MetaString(*cur, "uid")));
      }
      if (!rv.empty() && rv != MetaString(*cur, "resourceVersion")) {
        throw Conflict(def, name, fmt::format("Precondition failed: ResourceVersion in precondition: {}, ResourceVersion in object meta: {}", rv, MetaString(*cur, "resourceVersion")));
      }
    }
    json next = *cur;
    std::vector<std::string> finalizers = Finalizers(next);
    const bool deleting = IsDeleting(next);
    auto add = [&](const char* f) {
      if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) finalizers.push_back(f);
    };
    if (!deleting && policy == "Foreground") add(kForegroundFinalizer);
    if (!deleting && policy == "Orphan") add(kOrphanFinalizer);
    if (finalizers.empty() && def.plural != "namespaces") {
      gone = true;
      return {Mutation::kDelete, {}};
    }
    if (deleting) return {};  // already on its way out
    next["metadata"]["deletionTimestamp"] = Now();
    next["metadata"]["deletionGracePeriodSeconds"] = 0;
    SetFinalizers(next, finalizers);
    if (def.plural == "namespaces") next["status"] = {{"phase", "Terminating"}};
    return {Mutation::kPut, std::move(next)};
  }, dry_run);
  if (dry_run) return {result, gone};
  if (gone && def.plural == "customresourcedefinitions") {
    // The resource stops being served and its objects go with it.
    auto served = Registry::FromCrd(*result);
    if (served.ok()) {
      {
        WriterLock lock(&registry_mu_);
        registry_.RemoveCustom(served->group, served->plural);
      }
      const std::string key = served->StorageKey();
      for (const ObjectPtr& o : store_->List(key, "", "", 0, nullptr).items) {
        (void)store_->Mutate(key, MetaString(*o, "namespace"), MetaString(*o, "name"),
                             [](const json*) { return Mutation{Mutation::kDelete, {}}; });
      }
    }
  }
  return {result, gone};
}

void ApiServer::Impl::Delete(const Target& t, const httplib::Request& req, httplib::Response& res) {
  if (!t.sub.empty()) throw ApiError(405, "MethodNotAllowed", "DELETE is not supported on a subresource");
  json options = json::object();
  if (!req.body.empty()) options = ParseBody(req.body);
  std::string policy = req.get_param_value("propagationPolicy");
  if (policy.empty()) policy = options.value("propagationPolicy", "");
  if (policy.empty() && options.value("orphanDependents", false)) policy = "Orphan";
  if (policy.empty()) policy = "Background";
  if (policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    throw BadRequest(fmt::format("propagationPolicy \"{}\" is not one of Background, Foreground, Orphan", policy));
  }
  auto [obj, gone] = DeleteObject(*t.def, t.ns, t.name, policy,
                                  options.value("preconditions", json(nullptr)), DryRun(req, options));
  if (gone) {
    WriteJson(res, 200, StatusObject(200, "", "", json{{"name", t.name}, {"group", t.def->group},
                                                       {"kind", t.def->plural},
                                                       {"uid", MetaString(*obj, "uid")}}));
  } else {
    WriteJson(res, 202, *obj);
  }
}

void ApiServer::Impl::DeleteCollection(const Target& t, const httplib::Request& req,
                                       httplib::Response& res) {
  auto labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) throw BadRequest(labels.status().message());
  auto fields = ParseFieldSelector(*t.def, req);
  const LabelSelector& ls = *labels;
  const FieldSelector& fs = *fields;
  Store::Page page = store_->List(t.def->StorageKey(), t.ns, "", 0, [&](const json& o) {
    return ls.Matches(Meta(o).value("labels", json(nullptr))) && fs.Matches(o);
  });
  std::string policy = req.get_param_value("propagationPolicy");
  if (policy.empty()) policy = "Background";
  json items = json::array();
  for (const ObjectPtr& o : page.items) {
    try {
      items.push_back(*DeleteObject(*t.def, MetaString(*o, "namespace"), MetaString(*o, "name"), policy,
                                    nullptr, DryRun(req, json::object())).first);
    } catch (const ApiError& e) {
      if (e.code != 404) throw;  // deleted meanwhile
    }
  }
  WriteJson(res, 200, {{"kind", t.def->list_kind}, {"apiVersion", t.def->ApiVersion()},
                       {"metadata", {{"resourceVersion", std::to_string(store_->Revision())}}},
                       {"items", items}});
}

// ---------------------------------------------------------------------------------------
// CustomResourceDefinitions

void ApiServer::Impl::ServeCrd(const json& crd) {
  const std::string name = MetaString(crd, "name");
  auto def = Registry::FromCrd(crd);
  Status s = def.ok() ? Status::Ok() : def.status();
  if (s.ok()) {
    WriterLock lock(&registry_mu_);
    s = registry_.AddCustom(*def);
  }
  if (!s.ok()) CSTOR_LOG_WARN("apiserver: CRD {} is not served: {}", name, s.message());
  // Report the outcome in the CRD's status, as Kubernetes does (kubectl wait
  // --for=condition=Established relies on it).
  const std::string now = Now();
  json conditions = {
      {{"type", "NamesAccepted"}, {"status", s.ok() ? "True" : "False"},
       {"reason", s.ok() ? "NoConflicts" : "NameConflict"},
       {"message", s.ok() ? "no conflicts found" : s.message()}, {"lastTransitionTime", now}},
      {{"type", "Established"}, {"status", s.ok() ? "True" : "False"},
       {"reason", s.ok() ? "InitialNamesAccepted" : "NotAccepted"},
       {"message", s.ok() ? "the initial names have been accepted" : s.message()},
       {"lastTransitionTime", now}}};
  (void)store_->Mutate(kCrdKey, "", name, [&](const json* cur) -> Mutation {
    if (!cur) return {};
    json next = *cur;
    json& status = next["status"];
    // Keep transition times when nothing changed.
    if (status.contains("conditions") && status["conditions"].is_array()) {
      for (json& c : conditions) {
        for (const json& old : status["conditions"]) {
          if (old.value("type", "") == c["type"] && old.value("status", "") == c["status"]) {
            c["lastTransitionTime"] = old.value("lastTransitionTime", now);
          }
        }
      }
    }
    status["conditions"] = conditions;
    status["acceptedNames"] = next["spec"].value("names", json::object());
    status["storedVersions"] = def.ok() ? json::array({def->version}) : json::array();
    if (next == *cur) return {};
    return {Mutation::kPut, std::move(next)};
  });
}

Status ApiServer::Impl::ApplyManifest(const json& manifest) {
  const std::string api_version = manifest.value("apiVersion", "");
  const std::string kind = manifest.value("kind", "");
  ResourceDefPtr def;
  {
    ReaderLock lock(&registry_mu_);
    for (const ResourceDefPtr& d : registry_.All()) {
      if (d->ApiVersion() == api_version && d->kind == kind) def = d;
    }
  }
  if (!def || def->namespaced) return Status::InvalidArgument("cannot apply " + api_version + " " + kind);
  json obj = manifest;
  try {
    CheckTypeMeta(*def, obj);
    const std::string name = MetaString(obj, "name");
    Commit(*def, "", name, [&](const json* cur) -> Mutation {
      json next = obj;
      if (cur) {
        next["metadata"] = (*cur)["metadata"];
        if (cur->contains("status")) next["status"] = (*cur)["status"];
        if (next == *cur) return {};
      } else {
        next["metadata"]["uid"] = NewUid();
        next["metadata"]["creationTimestamp"] = Now();
        next["metadata"]["generation"] = 1;
        if (def->plural == "namespaces") next["status"] = {{"phase", "Active"}};
      }
      ValidateObject(*def, next, nullptr, nullptr);
      return {Mutation::kPut, std::move(next)};
    });
    if (def->plural == "customresourcedefinitions") ServeCrd(*store_->Get(kCrdKey, "", name));
  } catch (const ApiError& e) {
    return Status::InvalidArgument(e.message);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Garbage collection

void ApiServer::Impl::GarbageLoop() {
  uint64_t revision = store_->Revision();
  bool relevant = true;  // a sweep at start finishes what a previous run left
  while (!stopping_) {
    bool too_old = false;
    std::vector<StoredEvent> events = store_->EventsAfter(revision, std::chrono::seconds(1), &too_old);
    relevant = relevant || too_old;
    for (const StoredEvent& ev : events) {
      revision = ev.revision;
      const json& meta = Meta(*ev.object);
      relevant = relevant || ev.type == EventType::kDeleted || meta.contains("deletionTimestamp") ||
                 meta.contains("ownerReferences");
    }
    if (too_old) revision = store_->Revision();
    if (relevant && !stopping_) {
      try {
        CollectGarbage();
      } catch (const std::exception& e) {
        CSTOR_LOG_ERROR("apiserver: garbage collection failed (retried on the next change): {}", e.what());
      }
      relevant = false;
    }
  }
}

void ApiServer::Impl::CollectGarbage() {
  const auto snapshot = store_->Snapshot();
  std::unordered_set<std::string> uids;
  std::unordered_map<std::string, std::vector<std::pair<std::string, ObjectPtr>>> dependents;
  std::unordered_map<std::string, size_t> per_namespace;
  for (const auto& [resource, obj] : snapshot) {
    const json& meta = Meta(*obj);
    uids.insert(meta.value("uid", ""));
    if (meta.contains("namespace")) ++per_namespace[meta.value("namespace", "")];
    for (const auto& ref : meta.value("ownerReferences", json::array())) {
      dependents[ref.value("uid", "")].emplace_back(resource, obj);
    }
  }
  auto remove_finalizer = [&](const ResourceDef& def, const json& obj, const std::string& f) {
    try {
      Commit(def, MetaString(obj, "namespace"), MetaString(obj, "name"), [&](const json* cur) -> Mutation {
        if (!cur || MetaString(*cur, "uid") != MetaString(obj, "uid")) return {};
        json next = *cur;
        std::vector<std::string> fs = Finalizers(next);
        fs.erase(std::remove(fs.begin(), fs.end(), f), fs.end());
        SetFinalizers(next, fs);
        if (fs.empty() && IsDeleting(next)) return {Mutation::kDelete, {}};
        return {Mutation::kPut, std::move(next)};
      });
    } catch (const ApiError&) {
    }
  };
  auto delete_object = [&](const ResourceDef& def, const json& obj) {
    try {
      DeleteObject(def, MetaString(obj, "namespace"), MetaString(obj, "name"), "Background",
                   json{{"uid", MetaString(obj, "uid")}});
    } catch (const ApiError&) {
    }
  };
  auto drop_owner_refs = [&](const ResourceDef& def, const json& obj, const std::function<bool(const std::string&)>& drop) {
    try {
      Commit(def, MetaString(obj, "namespace"), MetaString(obj, "name"), [&](const json* cur) -> Mutation {
        if (!cur || MetaString(*cur, "uid") != MetaString(obj, "uid")) return {};
        json next = *cur;
        json kept = json::array();
        for (const auto& ref : Meta(next).value("ownerReferences", json::array())) {
          if (!drop(ref.value("uid", ""))) kept.push_back(ref);
        }
        if (kept.empty()) {
          next["metadata"].erase("ownerReferences");
        } else {
          next["metadata"]["ownerReferences"] = kept;
        }
        if (next == *cur) return {};
        return {Mutation::kPut, std::move(next)};
      });
    } catch (const ApiError&) {
    }
  };

  for (const auto& [resource, obj] : snapshot) {
    if (stopping_) return;
    ResourceDefPtr def = FindDef(resource);
    if (!def) continue;
    const json& meta = Meta(*obj);
    const std::string uid = meta.value("uid", "");
    if (IsDeleting(*obj)) {
      std::vector<std::string> fs = Finalizers(*obj);
      auto deps = dependents.find(uid);
      const bool has_deps = deps != dependents.end() && !deps->second.empty();
      if (std::find(fs.begin(), fs.end(), kOrphanFinalizer) != fs.end()) {
        if (has_deps) {
          for (const auto& [dres, dep] : deps->second) {
            if (ResourceDefPtr ddef = FindDef(dres)) {
              drop_owner_refs(*ddef, *dep, [&](const std::string& u) { return u == uid; });
            }
          }
        }
        remove_finalizer(*def, *obj, kOrphanFinalizer);
      } else if (std::find(fs.begin(), fs.end(), kForegroundFinalizer) != fs.end()) {
        if (has_deps) {
          for (const auto& [dres, dep] : deps->second) {
            if (ResourceDefPtr ddef = FindDef(dres)) delete_object(*ddef, *dep);
          }
        } else {
          remove_finalizer(*def, *obj, kForegroundFinalizer);
        }
      }
      if (def->plural == "namespaces") {
        const std::string ns = meta.value("name", "");
        if (per_namespace[ns] == 0) {
          if (fs.empty()) {
            Commit(*def, "", ns, [&](const json* cur) -> Mutation {
              if (!cur || !IsDeleting(*cur) || !Finalizers(*cur).empty()) return {};
              return {Mutation::kDelete, {}};
            });
          }
        } else {
          for (const auto& [ores, o] : snapshot) {
            if (MetaString(*o, "namespace") != ns || IsDeleting(*o)) continue;
            if (ResourceDefPtr odef = FindDef(ores)) delete_object(*odef, *o);
          }
        }
      }
    }
    // Dependents whose owners are gone: deleted when every owner is gone, otherwise the
    // dangling references are dropped.
    const json refs = meta.value("ownerReferences", json::array());
    if (refs.empty() || IsDeleting(*obj)) continue;
    size_t missing = 0;
    for (const auto& ref : refs) missing += uids.count(ref.value("uid", "")) == 0 ? 1 : 0;
    if (missing == refs.size()) {
      delete_object(*def, *obj);
    } else if (missing > 0) {
      drop_owner_refs(*def, *obj, [&](const std::string& u) { return uids.count(u) == 0; });
    }
  }
}

// ---------------------------------------------------------------------------------------

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::Start(ApiServerOptions options) {
  // httplib writes to sockets without MSG_NOSIGNAL: a client that hangs up mid-response
  // must end that response, not the server.
  signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const { return impl_->port_; }
std::string ApiServer::url() const {
  return fmt::format("{}://{}:{}", impl_->opts_.tls ? "https" : "http",
                     impl_->opts_.address == "0.0.0.0" ? "127.0.0.1" : impl_->opts_.address,
                     impl_->port_);
}
std::string ApiServer::token() const { return impl_->token_; }
std::string ApiServer::ca_pem() const { return impl_->ca_pem_; }
std::string ApiServer::kubeconfig_path() const {
  return (fs::path(impl_->opts_.data_dir) / "kubeconfig").string();
}
void ApiServer::Stop() { impl_->Stop(); }

}  // namespace cstor::apiserver
