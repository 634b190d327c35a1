// The raw RocksDB baselines: the same machine, the same run, the same value sizes, with
// nothing of certsched on top (no framing, hash chain, indexes or command ids). Each
// returns operations per second. RocksDB types stay behind this header.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace certsched::bench::raw {

// A fresh database at `dir`, kept open so that rounds of puts can alternate with
// certsched's rounds. Every put writes a new key; values are `value_size` bytes.
class Writer {
 public:
  Writer(const std::string& dir, size_t value_size);
  ~Writer();
  // `threads` writers, each putting `puts_per_thread` values, one WriteBatch (a single Put)
  // per write, synced or not. Returns the seconds taken.
  double single_puts(int threads, size_t puts_per_thread, bool sync);
  // `batches` unsynced WriteBatches of `batch_size` puts each. Returns the seconds taken.
  double batched_puts(size_t batches, size_t batch_size);
  // Writes per commit group (one WAL write, and one sync when synced) since opening, as
  // RocksDB's own statistics count them.
  double writes_per_group() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Iterates every key and value of column family `column_family` in the RocksDB database at
// `db_dir` (read-only), touching every value byte. Returns entries/s; `entries` gets the count.
double iterate(const std::string& db_dir, const std::string& column_family, size_t* entries);

// The floor of a projection rebuild: iterates `column_family` of `db_dir` and writes every
// value into a fresh database at `out_dir` in WriteBatches of `batch_size`. Returns entries/s.
double copy_batched(const std::string& db_dir, const std::string& column_family, const std::string& out_dir,
                    size_t batch_size);

}  // namespace certsched::bench::raw
