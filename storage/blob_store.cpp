#include "storage/blob_store.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace fs = std::filesystem;

namespace tether {

local_blob_store::local_blob_store(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_ + "/.incoming", ec);
  if (ec) throw std::runtime_error("cannot create blob directory " + dir_ + ": " + ec.message());
}

std::error_code local_blob_store::remove(const std::string& file_id) {
  if (::unlink(path_of(file_id).c_str()) == 0 || errno == ENOENT) return {};
  return {errno, std::generic_category()};
}

std::error_code local_blob_store::publish(const std::string& file_id) {
  if (std::rename(incoming_path(file_id).c_str(), path_of(file_id).c_str()) == 0) return {};
  return {errno, std::generic_category()};
}

void local_blob_store::clear_incoming() {
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(dir_ + "/.incoming", ec)) fs::remove(entry.path(), ec);
}

}  // namespace tether
