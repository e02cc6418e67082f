// The option table: defaults, validation of single values, describe() and blob_dir_of().
#include "config/settings.hpp"
#include "tests/unit/config/support.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace tether {
namespace {

using testing::config_error_of;

settings with_sets(std::vector<std::string> sets) {
  config_sources sources;
  sources.sets = std::move(sets);
  return load_settings(sources);
}

std::string set_error(const std::string& assignment) {
  return config_error_of([&] { with_sets({assignment}); });
}

std::string file_error(const std::string& json) {
  testing::temp_dir dir;
  config_sources sources;
  sources.file = dir.write("tether.json", json);
  return config_error_of([&] { load_settings(sources); });
}

TEST(Defaults, NoSourcesGiveTheStructDefaults) {
  std::vector<std::string> warnings;
  const settings s = load_settings({}, &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(describe(s), describe(settings{}));
  EXPECT_EQ(s.server.bind, "127.0.0.1");
  EXPECT_EQ(s.server.port, 8080);
  EXPECT_EQ(s.heartbeat.interval_ms, 30000);
  EXPECT_EQ(s.session.resume_window_ms, 5000);
  EXPECT_EQ(s.session.restart_window_ms, 60000);        // PROTOCOL.md §11 "Session life"
  EXPECT_EQ(s.cleanup.unclaimed_after_ms, 3600000);     // PROTOCOL.md §5
  EXPECT_EQ(s.storage.data_dir, "./data");
  EXPECT_EQ(s.storage.synchronous, "normal");
  EXPECT_EQ(s.rooms.duplicate_policy, "switch");
  EXPECT_EQ(s.log.level, "info");
  EXPECT_TRUE(s.auth.jwt_secret.empty());
  EXPECT_TRUE(s.api.key.empty());
}

TEST(Values, EachTypeParsesFromText) {
  const settings s = with_sets({"server.port=0", "auth.allow_no_exp=yes", "auth.insecure_user_id=1",
                                "storage.synchronous=full", "cluster.redis_url=redis://localhost:6379",
                                "webhooks.url=http://example.com/hook", "server.tls_cert=",
                                "session.resume_window_ms=0"});
  EXPECT_EQ(s.server.port, 0);
  EXPECT_TRUE(s.auth.allow_no_exp);
  EXPECT_TRUE(s.auth.insecure_user_id);
  EXPECT_EQ(s.storage.synchronous, "full");
  EXPECT_EQ(s.cluster.redis_url, "redis://localhost:6379");
  EXPECT_EQ(s.webhooks.url, "http://example.com/hook");
  EXPECT_EQ(s.session.resume_window_ms, 0);
}

TEST(Values, BooleanTextForms) {
  for (const char* yes : {"true", "TRUE", "yes", "1"}) EXPECT_TRUE(with_sets({std::string("auth.allow_no_exp=") + yes}).auth.allow_no_exp) << yes;
  for (const char* no : {"false", "No", "0"}) EXPECT_FALSE(with_sets({"auth.allow_no_exp=true", std::string("auth.allow_no_exp=") + no}).auth.allow_no_exp) << no;
}

TEST(Values, NonIntegerNamesKeyValueAndRange) {
  EXPECT_EQ(set_error("heartbeat.interval_ms=abc"),
            "heartbeat.interval_ms: \"abc\" is not an integer (allowed: 10..86400000) (from --set)");
  EXPECT_NE(set_error("server.port=80x").find("server.port: \"80x\" is not an integer"), std::string::npos);
  EXPECT_NE(set_error("server.port=").find("server.port: \"\" is not an integer"), std::string::npos);
  EXPECT_NE(set_error("server.port=1.5").find("\"1.5\" is not an integer"), std::string::npos);
}

TEST(Values, OutOfRangeNamesKeyValueAndRange) {
  EXPECT_EQ(set_error("server.port=65536"), "server.port: 65536 is out of range (allowed: 0..65535) (from --set)");
  EXPECT_NE(set_error("heartbeat.interval_ms=5").find("heartbeat.interval_ms: 5 is out of range (allowed: 10.."),
            std::string::npos);
  EXPECT_NE(set_error("heartbeat.max_missed=0").find("heartbeat.max_missed: 0 is out of range (allowed: 1..1000)"),
            std::string::npos);
  EXPECT_NE(set_error("limits.max_message_bytes=67108865").find("allowed: 16..67108864"), std::string::npos);
  EXPECT_NE(set_error("server.io_threads=-1").find("server.io_threads: -1 is out of range (allowed: 0..256)"),
            std::string::npos);
  EXPECT_NE(set_error("server.port=99999999999999999999999").find("server.port: \"99999999999999999999999\" is out of range"),
            std::string::npos);
}

// server.request_timeout_ms bounds every HTTP step (header, upload chunk, answer): under 100 ms a
// slow but healthy client would be cut; over a day it is a typo.
TEST(Values, RequestTimeoutBounds) {
  EXPECT_EQ(settings{}.server.request_timeout_ms, 30000);
  EXPECT_EQ(with_sets({"server.request_timeout_ms=100"}).server.request_timeout_ms, 100);
  EXPECT_EQ(with_sets({"server.request_timeout_ms=86400000"}).server.request_timeout_ms, 86400000);
  EXPECT_EQ(set_error("server.request_timeout_ms=99"),
            "server.request_timeout_ms: 99 is out of range (allowed: 100..86400000) (from --set)");
  EXPECT_NE(set_error("server.request_timeout_ms=86400001").find("is out of range (allowed: 100..86400000)"),
            std::string::npos);
}

TEST(Values, BadChoiceListsTheChoices) {
  EXPECT_EQ(set_error("storage.synchronous=extra"),
            "storage.synchronous: \"extra\" is not allowed (allowed: normal, full) (from --set)");
  EXPECT_NE(set_error("log.level=verbose").find("log.level: \"verbose\" is not allowed (allowed: trace, debug, info, warn, error, off)"),
            std::string::npos);
  EXPECT_NE(set_error("rooms.duplicate_policy=Switch").find("(allowed: switch, allow)"), std::string::npos);
}

TEST(Values, BadBooleanAndCheckedText) {
  EXPECT_NE(set_error("auth.allow_no_exp=maybe").find("auth.allow_no_exp: \"maybe\" is not a boolean (allowed: true, false, yes, no, 1, 0)"),
            std::string::npos);
  EXPECT_NE(set_error("server.bind=").find("server.bind: \"\" is not allowed (allowed: a non-empty string)"),
            std::string::npos);
  EXPECT_NE(set_error("webhooks.url=ftp://x").find("webhooks.url: \"ftp://x\" is not allowed"), std::string::npos);
  // Webhooks go over plain HTTP only: an https receiver is refused rather than sent to in clear.
  EXPECT_NE(set_error("webhooks.url=https://h/x").find("https:// is not supported"), std::string::npos);
  EXPECT_NE(set_error("cluster.redis_url=localhost:6379").find("cluster.redis_url"), std::string::npos);
}

TEST(Values, WrongJsonTypesAreRefused) {
  EXPECT_NE(file_error(R"({"heartbeat": {"interval_ms": "30000"}})")
                .find("heartbeat.interval_ms: \"30000\" is not an integer (allowed: 10..86400000) (from config file "),
            std::string::npos);
  EXPECT_NE(file_error(R"({"heartbeat": {"interval_ms": 1.5}})").find("heartbeat.interval_ms: 1.5 is not an integer"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"heartbeat": {"interval_ms": 30000.0}})").find("heartbeat.interval_ms: 30000.0 is not an integer"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"server": {"port": 18446744073709551615}})").find("server.port: 18446744073709551615 is out of range"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"auth": {"allow_no_exp": "yes"}})").find("auth.allow_no_exp: \"yes\" is not a JSON boolean"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"auth": {"allow_no_exp": 1}})").find("auth.allow_no_exp: 1 is not a JSON boolean"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"log": {"level": 3}})").find("log.level: 3 is not a JSON string"), std::string::npos);
  EXPECT_NE(file_error(R"({"server": {"port": 70000}})").find("server.port: 70000 is out of range (allowed: 0..65535)"),
            std::string::npos);
  EXPECT_NE(file_error(R"({"rooms": {"duplicate_policy": "deny"}})").find("rooms.duplicate_policy: \"deny\" is not allowed"),
            std::string::npos);
}

TEST(Describe, ShowsEveryKeyAndHidesSecrets) {
  settings s;
  s.auth.jwt_secret = "hunter2";
  s.api.key = "k3y";
  s.server.port = 9000;
  const std::string text = describe(s);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(text.find("k3y"), std::string::npos);

  const boost::json::object json = boost::json::parse(text).as_object();
  // Secrets are left out, not masked, so that the output loads back as a config file.
  EXPECT_FALSE(json.at("auth").as_object().contains("jwt_secret"));
  EXPECT_FALSE(json.contains("api"));  // its only key is a secret
  EXPECT_FALSE(json.at("webhooks").as_object().contains("secret"));
  EXPECT_EQ(json.at("server").at("port"), 9000);
  EXPECT_EQ(json.at("server").at("bind"), "127.0.0.1");
  EXPECT_EQ(json.at("auth").at("allow_no_exp"), false);
  EXPECT_EQ(json.at("log").at("level"), "info");
  std::size_t keys = 3;  // the three secrets, left out
  for (const auto& section : json) keys += section.value().as_object().size();
  EXPECT_EQ(keys, 55u);  // every field of struct settings: a new field needs a line in the table
}

TEST(Describe, CanBeLoadedBackAsAConfigFile) {
  settings s = with_sets({"server.port=9001", "log.level=debug", "storage.synchronous=full"});
  testing::temp_dir dir;
  config_sources sources;
  sources.file = dir.write("described.json", describe(s));
  EXPECT_EQ(describe(load_settings(sources)), describe(s));
}

TEST(BlobDir, DefaultsUnderDataDir) {
  settings s;
  s.storage.data_dir = "/var/lib/tether";
  EXPECT_EQ(blob_dir_of(s), "/var/lib/tether/blobs");
  s.storage.blob_dir = "/mnt/blobs";
  EXPECT_EQ(blob_dir_of(s), "/mnt/blobs");
}

}  // namespace
}  // namespace tether
