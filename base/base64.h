// Base64 (RFC 4648, with padding), through OpenSSL: how binary files (DER certificates,
// PKCS#12 bundles) travel in the API's JSON bodies.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace certsched::base {

std::string base64_encode(std::string_view bytes);
// Line breaks and spaces are ignored; anything else that is not base64 is refused.
Result<std::string> base64_decode(std::string_view text);

}  // namespace certsched::base
