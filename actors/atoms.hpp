#pragma once
// Atoms shared by several actors. CAF 0.17 atoms hold at most 10 characters.
#include <caf/atom.hpp>

namespace tether {

using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

}  // namespace tether
