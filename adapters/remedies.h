// The domain names a problem in its own terms ("cancelling needs a reason", "forcing the
// SSL client certificate schedules it anyway"); each front end adds how its user acts on it:
// the CLI its option (--reason TEXT), the API its JSON field ("reason"). One table, here.
#pragma once

#include <string>

namespace certsched::adapters {

enum class FrontEnd { kCli, kApi };

// `message` with the front end's remedy after each domain phrase that has one.
std::string with_remedies(const std::string& message, FrontEnd front_end);
// `message` with that front end's remedies taken out again: the CLI shows a refusal that
// serve's API worded with its own remedies, as the CLI words it.
std::string without_remedies(const std::string& message, FrontEnd front_end);

}  // namespace certsched::adapters
