// Tests for YAML <-> JSON: YAML 1.2 core-schema typing of plain scalars, multi-document
// streams, errors, and ToYaml output that reads back as the same JSON.
#include "api/yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cstor::api {
namespace {

using nlohmann::json;

// The value of `v` in the one-document YAML "v: <scalar>".
json ScalarValue(const std::string& scalar) {
  auto doc = ParseYaml("v: " + scalar + "\n");
  EXPECT_TRUE(doc.ok()) << scalar << ": " << doc.status().ToString();
  return doc.ok() ? (*doc)["v"] : json("<error>");
}

TEST(YamlTest, PlainScalarsFollowTheCoreSchema) {
  EXPECT_EQ(ScalarValue("true"), json(true));
  EXPECT_EQ(ScalarValue("True"), json(true));
  EXPECT_EQ(ScalarValue("TRUE"), json(true));
  EXPECT_EQ(ScalarValue("false"), json(false));
  EXPECT_EQ(ScalarValue("False"), json(false));
  EXPECT_TRUE(ScalarValue("null").is_null());
  EXPECT_TRUE(ScalarValue("Null").is_null());
  EXPECT_TRUE(ScalarValue("~").is_null());
  EXPECT_TRUE(ScalarValue("").is_null());
  EXPECT_EQ(ScalarValue("0"), json(0));
  EXPECT_EQ(ScalarValue("42"), json(42));
  EXPECT_EQ(ScalarValue("-17"), json(-17));
  EXPECT_EQ(ScalarValue("+5"), json(5));
  EXPECT_EQ(ScalarValue("9223372036854775807"), json(INT64_MAX));
  EXPECT_EQ(ScalarValue("0x1F"), json(31));
  EXPECT_EQ(ScalarValue("0xff"), json(255));
  EXPECT_EQ(ScalarValue("1.5"), json(1.5));
  EXPECT_EQ(ScalarValue("-0.25"), json(-0.25));
  EXPECT_EQ(ScalarValue(".5"), json(0.5));
  EXPECT_EQ(ScalarValue("1e3"), json(1000.0));
  EXPECT_EQ(ScalarValue("2.5E-1"), json(0.25));
  EXPECT_TRUE(ScalarValue("42").is_number_integer());
  EXPECT_TRUE(ScalarValue("1e3").is_number_float());
}

TEST(YamlTest, YamlOneOneBooleansAndOddNumbersStayStrings) {
  for (const char* s : {"yes", "no", "on", "off", "y", "n", "tRue", "nul", "1_000", "0o17",
                        "0b101", "1.2.3", "10Gi", "0x", "0xg", "1e", "e3", "v1"}) {
    EXPECT_EQ(ScalarValue(s), json(s)) << s;
  }
}

TEST(YamlTest, QuotedAndBlockScalarsStayStrings) {
  EXPECT_EQ(ScalarValue("\"123\""), json("123"));
  EXPECT_EQ(ScalarValue("'123'"), json("123"));
  EXPECT_EQ(ScalarValue("\"true\""), json("true"));
  EXPECT_EQ(ScalarValue("'false'"), json("false"));
  EXPECT_EQ(ScalarValue("\"null\""), json("null"));
  EXPECT_EQ(ScalarValue("'~'"), json("~"));
  EXPECT_EQ(ScalarValue("\"\""), json(""));
  EXPECT_EQ(ScalarValue("\"0x1F\""), json("0x1F"));
  EXPECT_EQ(ScalarValue("\"1.5\""), json("1.5"));
  auto doc = ParseYaml("v: |\n  42\nw: >\n  true\n");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["v"], json("42\n"));
  EXPECT_EQ((*doc)["w"], json("true\n"));
}

TEST(YamlTest, IntegersOutsideInt64StayText) {
  EXPECT_EQ(ScalarValue("99999999999999999999"), json("99999999999999999999"));
}

// Regression test (a bug found and fixed): PlainScalar calls std::stoull / std::stod, which throw
// std::out_of_range for hex beyond 64 bits and for floats beyond double's range; the
// exception escapes ParseYamlDocuments (it only catches YAML::Exception) and ToYaml.
// Inputs: "v: 0x1FFFFFFFFFFFFFFFF", "v: 1e999", "v: 1e-400", and ToYaml(json("1e999")).
// Expected: no exception (the scalar kept as text, like the out-of-range decimal case, or an
// InvalidArgument status). Before the fix: std::out_of_range thrown.
TEST(YamlTest, OutOfRangeNumbersDoNotThrow) {
  for (const char* s : {"0x1FFFFFFFFFFFFFFFF", "1e999", "1e-400"}) {
    EXPECT_NO_THROW((void)ParseYaml(std::string("v: ") + s)) << s;
  }
  EXPECT_NO_THROW((void)ToYaml(json("1e999")));
}

// Regression test (a bug found and fixed): hex scalars above INT64_MAX wrap to negative numbers.
// Input: "v: 0xFFFFFFFFFFFFFFFF". Expected: 18446744073709551615 (or the text kept, as for
// decimals beyond int64). Before the fix: -1.
TEST(YamlTest, LargeHexDoesNotWrapNegative) {
  json v = ScalarValue("0xFFFFFFFFFFFFFFFF");
  EXPECT_NE(v, json(-1));
  EXPECT_TRUE(v == json(UINT64_MAX) || v == json("0xFFFFFFFFFFFFFFFF")) << v.dump();
}

TEST(YamlTest, NestedStructures) {
  auto doc = ParseYaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, "tier": db}
spec:
  containers:
    - name: c
      ports: [80, "443"]
      env:
        - {name: A, value: "1"}
  empty_map: {}
  empty_list: []
  nothing:
)");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(*doc, json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web", "tier": "db"}},
    "spec": {"containers": [{"name": "c", "ports": [80, "443"], "env": [{"name": "A", "value": "1"}]}],
             "empty_map": {}, "empty_list": [], "nothing": null}})"));
}

TEST(YamlTest, KeysAreAlwaysStrings) {
  auto doc = ParseYaml("1: a\ntrue: b\n\"x\": c\n");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(*doc, json({{"1", "a"}, {"true", "b"}, {"x", "c"}}));
}

TEST(YamlTest, MultiDocumentStreamsSkipEmptyDocuments) {
  auto docs = ParseYamlDocuments(R"(---
# only a comment
---
a: 1
---
---
- x
- y
...
---
b: "2"
---
)");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0], json({{"a", 1}}));
  EXPECT_EQ((*docs)[1], json({"x", "y"}));
  EXPECT_EQ((*docs)[2], json({{"b", "2"}}));

  auto none = ParseYamlDocuments("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto comments = ParseYamlDocuments("# nothing\n---\n");
  ASSERT_TRUE(comments.ok());
  EXPECT_TRUE(comments->empty());
}

TEST(YamlTest, ParseYamlWantsExactlyOneDocument) {
  EXPECT_TRUE(ParseYaml("a: 1\n---\nb: 2\n").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(ParseYaml("").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(ParseYaml("---\n---\n").status().Is(Code::kInvalidArgument));
  auto one = ParseYaml("---\na: 1\n---\n");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, json({{"a", 1}}));
  auto scalar = ParseYaml("hello");
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(*scalar, json("hello"));
}

TEST(YamlTest, MalformedYamlIsInvalidArgument) {
  // (yaml-cpp 0.7 itself accepts some broken input: an unterminated quoted scalar at the
  // end of the stream, and "- a\nb: c" as two documents; those are not tested here.)
  for (const char* bad : {"a: [1, 2", "a: {b: 1", "a: b: c\n", "v: -\n", "a:\n  - x\n y: 1\n",
                          "[1, 2]]", "a: *nosuchanchor\n", "? [a, b]\n: c\n", "\"a\" x: 1\n"}) {
    auto doc = ParseYamlDocuments(bad);
    EXPECT_FALSE(doc.ok()) << "accepted: " << bad;
    if (!doc.ok()) {
      EXPECT_TRUE(doc.status().Is(Code::kInvalidArgument)) << bad;
    }
  }
}

// ToYaml's output read back with ParseYaml.
json RoundTrip(const json& value) {
  std::string yaml = ToYaml(value);
  auto back = ParseYaml(yaml);
  EXPECT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  return back.ok() ? *back : json("<error>");
}

TEST(YamlTest, ToYamlRoundTripsStringsThatLookLikeOtherTypes) {
  for (const char* s : {"123", "-4", "+5", "0x1F", "1.5", ".5", "1e3", "true", "True", "FALSE",
                        "null", "Null", "~", "", "yes", "no", "on", "0o17", "1_000", " padded ",
                        "a: b", "- item", "#comment", "x #y", "[1]", "{a}", "*alias", "&anchor",
                        "!tag", "%x", "@x", "`x", "'single'", "\"double\"", "multi\nline\n",
                        "tab\there", "back\\slash", "ünïcode ✓", "ends with colon:", "?", ":",
                        "-", "---", "..."}) {
    const json doc = {{"s", s}, {"list", {s}}};
    EXPECT_EQ(RoundTrip(doc), doc) << "string: \"" << s << "\"\n" << ToYaml(doc);
  }
}

TEST(YamlTest, ToYamlRoundTripsScalarsAndStructures) {
  const json doc = json::parse(R"({
    "apiVersion": "v1", "kind": "Config",
    "ints": [0, 1, -1, 9223372036854775807, -9223372036854775808],
    "floats": [0.5, -2.25, 1e300, 1.0],
    "bools": [true, false],
    "nothing": null,
    "empty_map": {}, "empty_list": [], "empty_string": "",
    "nested": {"a": {"b": {"c": [{}, [], [[]], {"d": {}}]}}},
    "list_of_maps": [{"name": "a", "value": "1"}, {"name": "b", "value": 2}],
    "keys": {"123": 1, "true": 2, "null": 3, "": 4, "a b": 5, "a: b": 6, "-x": 7}
  })");
  EXPECT_EQ(RoundTrip(doc), doc) << ToYaml(doc);
  EXPECT_TRUE(RoundTrip(doc)["ints"][1].is_number_integer());
  EXPECT_TRUE(RoundTrip(doc)["floats"][3].is_number_float());
}

TEST(YamlTest, ToYamlWritesBlockStyle) {
  std::string yaml = ToYaml({{"clusters", {{{"name", "local"}, {"server", "https://127.0.0.1:6443"}}}}});
  EXPECT_THAT(yaml, ::testing::HasSubstr("clusters:\n"));
  EXPECT_THAT(yaml, ::testing::HasSubstr("name: local"));
  EXPECT_THAT(yaml, ::testing::HasSubstr("server: https://127.0.0.1:6443"));
  EXPECT_EQ(yaml.back(), '\n');
}

}  // namespace
}  // namespace cstor::api
