// Watches: an initial state, then the store's history, filtered per watch and delivered
// by one hub thread.
#include "apiserver/impl.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "apiserver/objects.h"
#include "apiserver/selector.h"
#include "apiserver/table.h"
#include "base/log.h"

namespace cstor::apiserver {

using nlohmann::json;

// One open watch: what it selects, how it encodes, where it is in the history, and the
// stream its events go to.
struct ApiServer::Impl::WatchState {
  ResourceDefPtr def;
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  bool table = false;
  IncludeObject include = IncludeObject::kMetadata;
  bool bookmarks = false;
  uint64_t revision = 0;             // every change up to here was seen
  std::vector<std::string> initial;  // encoded ADDED events to send first
  std::chrono::steady_clock::time_point deadline, last_bookmark;
  std::shared_ptr<http::Stream> stream;

  bool Matches(const json& o) const {
    return labels.Matches(LabelsOf(o)) && fields.Matches(o);
  }
  std::string Encode(const char* type, const json& obj) const {
    json event = {{"type", type}};
    if (table) {
      event["object"] = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", {{"resourceVersion", MetaString(obj, "resourceVersion")}}},
                         {"columnDefinitions", TableColumns(*def)},
                         {"rows", {TableRow(*def, obj, include)}}};
    } else {
      event["object"] = def->conversion ? def->conversion->to_served(obj) : obj;
    }
    return event.dump() + "\n";
  }
  // What this watch reports for a change, after its selectors: an object that stops
  // matching is DELETED for it, one that starts matching is ADDED. Null: nothing.
  const char* TypeOf(const StoredEvent& ev) const {
    const bool now_matches = Matches(*ev.object);
    const bool was_matching = ev.type == EventType::kModified && ev.previous ? Matches(*ev.previous)
                                                                             : ev.type != EventType::kAdded && now_matches;
    switch (ev.type) {
      case EventType::kAdded: return now_matches ? "ADDED" : nullptr;
      case EventType::kDeleted: return now_matches ? "DELETED" : nullptr;
      case EventType::kModified:
        if (now_matches) return was_matching ? "MODIFIED" : "ADDED";
        return was_matching ? "DELETED" : nullptr;
    }
    return nullptr;
  }
  // Sends one change if this watch selects it; false once the client is gone.
  bool Deliver(const StoredEvent& ev, std::string& object_text) {
    if (ev.revision <= revision) return true;  // seen while catching up
    revision = ev.revision;
    if (!ns.empty() && ev.ns != ns) return true;
    const char* type = TypeOf(ev);
    if (type == nullptr) return true;
    if (table || def->conversion) return stream->Write(Encode(type, *ev.object));
    // Most watches want the object as stored: serialize it once for all of them.
    if (object_text.empty()) object_text = ev.object->dump();
    return stream->Write(fmt::format("{{\"type\":\"{}\",\"object\":{}}}\n", type, object_text));
  }
  void Expire(uint64_t current) {
    json status = StatusObject(410, "Expired", fmt::format("too old resource version: {} ({})", revision, current), nullptr);
    stream->Write(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
    stream->Finish();
  }
};

void ApiServer::Impl::Watch(const Target& t, const http::Request& req, http::Response& res) {
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
  res.set_stream("application/json;stream=watch", [this, st](std::shared_ptr<http::Stream> stream) {
    st->stream = std::move(stream);
    for (std::string& e : st->initial) {
      if (!WritePaced(*st->stream, std::move(e))) return;
    }
    st->initial = {};
    JoinWatch(st);
  });
}

void ApiServer::Impl::JoinWatch(const std::shared_ptr<WatchState>& st) {
  MutexLock lock(&watch_mu_);
  if (stopping_) return st->stream->Finish();
  // Catch up from the watch's revision to the store's present; the hub delivers the rest
  // and skips what was caught up here (Deliver ignores revisions already seen).
  bool too_old = false;
  std::vector<StoredEvent> events = store_->EventsAfter(st->revision, std::chrono::milliseconds(0), &too_old);
  if (too_old) return st->Expire(store_->Revision());
  for (const StoredEvent& ev : events) {
    if (ev.resource != st->def->StorageKey()) {
      st->revision = ev.revision;
      continue;
    }
    std::string text;
    if (!st->Deliver(ev, text)) return;
  }
  watches_[st->def->StorageKey()].push_back(st);
}

void ApiServer::Impl::Follow(std::function<bool()> poll) {
  MutexLock lock(&watch_mu_);
  followers_.push_back(std::move(poll));
}

bool WritePaced(http::Stream& stream, std::string data) {
  // Large bodies (a watch's initial state, a log) go out as the client takes them, instead
  // of piling up past the stream's backlog limit and getting cut off.
  constexpr size_t kHighWater = 4 << 20;
  for (int waited = 0; stream.Backlog() > kHighWater && stream.Open(); ++waited) {
    if (waited > 60'000) return false;  // a minute without progress: give up on the client
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return stream.Write(std::move(data));
}

void ApiServer::Impl::WatchLoop() {
  uint64_t revision = 0;
  {
    MutexLock lock(&watch_mu_);
    revision = hub_revision_;
  }
  auto last_housekeeping = std::chrono::steady_clock::now();
  while (!stopping_) {
    bool too_old = false;
    std::vector<StoredEvent> events = store_->EventsAfter(revision, std::chrono::milliseconds(200), &too_old, hub_reader_);
    const auto now = std::chrono::steady_clock::now();
    const bool housekeeping = now - last_housekeeping >= std::chrono::milliseconds(100);
    if (housekeeping) {
      last_housekeeping = now;
      // Followed logs read files: not under the hub's lock.
      std::vector<std::function<bool()>> followers;
      {
        MutexLock lock(&watch_mu_);
        followers.swap(followers_);
      }
      std::erase_if(followers, [](const std::function<bool()>& poll) {
        try {
          return !poll();
        } catch (const std::exception& e) {
          CSTOR_LOG_ERROR("apiserver: a followed stream ended: {}", e.what());
          return true;
        }
      });
      MutexLock lock(&watch_mu_);
      followers_.insert(followers_.end(), std::make_move_iterator(followers.begin()),
                        std::make_move_iterator(followers.end()));
    }
    MutexLock lock(&watch_mu_);
    if (too_old) {
      // The history moved past the hub (more changes than it keeps, between two wake-ups):
      // every watch must relist, as after a compaction.
      const uint64_t now_rev = store_->Revision();
      CSTOR_LOG_WARN("apiserver: the watch hub fell behind the history at {} ({}); ending every watch", revision, now_rev);
      for (auto& [key, list] : watches_) {
        for (auto& st : list) st->Expire(now_rev);
      }
      watches_.clear();
      revision = hub_revision_ = now_rev;
      continue;
    }
    for (const StoredEvent& ev : events) {
      auto it = watches_.find(ev.resource);
      if (it == watches_.end()) continue;
      std::string text;  // the object serialized, shared by the watches that want it so
      for (auto& st : it->second) {
        try {
          if (st->stream->Open() && !st->Deliver(ev, text)) st->stream->Finish();
        } catch (const std::exception& e) {
          CSTOR_LOG_ERROR("apiserver: a watch of {} ended: {}", st->def->plural, e.what());
          st->stream->Finish();
        }
      }
    }
    if (!events.empty()) revision = hub_revision_ = events.back().revision;
    if (housekeeping) WatchHousekeeping(revision);
  }
  MutexLock lock(&watch_mu_);
  for (auto& [key, list] : watches_) {
    for (auto& st : list) st->stream->Finish();
  }
  watches_.clear();
  followers_.clear();  // each holds its stream; dropping it ends the stream at Stop
}

// Ends the watches that timed out or lost their client, and sends bookmarks.
void ApiServer::Impl::WatchHousekeeping(uint64_t revision) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = watches_.begin(); it != watches_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const std::shared_ptr<WatchState>& st) {
      if (!st->stream->Open()) return true;
      if (now >= st->deadline) {
        st->stream->Finish();
        return true;
      }
      if (st->bookmarks && now - st->last_bookmark >= opts_.bookmark_interval) {
        st->last_bookmark = now;
        // Every change up to the hub's revision has been offered to this watch.
        st->revision = std::max(st->revision, revision);
        json bookmark = {{"type", "BOOKMARK"},
                         {"object", {{"kind", st->def->kind},
                                     {"apiVersion", st->def->ApiVersion()},
                                     {"metadata", {{"resourceVersion", std::to_string(st->revision)}}}}}};
        if (!st->stream->Write(bookmark.dump() + "\n")) return true;
      }
      return false;
    });
    it = list.empty() ? watches_.erase(it) : std::next(it);
  }
}

}  // namespace cstor::apiserver
