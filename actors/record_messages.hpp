#pragma once
// Storage rows that travel between actors through more than one interface (the storage actor's
// and the reader's): allowed as message types once, here.
#include "storage/records.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tether::note_list)
