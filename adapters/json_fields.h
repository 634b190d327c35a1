// Reading the fields of a JSON request body: each of the expected type, required ones
// present, and a field the request does not know refused, never ignored (a misspelt
// "email_partners" would otherwise rotate a certificate without telling the partner).
// The first problem is kept and named in status().
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace certsched::adapters {

class JsonFields {
 public:
  explicit JsonFields(const nlohmann::json& body) : body_(body) {}

  void only(std::initializer_list<const char*> known);
  template <class T>
  void required(const char* name, T& out) { read(name, out, true); }
  template <class T>
  void optional(const char* name, T& out) { read(name, out, false); }

  bool ok() const { return problem_.empty(); }
  Status status() const { return ok() ? Status::Ok() : Status::InvalidArgument(problem_); }

 private:
  template <class T>
  void read(const char* name, T& out, bool required) {
    if (!ok()) return;
    if (!body_.contains(name)) {
      if (required) problem_ = std::string("\"") + name + "\" is required";
      return;
    }
    try {
      out = body_.at(name).get<T>();
    } catch (const std::exception&) {
      problem_ = std::string("\"") + name + "\" has the wrong type";
    }
  }
  const nlohmann::json& body_;
  std::string problem_;
};

}  // namespace certsched::adapters
