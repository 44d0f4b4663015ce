// Watches: an initial state, then the store's history, filtered per watch.
#include "apiserver/impl.h"

#include <chrono>

#include <fmt/format.h>

#include "apiserver/objects.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

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

}  // namespace cstor::apiserver
