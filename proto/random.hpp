#pragma once
#include <cstddef>
#include <string>

namespace tether {
// `bytes` bytes from OpenSSL's CSPRNG as lowercase hex: ids and resume tokens must be unguessable.
std::string random_hex(std::size_t bytes);
}
