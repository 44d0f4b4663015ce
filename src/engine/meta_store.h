// MetaStore: the engine's sorted, crash-safe key-value store for metadata (RocksDB behind
// a narrow interface, so no other engine file includes RocksDB headers).
//
// Thread-safety: all methods are thread-safe. A Batch belongs to one thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/format.h"
#include "env/env.h"

namespace cstor::engine {

class MetaStore {
 public:
  struct Options {
    Env* env = nullptr;
    bool create = false;             // create the store; fail if it exists
    size_t write_buffer_bytes = 32 << 20;
    size_t block_cache_bytes = 32 << 20;
  };

  // An atomic group of updates.
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    void Put(std::string_view key, std::string_view value);
    void Delete(std::string_view key);
    size_t count() const;
    size_t bytes() const;

   private:
    friend class MetaStore;
    struct Rep;
    std::unique_ptr<Rep> rep_;
  };

  // A cursor over [lower, upper).
  class Iterator {
   public:
    virtual ~Iterator() = default;
    virtual void Seek(std::string_view key) = 0;         // first key >= key
    virtual void SeekForPrev(std::string_view key) = 0;  // last key <= key
    virtual void SeekToFirst() = 0;
    virtual bool Valid() const = 0;
    virtual void Next() = 0;
    virtual std::string_view key() const = 0;
    virtual std::string_view value() const = 0;
    virtual Status status() const = 0;
  };

  static Result<std::unique_ptr<MetaStore>> Open(const std::string& path, const Options& o);
  ~MetaStore();

  // nullopt if the key is absent.
  Result<std::optional<std::string>> Get(std::string_view key);
  // (*values)[i] answers keys[i].
  Status MultiGet(std::span<const std::string> keys,
                  std::vector<std::optional<std::string>>* values);
  // sync: the batch is durable when Write returns.
  Status Write(Batch& batch, bool sync);
  std::unique_ptr<Iterator> NewIterator(std::string lower, std::string upper);
  // Calls fn(key, value) for each key in [lower, upper) until it returns false.
  Status Scan(std::string lower, std::string upper,
              const std::function<bool(std::string_view, std::string_view)>& fn);

  // Memory held by memtables, the block cache and table readers.
  uint64_t MemoryUsage();

 private:
  struct Rep;
  explicit MetaStore(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// Decodes every value under prefix into out, stopping at the first that fails to decode.
template <typename T>
Status ScanRecords(MetaStore& store, const std::string& prefix,
                   Result<T> (*decode)(std::string_view), std::vector<T>* out) {
  Status failed;
  CSTOR_RETURN_IF_ERROR(
      store.Scan(prefix, keys::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
        auto r = decode(v);
        if (!r.ok()) {
          failed = r.status();
          return false;
        }
        out->push_back(std::move(*r));
        return true;
      }));
  return failed;
}

}  // namespace cstor::engine
