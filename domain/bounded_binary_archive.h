// A cereal input archive that never trusts a length it reads. cereal's own binary archive
// resizes a container to whatever size the input claims before reading it, so a forged
// length allocates gigabytes. This archive refuses any size larger than the bytes that
// remain, and any read past the end, by throwing cereal::Exception (caught by the codec).
// Internal to domain/: include it only where payloads are decoded.
#pragma once

#ifndef CERTSCHED_INTERNAL_DOMAIN
#error "domain/bounded_binary_archive.h is internal to domain/ (tests may look inside)"
#endif

#include <cereal/cereal.hpp>

#include <cstring>
#include <string_view>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "certsched stores cereal payloads little-endian and builds on little-endian hosts only"
#endif

namespace certsched::domain {

class BoundedBinaryInputArchive
    : public cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedBinaryInputArchive(std::string_view input)
      : cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision>(this),
        input_(input) {}

  size_t remaining() const { return input_.size() - offset_; }

  void loadBinary(void* data, std::size_t size) {
    if (size > remaining()) {
      throw cereal::Exception("payload ends " + std::to_string(size - remaining()) +
                              " bytes too early");
    }
    std::memcpy(data, input_.data() + offset_, size);
    offset_ += size;
  }

 private:
  std::string_view input_;
  size_t offset_ = 0;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic<T>::value> CEREAL_LOAD_FUNCTION_NAME(
    BoundedBinaryInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}

template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedBinaryInputArchive& ar,
                                           cereal::NameValuePair<T>& t) {
  ar(t.value);
}

// Every container length passes through here before cereal resizes the container. Each
// element takes at least one byte, so a length above the remaining bytes is a lie.
template <class T>
inline void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  if (static_cast<uint64_t>(t.size) > ar.remaining()) {
    throw cereal::Exception("a length of " + std::to_string(static_cast<uint64_t>(t.size)) +
                            " exceeds the " + std::to_string(ar.remaining()) +
                            " bytes that remain");
  }
}

template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace certsched::domain

CEREAL_REGISTER_ARCHIVE(certsched::domain::BoundedBinaryInputArchive)
