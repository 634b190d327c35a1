// `observe`: an inbound message from a partner, inspected for the certificates it uses,
// activates the first-usage schedules it proves are in use.
#pragma once

#include <string>

#include "domain/engine.h"

namespace certsched::adapters {

Result<domain::CommandResult> observe_message(domain::Engine& engine,
                                              const std::string& partner, const std::string& message,
                                              const domain::CommandContext& ctx);

}  // namespace certsched::adapters
