#pragma once
// File routes (PROTOCOL.md §5) other than the upload itself, which streams in net/http_session:
// POST /api/files/register (API key: a file kept in an external store) and GET, HEAD or DELETE
// /api/files/<id> (its owner's token). Lookups go to the reader, so a file is served only once its
// upload is committed; registering and deleting are writes, for the storage actor.
#include "net/api/responses.hpp"
#include "net/server_context.hpp"

#include <memory>
#include <string_view>

namespace tether {

void register_external_file(const std::shared_ptr<server_context>& ctx, const http_request& req,
                            const respond_fn& respond, const std::string& client);
// /api/files/<id>: GET and HEAD serve the blob, DELETE queues its deletion.
inline constexpr std::string_view user_files_prefix = "/api/files/";
void user_file_route(const std::shared_ptr<server_context>& ctx, const http_request& req, const respond_fn& respond, const std::string& client);

}  // namespace tether
