// Unit tests for storage/blob_store (PROTOCOL.md §5, §11 "Blob layout: blob_dir/<file_id>, flat";
// "Deleting a file already gone counts as done").
#include "storage/blob_store.hpp"
#include "support.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

namespace fs = std::filesystem;

namespace tether::storage_testing {
namespace {

class BlobStore : public temp_dir_test {
 protected:
  std::string blob_dir() const { return path("blobs"); }
};

TEST_F(BlobStore, CreatesTheDirectoryAndIncoming) {
  std::string dir = path("deep/nested/blobs");
  local_blob_store store(dir);
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_directory(dir + "/.incoming"));
  EXPECT_EQ(store.dir(), dir);
  // Opening an existing store is fine and leaves its blobs alone.
  write_file(store.path_of("f1"), "x");
  local_blob_store again(dir);
  EXPECT_EQ(read_file(again.path_of("f1")), "x");
}

TEST_F(BlobStore, ConstructorThrowsWhenTheDirectoryCannotBeMade) {
  write_file(path("plain-file"), "not a directory");
  EXPECT_THROW(local_blob_store(path("plain-file/blobs")), std::runtime_error);
}

TEST_F(BlobStore, Layout) {
  local_blob_store store(blob_dir());
  EXPECT_EQ(store.path_of("abc"), blob_dir() + "/abc");
  EXPECT_EQ(store.incoming_path("abc"), blob_dir() + "/.incoming/abc");
}

TEST_F(BlobStore, RemoveDeletesTheBlob) {
  local_blob_store store(blob_dir());
  write_file(store.path_of("f1"), "data");
  write_file(store.path_of("f2"), "other");
  EXPECT_FALSE(store.remove("f1"));
  EXPECT_FALSE(fs::exists(store.path_of("f1")));
  EXPECT_TRUE(fs::exists(store.path_of("f2")));
}

TEST_F(BlobStore, RemoveOfAMissingBlobIsSuccess) {
  local_blob_store store(blob_dir());
  EXPECT_FALSE(store.remove("never-existed"));
  write_file(store.path_of("f1"), "data");
  EXPECT_FALSE(store.remove("f1"));
  EXPECT_FALSE(store.remove("f1"));  // retried deletion of a blob already gone
}

TEST_F(BlobStore, RemoveThroughTheInterface) {
  local_blob_store local(blob_dir());
  write_file(local.path_of("f1"), "data");
  blob_store& store = local;
  EXPECT_FALSE(store.remove("f1"));
  EXPECT_FALSE(fs::exists(local.path_of("f1")));
}

TEST_F(BlobStore, RemoveOfANonEmptyDirectoryFails) {
  local_blob_store store(blob_dir());
  fs::create_directories(store.path_of("stuck"));
  write_file(store.path_of("stuck") + "/inner", "x");
  std::error_code ec = store.remove("stuck");
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.category(), std::generic_category());
  EXPECT_TRUE(ec.value() == EISDIR || ec.value() == EPERM || ec.value() == ENOTEMPTY) << ec.message();
  EXPECT_TRUE(fs::exists(store.path_of("stuck") + "/inner"));
  // Not mistaken for "already gone" on a retry either.
  EXPECT_TRUE(store.remove("stuck"));
}

TEST_F(BlobStore, RemoveOfAnEmptyDirectoryFailsToo) {
  // unlink never removes directories: a directory in the blob's place is an error, not a success.
  local_blob_store store(blob_dir());
  fs::create_directories(store.path_of("dir"));
  EXPECT_TRUE(store.remove("dir"));
  EXPECT_TRUE(fs::is_directory(store.path_of("dir")));
}

TEST_F(BlobStore, RemoveWhenTheBlobDirectoryIsGoneIsSuccess) {
  local_blob_store store(blob_dir());
  fs::remove_all(blob_dir());
  EXPECT_FALSE(store.remove("f1"));
}

TEST_F(BlobStore, PublishMovesFromIncoming) {
  local_blob_store store(blob_dir());
  write_file(store.incoming_path("f1"), "payload");
  EXPECT_FALSE(fs::exists(store.path_of("f1")));
  EXPECT_FALSE(store.publish("f1"));
  EXPECT_EQ(read_file(store.path_of("f1")), "payload");
  EXPECT_FALSE(fs::exists(store.incoming_path("f1")));
}

TEST_F(BlobStore, PublishOfAMissingUploadFails) {
  local_blob_store store(blob_dir());
  std::error_code ec = store.publish("nothing");
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.value(), ENOENT);
  EXPECT_FALSE(fs::exists(store.path_of("nothing")));
}

TEST_F(BlobStore, PublishThenRemove) {
  local_blob_store store(blob_dir());
  write_file(store.incoming_path("f1"), "payload");
  ASSERT_FALSE(store.publish("f1"));
  EXPECT_FALSE(store.remove("f1"));
  EXPECT_FALSE(fs::exists(store.path_of("f1")));
}

TEST_F(BlobStore, ClearIncomingEmptiesIt) {
  local_blob_store store(blob_dir());
  write_file(store.incoming_path("half1"), "partial");
  write_file(store.incoming_path("half2"), "partial");
  write_file(store.incoming_path(".hidden"), "partial");
  write_file(store.path_of("published"), "done");
  store.clear_incoming();
  EXPECT_TRUE(fs::is_directory(blob_dir() + "/.incoming"));
  EXPECT_TRUE(fs::is_empty(blob_dir() + "/.incoming"));
  // Published blobs are not touched.
  EXPECT_EQ(read_file(store.path_of("published")), "done");
  // Clearing an empty .incoming is fine.
  EXPECT_NO_THROW(store.clear_incoming());
}

TEST_F(BlobStore, ClearIncomingWithoutIncomingDoesNotThrow) {
  local_blob_store store(blob_dir());
  fs::remove_all(blob_dir() + "/.incoming");
  EXPECT_NO_THROW(store.clear_incoming());
}

}  // namespace
}  // namespace tether::storage_testing
