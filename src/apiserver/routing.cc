// Routing: authentication, the path a request names, and the handler it goes to.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "apiserver/authn.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::WriteJson(http::Response& res, int code, const json& body) const {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void ApiServer::Impl::Handle(const http::Request& req, http::Response& res) {
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

void ApiServer::Impl::Route(const http::Request& req, http::Response& res) {
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
  if (t.def->conversion && req.method != "GET") return ServeConverted(t, req, res);
  Dispatch(t, req, res);
}

void ApiServer::Impl::Dispatch(const Target& t, const http::Request& req, http::Response& res) {
  const std::string& m = req.method;
  const bool watch = t.legacy_watch || BoolParam(req, "watch");
  if (t.sub == "log") {
    if (m != "GET") throw ApiError(405, "MethodNotAllowed", fmt::format("{} is not supported on {}", m, req.path));
    return Logs(t, req, res);
  }
  if (t.sub == "scale") return Scale(t, req, res);
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
  if (!t.sub.empty() && !(t.sub == "status" && t.def->status_subresource) &&
      !(t.sub == "log" && t.def->log_subresource) && !(t.sub == "scale" && t.def->scale_subresource)) {
    throw NotFoundPath();
  }
  if (!t.def->namespaced && !t.ns.empty()) throw NotFoundPath();
  if (t.def->namespaced && t.ns.empty() && !t.name.empty()) throw NotFoundPath();
  return t;
}

}  // namespace cstor::apiserver
