// The connection's outbound queue (limits.max_outbound_bytes, §8): what send() reports, and that a
// droppable frame gives way at half the limit while frames that must arrive still fit. Nothing runs
// the io_context, so queued frames stay queued and the numbers are exact.
#include "net/ws_connection.hpp"

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tether {
namespace {

frame bytes(std::size_t n) { return std::make_shared<const std::string>(n, 'x'); }

std::shared_ptr<plain_ws_connection> connection(boost::asio::io_context& ioc, std::size_t max_outbound) {
  return std::make_shared<plain_ws_connection>(boost::asio::ip::tcp::socket(ioc), std::string(),
                                               ws_limits{65536, max_outbound}, nullptr);
}

TEST(WsConnection, DroppableFramesGiveWayAtHalfTheLimit) {
  boost::asio::io_context ioc;
  auto c = connection(ioc, 1000);
  EXPECT_EQ(c->send(bytes(300), delivery::droppable), send_result::queued);  // 300 <= 500
  EXPECT_EQ(c->send(bytes(300), delivery::droppable), send_result::dropped);  // 600 > 500
  EXPECT_EQ(c->send(bytes(300), delivery::must), send_result::queued);        // 600 <= 1000
  EXPECT_EQ(c->send(bytes(300), delivery::must), send_result::queued);        // 900
  EXPECT_EQ(c->send(bytes(50), delivery::droppable), send_result::dropped);   // still over half
}

TEST(WsConnection, AMustFramePastTheLimitClosesTheConnection) {
  boost::asio::io_context ioc;
  auto c = connection(ioc, 1000);
  EXPECT_EQ(c->send(bytes(900), delivery::must), send_result::queued);
  EXPECT_EQ(c->send(bytes(200), delivery::must), send_result::closed);  // 1100 > 1000: 1008
  ioc.run_for(std::chrono::milliseconds(50));                          // the close is queued
  EXPECT_EQ(c->send(bytes(1), delivery::must), send_result::closed);
  EXPECT_EQ(c->send(bytes(1), delivery::droppable), send_result::closed);
}

TEST(WsConnection, IdsAreUnique) {
  boost::asio::io_context ioc;
  auto a = connection(ioc, 1000), b = connection(ioc, 1000);
  EXPECT_NE(a->id(), b->id());
  EXPECT_NE(a->id(), 0u);
}

}  // namespace
}  // namespace tether
