// The sources of load_settings (file, environment, --set), their precedence and the cross-checks.
#include "config/settings.hpp"
#include "tests/unit/config/support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tether {
namespace {

using testing::config_error_of;

class Loader : public ::testing::Test {
 protected:
  std::string file(const std::string& json) { return dir_.write("tether.json", json); }

  testing::temp_dir dir_;
};

TEST_F(Loader, FileThenEnvThenSetEachOverrideTheLast) {
  config_sources sources;
  sources.file = file(R"({"heartbeat": {"interval_ms": 1000, "max_missed": 7}, "log": {"level": "warn"}})");
  EXPECT_EQ(load_settings(sources).heartbeat.interval_ms, 1000);

  sources.env = {{"TETHER_HEARTBEAT_INTERVAL_MS", "2000"}, {"TETHER_LOG_LEVEL", "error"}};
  EXPECT_EQ(load_settings(sources).heartbeat.interval_ms, 2000);

  sources.sets = {"heartbeat.interval_ms=3000", "heartbeat.interval_ms=4000"};
  const settings s = load_settings(sources);
  EXPECT_EQ(s.heartbeat.interval_ms, 4000);  // the later --set wins
  EXPECT_EQ(s.heartbeat.max_missed, 7);      // only the file set it
  EXPECT_EQ(s.log.level, "error");           // env over file
  EXPECT_EQ(s.server.port, 8080);            // nobody set it
}

TEST_F(Loader, FileAllowsCommentsAndTrailingCommas) {
  config_sources sources;
  sources.file = file(R"(// tether
{
  /* the server */
  "server": {"port": 9100, "bind": "::1",},  // trailing comma
  "storage": {"data_dir": "/srv/tether", "synchronous": "full"},
  "webhooks": {},
})");
  const settings s = load_settings(sources);
  EXPECT_EQ(s.server.port, 9100);
  EXPECT_EQ(s.server.bind, "::1");
  EXPECT_EQ(s.storage.data_dir, "/srv/tether");
  EXPECT_EQ(s.storage.synchronous, "full");
}

TEST_F(Loader, UnknownKeyInFileIsNamed) {
  config_sources sources;
  sources.file = file(R"({"heartbeat": {"interval": 100}})");
  const std::string error = config_error_of([&] { load_settings(sources); });
  EXPECT_NE(error.find("heartbeat.interval: unknown key (keys in heartbeat: interval_ms, max_missed)"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(*sources.file), std::string::npos) << error;
}

TEST_F(Loader, UnknownSectionInFileIsNamed) {
  config_sources sources;
  sources.file = file(R"({"hearbeat": {"interval_ms": 100}})");
  const std::string error = config_error_of([&] { load_settings(sources); });
  EXPECT_NE(error.find("hearbeat: unknown section (sections: server, auth, api, heartbeat,"), std::string::npos)
      << error;
}

TEST_F(Loader, SectionMustBeAnObject) {
  config_sources sources;
  sources.file = file(R"({"heartbeat": 100})");
  EXPECT_NE(config_error_of([&] { load_settings(sources); }).find("heartbeat: 100 is not an object of keys"),
            std::string::npos);
}

TEST_F(Loader, UnknownKeyInSetIsNamed) {
  config_sources sources;
  sources.sets = {"server.prot=80"};
  EXPECT_NE(config_error_of([&] { load_settings(sources); }).find("server.prot: unknown key (keys in server: bind, port,"),
            std::string::npos);
  sources.sets = {"sever.port=80"};
  EXPECT_NE(config_error_of([&] { load_settings(sources); }).find("sever.port: unknown key (sections: server,"),
            std::string::npos);
}

TEST_F(Loader, MalformedSetIsRefused) {
  for (const std::string bad : {"heartbeat.interval_ms", "port=80", "=80", "heartbeat=x.y"}) {
    config_sources sources;
    sources.sets = {bad};
    EXPECT_EQ(config_error_of([&] { load_settings(sources); }), "--set \"" + bad + "\": expected section.key=value");
  }
}

TEST_F(Loader, SetValueMayContainEqualsAndDots) {
  config_sources sources;
  sources.sets = {"webhooks.secret=a=b.c", "webhooks.url=http://h/x?y=1"};
  const settings s = load_settings(sources);
  EXPECT_EQ(s.webhooks.secret, "a=b.c");
  EXPECT_EQ(s.webhooks.url, "http://h/x?y=1");
}

TEST_F(Loader, UnknownTetherVariableOnlyWarns) {
  config_sources sources;
  sources.env = {{"TETHER_HEARTBEAT_INTERVAL", "5"}, {"TETHER_BOGUS", "1"}, {"HOME", "/root"},
                 {"TETHER_STORAGE_DATA_DIR", "/x"}};
  std::vector<std::string> warnings;
  const settings s = load_settings(sources, &warnings);
  EXPECT_EQ(s.storage.data_dir, "/x");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("TETHER_BOGUS"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("TETHER_HEARTBEAT_INTERVAL"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[1].find("keys in heartbeat: interval_ms, max_missed"), std::string::npos) << warnings[1];
  EXPECT_NO_THROW(load_settings(sources));  // warnings are optional
}

TEST_F(Loader, KnownTetherVariableWithBadValueIsAnError) {
  config_sources sources;
  sources.env = {{"TETHER_HEARTBEAT_INTERVAL_MS", "soon"}};
  EXPECT_EQ(config_error_of([&] { load_settings(sources); }),
            "heartbeat.interval_ms: \"soon\" is not an integer (allowed: 10..86400000) "
            "(from TETHER_HEARTBEAT_INTERVAL_MS)");
}

TEST_F(Loader, EnvironmentKeysWithUnderscores) {
  config_sources sources;
  sources.env = {{"TETHER_LIMITS_GUESTS_PER_IP_PER_MINUTE", "3"}, {"TETHER_AUTH_ALLOW_NO_EXP", "yes"}};
  const settings s = load_settings(sources);
  EXPECT_EQ(s.limits.guests_per_ip_per_minute, 3);
  EXPECT_TRUE(s.auth.allow_no_exp);
}

TEST_F(Loader, MissingFileIsNamed) {
  config_sources sources;
  sources.file = (dir_.path() / "absent.json").string();
  const std::string error = config_error_of([&] { load_settings(sources); });
  EXPECT_NE(error.find(*sources.file), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST_F(Loader, InvalidJsonNamesFileAndPlace) {
  config_sources sources;
  sources.file = file("{\n  \"server\": {\"port\": 80\n}\n");
  const std::string error = config_error_of([&] { load_settings(sources); });
  EXPECT_NE(error.find("config file \"" + *sources.file + "\": invalid JSON at line "), std::string::npos) << error;
}

TEST_F(Loader, FileMustHoldAnObject) {
  config_sources sources;
  sources.file = file("[1, 2]");
  EXPECT_NE(config_error_of([&] { load_settings(sources); }).find("expected an object of sections"), std::string::npos);
}

TEST_F(Loader, InsecureUserIdNeedsLoopbackBind) {
  const auto error_with_bind = [](const std::string& bind) {
    config_sources sources;
    sources.sets = {"auth.insecure_user_id=true", "server.bind=" + bind};
    return config_error_of([&] { load_settings(sources); });
  };
  EXPECT_NE(error_with_bind("0.0.0.0").find("auth.insecure_user_id: true is refused with server.bind \"0.0.0.0\""),
            std::string::npos);
  EXPECT_NE(error_with_bind("10.1.2.3"), "");
  EXPECT_NE(error_with_bind("::"), "");
  EXPECT_NE(error_with_bind("example.com"), "");
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "::1", "localhost"})
    EXPECT_EQ(error_with_bind(loopback), "") << loopback;
}

TEST_F(Loader, TlsCertAndKeyGoTogether) {
  config_sources sources;
  sources.sets = {"server.tls_cert=/etc/cert.pem"};
  const std::string error = config_error_of([&] { load_settings(sources); });
  EXPECT_NE(error.find("server.tls_cert \"/etc/cert.pem\" and server.tls_key \"\": set both or neither"),
            std::string::npos)
      << error;
  sources.sets.push_back("server.tls_key=/etc/key.pem");
  EXPECT_EQ(load_settings(sources).server.tls_key, "/etc/key.pem");
}

TEST(Environment, MapHoldsTheProcessEnvironment) {
  ::setenv("TETHER_TEST_VARIABLE", "a=b", 1);
  const auto env = environment_map();
  ::unsetenv("TETHER_TEST_VARIABLE");
  ASSERT_EQ(env.count("TETHER_TEST_VARIABLE"), 1u);
  EXPECT_EQ(env.at("TETHER_TEST_VARIABLE"), "a=b");
}

}  // namespace
}  // namespace tether
