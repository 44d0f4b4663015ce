// Routes all of RocksDB's file IO through a cstor Env, so that the metadata store lives on
// the same seam as the data devices: under MemEnv, a simulated power cut hits RocksDB's
// WAL, SSTs and MANIFEST exactly as it hits our data.
#pragma once

#include <memory>

#include "env/env.h"

namespace rocksdb {
class FileSystem;
}

namespace cstor::engine {

// The returned file system borrows env, which must outlive it.
std::shared_ptr<rocksdb::FileSystem> NewEnvFileSystem(Env* env);

}  // namespace cstor::engine
