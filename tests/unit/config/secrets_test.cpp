// resolve_secrets: generated once into data_dir, then read back.
#include "config/settings.hpp"
#include "tests/unit/config/support.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace tether {
namespace {

namespace fs = std::filesystem;

settings in_data_dir(const fs::path& dir) {
  settings s;
  s.storage.data_dir = dir.string();
  return s;
}

bool is_lower_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

mode_t permissions_of(const fs::path& file) {
  struct stat st {};
  EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
  return st.st_mode & 07777;
}

TEST(Secrets, GeneratedOnceThenReadBack) {
  testing::temp_dir dir;
  const fs::path data = dir.path() / "nested" / "data";  // created recursively

  settings first = in_data_dir(data);
  resolve_secrets(first);
  EXPECT_EQ(first.auth.jwt_secret.size(), 64u);
  EXPECT_EQ(first.api.key.size(), 64u);
  EXPECT_TRUE(is_lower_hex(first.auth.jwt_secret)) << first.auth.jwt_secret;
  EXPECT_TRUE(is_lower_hex(first.api.key)) << first.api.key;
  EXPECT_NE(first.auth.jwt_secret, first.api.key);
  EXPECT_EQ(permissions_of(data / "jwt_secret"), 0600u);
  EXPECT_EQ(permissions_of(data / "api_key"), 0600u);

  settings second = in_data_dir(data);
  resolve_secrets(second);
  EXPECT_EQ(second.auth.jwt_secret, first.auth.jwt_secret);
  EXPECT_EQ(second.api.key, first.api.key);

  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(data)) ++entries;
  EXPECT_EQ(entries, 2u);  // no temporary files left behind
}

TEST(Secrets, ConfiguredValuesWinAndAreNotWritten) {
  testing::temp_dir dir;
  settings s = in_data_dir(dir.path());
  s.auth.jwt_secret = "configured";
  s.api.key = "also-configured";
  resolve_secrets(s);
  EXPECT_EQ(s.auth.jwt_secret, "configured");
  EXPECT_EQ(s.api.key, "also-configured");
  EXPECT_FALSE(fs::exists(dir.path() / "jwt_secret"));
  EXPECT_FALSE(fs::exists(dir.path() / "api_key"));
}

TEST(Secrets, TheWebhookSecretIsGeneratedOnlyForAUrl) {
  testing::temp_dir dir;
  settings off = in_data_dir(dir.path());
  resolve_secrets(off);
  EXPECT_TRUE(off.webhooks.secret.empty());
  EXPECT_FALSE(fs::exists(dir.path() / "webhook_secret"));

  settings on = in_data_dir(dir.path());
  on.webhooks.url = "http://127.0.0.1:9000/hook";
  resolve_secrets(on);
  EXPECT_EQ(on.webhooks.secret.size(), 64u);
  EXPECT_TRUE(is_lower_hex(on.webhooks.secret));
  EXPECT_EQ(permissions_of(dir.path() / "webhook_secret"), 0600u);

  settings cli = in_data_dir(dir.path());  // `tetherd token` and the like read it back
  read_secrets(cli);
  EXPECT_EQ(cli.webhooks.secret, on.webhooks.secret);
}

TEST(Secrets, ExistingFilesAreTrimmed) {
  testing::temp_dir dir;
  dir.write("jwt_secret", "  from-file\n");
  dir.write("api_key", "key-from-file\r\n\n");
  settings s = in_data_dir(dir.path());
  resolve_secrets(s);
  EXPECT_EQ(s.auth.jwt_secret, "from-file");
  EXPECT_EQ(s.api.key, "key-from-file");
}

TEST(Secrets, EmptyFileIsAnError) {
  testing::temp_dir dir;
  dir.write("jwt_secret", "\n");
  settings s = in_data_dir(dir.path());
  const std::string error = testing::config_error_of([&] { resolve_secrets(s); });
  EXPECT_NE(error.find("jwt_secret\": is empty"), std::string::npos) << error;
}

TEST(Secrets, UncreatableDataDirIsAnError) {
  testing::temp_dir dir;
  const std::string blocker = dir.write("file", "x");  // a file where a directory should go
  settings s = in_data_dir(fs::path(blocker) / "data");
  const std::string error = testing::config_error_of([&] { resolve_secrets(s); });
  EXPECT_NE(error.find("storage.data_dir: cannot create"), std::string::npos) << error;
}

}  // namespace
}  // namespace tether
