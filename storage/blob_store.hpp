#pragma once
// Where uploaded files live. The embedded store is a flat directory: blob_dir/<file_id>, with
// uploads written under blob_dir/.incoming/ and renamed into place once recorded.
#include <string>
#include <system_error>

namespace tether {

class blob_store {
public:
  virtual ~blob_store() = default;
  // Removes a blob. A blob that is already gone counts as removed (deletions are retried).
  virtual std::error_code remove(const std::string& file_id) = 0;
};

class local_blob_store : public blob_store {
public:
  // Creates the directory (and .incoming/) if needed; throws std::runtime_error at start-up.
  explicit local_blob_store(std::string dir);

  std::error_code remove(const std::string& file_id) override;

  std::string path_of(const std::string& file_id) const { return dir_ + "/" + file_id; }
  std::string incoming_path(const std::string& file_id) const { return dir_ + "/.incoming/" + file_id; }
  // Moves a finished upload into place.
  std::error_code publish(const std::string& file_id);
  // Drops uploads left half-written by a crash.
  void clear_incoming();
  const std::string& dir() const { return dir_; }

private:
  std::string dir_;
};

}  // namespace tether
