// Big-endian fixed-width encoding with bounds checks. ByteReader checks every length
// against what remains *before* it copies or allocates, so a forged length cannot make
// the decoder allocate more than the record it was handed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace certsched::base {

inline void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

inline void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

inline void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

inline void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// REQUIRES: bytes.size() fits the 16- or 32-bit length prefix (checked by the caller).
inline void put_bytes16(std::string& out, std::string_view bytes) {
  put_u16(out, static_cast<uint16_t>(bytes.size()));
  out.append(bytes);
}

inline void put_bytes32(std::string& out, std::string_view bytes) {
  put_u32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

inline uint64_t load_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint32_t load_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline std::string encode_u64(uint64_t v) {
  std::string s;
  s.reserve(8);
  put_u64(s, v);
  return s;
}

// Reads from a view; every read fails (returns false) rather than run past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }

  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool u16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>((static_cast<uint8_t>(in_[pos_]) << 8) | static_cast<uint8_t>(in_[pos_ + 1]));
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = load_u32(in_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& v) {
    if (remaining() < 8) return false;
    v = load_u64(in_.data() + pos_);
    pos_ += 8;
    return true;
  }
  bool bytes(size_t n, std::string& out) {
    if (remaining() < n) return false;  // checked before the copy allocates
    out.assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool bytes16(std::string& out) {
    uint16_t n;
    return u16(n) && bytes(n, out);
  }
  bool bytes32(std::string& out) {
    uint32_t n;
    return u32(n) && bytes(n, out);
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace certsched::base
