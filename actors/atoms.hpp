#pragma once
// Atoms shared by several actors. CAF 0.17 atoms hold at most 10 characters.
#include <caf/atom.hpp>

namespace tether {

using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
// A room or channel that emptied asks its registry whether it may go.
using vacate_atom = caf::atom_constant<caf::atom("vacate")>;

}  // namespace tether
