#include "engine/meta_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "engine/rocksdb_fs.h"

namespace cstor::engine {
namespace {

constexpr size_t kHintPrefixBytes = 9;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IoError(msg);
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

class StoreIterator final : public MetaStore::Iterator {
 public:
  StoreIterator(rocksdb::DB* db, std::string lower, std::string upper)
      : lower_(std::move(lower)), upper_(std::move(upper)), lower_slice_(lower_),
        upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro));
  }
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekForPrev(std::string_view key) override { it_->SeekForPrev(ToSlice(key)); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  std::string_view key() const override {
    auto k = it_->key();
    return {k.data(), k.size()};
  }
  std::string_view value() const override {
    auto v = it_->value();
    return {v.data(), v.size()};
  }
  Status status() const override { return FromRocks(it_->status(), "iterate metadata"); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

struct MetaStore::Batch::Rep {
  rocksdb::WriteBatch batch;
};

MetaStore::Batch::Batch() : rep_(std::make_unique<Rep>()) {}
MetaStore::Batch::~Batch() = default;
MetaStore::Batch::Batch(Batch&&) noexcept = default;
void MetaStore::Batch::Put(std::string_view k, std::string_view v) {
  rep_->batch.Put(ToSlice(k), ToSlice(v));
}
void MetaStore::Batch::Delete(std::string_view k) { rep_->batch.Delete(ToSlice(k)); }
size_t MetaStore::Batch::count() const { return rep_->batch.Count(); }
size_t MetaStore::Batch::bytes() const { return rep_->batch.GetDataSize(); }

struct MetaStore::Rep {
  std::unique_ptr<rocksdb::Env> env;  // must outlive db
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
};

MetaStore::MetaStore(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

MetaStore::~MetaStore() {
  if (rep_->db) {
    (void)rep_->db->Close();  // errors after a simulated crash are expected and harmless
    rep_->db.reset();
  }
}

Result<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path,
                                                   const Options& o) {
  auto rep = std::make_unique<Rep>();
  rep->env = rocksdb::NewCompositeEnv(NewEnvFileSystem(o.env));
  rep->cache = rocksdb::NewLRUCache(o.block_cache_bytes);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rep->cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;

  rocksdb::Options opts;
  opts.env = rep->env.get();
  opts.create_if_missing = o.create;
  opts.error_if_exists = o.create;
  opts.write_buffer_size = o.write_buffer_bytes;
  opts.max_background_jobs = 2;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  opts.keep_log_file_num = 2;
  opts.compression = rocksdb::kNoCompression;  // records are small and dense already
  opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Commit batches are sorted, and block keys share their first 9 bytes (tag + volume):
  // remembering where the last insert of a prefix went makes most inserts a short step.
  opts.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(kHintPrefixBytes));

  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, path, &db);
  if (!s.ok()) return FromRocks(s, "open metadata store " + path);
  rep->db.reset(db);
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(rep)));
}

Result<std::optional<std::string>> MetaStore::Get(std::string_view key) {
  std::string value;
  rocksdb::Status s = rep_->db->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read metadata");
  return std::optional<std::string>(std::move(value));
}

Status MetaStore::MultiGet(std::span<const std::string> keys,
                           std::vector<std::optional<std::string>>* values) {
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const auto& k : keys) slices.emplace_back(k);
  std::vector<rocksdb::PinnableSlice> out(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rep_->db->MultiGet(rocksdb::ReadOptions(), rep_->db->DefaultColumnFamily(), keys.size(),
                     slices.data(), out.data(), statuses.data());
  values->assign(keys.size(), std::nullopt);
  for (size_t i = 0; i < keys.size(); i++) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "read metadata");
    (*values)[i] = out[i].ToString();
  }
  return Status::Ok();
}

Status MetaStore::Write(Batch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(rep_->db->Write(wo, &batch.rep_->batch), "write metadata");
}

std::unique_ptr<MetaStore::Iterator> MetaStore::NewIterator(std::string lower,
                                                            std::string upper) {
  return std::make_unique<StoreIterator>(rep_->db.get(), std::move(lower), std::move(upper));
}

Status MetaStore::Scan(std::string lower, std::string upper,
                       const std::function<bool(std::string_view, std::string_view)>& fn) {
  auto it = NewIterator(lower, std::move(upper));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (!fn(it->key(), it->value())) break;
  }
  return it->status();
}

uint64_t MetaStore::MemoryUsage() {
  uint64_t mem = 0, readers = 0;
  rep_->db->GetIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &mem);
  rep_->db->GetIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &readers);
  return mem + readers + rep_->cache->GetUsage();
}

}  // namespace cstor::engine
