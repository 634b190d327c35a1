// How events are laid out in the `log` column family (see docs/eventstore-format.md).
// Internal to eventstore/.
#pragma once

#ifndef CERTSCHED_INTERNAL_EVENTSTORE
#error "eventstore/record_format.h is internal to eventstore/ (tests may look inside)"
#endif

#include <string>
#include <string_view>
#include <vector>

#include "eventstore/event_store.h"
#include "eventstore/hash_chain.h"

namespace certsched::eventstore {

// Frame versions. Formats 1 and 2 stored one event per value; format 3 stores a run: the
// events one append wrote to one stream, whose shared fields are stored once.
inline constexpr uint8_t kSingleEventFrame = 1;
inline constexpr uint8_t kRunFrame = 2;
inline constexpr size_t kFrameHeaderBytes = 4 + 1 + 4;  // body length, version, crc32c
inline constexpr size_t kMaxBodyBytes = kMaxPayloadBytes + 4096;

// What a run's events share. The run is stored under its first position; its events
// take the positions and stream versions that follow.
struct RunHeader {
  uint64_t first_position = 0;
  uint64_t first_version = 0;
  int64_t time_ns = 0;
  std::string_view stream;
  std::string_view actor;
  std::string_view command_id;
  std::string_view correlation_id;
};

// The body bytes of a run's shared fields, and what each event adds to them. A writer cuts
// an append's events into runs whose bodies stay within kMaxBodyBytes.
size_t run_header_bytes(const RunHeader& header);
size_t run_event_bytes(const NewEvent& event);

// Appends the framed run (header then body: the bytes the hash chain covers) to `out`.
void append_framed_run(const RunHeader& header, const NewEvent* events, size_t count, std::string* out);

// The framed single-event record of formats 1 and 2, which a reader still takes. Nothing
// writes it any more but the tests, which make format 1 and 2 stores with it.
std::string frame_record(const RecordedEvent& event);

// The value stored under a position: framed record then its 32-byte chain hash.
std::string stored_value(std::string_view framed_record, const ChainHash& hash);

struct StoredValue {
  std::string_view framed_record;  // header + body
  std::string_view body;
  uint8_t frame_version = 0;
  ChainHash hash{};
};

// Checks the frame (sizes, version, checksum) before anything is decoded.
// Returns Corruption naming `position` on any mismatch.
Status parse_stored_value(std::string_view value, uint64_t position, StoredValue* out);

// Decodes the events of a checked value stored under `position`: one for a single-event
// frame, every event of a run. `out` is resized to their number; its strings keep their
// capacity from call to call. Every length is checked against what remains first.
Status decode_events(const StoredValue& value, uint64_t position, std::vector<RecordedEvent>* out);

// Decodes a single-event body (frame version 1).
Status decode_body(std::string_view body, uint64_t position, RecordedEvent* out);

}  // namespace certsched::eventstore
