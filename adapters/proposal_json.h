// A proposal as the HTTP API's JSON (CLI.md, "POST /v1/proposals"): the one schema that the
// CLI sends with --server and the API reads.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "domain/commands.h"

namespace certsched::adapters {

// The body for `c`; "at" is "now" when c has no activation time. Holds the password: wipe
// it (domain::secure_wipe on body["password"]) once sent.
nlohmann::json proposal_to_json(const domain::ProposeCommand& c);

// Reads a body; a missing required field, a field of the wrong type, a field the schema does
// not know, an unknown role or a bad instant is InvalidArgument naming the field.
Result<domain::ProposeCommand> proposal_from_json(const nlohmann::json& body);

}  // namespace certsched::adapters
