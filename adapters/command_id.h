// Fresh command ids (random UUIDs, version 4) for commands that bring none: each CLI
// invocation, each API request without an Idempotency-Key, each scheduler run.
#pragma once

#include <string>

namespace certsched::adapters {

// Ends the process if the system random generator fails: an id that could repeat would
// silently skip a command.
std::string new_command_id();

}  // namespace certsched::adapters
