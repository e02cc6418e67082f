#pragma once
// GET /api/audit (API key; PROTOCOL.md §5): the newest audit records matching session_id, file_id
// and user_id, oldest first, read through the reader (committed records only).
#include "net/api/responses.hpp"
#include "net/server_context.hpp"
#include "storage/records.hpp"

#include <boost/json/object.hpp>

#include <memory>

namespace tether {

void get_audit(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

// An audit record as the API and `tetherd audit` print it.
boost::json::object audit_json(const audit_record& r);

}  // namespace tether
