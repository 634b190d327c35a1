#include "eventstore/record_format.h"

#include <cstring>

#include "eventstore/byte_io.h"
#include "eventstore/crc32c.h"

namespace certsched::eventstore {
namespace {

Status corrupt(uint64_t position, const std::string& what) {
  return Status::Corruption("record at position " + std::to_string(position) + ": " + what);
}

}  // namespace

void append_framed_record(const RecordedEvent& e, std::string* out) {
  const size_t start = out->size();
  out->append(kFrameHeaderBytes, '\0');  // filled in once the body's length and checksum are known
  const size_t body_start = out->size();
  put_u64(*out, e.position);
  put_u64(*out, e.stream_version);
  put_u64(*out, static_cast<uint64_t>(e.time_ns));
  put_u16(*out, e.schema_version);
  put_bytes16(*out, e.stream);
  put_bytes16(*out, e.type);
  put_bytes16(*out, e.actor);
  put_bytes16(*out, e.command_id);
  put_bytes16(*out, e.correlation_id);
  put_bytes32(*out, e.payload);

  const std::string_view body(out->data() + body_start, out->size() - body_start);
  std::string header;
  put_u32(header, static_cast<uint32_t>(body.size()));
  put_u8(header, kFrameVersion);
  put_u32(header, crc32c(body, crc32c(std::string_view(header.data() + 4, 1))));
  out->replace(start, kFrameHeaderBytes, header);
}

std::string frame_record(const RecordedEvent& e) {
  std::string framed;
  append_framed_record(e, &framed);
  return framed;
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
  const uint32_t body_len = load_u32(value.data());
  const size_t room = value.size() - kFrameHeaderBytes - sizeof(ChainHash);
  if (body_len != room) {
    return corrupt(position, "frame says " + std::to_string(body_len) + " body bytes but " +
                                 std::to_string(room) + " remain");
  }
  if (body_len > kMaxBodyBytes) {
    return corrupt(position, "body of " + std::to_string(body_len) + " bytes exceeds the limit");
  }
  const uint8_t version = static_cast<uint8_t>(value[4]);
  if (version != kFrameVersion) {
    return corrupt(position, "unknown frame format version " + std::to_string(version));
  }
  out->framed_record = value.substr(0, kFrameHeaderBytes + body_len);
  out->body = value.substr(kFrameHeaderBytes, body_len);
  const uint32_t stored_crc = load_u32(value.data() + 5);
  if (crc32c(out->body, crc32c(value.substr(4, 1))) != stored_crc) {
    return corrupt(position, "checksum mismatch");
  }
  std::memcpy(out->hash.data(), value.data() + kFrameHeaderBytes + body_len, sizeof(ChainHash));
  return Status::Ok();
}

Status decode_body(std::string_view body, uint64_t position, RecordedEvent* out) {
  ByteReader r(body);
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
  if (out->stream.empty() || out->stream.size() > kMaxStreamNameBytes) {
    return corrupt(position, "bad stream name length");
  }
  if (out->type.empty() || out->type.size() > kMaxTypeNameBytes) {
    return corrupt(position, "bad event type length");
  }
  if (out->payload.size() > kMaxPayloadBytes) return corrupt(position, "payload too large");
  if (out->stream_version == 0) return corrupt(position, "stream version 0");
  return Status::Ok();
}

}  // namespace certsched::eventstore
