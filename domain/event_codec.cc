#include "domain/event_codec.h"

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "domain/bounded_binary_archive.h"

namespace certsched::domain {
namespace {

template <class T>
std::string to_payload(const T& value) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::BinaryOutputArchive ar(out);
    ar(value);
  }
  return out.str();
}

Status corrupt(const eventstore::RecordedEvent& r, const std::string& what) {
  return Status::Corruption("record at position " + std::to_string(r.position) + " (" + r.type +
                            " v" + std::to_string(r.schema_version) + "): " + what);
}

template <class T>
Result<Event> from_payload(const eventstore::RecordedEvent& r) {
  if (r.schema_version != T::kSchemaVersion) {
    return corrupt(r, "unknown schema version; this certsched reads v" +
                          std::to_string(T::kSchemaVersion));
  }
  T value;
  try {
    BoundedBinaryInputArchive ar(r.payload);
    ar(value);
    if (ar.remaining() != 0) return corrupt(r, "trailing bytes after the payload");
    if (!value.valid()) return corrupt(r, "a field is out of range");
  } catch (const std::exception& e) {  // cereal::Exception, or bad_alloc on the way
    return corrupt(r, std::string("payload does not decode: ") + e.what());
  }
  return Event(std::move(value));
}

using Decoder = Result<Event> (*)(const eventstore::RecordedEvent&);

// Each event type's decoder by its name: a replay decodes every record, and comparing its
// type with each name in turn cost a third of the decoding.
template <size_t... I>
const std::unordered_map<std::string_view, Decoder>& decoders(std::index_sequence<I...>) {
  static const std::unordered_map<std::string_view, Decoder> by_type = {
      {std::variant_alternative_t<I, Event>::kType, &from_payload<std::variant_alternative_t<I, Event>>}...};
  return by_type;
}

}  // namespace

eventstore::NewEvent encode_event(const Event& event) {
  return std::visit(
      [](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        return eventstore::NewEvent{T::kType, T::kSchemaVersion, to_payload(e)};
      },
      event);
}

Result<Event> decode_event(const eventstore::RecordedEvent& record) {
  const auto& by_type = decoders(std::make_index_sequence<std::variant_size_v<Event>>{});
  const auto decoder = by_type.find(record.type);
  if (decoder == by_type.end()) return corrupt(record, "unknown event type");
  return decoder->second(record);
}

}  // namespace certsched::domain
