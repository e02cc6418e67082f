// The outbox a session hands out (rooms, channels): it follows the session's connection, says what
// happened to each frame, and never keeps a connection alive.
#include "fixture.hpp"

#include "actors/outbox.hpp"

namespace tether::actor_testing {
namespace {

frame text_frame(const std::string& json) { return codec::to_frame(boost::json::parse(json).as_object()); }

TEST(Outbox, SendsToTheBoundConnection) {
  outbox box;
  auto link = std::make_shared<fake_link>();
  box.bind(link);
  EXPECT_EQ(box.send(text_frame(R"({"type":"x"})")), send_result::queued);
  EXPECT_EQ(link->count("x"), 1u);
}

TEST(Outbox, WithoutAConnectionAFrameIsClosed) {
  outbox box;
  EXPECT_EQ(box.send(text_frame(R"({"type":"x"})")), send_result::closed);
  auto link = std::make_shared<fake_link>();
  box.bind(link);
  box.unbind();
  EXPECT_EQ(box.send(text_frame(R"({"type":"x"})")), send_result::closed);
  EXPECT_EQ(link->count("x"), 0u);
}

TEST(Outbox, DoesNotKeepAClosedConnectionAlive) {
  // Per-IP counts and shutdown wait for connection objects to go: a room holding a member's
  // outbox must not keep one alive.
  outbox box;
  auto link = std::make_shared<fake_link>();
  std::weak_ptr<fake_link> seen = link;
  box.bind(link);
  link.reset();
  EXPECT_TRUE(seen.expired());
  EXPECT_EQ(box.link(), nullptr);
  EXPECT_EQ(box.send(text_frame(R"({"type":"x"})")), send_result::closed);
}

TEST(Outbox, ARebindMovesEveryHolderToTheNewConnection) {
  auto box = std::make_shared<outbox>();
  auto held_by_a_room = box;
  auto first = std::make_shared<fake_link>(), second = std::make_shared<fake_link>();
  box->bind(first);
  held_by_a_room->send(text_frame(R"({"type":"one"})"));
  box->bind(second);
  held_by_a_room->send(text_frame(R"({"type":"two"})"));
  EXPECT_EQ(first->count("one"), 1u);
  EXPECT_EQ(first->count("two"), 0u);
  EXPECT_EQ(second->count("two"), 1u);
}

TEST(Outbox, PassesTheDeliveryThrough) {
  outbox box;
  auto link = std::make_shared<fake_link>();
  link->refuse_droppable = true;
  box.bind(link);
  EXPECT_EQ(box.send(text_frame(R"({"type":"typing"})"), delivery::droppable), send_result::dropped);
  EXPECT_EQ(box.send(text_frame(R"({"type":"message"})"), delivery::must), send_result::queued);
}

}  // namespace
}  // namespace tether::actor_testing
