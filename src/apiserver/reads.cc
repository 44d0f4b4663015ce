// Reads: get and list, with selectors, paging and server-side Tables.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "apiserver/objects.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"

namespace cstor::apiserver {

using nlohmann::json;

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

}  // namespace cstor::apiserver
