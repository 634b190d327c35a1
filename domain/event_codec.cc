#include "domain/event_codec.h"

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>

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

template <size_t I = 0>
Result<Event> decode_alternative(const eventstore::RecordedEvent& r) {
  if constexpr (I == std::variant_size_v<Event>) {
    return corrupt(r, "unknown event type");
  } else {
    using T = std::variant_alternative_t<I, Event>;
    if (r.type == T::kType) return from_payload<T>(r);
    return decode_alternative<I + 1>(r);
  }
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
  return decode_alternative(record);
}

}  // namespace certsched::domain
