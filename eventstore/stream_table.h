// What a log walk has seen of each stream, keyed by a 64-bit hash of the stream's name.
// An open-addressing table: a verified replay looks up one stream per record, and with
// hundreds of thousands of streams a node-based map cost more than reading the records.
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/stream_table.h is internal to eventstore/ (tests may look inside)"
#endif

#include <cstdint>
#include <vector>

namespace certsched::eventstore {

class StreamTable {
 public:
  struct Seen {
    uint64_t key = 0;  // 0 marks an empty slot; keys are never 0 (see slot_key)
    uint64_t version = 0;
  };  // 16 bytes, four to a cache line: the table is read at random, one probe per record

  explicit StreamTable(size_t expected_streams) { resize(capacity_for(expected_streams)); }

  // The entry for `hash`, added (at version 0) if new.
  Seen& at(uint64_t hash) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // at most 3/4 full
    Seen& s = probe(slot_key(hash));
    if (s.key == 0) {
      s.key = slot_key(hash);
      ++size_;
    }
    return s;
  }

  // Starts fetching the slot of `hash` from memory, for an at() a little later.
  void prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[home(slot_key(hash))]); }

 private:
  static uint64_t slot_key(uint64_t hash) { return hash | 1; }  // never 0, one bit of hash lost
  static size_t capacity_for(size_t n) {
    size_t c = 16;
    while (c * 3 < n * 4) c *= 2;
    return c;
  }

  // std::hash of a string is already mixed; the multiply spreads its low bits anyway.
  size_t home(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  Seen& probe(uint64_t key) {
    size_t i = home(key);
    while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & (slots_.size() - 1);
    return slots_[i];
  }

  void resize(size_t capacity) {
    slots_.assign(capacity, Seen{});
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
  }

  void grow() {
    std::vector<Seen> old = std::move(slots_);
    resize(old.size() * 2);
    for (const Seen& s : old) {
      if (s.key != 0) probe(s.key) = s;
    }
  }

  std::vector<Seen> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace certsched::eventstore
