// The transport (hil/chip_link.h) against scripts/chip_server.py: a conversation, timeouts, child
// death, short and oversized frames, Unix sockets, and that no child is left behind.
#include "hil/chip_link.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "common/test_support.h"
#include "hil/test_server.h"

namespace cimsim::hil {
namespace {

using test_server::CheckPython;
using test_server::ProcessGone;
using test_server::ServerCommand;

std::vector<uint8_t> Hello() {
  return EncodeFrame(MessageType::kHello, {{"protocol", 1}, {"client", "chip_link_test"}, {"options", nlohmann::json::object()}});
}

std::string ErrorOf(const std::function<void()>& f) { return testing::MessageOf<ProtocolError>(f, "a ProtocolError"); }

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class ChipLinkTest : public ::testing::Test {
 protected:
  void SetUp() override { CheckPython(); }
};

TEST_F(ChipLinkTest, HelloConversationAndCleanClose) {
  auto link = ChipLink::Spawn(ServerCommand({"--capabilities", "results"}), 10);
  const pid_t pid = link->pid();
  ASSERT_GT(pid, 0);
  link->Send(Hello());
  const Frame f = link->Receive();
  ASSERT_EQ(f.type, MessageType::kHelloReply);
  const Message m = DecodePayload(f.type, f.payload);
  EXPECT_EQ(IntField(m, "protocol"), kProtocolVersion);
  EXPECT_EQ(StringField(m, "device"), "chip_server.py ideal device");
  EXPECT_EQ(m.fields["capabilities"], nlohmann::json::array({"results"}));
  link->Send(EncodeFrame(MessageType::kClose, nlohmann::json::object()));
  link->Close();
  EXPECT_EQ(link->pid(), -1);
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(ChipLinkTest, MissingProgramFailsToStart) {
  const std::string e = ErrorOf([] { ChipLink::Spawn({"/nonexistent/chip_server"}, 5); });
  EXPECT_NE(e.find("cannot start \"/nonexistent/chip_server\""), std::string::npos) << e;
}

TEST_F(ChipLinkTest, StalledServerTimesOutAndIsKilled) {
  auto link = ChipLink::Spawn(ServerCommand({"--fault", "stall", "--fault-on", "hello"}), 1);
  const pid_t pid = link->pid();
  const auto t0 = std::chrono::steady_clock::now();
  link->Send(Hello());
  const std::string e = ErrorOf([&] { link->Receive(); });
  EXPECT_NE(e.find("no reply within the timeout of 1 s (0 of 12 bytes of a frame header received)"), std::string::npos)
      << e;
  EXPECT_LT(SecondsSince(t0), 3.0);
  EXPECT_TRUE(link->Broken());
  EXPECT_NE(ErrorOf([&] { link->Receive(); }).find("earlier failure"), std::string::npos);
  link->Close();   // SIGTERM at once (broken link), SIGKILL after a grace period
  EXPECT_LT(SecondsSince(t0), 4.0);
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(ChipLinkTest, SendTimesOutWhenTheServerStopsReading) {
  auto link = ChipLink::Spawn(ServerCommand({"--fault", "stall", "--fault-on", "hello"}), 1);
  link->Send(Hello());   // the server stalls on it and never reads again
  std::vector<uint8_t> big(64 << 20, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = ErrorOf([&] { link->Send(big); });
  EXPECT_NE(e.find("the server did not accept the request within 1 s"), std::string::npos) << e;
  EXPECT_LT(SecondsSince(t0), 3.0);
}

TEST_F(ChipLinkTest, CrashReportsTheExitStatus) {
  auto link = ChipLink::Spawn(ServerCommand({"--fault", "crash", "--fault-on", "hello"}), 10);
  const pid_t pid = link->pid();
  link->Send(Hello());
  const std::string e = ErrorOf([&] { link->Receive(); });
  EXPECT_EQ(e, "the server closed the connection before a frame header; the server exited with status 3");
  link->Close();
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(ChipLinkTest, KilledServerReportsTheSignal) {
  auto link = ChipLink::Spawn({test_server::kPython, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"}, 10);
  const std::string e = ErrorOf([&] { link->Receive(); });
  EXPECT_NE(e.find("the server was killed by signal 9"), std::string::npos) << e;
}

TEST_F(ChipLinkTest, ShortFrameIsReported) {
  auto link = ChipLink::Spawn(ServerCommand({"--fault", "short", "--fault-on", "hello"}), 10);
  link->Send(Hello());
  const std::string e = ErrorOf([&] { link->Receive(); });
  EXPECT_NE(e.find("bytes of a HELLO_REPLY payload (a short frame); the server exited with status 0"), std::string::npos)
      << e;
}

TEST_F(ChipLinkTest, LyingLengthIsRejectedBeforeAllocating) {
  auto link = ChipLink::Spawn(ServerCommand({"--fault", "huge", "--fault-on", "hello"}), 10, 1 << 20);
  const pid_t pid = link->pid();
  link->Send(Hello());
  const std::string e = ErrorOf([&] { link->Receive(); });
  EXPECT_EQ(e, "a HELLO_REPLY frame of 4294967040 payload bytes exceeds the limit of 1048576");
  link->Close();
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(ChipLinkTest, WrongVersionAndGarbageAreRejected) {
  auto v = ChipLink::Spawn(ServerCommand({"--fault", "version", "--fault-on", "hello"}), 10);
  v->Send(Hello());
  EXPECT_NE(ErrorOf([&] { v->Receive(); }).find("protocol version 99"), std::string::npos);
  auto g = ChipLink::Spawn(ServerCommand({"--fault", "garbage", "--fault-on", "hello"}), 10);
  g->Send(Hello());
  EXPECT_NE(ErrorOf([&] { g->Receive(); }).find("bad frame magic"), std::string::npos);
}

TEST_F(ChipLinkTest, UnixSocketConnection) {
  const std::string path = std::filesystem::temp_directory_path() / ("cimsim_hil_" + std::to_string(getpid()) + ".sock");
  std::filesystem::remove(path);
  auto server = ChipLink::Spawn(ServerCommand({"--listen", path, "--once"}), 10);   // its stdin/stdout unused
  for (int i = 0; i < 500 && !std::filesystem::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(std::filesystem::exists(path)) << "the server did not create " << path;
  auto link = ChipLink::Connect(path, 10);
  EXPECT_EQ(link->pid(), -1);
  link->Send(Hello());
  EXPECT_EQ(link->Receive().type, MessageType::kHelloReply);
  link->Send(EncodeFrame(MessageType::kClose, nlohmann::json::object()));
  link->Close();
  server->Close();
  std::filesystem::remove(path);

  const std::string e = ErrorOf([&] { ChipLink::Connect(path, 1); });
  EXPECT_NE(e.find("cannot connect to " + path), std::string::npos) << e;
}

}  // namespace
}  // namespace cimsim::hil
