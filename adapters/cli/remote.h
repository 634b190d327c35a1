// `--server URL`: sends a command to a running `certsched serve` through its HTTP API
// instead of opening the store (which serve holds). The answer is the same JSON document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "adapters/cli/cli_output.h"

namespace certsched::cli {

// The API token: $CERTSCHED_TOKEN, else DIR/api-token of --store.
Result<std::string> api_token(const GlobalOptions& g);

// Calls METHOD PATH on g.server with `body` (POST); the command id goes as Idempotency-Key.
// An API error comes back as the Status it stands for (400, 404, 409 ... exit code 3).
Result<nlohmann::json> remote_call(const GlobalOptions& g, const std::string& method, const std::string& path,
                                   const nlohmann::json& body = nullptr);

// Percent-encodes a path or query component.
std::string url_encode(const std::string& s);

}  // namespace certsched::cli
