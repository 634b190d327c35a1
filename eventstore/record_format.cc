#include "eventstore/record_format.h"

#include <cstring>

#include "base/byte_io.h"
#include "eventstore/crc32c.h"

namespace certsched::eventstore {
namespace {

// The smallest event a run can hold: schema version, a one-byte type, an empty payload.
constexpr size_t kMinRunEventBytes = 2 + 2 + 1 + 4;

Status corrupt(uint64_t position, const std::string& what) {
  return Status::Corruption("record at position " + std::to_string(position) + ": " + what);
}

// Reserves the frame header at `start`, to be filled by close_frame once the body is written.
size_t open_frame(std::string* out) {
  const size_t start = out->size();
  out->append(kFrameHeaderBytes, '\0');
  return start;
}

void close_frame(size_t start, uint8_t version, std::string* out) {
  const std::string_view body(out->data() + start + kFrameHeaderBytes, out->size() - start - kFrameHeaderBytes);
  std::string header;
  base::put_u32(header, static_cast<uint32_t>(body.size()));
  base::put_u8(header, version);
  base::put_u32(header, crc32c(body, crc32c(std::string_view(header.data() + 4, 1))));
  out->replace(start, kFrameHeaderBytes, header);
}

Status check_event(uint64_t position, const RecordedEvent& e) {
  if (e.type.empty() || e.type.size() > kMaxTypeNameBytes) return corrupt(position, "bad event type length");
  if (e.payload.size() > kMaxPayloadBytes) return corrupt(position, "payload too large");
  return Status::Ok();
}

Status check_stream(uint64_t position, const RecordedEvent& e) {
  if (e.stream.empty() || e.stream.size() > kMaxStreamNameBytes) {
    return corrupt(position, "bad stream name length");
  }
  if (e.stream_version == 0) return corrupt(position, "stream version 0");
  return Status::Ok();
}

Status decode_run(std::string_view body, uint64_t position, std::vector<RecordedEvent>* out) {
  base::ByteReader r(body);
  // The shared fields are read into the first event, whose strings are reused from call to
  // call, and copied from it into the others.
  if (out->empty()) out->emplace_back();
  RecordedEvent& first = out->front();
  uint64_t time_bits = 0;
  uint32_t count = 0;
  if (!r.u64(first.position) || !r.u64(first.stream_version) || !r.u64(time_bits) ||
      !r.bytes16(first.stream) || !r.bytes16(first.actor) || !r.bytes16(first.command_id) ||
      !r.bytes16(first.correlation_id) || !r.u32(count)) {
    return corrupt(position, "a field length runs past the end of the run");
  }
  if (first.position != position) {
    return corrupt(position, "run says it begins at position " + std::to_string(first.position));
  }
  CERTSCHED_RETURN_IF_ERROR(check_stream(position, first));
  // Checked before the events are allocated: a forged count cannot claim more events than
  // the bytes that remain could hold.
  if (count == 0 || count > r.remaining() / kMinRunEventBytes) {
    return corrupt(position, "run claims " + std::to_string(count) + " events in " +
                                 std::to_string(r.remaining()) + " bytes");
  }
  out->resize(count);  // may move the first event: `first` is not used below
  const RecordedEvent& shared = out->front();
  for (uint32_t i = 0; i < count; ++i) {
    RecordedEvent& e = (*out)[i];
    if (i > 0) {
      e.position = position + i;
      e.stream_version = shared.stream_version + i;
      e.stream = shared.stream;
      e.actor = shared.actor;
      e.command_id = shared.command_id;
      e.correlation_id = shared.correlation_id;
    }
    e.time_ns = static_cast<int64_t>(time_bits);
    if (!r.u16(e.schema_version) || !r.bytes16(e.type) || !r.bytes32(e.payload)) {
      return corrupt(e.position, "a field length runs past the end of the run");
    }
    CERTSCHED_RETURN_IF_ERROR(check_event(e.position, e));
  }
  if (!r.at_end()) return corrupt(position, "trailing bytes after the run's last event");
  return Status::Ok();
}

}  // namespace

size_t run_header_bytes(const RunHeader& h) {
  return 8 + 8 + 8 + (2 + h.stream.size()) + (2 + h.actor.size()) + (2 + h.command_id.size()) +
         (2 + h.correlation_id.size()) + 4;
}

size_t run_event_bytes(const NewEvent& e) { return 2 + (2 + e.type.size()) + (4 + e.payload.size()); }

void append_framed_run(const RunHeader& h, const NewEvent* events, size_t count, std::string* out) {
  const size_t start = open_frame(out);
  base::put_u64(*out, h.first_position);
  base::put_u64(*out, h.first_version);
  base::put_u64(*out, static_cast<uint64_t>(h.time_ns));
  base::put_bytes16(*out, h.stream);
  base::put_bytes16(*out, h.actor);
  base::put_bytes16(*out, h.command_id);
  base::put_bytes16(*out, h.correlation_id);
  base::put_u32(*out, static_cast<uint32_t>(count));
  for (size_t i = 0; i < count; ++i) {
    base::put_u16(*out, events[i].schema_version);
    base::put_bytes16(*out, events[i].type);
    base::put_bytes32(*out, events[i].payload);
  }
  close_frame(start, kRunFrame, out);
}

std::string frame_record(const RecordedEvent& e) {
  std::string out;
  const size_t start = open_frame(&out);
  base::put_u64(out, e.position);
  base::put_u64(out, e.stream_version);
  base::put_u64(out, static_cast<uint64_t>(e.time_ns));
  base::put_u16(out, e.schema_version);
  base::put_bytes16(out, e.stream);
  base::put_bytes16(out, e.type);
  base::put_bytes16(out, e.actor);
  base::put_bytes16(out, e.command_id);
  base::put_bytes16(out, e.correlation_id);
  base::put_bytes32(out, e.payload);
  close_frame(start, kSingleEventFrame, &out);
  return out;
}

std::string stored_value(std::string_view framed_record, const ChainHash& hash) {
  std::string value;
  value.reserve(framed_record.size() + hash.size());
  value.append(framed_record);
  value.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return value;
}

Status parse_stored_value(std::string_view value, uint64_t position, StoredValue* out) {
  if (value.size() < kFrameHeaderBytes + sizeof(ChainHash)) {
    return corrupt(position, "value of " + std::to_string(value.size()) +
                                 " bytes is shorter than a frame header and hash");
  }
  const uint32_t body_len = base::load_u32(value.data());
  const size_t room = value.size() - kFrameHeaderBytes - sizeof(ChainHash);
  if (body_len != room) {
    return corrupt(position, "frame says " + std::to_string(body_len) + " body bytes but " +
                                 std::to_string(room) + " remain");
  }
  if (body_len > kMaxBodyBytes) {
    return corrupt(position, "body of " + std::to_string(body_len) + " bytes exceeds the limit");
  }
  const uint8_t version = static_cast<uint8_t>(value[4]);
  if (version != kSingleEventFrame && version != kRunFrame) {
    return corrupt(position, "unknown frame format version " + std::to_string(version));
  }
  out->frame_version = version;
  out->framed_record = value.substr(0, kFrameHeaderBytes + body_len);
  out->body = value.substr(kFrameHeaderBytes, body_len);
  const uint32_t stored_crc = base::load_u32(value.data() + 5);
  if (crc32c(out->body, crc32c(value.substr(4, 1))) != stored_crc) {
    return corrupt(position, "checksum mismatch");
  }
  std::memcpy(out->hash.data(), value.data() + kFrameHeaderBytes + body_len, sizeof(ChainHash));
  return Status::Ok();
}

Status decode_events(const StoredValue& value, uint64_t position, std::vector<RecordedEvent>* out) {
  if (value.frame_version == kRunFrame) return decode_run(value.body, position, out);
  out->resize(1);
  return decode_body(value.body, position, &out->front());
}

Status decode_body(std::string_view body, uint64_t position, RecordedEvent* out) {
  base::ByteReader r(body);
  uint64_t time_bits = 0;
  if (!r.u64(out->position) || !r.u64(out->stream_version) || !r.u64(time_bits) ||
      !r.u16(out->schema_version) || !r.bytes16(out->stream) || !r.bytes16(out->type) ||
      !r.bytes16(out->actor) || !r.bytes16(out->command_id) ||
      !r.bytes16(out->correlation_id) || !r.bytes32(out->payload)) {
    return corrupt(position, "a field length runs past the end of the record");
  }
  if (!r.at_end()) return corrupt(position, "trailing bytes after the payload");
  out->time_ns = static_cast<int64_t>(time_bits);
  if (out->position != position) {
    return corrupt(position, "record says it belongs at position " + std::to_string(out->position));
  }
  CERTSCHED_RETURN_IF_ERROR(check_stream(position, *out));
  return check_event(position, *out);
}

}  // namespace certsched::eventstore
