#include "apiserver/protobuf.h"

#include <gtest/gtest.h>

#include "apiserver/protobuf_writer.h"
#include "apiserver/tls.h"

namespace cstor::apiserver {
namespace {

using nlohmann::json;

using pbwrite::Bytes;
using pbwrite::Int;
std::string Entry(uint32_t field, const std::string& k, const std::string& v) { return Bytes(field, Bytes(1, k) + Bytes(2, v)); }
std::string Envelope(const std::string& api_version, const std::string& kind, const std::string& raw) {
  return std::string("k8s\0", 4) + Bytes(1, Bytes(1, api_version) + Bytes(2, kind)) + Bytes(2, raw);
}
// ObjectMeta as gogo writes it: every non-pointer field, zero or not.
std::string Meta(const std::string& name) {
  return Bytes(1, name) + Bytes(2, "") + Bytes(3, "") + Bytes(4, "") + Bytes(5, "") + Bytes(6, "") + Int(7, 0) +
         Bytes(8, "") + Entry(11, "app", "web");
}

TEST(ProtobufTest, DecodesAConfigMapWithBinaryData) {
  auto r = DecodeKubernetesProtobuf(Envelope("v1", "ConfigMap", Bytes(1, Meta("cm")) + Entry(2, "a", "b") +
                                                                   Entry(3, "bin", std::string("\0\xff", 2))), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "cm", "labels": {"app": "web"}}, "data": {"a": "b"},
      "binaryData": {"bin": ")" + Base64Encode(std::string("\0\xff", 2)) + R"("}})"));
}

TEST(ProtobufTest, AZeroInAPointerFieldIsKeptAndElsewhereIsAbsent) {
  const std::string container = Bytes(1, "web") + Bytes(2, "nginx:1") + Bytes(5, "") + Int(16, 0);
  const std::string pod = Bytes(2, container) + Bytes(3, "") + Int(11, 0);
  const std::string spec = Int(1, 0) + Bytes(3, Bytes(1, Meta("")) + Bytes(2, pod)) + Int(5, 0) + Int(7, 0);
  auto r = DecodeKubernetesProtobuf(Envelope("apps/v1", "Deployment", Bytes(1, Meta("d")) + Bytes(2, spec) + Bytes(3, Int(2, 5))), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["spec"]["replicas"], 0);  // *int32: sent because it was set
  EXPECT_FALSE((*r)["spec"].contains("paused"));
  EXPECT_FALSE((*r)["spec"]["template"]["metadata"].contains("name"));
  EXPECT_EQ((*r)["spec"]["template"]["spec"]["containers"], json::parse(R"([{"name": "web", "image": "nginx:1"}])"));
  EXPECT_EQ((*r)["status"], json::object());  // status is the server's: its fields are skipped
  // ... on a create only: in an update (a status update) they would be lost.
  auto update = DecodeKubernetesProtobuf(
      Envelope("apps/v1", "Deployment", Bytes(1, Meta("d")) + Bytes(2, spec) + Bytes(3, Int(2, 5))), false);
  EXPECT_TRUE(update.status().Is(Code::kFailedPrecondition)) << update.status().ToString();
}

TEST(ProtobufTest, RefusesWhatItCannotDecodeFaithfully) {
  auto unknown_field = DecodeKubernetesProtobuf(Envelope("v1", "ConfigMap", Bytes(1, Meta("cm")) + Int(99, 1)), true);
  EXPECT_TRUE(unknown_field.status().Is(Code::kFailedPrecondition)) << unknown_field.status().ToString();
  auto unknown_kind = DecodeKubernetesProtobuf(Envelope("batch/v1", "Job", Bytes(1, Meta("j"))), true);
  EXPECT_TRUE(unknown_kind.status().Is(Code::kFailedPrecondition));
  EXPECT_TRUE(DecodeKubernetesProtobuf("{\"kind\": \"ConfigMap\"}", true).status().Is(Code::kInvalidArgument));
  std::string truncated = Envelope("v1", "ConfigMap", Bytes(1, Meta("cm")));
  truncated.pop_back();
  EXPECT_TRUE(DecodeKubernetesProtobuf(truncated, true).status().Is(Code::kInvalidArgument));
  const std::string wrong_wire = Envelope("v1", "ConfigMap", Int(1, 5));
  EXPECT_TRUE(DecodeKubernetesProtobuf(wrong_wire, true).status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace cstor::apiserver
