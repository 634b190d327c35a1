// serve logs one line per entry: an error that carries a command's output (a reload
// script's) or a server's reply keeps its text, with its line breaks made spaces.
#pragma once

#include <string>

namespace certsched::adapters {

inline std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace certsched::adapters
