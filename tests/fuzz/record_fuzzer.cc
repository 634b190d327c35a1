// Record decoding: a stored value as it is read back from RocksDB. The frame checks run on
// the bytes as given; the body decoders (single event and run) and the domain event decoder
// also run on the body with the checksum bypassed, so that mutations reach them instead of
// stopping at the CRC.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "domain/event_codec.h"
#include "eventstore/record_format.h"

using namespace certsched;

namespace {

// The position the body claims (its first field, big-endian), so that the decoder's own
// position check does not stop every record but the first.
uint64_t claimed_position(std::string_view body) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8 && i < body.size(); ++i) p = p << 8 | static_cast<uint8_t>(body[i]);
  return p;
}

void decode(std::string_view body, uint8_t frame_version) {
  eventstore::StoredValue value;
  value.body = body;
  value.frame_version = frame_version;
  std::vector<eventstore::RecordedEvent> events;
  if (!eventstore::decode_events(value, claimed_position(body), &events).ok()) return;
  for (const auto& e : events) (void)domain::decode_event(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  eventstore::StoredValue stored;
  if (eventstore::parse_stored_value(value, claimed_position(value.substr(std::min(size, eventstore::kFrameHeaderBytes))), &stored).ok()) {
    decode(stored.body, stored.frame_version);
  }
  // The body sits between the frame header and the 32-byte chain hash.
  if (size > eventstore::kFrameHeaderBytes + 32) {
    const std::string_view body = value.substr(eventstore::kFrameHeaderBytes, size - eventstore::kFrameHeaderBytes - 32);
    decode(body, eventstore::kSingleEventFrame);
    decode(body, eventstore::kRunFrame);
  }
  return 0;
}
