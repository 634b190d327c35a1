// Writes JSON text straight into a string, for the views a projection rebuild writes by
// the hundred thousand: building a nlohmann::json document first (a std::map and an
// allocation per key) cost more than the rest of the rebuild.
//
// The text is exactly what json_text() makes of the same document, so rows written either
// way compare equal: callers write each object's keys in sorted order, as nlohmann::json
// keeps them (tests/projection_test.cc, ViewsAreTheTextNlohmannMakesOfThem and
// JsonWriterTest, checks every view against nlohmann's dump). Internal to projections/.
#pragma once

#ifndef CERTSCHED_INTERNAL_PROJECTIONS
#error "projections/json_writer.h is internal to projections/ (tests may look inside)"
#endif

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certsched::projections {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool b);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(uint32_t n) { return value(uint64_t{n}); }
  JsonWriter& null();

  // A key and its value.
  template <class T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  std::string take() { return std::move(out_); }

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void separate();  // a comma before every element but the first of its container

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace certsched::projections
