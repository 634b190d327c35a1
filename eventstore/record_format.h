// How one record is laid out in the `log` column family (see docs/eventstore-format.md).
// Internal to eventstore/.
#pragma once

#include <string>
#include <string_view>

#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"

namespace certsched::eventstore {

inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 4 + 1 + 4;  // body length, version, crc32c
inline constexpr size_t kMaxBodyBytes = kMaxPayloadBytes + 4096;

// The framed record: header then body. These are the bytes the hash chain covers.
std::string frame_record(const RecordedEvent& event);
// The same, appended to `out`: an append frames every record into one reused buffer.
void append_framed_record(const RecordedEvent& event, std::string* out);

// The value stored under a position: framed record then its 32-byte chain hash.
std::string stored_value(std::string_view framed_record, const ChainHash& hash);

struct StoredValue {
  std::string_view framed_record;  // header + body
  std::string_view body;
  ChainHash hash{};
};

// Checks the frame (sizes, version, checksum) before anything is decoded.
// Returns Corruption naming `position` on any mismatch.
Status parse_stored_value(std::string_view value, uint64_t position, StoredValue* out);

// Decodes a checked body. Every length is checked against what remains first.
Status decode_body(std::string_view body, uint64_t position, RecordedEvent* out);

}  // namespace certsched::eventstore
