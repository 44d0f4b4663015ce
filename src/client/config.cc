#include "client/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "api/yaml.h"

namespace cstor::client {
namespace {

using nlohmann::json;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimRight(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

Result<std::string> DecodeBase64(const std::string& text) {
  std::string clean;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  if (clean.size() % 4 != 0) return Status::InvalidArgument("malformed base64");
  std::string out(clean.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return Status::InvalidArgument("malformed base64");
  size_t len = static_cast<size_t>(n);
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

// kubectl resolves relative file names in a kubeconfig against the kubeconfig's folder.
std::string Relative(const std::string& kubeconfig, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  const size_t slash = kubeconfig.rfind('/');
  return slash == std::string::npos ? file : kubeconfig.substr(0, slash + 1) + file;
}

const json* Named(const json& list, const std::string& name) {
  if (!list.is_array()) return nullptr;
  for (const json& item : list) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

}  // namespace

Result<Config> LoadKubeconfig(const std::string& path, const std::string& context) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto doc = api::ParseYaml(*text);
  if (!doc.ok()) return doc.status().WithContext(path);
  const json& kc = *doc;
  if (!kc.is_object()) return Status::InvalidArgument(path + ": not a kubeconfig");
  const std::string ctx_name = context.empty() ? kc.value("current-context", "") : context;
  // Named() points into these lists, so they must outlive its results.
  const json contexts = kc.value("contexts", json::array());
  const json clusters = kc.value("clusters", json::array());
  const json users = kc.value("users", json::array());
  const json* ctx = Named(contexts, ctx_name);
  if (ctx == nullptr) return Status::InvalidArgument(path + ": no context \"" + ctx_name + "\"");
  const json c = ctx->value("context", json::object());
  const json* cluster = Named(clusters, c.value("cluster", ""));
  if (cluster == nullptr) return Status::InvalidArgument(path + ": context \"" + ctx_name + "\" names no known cluster");
  const json cl = cluster->value("cluster", json::object());
  Config cfg;
  cfg.server = cl.value("server", "");
  if (cfg.server.empty()) return Status::InvalidArgument(path + ": the cluster has no server");
  cfg.insecure_skip_tls_verify = cl.value("insecure-skip-tls-verify", false);
  if (cl.contains("certificate-authority-data")) {
    auto ca = DecodeBase64(cl.value("certificate-authority-data", ""));
    if (!ca.ok()) return ca.status().WithContext(path + ": certificate-authority-data");
    cfg.ca_pem = *ca;
  } else if (cl.contains("certificate-authority")) {
    auto ca = ReadFile(Relative(path, cl.value("certificate-authority", "")));
    if (!ca.ok()) return ca.status().WithContext(path);
    cfg.ca_pem = *ca;
  }
  if (const json* user = Named(users, c.value("user", ""))) {
    const json u = user->value("user", json::object());
    if (u.contains("token")) {
      cfg.token = u.value("token", "");
    } else if (u.contains("tokenFile")) {
      cfg.token_file = Relative(path, u.value("tokenFile", ""));
      auto token = ReadFile(cfg.token_file);
      if (!token.ok()) return token.status().WithContext(path);
      cfg.token = TrimRight(*token);
    }
    // A certificate may come with a token; the server takes either.
    auto pem = [&](const char* data_key, const char* file_key, std::string* out) -> Status {
      if (u.contains(data_key)) {
        auto decoded = DecodeBase64(u.value(data_key, ""));
        if (!decoded.ok()) return decoded.status().WithContext(path + ": " + data_key);
        *out = *decoded;
      } else if (u.contains(file_key)) {
        auto contents = ReadFile(Relative(path, u.value(file_key, "")));
        if (!contents.ok()) return contents.status().WithContext(path + ": " + file_key);
        *out = *contents;
      }
      return Status::Ok();
    };
    if (Status st = pem("client-certificate-data", "client-certificate", &cfg.client_cert_pem); !st.ok()) return st;
    if (Status st = pem("client-key-data", "client-key", &cfg.client_key_pem); !st.ok()) return st;
    if (cfg.client_cert_pem.empty() != cfg.client_key_pem.empty()) {
      return Status::InvalidArgument(path + ": user \"" + c.value("user", "") +
                                     "\" has a client certificate without its key, or a key without its certificate");
    }
    if (u.contains("exec") || u.contains("auth-provider")) {
      return Status::InvalidArgument(path + ": user \"" + c.value("user", "") +
                                     "\" uses a credential plugin (exec or auth-provider), which cstor does not run; "
                                     "use a token or a client certificate");
    }
  }
  if (!c.value("namespace", "").empty()) cfg.ns = c.value("namespace", "");
  return cfg;
}

Result<Config> InClusterConfig(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return Status::NotFound("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  Config cfg;
  cfg.token_file = root + "/token";
  auto token = ReadFile(cfg.token_file);
  if (!token.ok()) return token.status();
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  cfg.server = "https://" + h + ":" + port;
  cfg.token = TrimRight(*token);
  auto ca = ReadFile(root + "/ca.crt");
  if (!ca.ok()) return ca.status();
  cfg.ca_pem = *ca;
  if (auto ns = ReadFile(root + "/namespace"); ns.ok()) cfg.ns = TrimRight(*ns);
  return cfg;
}

Result<Config> DefaultConfig(const std::string& kubeconfig) {
  if (!kubeconfig.empty()) return LoadKubeconfig(kubeconfig);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first = env;
    return LoadKubeconfig(first.substr(0, first.find(':')));
  }
  if (auto in = InClusterConfig(); in.ok()) return in;
  const char* home = std::getenv("HOME");
  if (home == nullptr) return Status::NotFound("no kubeconfig: set --kubeconfig or KUBECONFIG");
  return LoadKubeconfig(std::string(home) + "/.kube/config");
}

}  // namespace cstor::client
