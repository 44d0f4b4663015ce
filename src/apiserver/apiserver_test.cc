// Tests for the API server's building blocks: CRD schema validation and pruning,
// selectors, name rules, JSONPath and table helpers, credentials. The Store has store_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apiserver/registry.h"
#include "apiserver/schema.h"
#include "apiserver/selector.h"
#include "apiserver/store.h"
#include "apiserver/table.h"
#include "apiserver/tls.h"
#include "apiserver/validation.h"

namespace cstor::apiserver {

// So that failed expectations on errors show them, not their bytes.
void PrintTo(const FieldError& e, std::ostream* os) { *os << e.reason << " " << e.message; }

namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// ---- Schema validation -------------------------------------------------------------------

// Shaped like a cStor pool cluster: a bit of every schema feature the validator knows.
const json& PoolSchema() {
  static const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "apiVersion": {"type": "string"}, "kind": {"type": "string"},
      "metadata": {"type": "object"},
      "spec": {"type": "object", "required": ["pools"], "properties": {
        "replicas": {"type": "integer", "minimum": 1, "maximum": 5, "default": 3},
        "name": {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[a-z]+$"},
        "digits": {"type": "string", "pattern": "[0-9]"},
        "mode": {"type": "string", "enum": ["thin", "thick"]},
        "ratio": {"type": "number", "minimum": 0.5},
        "enabled": {"type": "boolean"},
        "port": {"x-kubernetes-int-or-string": true},
        "note": {"type": "string", "nullable": true},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "tags": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string"}},
        "pools": {"type": "array", "items": {
          "type": "object", "required": ["nodeSelector"], "properties": {
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
            "raid": {"type": "string", "enum": ["stripe", "mirror"], "default": "stripe"},
            "policy": {"type": "object", "default": {}, "properties": {
              "compression": {"type": "string", "default": "lz4"},
              "threshold": {"type": "integer", "maximum": 100, "default": 80}}}}}}}},
      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})");
  return schema;
}

// A valid pool cluster with every default already present.
json ValidPool() {
  return json::parse(R"({
    "apiVersion": "cstor.openebs.io/v1", "kind": "CStorPoolCluster",
    "metadata": {"name": "cspc", "labels": {"a": "b"}},
    "spec": {"replicas": 3, "pools": [{"nodeSelector": {"host": "n1"}, "raid": "stripe",
             "policy": {"compression": "lz4", "threshold": 80}}]}})");
}

// Validates `spec` (merged into a valid object) and returns the result.
SchemaResult CheckSpec(const json& spec_patch, json* out = nullptr) {
  json obj = ValidPool();
  obj["spec"].merge_patch(spec_patch);
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  if (out != nullptr) *out = obj;
  return r;
}

std::vector<std::string> ErrorFields(const SchemaResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.field);
  return out;
}

std::vector<std::string> ErrorReasons(const SchemaResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.errors) out.push_back(e.reason);
  return out;
}

TEST(SchemaTest, ValidObjectIsUnchanged) {
  json obj = ValidPool();
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(obj, ValidPool());
}

TEST(SchemaTest, TypeMismatchesAreReportedWithTheirPaths) {
  SchemaResult r = CheckSpec({{"replicas", "3"}, {"enabled", "yes"}, {"ratio", "x"},
                              {"tags", "a"}, {"name", 7}, {"labels", {{"k", 1}}}});
  EXPECT_THAT(ErrorFields(r), UnorderedElementsAre("spec.replicas", "spec.enabled", "spec.ratio",
                                                   "spec.tags", "spec.name", "spec.labels.k"));
  for (const auto& e : r.errors) EXPECT_EQ(e.reason, "FieldValueTypeInvalid") << e.message;
  EXPECT_THAT(r.errors[0].message, HasSubstr(r.errors[0].field + ": Invalid value"));
}

TEST(SchemaTest, IntegerAndNumberTypes) {
  EXPECT_THAT(CheckSpec({{"replicas", 2.5}}).errors, ::testing::SizeIs(1));
  EXPECT_THAT(CheckSpec({{"ratio", 2}}).errors, IsEmpty());    // an integer is a number
  EXPECT_THAT(CheckSpec({{"ratio", 2.5}}).errors, IsEmpty());
  EXPECT_THAT(CheckSpec({{"enabled", false}}).errors, IsEmpty());
}

TEST(SchemaTest, WrongTypeOfAContainerStopsDescent) {
  SchemaResult r = CheckSpec({{"pools", {{"not", "an array"}}}});
  EXPECT_THAT(ErrorFields(r), ElementsAre("spec.pools"));
  EXPECT_THAT(r.unknown_fields, IsEmpty());
}

TEST(SchemaTest, RequiredFieldsAtEveryDepth) {
  json obj = ValidPool();
  obj["spec"].erase("pools");
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  ASSERT_THAT(ErrorFields(r), ElementsAre("spec.pools"));
  EXPECT_EQ(r.errors[0].reason, "FieldValueRequired");

  r = CheckSpec(json::parse(R"({"pools": [{"raid": "mirror"}, {"nodeSelector": {}}, {}]})"));
  EXPECT_THAT(ErrorFields(r),
              ElementsAre("spec.pools[0].nodeSelector", "spec.pools[2].nodeSelector"));
  EXPECT_EQ(r.errors[0].message, "spec.pools[0].nodeSelector: Required value");
}

TEST(SchemaTest, EnumRejectsOtherValuesAndListsTheSupportedOnes) {
  EXPECT_THAT(CheckSpec({{"mode", "thick"}}).errors, IsEmpty());
  SchemaResult r = CheckSpec({{"mode", "thinn"}});
  ASSERT_THAT(ErrorFields(r), ElementsAre("spec.mode"));
  EXPECT_EQ(r.errors[0].reason, "FieldValueNotSupported");
  EXPECT_THAT(r.errors[0].message, HasSubstr("\"thin\", \"thick\""));
  // Enum values compare by JSON value, so 1 is not "1".
  json schema = {{"type", "object"}, {"properties", {{"x", {{"enum", {1, 2}}}}}}};
  json obj = {{"x", "1"}};
  EXPECT_THAT(ErrorReasons(ValidateAndPrune(schema, obj)), ElementsAre("FieldValueNotSupported"));
}

TEST(SchemaTest, MinimumAndMaximumAreInclusive) {
  EXPECT_THAT(CheckSpec({{"replicas", 1}}).errors, IsEmpty());
  EXPECT_THAT(CheckSpec({{"replicas", 5}}).errors, IsEmpty());
  EXPECT_THAT(ErrorFields(CheckSpec({{"replicas", 0}})), ElementsAre("spec.replicas"));
  EXPECT_THAT(ErrorFields(CheckSpec({{"replicas", 6}})), ElementsAre("spec.replicas"));
  EXPECT_THAT(ErrorFields(CheckSpec({{"ratio", 0.4}})), ElementsAre("spec.ratio"));
  EXPECT_THAT(CheckSpec({{"ratio", 0.5}}).errors, IsEmpty());
  EXPECT_THAT(ErrorReasons(CheckSpec({{"replicas", -7}})), ElementsAre("FieldValueInvalid"));
}

TEST(SchemaTest, StringLengthsAndPatterns) {
  EXPECT_THAT(CheckSpec({{"name", "ab"}}).errors, IsEmpty());
  EXPECT_THAT(CheckSpec({{"name", "abcdefgh"}}).errors, IsEmpty());
  EXPECT_THAT(ErrorReasons(CheckSpec({{"name", "a"}})), ElementsAre("FieldValueInvalid"));
  EXPECT_THAT(ErrorReasons(CheckSpec({{"name", "abcdefghi"}})), ElementsAre("FieldValueTooLong"));
  SchemaResult r = CheckSpec({{"name", "ab1"}});
  ASSERT_THAT(ErrorFields(r), ElementsAre("spec.name"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("should match '^[a-z]+$'"));
  // An unanchored pattern matches anywhere, as in OpenAPI (and Go's regexp.MatchString).
  EXPECT_THAT(CheckSpec({{"digits", "ab1cd"}}).errors, IsEmpty());
  EXPECT_THAT(ErrorFields(CheckSpec({{"digits", "abcd"}})), ElementsAre("spec.digits"));
}

// Regression test (a bug found and fixed): minLength/maxLength count bytes, not characters.
// OpenAPI and Kubernetes (go-openapi, utf8.RuneCountInString) count Unicode characters:
// "éé" is 2 characters (4 bytes in UTF-8). Input: maxLength 3, value "éé".
// Expected: no error. Before the fix: FieldValueTooLong.
TEST(SchemaTest, StringLengthsCountCharactersNotBytes) {
  json schema = {{"type", "object"},
                 {"properties", {{"s", {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}}}}}};
  json obj = {{"s", "\xc3\xa9\xc3\xa9"}};  // "éé"
  EXPECT_THAT(ValidateAndPrune(schema, obj).errors, IsEmpty());
}

TEST(SchemaTest, ArrayItemCountsAndItemSchemas) {
  EXPECT_THAT(CheckSpec({{"tags", {"a"}}}).errors, IsEmpty());
  EXPECT_THAT(CheckSpec({{"tags", {"a", "b", "c"}}}).errors, IsEmpty());
  EXPECT_THAT(ErrorReasons(CheckSpec({{"tags", json::array()}})), ElementsAre("FieldValueInvalid"));
  EXPECT_THAT(ErrorReasons(CheckSpec({{"tags", {"a", "b", "c", "d"}}})),
              ElementsAre("FieldValueTooMany"));
  EXPECT_THAT(ErrorFields(CheckSpec({{"tags", {"a", 2, "c"}}})), ElementsAre("spec.tags[1]"));
  SchemaResult r = CheckSpec({{"pools", {{{"nodeSelector", {{"host", 5}}}}}}});
  EXPECT_THAT(ErrorFields(r), ElementsAre("spec.pools[0].nodeSelector.host"));
}

TEST(SchemaTest, NullableFieldKeepsNull) {
  json out;
  EXPECT_THAT(CheckSpec({{"note", "x"}}).errors, IsEmpty());
  json obj = ValidPool();
  obj["spec"]["note"] = nullptr;
  EXPECT_THAT(ValidateAndPrune(PoolSchema(), obj).errors, IsEmpty());
  EXPECT_TRUE(obj["spec"].contains("note"));
  EXPECT_TRUE(obj["spec"]["note"].is_null());
}

// Regression test (a bug found and fixed): a null in a non-nullable field is an error here, but
// Kubernetes (apiextensions defaulting: PruneNonNullableNullsWithoutDefaults, then Default)
// replaces it with the field's default, or drops the field when it has none.
// Input: spec {"replicas": null, "name": null, ...}. Expected: replicas == 3, "name" removed,
// no errors. Before the fix: two FieldValueTypeInvalid errors "must not be null", nulls kept.
TEST(SchemaTest, NonNullableNullIsDefaultedOrDropped) {
  json obj = ValidPool();
  obj["spec"]["replicas"] = nullptr;
  obj["spec"]["name"] = nullptr;
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_EQ(obj["spec"]["replicas"], 3);
  EXPECT_FALSE(obj["spec"].contains("name"));
}

TEST(SchemaTest, IntOrString) {
  EXPECT_THAT(CheckSpec({{"port", 80}}).errors, IsEmpty());
  EXPECT_THAT(CheckSpec({{"port", "http"}}).errors, IsEmpty());
  EXPECT_THAT(ErrorReasons(CheckSpec({{"port", 1.5}})), ElementsAre("FieldValueTypeInvalid"));
  EXPECT_THAT(ErrorFields(CheckSpec({{"port", true}})), ElementsAre("spec.port"));
  EXPECT_THAT(ErrorFields(CheckSpec({{"port", {{"a", 1}}}})), ElementsAre("spec.port"));
}

TEST(SchemaTest, PreserveUnknownFieldsKeepsWholeSubtrees) {
  json out;
  json extra = {{"anything", {{"deep", {1, {{"x", nullptr}}}}}}, {"n", 1}};
  SchemaResult r = CheckSpec({{"extra", extra}}, &out);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(out["spec"]["extra"], extra);

  json obj = ValidPool();
  obj["status"] = {{"phase", "Online"}, {"capacity", {{"free", "10Gi"}}}};
  r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(obj["status"]["capacity"]["free"], "10Gi");
}

TEST(SchemaTest, AdditionalPropertiesMaps) {
  json out;
  SchemaResult r = CheckSpec({{"labels", {{"a", "1"}, {"b.c/d", "2"}}}}, &out);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(out["spec"]["labels"].size(), 2u);

  // additionalProperties: true keeps everything; properties still validate their fields.
  json schema = json::parse(R"({"type": "object", "additionalProperties": true,
                                "properties": {"n": {"type": "integer"}}})");
  json obj = {{"n", "x"}, {"free", {{"form", 1}}}};
  r = ValidateAndPrune(schema, obj);
  EXPECT_THAT(ErrorFields(r), ElementsAre("n"));
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_TRUE(obj.contains("free"));
}

TEST(SchemaTest, DefaultsAreAppliedAlsoInsideDefaultedObjects) {
  json obj = ValidPool();
  obj["spec"].erase("replicas");
  obj["spec"]["pools"] = {{{"nodeSelector", {{"h", "n1"}}}},
                          {{"nodeSelector", {{"h", "n2"}}}, {"raid", "mirror"},
                           {"policy", {{"threshold", 50}}}}};
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_EQ(obj["spec"]["replicas"], 3);
  const json& p0 = obj["spec"]["pools"][0];
  EXPECT_EQ(p0["raid"], "stripe");
  EXPECT_EQ(p0["policy"], json({{"compression", "lz4"}, {"threshold", 80}}));
  const json& p1 = obj["spec"]["pools"][1];  // explicit values win over defaults
  EXPECT_EQ(p1["raid"], "mirror");
  EXPECT_EQ(p1["policy"], json({{"compression", "lz4"}, {"threshold", 50}}));
}

TEST(SchemaTest, DefaultsDoNotCreateAbsentParents) {
  // "spec" has no default, so defaults below it are not applied when it is absent.
  json schema = json::parse(R"({"type": "object", "properties": {"spec": {"type": "object",
      "properties": {"x": {"type": "integer", "default": 1}}}}})");
  json obj = json::object();
  EXPECT_THAT(ValidateAndPrune(schema, obj).errors, IsEmpty());
  EXPECT_EQ(obj, json::object());
}

TEST(SchemaTest, DefaultedValuesAreValidated) {
  json schema = json::parse(R"({"type": "object", "properties": {
      "x": {"type": "integer", "maximum": 5, "default": 10},
      "y": {"type": "string", "enum": ["a"], "default": "b"}}})");
  json obj = json::object();
  SchemaResult r = ValidateAndPrune(schema, obj);
  EXPECT_THAT(ErrorFields(r), UnorderedElementsAre("x", "y"));
  EXPECT_EQ(obj["x"], 10);
}

TEST(SchemaTest, DefaultSatisfiesRequired) {
  json schema = json::parse(R"({"type": "object", "required": ["x"],
      "properties": {"x": {"type": "integer", "default": 1}}})");
  json obj = json::object();
  EXPECT_THAT(ValidateAndPrune(schema, obj).errors, IsEmpty());
  EXPECT_EQ(obj["x"], 1);
}

TEST(SchemaTest, UnknownFieldsArePrunedAndReportedWithPaths) {
  json obj = ValidPool();
  obj["junk"] = 1;
  obj["spec"]["foo"] = {{"bar", 1}};
  obj["spec"]["pools"][0]["bogus"] = true;
  obj["spec"]["pools"][0]["policy"]["zzz"] = "x";
  obj["spec"]["tags"] = {"a"};
  SchemaResult r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields,
              UnorderedElementsAre("junk", "spec.foo", "spec.pools[0].bogus",
                                   "spec.pools[0].policy.zzz"));
  EXPECT_FALSE(obj.contains("junk"));
  EXPECT_FALSE(obj["spec"].contains("foo"));
  EXPECT_FALSE(obj["spec"]["pools"][0].contains("bogus"));
  EXPECT_FALSE(obj["spec"]["pools"][0]["policy"].contains("zzz"));
  obj["spec"].erase("tags");
  EXPECT_EQ(obj, ValidPool());
}

TEST(SchemaTest, ObjectWithoutPropertiesPrunesEverything) {
  json schema = json::parse(R"({"type": "object", "properties": {"o": {"type": "object"}}})");
  json obj = {{"o", {{"a", 1}, {"b", {{"c", 2}}}}}};
  SchemaResult r = ValidateAndPrune(schema, obj);
  EXPECT_THAT(r.unknown_fields, UnorderedElementsAre("o.a", "o.b"));
  EXPECT_EQ(obj, json({{"o", json::object()}}));
}

TEST(SchemaTest, MetadataApiVersionAndKindAreLeftAlone) {
  // A schema that does not mention them at all...
  json schema = json::parse(R"({"type": "object", "properties": {"spec": {"type": "object"}}})");
  json obj = {{"apiVersion", "x/v1"}, {"kind", "X"},
              {"metadata", {{"name", "a"}, {"labels", {{"k", "v"}}}, {"weird", 1}}},
              {"spec", json::object()}};
  const json before = obj;
  SchemaResult r = ValidateAndPrune(schema, obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(obj, before);

  // ...and one that declares them with types and no properties (as CRDs usually do):
  // metadata's fields are not pruned, and a mismatching apiVersion type is not reported.
  obj = ValidPool();
  obj["metadata"]["annotations"] = {{"x", "y"}};
  obj["metadata"]["finalizers"] = {"f"};
  obj["apiVersion"] = 1;
  const json before2 = obj;
  r = ValidateAndPrune(PoolSchema(), obj);
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.unknown_fields, IsEmpty());
  EXPECT_EQ(obj, before2);
}

TEST(SchemaTest, NestedMetadataIsNotSpecial) {
  // Only the top level's metadata is the server's; spec.metadata follows the schema.
  json schema = json::parse(R"({"type": "object", "properties": {"spec": {"type": "object",
      "properties": {"metadata": {"type": "object"}}}}})");
  json obj = {{"spec", {{"metadata", {{"x", 1}}}, {"kind", "k"}}}};
  SchemaResult r = ValidateAndPrune(schema, obj);
  EXPECT_THAT(r.unknown_fields, UnorderedElementsAre("spec.metadata.x", "spec.kind"));
}

TEST(SchemaTest, EveryErrorIsReported) {
  SchemaResult r = CheckSpec({{"replicas", 9}, {"mode", "x"}, {"name", "A"}, {"tags", json::array()},
                              {"pools", {json::object()}}});
  EXPECT_THAT(ErrorFields(r),
              UnorderedElementsAre("spec.replicas", "spec.mode", "spec.name", "spec.name",
                                   "spec.tags", "spec.pools[0].nodeSelector"));
}

// ---- Label and field selectors ----------------------------------------------------------

LabelSelector MustParseLabels(std::string_view text) {
  auto sel = LabelSelector::Parse(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status().ToString();
  return sel.ok() ? *sel : LabelSelector();
}

bool LabelsMatch(std::string_view selector, const json& labels) {
  return MustParseLabels(selector).Matches(labels);
}

TEST(LabelSelectorTest, EmptySelectorMatchesEverything) {
  LabelSelector sel = MustParseLabels("");
  EXPECT_TRUE(sel.empty());
  EXPECT_TRUE(sel.Matches(json::object()));
  EXPECT_TRUE(sel.Matches(nullptr));
  EXPECT_TRUE(sel.Matches({{"a", "b"}}));
  EXPECT_TRUE(MustParseLabels("   ").empty());
}

TEST(LabelSelectorTest, Equality) {
  const json labels = {{"app", "cstor"}, {"tier", "db"}};
  EXPECT_TRUE(LabelsMatch("app=cstor", labels));
  EXPECT_TRUE(LabelsMatch("app==cstor", labels));
  EXPECT_FALSE(LabelsMatch("app=other", labels));
  EXPECT_FALSE(LabelsMatch("app==other", labels));
  EXPECT_FALSE(LabelsMatch("app!=cstor", labels));
  EXPECT_TRUE(LabelsMatch("app!=other", labels));
  EXPECT_TRUE(LabelsMatch("missing!=x", labels));  // != matches an absent label
  EXPECT_FALSE(LabelsMatch("missing=x", labels));
  EXPECT_FALSE(LabelsMatch("app=cstor", nullptr));
  EXPECT_TRUE(LabelsMatch("e=", {{"e", ""}}));
  EXPECT_FALSE(LabelsMatch("e=", json::object()));
}

TEST(LabelSelectorTest, SetBased) {
  const json labels = {{"app", "cstor"}, {"tier", "db"}};
  EXPECT_TRUE(LabelsMatch("tier in (web,db)", labels));
  EXPECT_FALSE(LabelsMatch("tier in (web,cache)", labels));
  EXPECT_FALSE(LabelsMatch("tier notin (web,db)", labels));
  EXPECT_TRUE(LabelsMatch("tier notin (web,cache)", labels));
  EXPECT_TRUE(LabelsMatch("missing notin (a)", labels));  // notin matches an absent label
  EXPECT_FALSE(LabelsMatch("missing in (a)", labels));
  EXPECT_TRUE(LabelsMatch("tier in (db)", labels));
}

TEST(LabelSelectorTest, ExistsAndNotExists) {
  const json labels = {{"app", "cstor"}, {"empty", ""}};
  EXPECT_TRUE(LabelsMatch("app", labels));
  EXPECT_TRUE(LabelsMatch("empty", labels));
  EXPECT_FALSE(LabelsMatch("missing", labels));
  EXPECT_TRUE(LabelsMatch("!missing", labels));
  EXPECT_FALSE(LabelsMatch("!app", labels));
  EXPECT_TRUE(LabelsMatch("!app", nullptr));
}

TEST(LabelSelectorTest, RequirementsAreAnded) {
  const json labels = {{"app", "cstor"}, {"tier", "db"}, {"openebs.io/pool", "p1"}};
  EXPECT_TRUE(LabelsMatch("app=cstor,tier in (db,web),!legacy,openebs.io/pool", labels));
  EXPECT_FALSE(LabelsMatch("app=cstor,tier in (web),!legacy", labels));
  EXPECT_FALSE(LabelsMatch("app=cstor,tier", {{"app", "cstor"}}));
  EXPECT_TRUE(LabelsMatch("openebs.io/pool=p1", labels));
}

TEST(LabelSelectorTest, WhitespaceIsIgnored) {
  const json labels = {{"app", "cstor"}, {"tier", "db"}};
  EXPECT_TRUE(LabelsMatch("  app = cstor ,  tier  in  ( web , db ) , ! legacy , tier ", labels));
  EXPECT_TRUE(LabelsMatch("app == cstor, tier != web", labels));
  EXPECT_FALSE(LabelsMatch(" app = cstor , tier notin ( db ) ", labels));
}

TEST(LabelSelectorTest, MalformedSelectorsAreRejected) {
  for (const char* bad : {",", "a=b,", ",a=b", "a=b,,c=d", "a in b", "a in (b", "a in (b,c",
                          "a notin b)", "=b", "==b", "!=b", "!", "a=b=c", "a b", "a in (b c)"}) {
    auto sel = LabelSelector::Parse(bad);
    EXPECT_FALSE(sel.ok()) << "accepted: \"" << bad << "\"";
    if (!sel.ok()) {
      EXPECT_TRUE(sel.status().Is(Code::kInvalidArgument)) << bad;
    }
  }
}

TEST(LabelSelectorTest, InvalidKeysAndValuesAreRejected) {
  const std::string long63(63, 'a');
  const std::string long64(64, 'a');
  EXPECT_TRUE(LabelSelector::Parse(long63 + "=" + long63).ok());
  for (const std::string& bad : std::vector<std::string>{"-a=b", "a-=b", "a=-b", "a=b-", "a=b c", long64 + "=b", "a=" + long64, "Upper.io/x=y",
        "a/b/c=d", "/a=b", "a/=b", "a in (-x)", "_a", "!-a"}) {
    auto sel = LabelSelector::Parse(bad);
    EXPECT_FALSE(sel.ok()) << "accepted: \"" << bad << "\"";
    if (!sel.ok()) {
      EXPECT_TRUE(sel.status().Is(Code::kInvalidArgument)) << bad;
    }
  }
}

bool FieldsMatch(std::string_view selector, const json& object) {
  auto sel = FieldSelector::Parse(selector);
  EXPECT_TRUE(sel.ok()) << selector << ": " << sel.status().ToString();
  return sel.ok() && sel->Matches(object);
}

TEST(FieldSelectorTest, NestedPathsAndOperators) {
  const json obj = {{"metadata", {{"name", "vol1"}, {"namespace", "openebs"}}},
                    {"status", {{"phase", "Healthy"}}},
                    {"spec", {{"replicas", 3}, {"thin", true}, {"target", {{"ip", "10.0.0.1"}}}}}};
  EXPECT_TRUE(FieldsMatch("metadata.name=vol1", obj));
  EXPECT_TRUE(FieldsMatch("metadata.name==vol1", obj));
  EXPECT_FALSE(FieldsMatch("metadata.name=vol2", obj));
  EXPECT_TRUE(FieldsMatch("metadata.name!=vol2", obj));
  EXPECT_FALSE(FieldsMatch("metadata.name!=vol1", obj));
  EXPECT_TRUE(FieldsMatch("metadata.name=vol1,metadata.namespace=openebs", obj));
  EXPECT_FALSE(FieldsMatch("metadata.name=vol1,metadata.namespace=default", obj));
  EXPECT_TRUE(FieldsMatch(" spec.target.ip = 10.0.0.1 ", obj));
  // Non-string values compare as their JSON text.
  EXPECT_TRUE(FieldsMatch("spec.replicas=3", obj));
  EXPECT_TRUE(FieldsMatch("spec.thin=true", obj));
}

TEST(FieldSelectorTest, MissingFieldsCompareAsEmpty) {
  const json obj = {{"metadata", {{"name", "vol1"}}}, {"status", nullptr}};
  EXPECT_TRUE(FieldsMatch("status.phase=", obj));
  EXPECT_TRUE(FieldsMatch("status.phase!=Running", obj));
  EXPECT_FALSE(FieldsMatch("status.phase=Running", obj));
  EXPECT_FALSE(FieldsMatch("status.phase!=", obj));
  EXPECT_TRUE(FieldsMatch("metadata.name.deeper=", obj));  // through a string: missing
  EXPECT_TRUE(FieldsMatch("status=", obj));                // null is empty
}

TEST(FieldSelectorTest, EmptyAndMalformed) {
  auto sel = FieldSelector::Parse("");
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(sel->empty());
  EXPECT_TRUE(sel->Matches(json::object()));
  for (const char* bad : {"metadata.name", "=x", "a=b,", ",", "a=b,c"}) {
    auto s = FieldSelector::Parse(bad);
    EXPECT_FALSE(s.ok()) << "accepted: \"" << bad << "\"";
    if (!s.ok()) {
      EXPECT_TRUE(s.status().Is(Code::kInvalidArgument)) << bad;
    }
  }
}

// ---- Names and metadata -------------------------------------------------------------------

TEST(ValidationTest, DnsSubdomain) {
  for (const std::string& ok : {std::string("a"), std::string("vol-1"),
                                std::string("pvc-0a1b.openebs.io"), std::string("0"),
                                std::string(253, 'a'), std::string(63, 'a') + "." +
                                std::string(63, 'b')}) {
    EXPECT_TRUE(ValidateDnsSubdomain(ok).ok()) << ok;
  }
  for (const std::string& bad : {std::string(""), std::string(254, 'a'), std::string("Vol"),
                                 std::string("-a"), std::string("a-"), std::string(".a"),
                                 std::string("a."), std::string("a..b"), std::string("a_b"),
                                 std::string("a.-b"), std::string("a b")}) {
    Status s = ValidateDnsSubdomain(bad);
    EXPECT_TRUE(s.Is(Code::kInvalidArgument)) << "\"" << bad << "\"";
  }
}

TEST(ValidationTest, DnsLabel) {
  EXPECT_TRUE(ValidateDnsLabel("openebs").ok());
  EXPECT_TRUE(ValidateDnsLabel("a-1").ok());
  EXPECT_TRUE(ValidateDnsLabel(std::string(63, 'a')).ok());
  for (const std::string& bad : {std::string(""), std::string(64, 'a'), std::string("a.b"),
                                 std::string("Abc"), std::string("-a"), std::string("a-"),
                                 std::string("a_b")}) {
    EXPECT_TRUE(ValidateDnsLabel(bad).Is(Code::kInvalidArgument)) << "\"" << bad << "\"";
  }
}

TEST(ValidationTest, LabelKeysAndValues) {
  EXPECT_TRUE(ValidateLabelKey("app").ok());
  EXPECT_TRUE(ValidateLabelKey("openebs.io/pool-name").ok());
  EXPECT_TRUE(ValidateLabelKey("A_b.C-d").ok());
  EXPECT_TRUE(ValidateLabelKey(std::string(253, 'p') + "/" + std::string(63, 'n')).ok());
  for (const std::string& bad :
       {std::string(""), std::string("a/"), std::string("/a"), std::string("a/b/c"),
        std::string("UP.io/a"), std::string("-a"), std::string(64, 'n'),
        std::string(254, 'p') + "/n", std::string("a b")}) {
    EXPECT_FALSE(ValidateLabelKey(bad).ok()) << "\"" << bad << "\"";
  }
  EXPECT_TRUE(ValidateLabelValue("").ok());
  EXPECT_TRUE(ValidateLabelValue("V1.2_x-y").ok());
  EXPECT_TRUE(ValidateLabelValue(std::string(63, 'v')).ok());
  for (const std::string& bad : {std::string(64, 'v'), std::string("-v"), std::string("v."),
                                 std::string("a/b"), std::string("a b")}) {
    EXPECT_FALSE(ValidateLabelValue(bad).ok()) << "\"" << bad << "\"";
  }
}

TEST(ValidationTest, ObjectMeta) {
  EXPECT_THAT(ValidateObjectMeta({{"name", "pvc-1.x"}}, false), IsEmpty());
  auto fields = [](const std::vector<FieldError>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.field);
    return out;
  };
  EXPECT_THAT(fields(ValidateObjectMeta(json::object(), false)), ElementsAre("metadata.name"));
  EXPECT_EQ(ValidateObjectMeta(json::object(), false)[0].reason, "FieldValueRequired");
  EXPECT_THAT(fields(ValidateObjectMeta({{"name", "Vol"}}, false)), ElementsAre("metadata.name"));
  EXPECT_THAT(fields(ValidateObjectMeta({{"name", "a.b"}}, true)), ElementsAre("metadata.name"));
  json meta = {{"name", "a"},
               {"labels", {{"ok", "v"}, {"-bad", "v"}, {"k", 1}, {"k2", "-v"}}},
               {"annotations", {{"any thing", "x"}, {"n", 2}}},
               {"finalizers", {"f", 3}},
               {"ownerReferences", {{{"name", "o"}, {"kind", "K"}, {"apiVersion", "v1"}}}}};
  EXPECT_THAT(fields(ValidateObjectMeta(meta, false)),
              ElementsAre("metadata.labels", "metadata.labels", "metadata.labels",
                          "metadata.annotations", "metadata.annotations", "metadata.finalizers",
                          "metadata.ownerReferences"));
}

// ---- JSONPath, ages, timestamps, tables -----------------------------------------------

TEST(JsonPathTest, SimplePaths) {
  const json obj = {{"status", {{"phase", "Online"}, {"n", 3}}},
                    {"metadata", {{"labels", {{"a.b/c", "dotted"}, {"a", {{"b/c", "nested"}}}}}}},
                    {"spec", {{"pools", {{{"name", "p0"}}, {{"name", "p1"}}}}}}};
  EXPECT_EQ(EvalJsonPath(obj, ".status.phase"), "Online");
  EXPECT_EQ(EvalJsonPath(obj, ".status.n"), 3);
  EXPECT_EQ(EvalJsonPath(obj, ".status"), obj["status"]);
  EXPECT_EQ(EvalJsonPath(obj, "{.status.phase}"), "Online");
  EXPECT_EQ(EvalJsonPath(obj, ".metadata.labels.a\\.b/c"), "dotted");
  EXPECT_EQ(EvalJsonPath(obj, ".metadata.labels.a.b/c"), "nested");
  EXPECT_EQ(EvalJsonPath(obj, ".spec.pools[1].name"), "p1");
  EXPECT_EQ(EvalJsonPath(obj, "{.spec.pools[0].name}"), "p0");
  EXPECT_EQ(EvalJsonPath(obj, ".spec.pools[0]"), json({{"name", "p0"}}));
}

TEST(JsonPathTest, MissingStepsGiveNull) {
  const json obj = {{"status", {{"phase", "Online"}}}, {"list", {1, 2}}};
  EXPECT_TRUE(EvalJsonPath(obj, ".status.missing").is_null());
  EXPECT_TRUE(EvalJsonPath(obj, ".nope.deeper").is_null());
  EXPECT_TRUE(EvalJsonPath(obj, ".status.phase.deeper").is_null());  // through a string
  EXPECT_TRUE(EvalJsonPath(obj, ".list[2]").is_null());
  EXPECT_TRUE(EvalJsonPath(obj, ".list[x]").is_null());
  EXPECT_TRUE(EvalJsonPath(obj, ".list[0").is_null());
  EXPECT_TRUE(EvalJsonPath(obj, ".status[0]").is_null());  // index into an object
  EXPECT_TRUE(EvalJsonPath(obj, "status").is_null());      // no leading dot
}

TEST(HumanDurationTest, Boundaries) {
  using std::chrono::seconds;
  const int64_t m = 60, h = 3600, d = 86400;
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {-5, "<invalid>"},  // a clock ahead of ours, as kubectl shows it
      {-1, "0s"},
      {0, "0s"},
      {45, "45s"},
      {119, "119s"},
      {120, "2m"},
      {121, "2m1s"},
      {3 * m + 12, "3m12s"},
      {10 * m - 1, "9m59s"},
      {10 * m, "10m"},
      {17 * m + 59, "17m"},
      {3 * h - 1, "179m"},
      {3 * h, "3h"},
      {5 * h + 3 * m + 59, "5h3m"},
      {8 * h - 1, "7h59m"},
      {8 * h, "8h"},
      {48 * h - 1, "47h"},
      {48 * h, "2d"},
      {2 * d + 4 * h + 59 * m, "2d4h"},
      {8 * d - 1, "7d23h"},
      {8 * d, "8d"},
      {35 * d + 23 * h, "35d"},
      {730 * d - 1, "729d"},
      {730 * d, "2y"},
      {3 * 365 * d, "3y"},
  };
  for (const auto& [secs, want] : cases) {
    EXPECT_EQ(HumanDuration(seconds(secs)), want) << secs << "s";
  }
}

// Regression test (a bug found and fixed): kubectl (apimachinery duration.HumanDuration) shows ages
// between two and eight years with their days: 2y+100d is "2y100d" (an exact number of
// years stays "3y"); from eight years on only years. Input: 830 days. Expected: "2y100d".
// Before the fix: "2y".
TEST(HumanDurationTest, YearsWithDaysAsKubectlShowsThem) {
  const int64_t d = 86400;
  EXPECT_EQ(HumanDuration(std::chrono::seconds(830 * d)), "2y100d");
  EXPECT_EQ(HumanDuration(std::chrono::seconds((8 * 365 + 100) * d)), "8y");
}

TEST(TimestampTest, FormatAndParseRoundTrip) {
  using namespace std::chrono;
  const system_clock::time_point t = system_clock::from_time_t(1795538249);  // 2026-11-24
  EXPECT_EQ(FormatTimestamp(t), "2026-11-24T16:37:29Z");
  system_clock::time_point back;
  ASSERT_TRUE(ParseTimestamp("2026-11-24T16:37:29Z", &back));
  EXPECT_EQ(back, t);
  EXPECT_EQ(FormatTimestamp(system_clock::from_time_t(0)), "1970-01-01T00:00:00Z");

  const auto now = time_point_cast<seconds>(system_clock::now());
  ASSERT_TRUE(ParseTimestamp(FormatTimestamp(now), &back));
  EXPECT_EQ(back, now);
  // Sub-second parts are dropped when formatting.
  EXPECT_EQ(FormatTimestamp(now + milliseconds(999)), FormatTimestamp(now));
}

TEST(TimestampTest, FractionalSecondsAreAccepted) {
  // MicroTime fields (leases, events) carry microseconds; ages need only the seconds.
  std::chrono::system_clock::time_point t;
  std::chrono::system_clock::time_point micro;
  ASSERT_TRUE(ParseTimestamp("2026-11-24T16:37:29Z", &t));
  ASSERT_TRUE(ParseTimestamp("2026-11-24T16:37:29.123456Z", &micro));
  EXPECT_EQ(std::chrono::time_point_cast<std::chrono::seconds>(micro), t);
}

// Regression test (a bug found and fixed): ParseTimestamp stops after the seconds and ignores the
// rest, so an RFC 3339 offset is dropped (and trailing garbage accepted).
// Input: "2026-11-24T18:37:29+02:00". Expected: the same instant as "2026-11-24T16:37:29Z".
// Before the fix: 18:37:29Z, two hours late.
TEST(TimestampTest, HonoursUtcOffsets) {
  std::chrono::system_clock::time_point want;
  std::chrono::system_clock::time_point got;
  ASSERT_TRUE(ParseTimestamp("2026-11-24T16:37:29Z", &want));
  ASSERT_TRUE(ParseTimestamp("2026-11-24T18:37:29+02:00", &got));
  EXPECT_EQ(FormatTimestamp(got), FormatTimestamp(want));
}

TEST(TimestampTest, RejectsGarbage) {
  std::chrono::system_clock::time_point t;
  EXPECT_FALSE(ParseTimestamp("", &t));
  EXPECT_FALSE(ParseTimestamp("yesterday", &t));
  EXPECT_FALSE(ParseTimestamp("2026-11-24", &t));
}

TEST(TableTest, ColumnsAndRows) {
  ResourceDef def;
  def.kind = "CStorVolume";
  def.printer_columns = json::array();
  json cols = TableColumns(def);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0]["name"], "Name");
  EXPECT_EQ(cols[1]["name"], "Age");
  const auto created = std::chrono::system_clock::now() - std::chrono::seconds(30 * 60);
  json obj = {{"metadata", {{"name", "vol1"}, {"creationTimestamp", FormatTimestamp(created)}}},
              {"status", {{"phase", "Healthy"}, {"replicas", {1, 2}}}}};
  json row = TableRow(def, obj, IncludeObject::kNone);
  EXPECT_EQ(row["cells"], json({"vol1", "30m"}));
  EXPECT_FALSE(row.contains("object"));

  def.printer_columns = json::parse(R"([
      {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
      {"name": "Replicas", "type": "string", "jsonPath": ".status.replicas"},
      {"name": "Missing", "type": "string", "jsonPath": ".status.nope"},
      {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])");
  cols = TableColumns(def);
  EXPECT_EQ(cols.size(), 5u);
  EXPECT_EQ(cols[4]["type"], "date");
  row = TableRow(def, obj, IncludeObject::kMetadata);
  EXPECT_EQ(row["cells"], json({"vol1", "Healthy", "[1,2]", nullptr, "30m"}));
  EXPECT_EQ(row["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(row["object"]["metadata"], obj["metadata"]);
  EXPECT_EQ(TableRow(def, obj, IncludeObject::kObject)["object"], obj);
}

// ---- Credentials -----------------------------------------------------------------------

TEST(Base64Test, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain) << encoded;
  }
}

TEST(Base64Test, BinaryRoundTripAtEveryPadding) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t len = 0; len <= 24; ++len) {
    // Ending in NUL bytes must not be confused with padding.
    std::string data = all.substr(255 - len, len);
    data += std::string(len % 3, '\0');
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.ok()) << len;
    EXPECT_EQ(*decoded, data) << len;
  }
  auto decoded = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, all);
}

TEST(Base64Test, MalformedInputIsRejected) {
  for (const char* bad : {"Z", "Zm9", "Zm9vY", "Zm9v!A==", "Zm 9", "Zm9v\n", "****"}) {
    auto decoded = Base64Decode(bad);
    EXPECT_FALSE(decoded.ok()) << "accepted: \"" << bad << "\"";
    if (!decoded.ok()) {
      EXPECT_TRUE(decoded.status().Is(Code::kInvalidArgument)) << bad;
    }
  }
}

// Regression test (a bug found and fixed): Base64Decode subtracts one byte per trailing '=' from
// the length EVP_DecodeBlock returns without checking that the padding is well formed, so
// input with too much padding underflows the size_t length.
// Input: "====" (EVP_DecodeBlock returns 3, minus 4) and "Zg======". Expected: InvalidArgument.
// Before the fix: std::length_error thrown from std::string::resize (or a bogus result).
TEST(Base64Test, ExcessPaddingIsRejected) {
  for (const char* bad : {"====", "Zg======", "Z===", "Zm=v"}) {
    Result<std::string> decoded = Status::Internal("threw");
    EXPECT_NO_THROW(decoded = Base64Decode(bad)) << bad;
    EXPECT_TRUE(decoded.status().Is(Code::kInvalidArgument))
        << "\"" << bad << "\": " << decoded.status().ToString()
        << (decoded.ok() ? " size " + std::to_string(decoded->size()) : "");
  }
}

TEST(UidTest, Version4Format) {
  static const std::regex kUuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  std::set<char> variants;
  for (int i = 0; i < 2000; ++i) {
    std::string uid = NewUid();
    ASSERT_TRUE(std::regex_match(uid, kUuid)) << uid;
    variants.insert(uid[19]);
    seen.insert(uid);
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(variants, (std::set<char>{'8', '9', 'a', 'b'}));  // all four variant nibbles occur
}

TEST(UidTest, RandomHex) {
  EXPECT_EQ(RandomHex(0), "");
  std::string h = RandomHex(16);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_TRUE(std::regex_match(h, std::regex("[0-9a-f]+")));
  EXPECT_NE(RandomHex(16), h);
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::vector<std::string> SubjectAltNames(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(
                                             ASN1_STRING_get0_data(n->d.dNSName)),
                                         static_cast<size_t>(ASN1_STRING_length(n->d.dNSName))));
    } else if (n->type == GEN_IPADD) {
      const unsigned char* ip = ASN1_STRING_get0_data(n->d.iPAddress);
      int len = ASN1_STRING_length(n->d.iPAddress);
      std::string s = "IP:";
      for (int j = 0; j < len; ++j) s += (j ? "." : "") + std::to_string(ip[j]);
      out.push_back(s);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(CertificateTest, SelfSignedCertificateParsesWithTheRightNames) {
  auto cert = GenerateSelfSigned("cstor-apiserver", {"127.0.0.1", "localhost", "::1", "api.example"});
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_THAT(cert->cert_pem, HasSubstr("-----BEGIN CERTIFICATE-----"));

  BIO* cbio = BIO_new_mem_buf(cert->cert_pem.data(), static_cast<int>(cert->cert_pem.size()));
  std::unique_ptr<X509, X509Free> x509(PEM_read_bio_X509(cbio, nullptr, nullptr, nullptr));
  BIO_free(cbio);
  ASSERT_NE(x509, nullptr);
  BIO* kbio = BIO_new_mem_buf(cert->key_pem.data(), static_cast<int>(cert->key_pem.size()));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(kbio, nullptr, nullptr, nullptr));
  BIO_free(kbio);
  ASSERT_NE(key, nullptr);

  EXPECT_EQ(X509_check_private_key(x509.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(x509.get(), key.get()), 1);  // self-signed
  EXPECT_EQ(X509_check_ca(x509.get()), 1);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x509.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "cstor-apiserver");
  EXPECT_THAT(SubjectAltNames(x509.get()),
              UnorderedElementsAre("IP:127.0.0.1", "DNS:localhost",
                                   "IP:0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1", "DNS:api.example"));
  EXPECT_EQ(X509_check_host(x509.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x509.get(), "127.0.0.1", 0), 1);
  EXPECT_NE(X509_check_host(x509.get(), "other.example", 0, 0, nullptr), 1);
  // Valid now, and for years.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x509.get())), 0);
  time_t in_five_years = time(nullptr) + 5L * 365 * 86400;
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(x509.get()), &in_five_years), 0);

  auto other = GenerateSelfSigned("cstor-apiserver", {"localhost"});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->key_pem, cert->key_pem);
}

}  // namespace
}  // namespace cstor::apiserver
