// Reads: get and list, with selectors, paging and server-side Tables.
#include "apiserver/impl.h"

#include <fmt/format.h>

#include "apiserver/objects.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"

namespace cstor::apiserver {

using nlohmann::json;

void ApiServer::Impl::Get(const Target& t, const http::Request& req, http::Response& res) {
  ObjectPtr obj = store_->Get(t.def->StorageKey(), t.ns, t.name);
  if (!obj) throw NotFound(*t.def, t.name);
  if (WantsTable(req)) {
    WriteJson(res, 200, {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", {{"resourceVersion", MetaString(*obj, "resourceVersion")}}},
                         {"columnDefinitions", TableColumns(*t.def)},
                         {"rows", {TableRow(*t.def, *obj, IncludeParam(req))}}});
    return;
  }
  if (t.def->conversion) return WriteJson(res, 200, t.def->conversion->to_served(*obj));
  WriteJson(res, 200, *obj);
}

namespace {

json ListMeta(const Store::Page& page) {
  json meta = {{"resourceVersion", std::to_string(page.revision)}};
  if (!page.last_key.empty()) {
    // The continue token: the snapshot's revision and where the next page starts. Later
    // pages read the state at that revision, so the pages of one list are one snapshot.
    meta["continue"] = Base64Encode(json{{"rv", page.revision}, {"start", page.last_key}}.dump());
    meta["remainingItemCount"] = page.remaining;
  }
  return meta;
}

}  // namespace

json ApiServer::Impl::ListObject(const ResourceDef& def, const Store::Page& page, bool table,
                                 IncludeObject include) const {
  const json meta = ListMeta(page);
  if (table) {
    json rows = json::array();
    for (const ObjectPtr& o : page.items) rows.push_back(TableRow(def, *o, include));
    return {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta},
            {"columnDefinitions", TableColumns(def)}, {"rows", rows}};
  }
  json items = json::array();
  for (const ObjectPtr& o : page.items) items.push_back(def.conversion ? def.conversion->to_served(*o) : *o);
  return {{"kind", def.list_kind}, {"apiVersion", def.ApiVersion()}, {"metadata", meta},
          {"items", std::move(items)}};
}

std::string ApiServer::Impl::ListText(const ResourceDef& def, const Store::Page& page) const {
  // The same document as ListObject, written out item by item: a list of ten thousand
  // objects is not copied into one tree first.
  std::string text = fmt::format(R"({{"apiVersion":{},"kind":{},"metadata":{},"items":[)",
                                 json(def.ApiVersion()).dump(), json(def.list_kind).dump(), ListMeta(page).dump());
  text.reserve(text.size() + page.items.size() * 1024);
  for (size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) text += ',';
    text += def.conversion ? def.conversion->to_served(*page.items[i]).dump() : page.items[i]->dump();
  }
  text += "]}";
  return text;
}

void ApiServer::Impl::List(const Target& t, const http::Request& req, http::Response& res) {
  auto labels = LabelSelector::Parse(req.get_param_value("labelSelector"));
  if (!labels.ok()) throw BadRequest(labels.status().message());
  auto fields = ParseFieldSelector(*t.def, req);
  const size_t limit = static_cast<size_t>(IntParam(req, "limit", 0));
  // Which state to read: a continue token's snapshot, an exact resourceVersion, or now.
  std::string after;
  uint64_t at = 0;
  const std::string rv = req.get_param_value("resourceVersion");
  const std::string match = req.get_param_value("resourceVersionMatch");
  if (const std::string token = req.get_param_value("continue"); !token.empty()) {
    if (!rv.empty() && rv != "0") {
      throw BadRequest("specifying resource version is not allowed when using continue");
    }
    if (!match.empty()) throw BadRequest("resourceVersionMatch is forbidden for continue");
    try {
      auto decoded = Base64Decode(token);
      if (!decoded.ok()) throw std::invalid_argument(token);
      const json parsed = json::parse(*decoded);
      after = parsed.at("start").get<std::string>();
      at = parsed.at("rv").get<uint64_t>();
      if (at == 0) throw std::invalid_argument(token);
    } catch (const std::exception&) {
      throw BadRequest("continue key is not valid: malformed token");
    }
  } else if (!match.empty()) {
    if (rv.empty()) throw BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided");
    if (match != "Exact" && match != "NotOlderThan") {
      throw BadRequest(fmt::format("resourceVersionMatch \"{}\" is not one of Exact, NotOlderThan", match));
    }
    uint64_t wanted = 0;
    try {
      size_t used = 0;
      wanted = std::stoull(rv, &used);
      if (used != rv.size()) throw std::invalid_argument(rv);
    } catch (const std::exception&) {
      throw BadRequest(fmt::format("invalid resourceVersion \"{}\"", rv));
    }
    if (match == "Exact" && wanted == 0) {
      throw BadRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"");
    }
    if (wanted > store_->Revision()) {
      throw ApiError(504, "Timeout", fmt::format("Too large resource version: {}, current: {}", wanted,
                                                 store_->Revision()));
    }
    if (match == "Exact") at = wanted;
  }
  const LabelSelector& ls = *labels;
  const FieldSelector& fs = *fields;
  bool too_old = false;
  std::function<bool(const json&)> filter;
  if (!ls.empty() || !fs.empty()) {
    filter = [&](const json& o) { return ls.Matches(LabelsOf(o)) && fs.Matches(o); };
  }
  Store::Page page = store_->List(t.def->StorageKey(), t.ns, after, limit, filter, at, &too_old);
  if (too_old) {
    throw ApiError(410, "Expired",
                   after.empty() ? fmt::format("too old resource version: {} ({})", at, store_->Revision())
                                 : "The provided continue parameter is too old to display a consistent "
                                   "list result. You can start a new list without the continue parameter.");
  }
  if (WantsTable(req)) return WriteJson(res, 200, ListObject(*t.def, page, true, IncludeParam(req)));
  res.status = 200;
  res.set_content(ListText(*t.def, page), "application/json");
}

}  // namespace cstor::apiserver
