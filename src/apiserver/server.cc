#include "apiserver/server.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "api/yaml.h"
#include "apiserver/authn.h"
#include "apiserver/impl.h"
#include "apiserver/objects.h"
#include "base/log.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

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

  auto ips = ClusterIpAllocator::Create(opts_.service_cluster_ip_range);
  if (!ips.ok()) return ips.status();
  cluster_ips_ = std::move(*ips);

  auto store = Store::Open((dir / "state.db").string(), opts_.history_limit, opts_.history_bytes);
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

  std::function<bool(SSL_CTX&)> tls_setup;
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
    tls_setup = [cert, key, ca = client_ca.cert_pem](SSL_CTX& ctx) { return SetUpTls(ctx, cert, key, ca); };
  }

  // The watch hub delivers every change after this revision; a watch that joins once the
  // server listens catches up from its own.
  // Both it and the garbage collector read the history from here on, and the history
  // keeps what they have not read yet.
  {
    MutexLock lock(&watch_mu_);
    hub_revision_ = store_->Revision();
    hub_reader_ = store_->AddReader(hub_revision_);
  }
  gc_revision_ = store_->Revision();
  gc_reader_ = store_->AddReader(gc_revision_);
  http::ServerOptions http_opts;
  http_opts.address = opts_.address;
  http_opts.port = opts_.port;
  http_opts.tls = std::move(tls_setup);
  http_opts.workers = static_cast<size_t>(std::max(1, opts_.threads));
  http_opts.max_body_bytes = kMaxObjectBytes;  // Kubernetes' request size limit
  http_opts.error_response = [](int status, const std::string& message, http::Response& res) {
    const char* reason = status == 413 ? "RequestEntityTooLarge" : status == 408 ? "Timeout" : "BadRequest";
    res.status = status;
    res.set_content(StatusObject(status, reason, message, nullptr).dump(), "application/json");
  };
  auto started = http::Server::Start(std::move(http_opts),
                                    [this](const http::Request& req, http::Response& res) { Handle(req, res); });
  if (!started.ok()) return started.status();
  http_ = std::move(*started);
  port_ = http_->port();

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

  watch_thread_ = std::thread([this] { WatchLoop(); });
  gc_thread_ = std::thread([this] { GarbageLoop(); });
  CSTOR_LOG_INFO("apiserver: serving {} (kubeconfig {})", server, (dir / "kubeconfig").string());
  return Status::Ok();
}

void ApiServer::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  if (store_) store_->Shutdown();  // the watch hub wakes and ends every watch
  if (watch_thread_.joinable()) watch_thread_.join();
  if (http_) http_->Stop();
  if (gc_thread_.joinable()) gc_thread_.join();
  http_.reset();
  store_.reset();
}

ResourceDefPtr ApiServer::Impl::FindDef(const std::string& storage_key) const {
  ReaderLock lock(&registry_mu_);
  return registry_.FindByStorageKey(storage_key);
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
