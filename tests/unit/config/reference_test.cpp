// config/tether.json is reference_config() written out: it documents every key and loads to defaults.
//
// After changing the option table, regenerate the file with
//   TETHER_WRITE_REFERENCE_CONFIG=1 ./config_tests --gtest_filter='ReferenceConfig.*'
#include "config/settings.hpp"
#include "tests/unit/config/support.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace tether {
namespace {

const std::string reference_path = std::string(TETHER_SOURCE_DIR) + "/config/tether.json";

TEST(ReferenceConfig, FileMatchesTheTable) {
  if (std::getenv("TETHER_WRITE_REFERENCE_CONFIG")) std::ofstream(reference_path, std::ios::binary) << reference_config();
  EXPECT_EQ(testing::read_file(reference_path), reference_config())
      << reference_path << " is out of date; see the top of " << __FILE__;
}

TEST(ReferenceConfig, FileLoadsToTheDefaults) {
  config_sources sources;
  sources.file = reference_path;
  std::vector<std::string> warnings;
  const settings s = load_settings(sources, &warnings);
  EXPECT_EQ(describe(s), describe(settings{}));
  EXPECT_TRUE(s.auth.jwt_secret.empty());
  EXPECT_TRUE(s.api.key.empty());
  EXPECT_TRUE(s.webhooks.secret.empty());
}

TEST(ReferenceConfig, DocumentsEveryKey) {
  boost::json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  const auto file = boost::json::parse(testing::read_file(reference_path), {}, options).as_object();
  const auto all = boost::json::parse(describe(settings{})).as_object();
  for (const auto& [section, keys] : all)
    for (const auto& [key, value] : keys.as_object()) {
      ASSERT_TRUE(file.contains(section)) << section;
      EXPECT_TRUE(file.at(section).as_object().contains(key)) << section << "." << key;
    }
  const std::string text = testing::read_file(reference_path);
  EXPECT_NE(text.find("// TCP port"), std::string::npos);  // comments carry the descriptions
}

}  // namespace
}  // namespace tether
