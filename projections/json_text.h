// JSON text, for output and for the persisted projections. A string may hold bytes that are
// not UTF-8 (a reload command's output in an install error, an argument typed in another
// encoding): they become U+FFFD instead of an exception that would abort a command or stop
// a projection from ever catching up.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace certsched {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace certsched
