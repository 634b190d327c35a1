#include "adapters/json_fields.h"

#include <algorithm>

namespace certsched::adapters {

void JsonFields::only(std::initializer_list<const char*> known) {
  if (!ok()) return;
  for (const auto& item : body_.items()) {
    const std::string& name = item.key();
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return name == k; }) != known.end()) continue;
    problem_ = "unknown field \"" + name + "\"; the fields are";
    for (const char* k : known) problem_ += std::string(" ") + k;
    return;
  }
}

}  // namespace certsched::adapters
