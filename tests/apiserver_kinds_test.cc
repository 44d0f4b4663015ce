// The built-in kinds as a real API server serves them: cluster IPs for Services, the
// defaults and server-set fields, the validation (type errors as 400, rule violations as
// 422), immutable fields, and `kubectl get`'s table columns. Over real HTTPS against the
// embedded server, as in control_plane_test.
#include <netinet/in.h>
#include <sys/socket.h>

#include <set>

#include "apiserver/table.h"

#include "control_plane_fixture.h"

namespace cstor::cptest {
namespace {

using ::testing::HasSubstr;

class KindsTest : public ControlPlaneTest {
 protected:
  static json Service(const std::string& name, const std::string& ip = "") {
    json s = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", name}}},
              {"spec", {{"selector", {{"app", name}}},
                        {"ports", {{{"name", "iscsi"}, {"port", 3260}}, {{"name", "mgmt"}, {"port", 6060}}}}}}};
    if (!ip.empty()) s["spec"]["clusterIP"] = ip;
    return s;
  }
  static json Deployment(const std::string& name) {
    return {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", name}}},
            {"spec", {{"selector", {{"matchLabels", {{"app", name}}}}},
                      {"template", {{"metadata", {{"labels", {{"app", name}}}}},
                                    {"spec", {{"containers", {{{"name", "main"}, {"image", "cstor:1.0"}}}}}}}}}}};
  }
  static json Pvc(const std::string& name, const std::string& size) {
    return {{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"metadata", {{"name", name}}},
            {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"storageClassName", "cstor"},
                      {"resources", {{"requests", {{"storage", size}}}}}}}};
  }
  static std::vector<std::string> ColumnNames(const json& table) {
    std::vector<std::string> out;
    for (const json& c : table["columnDefinitions"]) out.push_back(c["name"]);
    return out;
  }
  static const std::string kSvc;
};
const std::string KindsTest::kSvc = "/api/v1/namespaces/openebs/services";

TEST_F(KindsTest, ServicesGetClusterIpsFromTheLoopbackRangeAndKeepThem) {
  Reply a = Send("POST", kSvc, Service("pvc-a"));
  ASSERT_EQ(a.code, 201) << a.body.dump();
  const json& spec = a.body["spec"];
  const std::string ip = spec["clusterIP"];
  EXPECT_TRUE(ip.starts_with("127.100.")) << ip;
  EXPECT_EQ(spec["clusterIPs"], json::array({ip}));
  EXPECT_EQ(spec["type"], "ClusterIP");
  EXPECT_EQ(spec["sessionAffinity"], "None");
  EXPECT_EQ(spec["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(spec["ports"][0]["targetPort"], 3260);

  // The address is reachable on this machine: something bound there answers.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ASSERT_EQ(inet_pton(AF_INET, ip.c_str(), &addr.sin_addr), 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  close(client);
  close(listener);

  // Taken, outside the range, and headless.
  Reply taken = Send("POST", kSvc, Service("pvc-b", ip));
  EXPECT_EQ(taken.code, 422);
  EXPECT_THAT(taken.body["message"].get<std::string>(), HasSubstr("provided IP is already allocated"));
  Reply outside = Send("POST", kSvc, Service("pvc-b", "10.0.0.7"));
  EXPECT_EQ(outside.code, 422);
  EXPECT_THAT(outside.body["message"].get<std::string>(), HasSubstr("not in the valid range"));
  Reply headless = Send("POST", kSvc, Service("pvc-h", "None"));
  ASSERT_EQ(headless.code, 201) << headless.body.dump();
  EXPECT_EQ(headless.body["spec"]["clusterIP"], "None");

  // A PUT that leaves the address out, or empty (as Helm charts write it), keeps it; one
  // that changes it is refused.
  json put = Service("pvc-a");
  put["metadata"]["resourceVersion"] = a.body["metadata"]["resourceVersion"];
  Reply kept = Send("PUT", kSvc + "/pvc-a", put);
  ASSERT_EQ(kept.code, 200) << kept.body.dump();
  EXPECT_EQ(kept.body["spec"]["clusterIP"], ip);
  put = Service("pvc-a", "");
  put["spec"]["clusterIP"] = "";
  put["metadata"]["resourceVersion"] = kept.body["metadata"]["resourceVersion"];
  put["metadata"]["labels"] = {{"changed", "yes"}};
  kept = Send("PUT", kSvc + "/pvc-a", put);
  ASSERT_EQ(kept.code, 200) << kept.body.dump();
  EXPECT_EQ(kept.body["spec"]["clusterIP"], ip);
  put = kept.body;
  put["spec"]["clusterIP"] = "127.100.9.9";
  Reply changed = Send("PUT", kSvc + "/pvc-a", put);
  EXPECT_EQ(changed.code, 422);
  EXPECT_THAT(changed.body["message"].get<std::string>(), HasSubstr("spec.clusterIP: Invalid value: \"127.100.9.9\": field is immutable"));
}

TEST_F(KindsTest, ConcurrentServicesNeverShareAnAddress) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> ips;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        Reply r = Send("POST", kSvc, Service(fmt::format("svc-{}-{}", t, i)));
        std::lock_guard<std::mutex> lock(mu);
        ips.push_back(r.code == 201 ? r.body["spec"]["clusterIP"].get<std::string>() : "error " + r.body.dump());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> unique(ips.begin(), ips.end());
  EXPECT_EQ(unique.size(), 40u);
  for (const std::string& ip : ips) EXPECT_TRUE(ip.starts_with("127.100.")) << ip;
}

TEST_F(KindsTest, OneAddressAskedForByManyAtOnceGoesToOne) {
  for (int round = 0; round < 5; ++round) {
    const std::string ip = fmt::format("127.100.50.{}", 10 + round);
    std::atomic<int> created{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        Reply r = Send("POST", kSvc, Service(fmt::format("want-{}-{}", round, t), ip));
        (r.code == 201 ? created : refused) += 1;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(created.load(), 1) << ip;
    EXPECT_EQ(refused.load(), 5) << ip;
  }
}

TEST_F(KindsTest, ServerSetsTheDefaultsARealServerSets) {
  Reply sc = Send("POST", "/apis/storage.k8s.io/v1/storageclasses",
                  {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"},
                   {"metadata", {{"name", "cstor"}}}, {"provisioner", "cstor.csi.openebs.io"}});
  ASSERT_EQ(sc.code, 201) << sc.body.dump();
  EXPECT_EQ(sc.body["reclaimPolicy"], "Delete");
  EXPECT_EQ(sc.body["volumeBindingMode"], "Immediate");

  Reply pvc = Send("POST", "/api/v1/namespaces/openebs/persistentvolumeclaims", Pvc("data", "10Gi"));
  ASSERT_EQ(pvc.code, 201) << pvc.body.dump();
  EXPECT_EQ(pvc.body["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pvc.body["status"]["phase"], "Pending");

  Reply pv = Send("POST", "/api/v1/persistentvolumes",
                  {{"apiVersion", "v1"}, {"kind", "PersistentVolume"}, {"metadata", {{"name", "pv-1"}}},
                   {"spec", {{"capacity", {{"storage", "10Gi"}}}, {"accessModes", {"ReadWriteOnce"}},
                             {"csi", {{"driver", "cstor.csi.openebs.io"}, {"volumeHandle", "pv-1"}}}}}});
  ASSERT_EQ(pv.code, 201) << pv.body.dump();
  EXPECT_EQ(pv.body["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(pv.body["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pv.body["status"]["phase"], "Pending");

  Reply d = Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", Deployment("target"));
  ASSERT_EQ(d.code, 201) << d.body.dump();
  EXPECT_EQ(d.body["spec"]["replicas"], 1);
  EXPECT_EQ(d.body["spec"]["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(d.body["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  EXPECT_EQ(d.body["spec"]["template"]["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(d.body["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent");

  Reply secret = Send("POST", "/api/v1/namespaces/openebs/secrets",
                      {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "chap"}}},
                       {"stringData", {{"password", "s3cret"}}}});
  ASSERT_EQ(secret.code, 201) << secret.body.dump();
  EXPECT_EQ(secret.body["type"], "Opaque");
  EXPECT_EQ(secret.body["data"]["password"], apiserver::Base64Encode("s3cret"));
  EXPECT_FALSE(secret.body.contains("stringData"));

  Reply driver = Send("POST", "/apis/storage.k8s.io/v1/csidrivers",
                      {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "CSIDriver"},
                       {"metadata", {{"name", "cstor.csi.openebs.io"}}}, {"spec", json::object()}});
  ASSERT_EQ(driver.code, 201) << driver.body.dump();
  EXPECT_EQ(driver.body["spec"]["attachRequired"], true);
  EXPECT_EQ(driver.body["spec"]["volumeLifecycleModes"], json::array({"Persistent"}));

  Reply pod = Send("POST", "/api/v1/namespaces/openebs/pods",
                   {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}},
                    {"spec", {{"containers", {{{"name", "c"}, {"image", "cstor"}}}}}},
                    {"status", {{"phase", "Running"}}}});
  ASSERT_EQ(pod.code, 201) << pod.body.dump();
  EXPECT_EQ(pod.body["status"]["phase"], "Pending");  // status is the node's to set
  EXPECT_EQ(pod.body["spec"]["containers"][0]["imagePullPolicy"], "Always");  // no tag: latest
}

TEST_F(KindsTest, WrongTypesAre400AndBrokenRulesAre422) {
  json d = Deployment("bad");
  d["spec"]["replicas"] = "three";
  Reply typed = Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", d);
  EXPECT_EQ(typed.code, 400);
  EXPECT_THAT(typed.body["message"].get<std::string>(), HasSubstr("cannot be handled as a Deployment"));
  EXPECT_THAT(typed.body["message"].get<std::string>(), HasSubstr("spec.replicas"));

  d = Deployment("bad");
  d["spec"]["template"]["metadata"]["labels"]["app"] = "other";
  Reply mismatch = Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", d);
  EXPECT_EQ(mismatch.code, 422);
  EXPECT_THAT(mismatch.body["message"].get<std::string>(), HasSubstr("`selector` does not match template `labels`"));

  json pvc = Pvc("nosize", "10Gi");
  pvc["spec"]["resources"]["requests"].erase("storage");
  Reply nosize = Send("POST", "/api/v1/namespaces/openebs/persistentvolumeclaims", pvc);
  EXPECT_EQ(nosize.code, 422);
  Reply badsize = Send("POST", "/api/v1/namespaces/openebs/persistentvolumeclaims", Pvc("badsize", "10GB"));
  EXPECT_EQ(badsize.code, 422);

  Reply sc = Send("POST", "/apis/storage.k8s.io/v1/storageclasses",
                  {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"}, {"metadata", {{"name", "x"}}},
                   {"provisioner", "cstor.csi.openebs.io"}, {"reclaimPolicy", "Recycle"}});
  EXPECT_EQ(sc.code, 422);
  EXPECT_THAT(sc.body["message"].get<std::string>(), HasSubstr("reclaimPolicy: Unsupported value: \"Recycle\""));

  Reply svc = Send("POST", kSvc, Service("1st"));
  EXPECT_EQ(svc.code, 422) << svc.body.dump();
  json unnamed = Service("two-ports");
  unnamed["spec"]["ports"][1].erase("name");
  EXPECT_EQ(Send("POST", kSvc, unnamed).code, 422);

  // Updates: a claim may grow, not shrink; a class's parameters are fixed; a pod's spec
  // is fixed but for its images.
  Reply claim = Send("POST", "/api/v1/namespaces/openebs/persistentvolumeclaims", Pvc("grow", "10Gi"));
  ASSERT_EQ(claim.code, 201);
  Reply grown = Send("PATCH", "/api/v1/namespaces/openebs/persistentvolumeclaims/grow",
                     {{"spec", {{"resources", {{"requests", {{"storage", "20Gi"}}}}}}}}, "application/merge-patch+json");
  EXPECT_EQ(grown.code, 200) << grown.body.dump();
  Reply shrunk = Send("PATCH", "/api/v1/namespaces/openebs/persistentvolumeclaims/grow",
                      {{"spec", {{"resources", {{"requests", {{"storage", "5Gi"}}}}}}}}, "application/merge-patch+json");
  EXPECT_EQ(shrunk.code, 422);
  Reply mode = Send("PATCH", "/api/v1/namespaces/openebs/persistentvolumeclaims/grow",
                    {{"spec", {{"accessModes", {"ReadWriteMany"}}}}}, "application/merge-patch+json");
  EXPECT_EQ(mode.code, 422);

  ASSERT_EQ(Send("POST", "/apis/storage.k8s.io/v1/storageclasses",
                 {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"}, {"metadata", {{"name", "fixed"}}},
                  {"provisioner", "cstor.csi.openebs.io"}, {"parameters", {{"replicaCount", "3"}}}}).code, 201);
  Reply params = Send("PATCH", "/apis/storage.k8s.io/v1/storageclasses/fixed",
                      {{"parameters", {{"replicaCount", "1"}}}}, "application/merge-patch+json");
  EXPECT_EQ(params.code, 422);
  EXPECT_THAT(params.body["message"].get<std::string>(), HasSubstr("updates to parameters are forbidden"));

  ASSERT_EQ(Send("POST", "/api/v1/namespaces/openebs/pods",
                 {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}},
                  {"spec", {{"containers", {{{"name", "c"}, {"image", "cstor:1"}}}}}}}).code, 201);
  EXPECT_EQ(Send("PATCH", "/api/v1/namespaces/openebs/pods/p",
                 {{"spec", {{"containers", {{{"name", "c"}, {"image", "cstor:2"}}}}}}},
                 "application/merge-patch+json").code, 200);
  EXPECT_EQ(Send("PATCH", "/api/v1/namespaces/openebs/pods/p", {{"spec", {{"nodeName", "node-2"}}}},
                 "application/merge-patch+json").code, 422);
  // A PUT of the pod as the client wrote it (without the server's defaults) is no change.
  Reply current = Send("GET", "/api/v1/namespaces/openebs/pods/p");
  json put = {{"apiVersion", "v1"}, {"kind", "Pod"},
              {"metadata", {{"name", "p"}, {"resourceVersion", current.body["metadata"]["resourceVersion"]}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "cstor:2"}}}}}}};
  Reply same = Send("PUT", "/api/v1/namespaces/openebs/pods/p", put);
  EXPECT_EQ(same.code, 200) << same.body.dump();
}

TEST_F(KindsTest, UnknownTopLevelFieldsAreDroppedOrRefusedAsATypedDecoderWould) {
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "settings"}}},
             {"data", {{"a", "b"}}}, {"sepc", {{"typo", true}}}};
  Reply strict = Send("POST", "/api/v1/namespaces/openebs/configmaps?fieldValidation=Strict", cm);
  EXPECT_EQ(strict.code, 400);
  EXPECT_THAT(strict.body["message"].get<std::string>(), HasSubstr("strict decoding error: unknown field \"sepc\""));
  auto c = Raw();
  auto warned = c->Post("/api/v1/namespaces/openebs/configmaps", cm.dump(), "application/json");
  ASSERT_TRUE(warned);
  EXPECT_EQ(warned->status, 201);
  EXPECT_THAT(warned->get_header_value("Warning"), HasSubstr("unknown field"));
  json stored = json::parse(warned->body);
  EXPECT_FALSE(stored.contains("sepc"));
  EXPECT_EQ(stored["data"]["a"], "b");
}

TEST_F(KindsTest, TablesShowTheColumnsKubectlShows) {
  ASSERT_EQ(Send("POST", kSvc, Service("pvc-t")).code, 201);
  Reply services = Table(kSvc);
  ASSERT_EQ(services.code, 200);
  EXPECT_EQ(ColumnNames(services.body),
            (std::vector<std::string>{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"}));
  const json& cells = services.body["rows"][0]["cells"];
  EXPECT_EQ(cells[1], "ClusterIP");
  EXPECT_EQ(cells[3], "<none>");
  EXPECT_EQ(cells[4], "3260/TCP,6060/TCP");
  EXPECT_EQ(cells[6], "app=pvc-t");

  ASSERT_EQ(Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", Deployment("d")).code, 201);
  Reply deployments = Table("/apis/apps/v1/namespaces/openebs/deployments");
  EXPECT_EQ(ColumnNames(deployments.body),
            (std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age"}));
  EXPECT_EQ(deployments.body["rows"][0]["cells"][1], "0/1");

  ASSERT_EQ(Send("POST", "/api/v1/namespaces/openebs/persistentvolumeclaims", Pvc("c", "1Gi")).code, 201);
  Reply claims = Table("/api/v1/namespaces/openebs/persistentvolumeclaims");
  EXPECT_EQ(ColumnNames(claims.body)[1], "Status");
  EXPECT_EQ(claims.body["rows"][0]["cells"][1], "Pending");
}

TEST_F(KindsTest, TheKindsTheOperatorsAndSidecarsUseAreServed) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"/api/v1", "pods"}, {"/api/v1", "serviceaccounts"}, {"/api/v1", "endpoints"},
      {"/apis/apps/v1", "daemonsets"}, {"/apis/apps/v1", "statefulsets"},
      {"/apis/storage.k8s.io/v1", "volumeattachments"}, {"/apis/storage.k8s.io/v1", "csidrivers"},
      {"/apis/storage.k8s.io/v1", "csinodes"}, {"/apis/rbac.authorization.k8s.io/v1", "roles"},
      {"/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings"}};
  for (const auto& [gv, plural] : expected) {
    Reply list = Send("GET", gv);
    ASSERT_EQ(list.code, 200) << gv;
    bool found = false;
    for (const json& r : list.body["resources"]) found = found || r["name"] == plural;
    EXPECT_TRUE(found) << gv << " " << plural;
  }
  Reply va = Send("POST", "/apis/storage.k8s.io/v1/volumeattachments",
                  {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "VolumeAttachment"}, {"metadata", {{"name", "csi-1"}}},
                   {"spec", {{"attacher", "cstor.csi.openebs.io"}, {"nodeName", "node-1"},
                             {"source", {{"persistentVolumeName", "pv-1"}}}}}});
  ASSERT_EQ(va.code, 201) << va.body.dump();
  EXPECT_EQ(va.body["status"]["attached"], false);
  json moved = va.body;
  moved["spec"]["nodeName"] = "node-2";
  EXPECT_EQ(Send("PUT", "/apis/storage.k8s.io/v1/volumeattachments/csi-1", moved).code, 422);

  Reply binding = Send("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                       {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "ClusterRoleBinding"},
                        {"metadata", {{"name", "cstor-operator"}}},
                        {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Team"}, {"name", "x"}}}});
  EXPECT_EQ(binding.code, 422);
  Reply sts = Send("POST", "/apis/apps/v1/namespaces/openebs/statefulsets",
                   [] { json s = Deployment("db"); s["kind"] = "StatefulSet"; return s; }());
  ASSERT_EQ(sts.code, 201) << sts.body.dump();
  EXPECT_EQ(sts.body["spec"]["podManagementPolicy"], "OrderedReady");
}

TEST_F(KindsTest, EventsExpireTheirTimeToLiveAfterTheyLastHappened) {
  server_.reset();
  tweak_ = [](apiserver::ApiServerOptions& o) {
    o.event_ttl = 3s;  // an hour by default
    o.event_sweep_interval = 100ms;
  };
  StartServer(0);
  auto event = [](const std::string& name) {
    const std::string stamp = apiserver::FormatTimestamp(std::chrono::system_clock::now());
    return json{{"apiVersion", "v1"}, {"kind", "Event"}, {"metadata", {{"name", name}}},
                {"involvedObject", {{"kind", "Pod"}, {"name", "p"}, {"namespace", "openebs"}}},
                {"reason", "Test"}, {"message", "m"}, {"type", "Normal"},
                {"firstTimestamp", stamp}, {"lastTimestamp", stamp},
                {"eventTime", nullptr}, {"series", nullptr}};  // as client-go's recorder writes them
  };
  ASSERT_EQ(Send("POST", "/api/v1/namespaces/openebs/events", event("e")).code, 201);
  const auto created = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return Send("GET", "/api/v1/namespaces/openebs/events/e").code == 404; }));
  // Not before its time (the TTL counts from the event's own timestamps, whole seconds).
  EXPECT_GE(std::chrono::steady_clock::now() - created, 1s);
  // Other kinds are not touched.
  EXPECT_EQ(Send("GET", "/api/v1/namespaces/openebs").code, 200);
}

TEST_F(KindsTest, EventsAreServedUnderEventsK8sIoToo) {
  const std::string core = "/api/v1/namespaces/openebs/events";
  const std::string v1 = "/apis/events.k8s.io/v1/namespaces/openebs/events";
  // Written through the core group, read through events.k8s.io under its newer names.
  ASSERT_EQ(Send("POST", core, {{"apiVersion", "v1"}, {"kind", "Event"}, {"metadata", {{"name", "old"}}},
                                {"involvedObject", {{"kind", "Pod"}, {"name", "p1"}, {"namespace", "openebs"}}},
                                {"reason", "Started"}, {"message", "hello"}, {"type", "Normal"}, {"count", 3},
                                {"source", {{"component", "kubelet"}}}})
                .code, 201);
  Reply got = Send("GET", v1 + "/old");
  ASSERT_EQ(got.code, 200) << got.body.dump();
  EXPECT_EQ(got.body["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(got.body["regarding"]["name"], "p1");
  EXPECT_EQ(got.body["note"], "hello");
  EXPECT_EQ(got.body["deprecatedCount"], 3);
  EXPECT_EQ(got.body["deprecatedSource"]["component"], "kubelet");
  EXPECT_FALSE(got.body.contains("message"));
  EXPECT_FALSE(got.body.contains("involvedObject"));
  const std::string rv = got.body["metadata"]["resourceVersion"];

  // Written through events.k8s.io (its rules first), read through the core group.
  json fresh = {{"apiVersion", "events.k8s.io/v1"}, {"kind", "Event"}, {"metadata", {{"name", "new"}}},
                {"eventTime", "2026-12-06T16:31:00.000000Z"},
                {"regarding", {{"kind", "Pod"}, {"name", "p2"}, {"namespace", "openebs"}}},
                {"reason", "Pulled"}, {"note", "pulled"}, {"type", "Normal"}, {"action", "Pull"},
                {"reportingController", "cstor.io/node"}, {"reportingInstance", "node-1"}};
  json incomplete = fresh;
  incomplete.erase("eventTime");
  incomplete.erase("action");
  Reply refused = Send("POST", v1, incomplete);
  EXPECT_EQ(refused.code, 422) << refused.body.dump();
  EXPECT_THAT(refused.body.dump(), HasSubstr("eventTime: Required value"));
  EXPECT_THAT(refused.body.dump(), HasSubstr("action: Required value"));
  // Fields of the other shape are unknown here: refused when strict, else dropped.
  json mixed = fresh;
  mixed["message"] = "a core field";
  EXPECT_EQ(Send("POST", v1 + "?fieldValidation=Strict", mixed).code, 400);
  Reply created = Send("POST", v1, fresh);
  ASSERT_EQ(created.code, 201) << created.body.dump();
  EXPECT_EQ(created.body["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(created.body["note"], "pulled");
  Reply as_core = Send("GET", core + "/new");
  EXPECT_EQ(as_core.body["message"], "pulled");
  EXPECT_EQ(as_core.body["involvedObject"]["name"], "p2");
  EXPECT_EQ(as_core.body["reportingComponent"], "cstor.io/node");

  // Lists and field selectors under the served names; the core names are refused there.
  Reply list = Send("GET", v1 + "?fieldSelector=regarding.name%3Dp2");
  ASSERT_EQ(list.code, 200) << list.body.dump();
  EXPECT_EQ(list.body["kind"], "EventList");
  EXPECT_EQ(list.body["apiVersion"], "events.k8s.io/v1");
  ASSERT_EQ(list.body["items"].size(), 1u);
  EXPECT_EQ(list.body["items"][0]["metadata"]["name"], "new");
  EXPECT_EQ(list.body["items"][0]["note"], "pulled");
  EXPECT_EQ(Send("GET", v1 + "?fieldSelector=involvedObject.name%3Dp2").code, 400);
  EXPECT_EQ(Send("GET", v1 + "?fieldSelector=reportingController%3Dcstor.io/node").body["items"].size(), 1u);

  // A merge patch names the served fields.
  Reply patched = Send("PATCH", v1 + "/old", {{"note", "patched"}}, "application/merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["note"], "patched");
  EXPECT_EQ(Send("GET", core + "/old").body["message"], "patched");
  // Errors name the served resource.
  Reply missing = Send("GET", v1 + "/nothing");
  EXPECT_EQ(missing.code, 404);
  Reply missing_patch = Send("PATCH", v1 + "/nothing", {{"note", "x"}}, "application/merge-patch+json");
  EXPECT_EQ(missing_patch.code, 404);
  EXPECT_THAT(missing_patch.body.value("message", ""), HasSubstr("events.events.k8s.io \"nothing\""));

  // A watch from before the patch sees it in the served shape.
  Reply watched = Send("GET", v1 + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv);
  ASSERT_EQ(watched.code, 200);
  const std::string stream = watched.body.is_string() ? watched.body.get<std::string>() : watched.body.dump();
  EXPECT_THAT(stream, HasSubstr(R"("note":"patched")"));
  EXPECT_THAT(stream, HasSubstr(R"("apiVersion":"events.k8s.io/v1")"));
  EXPECT_THAT(stream, ::testing::Not(HasSubstr(R"("message":)")));

  // Deleted through one group, gone from both.
  auto c = Raw();
  auto del = c->Delete(v1 + "/new");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(Send("GET", core + "/new").code, 404);
}

TEST_F(KindsTest, OnlyKindsWithADesiredStateCountGenerations) {
  // As on a real server: workloads and custom resources count spec changes in
  // metadata.generation; ConfigMaps, Secrets, Services and Events have none.
  Reply cm = Send("POST", "/api/v1/namespaces/openebs/configmaps",
                  {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}, {"data", {{"a", "1"}}}});
  ASSERT_EQ(cm.code, 201);
  EXPECT_FALSE(cm.body["metadata"].contains("generation")) << cm.body.dump();
  Reply svc = Send("POST", kSvc, Service("gen"));
  ASSERT_EQ(svc.code, 201);
  EXPECT_FALSE(svc.body["metadata"].contains("generation")) << svc.body.dump();
  Reply deploy = Send("POST", "/apis/apps/v1/namespaces/openebs/deployments", Deployment("gen"));
  ASSERT_EQ(deploy.code, 201);
  EXPECT_EQ(deploy.body["metadata"]["generation"], 1);
}

TEST_F(KindsTest, TheScaleSubresourceSetsReplicasOnly) {
  const std::string deploys = "/apis/apps/v1/namespaces/openebs/deployments";
  json d = Deployment("web");
  d["spec"]["replicas"] = 1;
  ASSERT_EQ(Send("POST", deploys, d).code, 201);
  Reply scale = Send("GET", deploys + "/web/scale");
  ASSERT_EQ(scale.code, 200) << scale.body.dump();
  EXPECT_EQ(scale.body["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(scale.body["kind"], "Scale");
  EXPECT_EQ(scale.body["spec"]["replicas"], 1);
  EXPECT_EQ(scale.body["status"]["selector"], "app=web");

  // kubectl scale's patch.
  Reply patched = Send("PATCH", deploys + "/web/scale", {{"spec", {{"replicas", 3}}}}, "application/merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body.dump();
  EXPECT_EQ(patched.body["spec"]["replicas"], 3);
  Reply after = Send("GET", deploys + "/web");
  EXPECT_EQ(after.body["spec"]["replicas"], 3);
  EXPECT_EQ(after.body["metadata"]["generation"], 2);
  EXPECT_EQ(after.body["spec"]["template"]["spec"]["containers"][0]["image"], "cstor:1.0");

  // An update with a stale resourceVersion conflicts; with the current one it applies.
  json stale = scale.body;
  stale["spec"]["replicas"] = 5;
  EXPECT_EQ(Send("PUT", deploys + "/web/scale", stale).code, 409);
  json fresh = patched.body;
  fresh["spec"]["replicas"] = 0;
  Reply put = Send("PUT", deploys + "/web/scale", fresh);
  ASSERT_EQ(put.code, 200) << put.body.dump();
  EXPECT_EQ(Send("GET", deploys + "/web").body["spec"]["replicas"], 0);

  // Refusals: a negative count, a missing object, a kind without the subresource.
  Reply negative = Send("PATCH", deploys + "/web/scale", {{"spec", {{"replicas", -1}}}}, "application/merge-patch+json");
  EXPECT_EQ(negative.code, 422) << negative.body.dump();
  EXPECT_EQ(Send("GET", deploys + "/nothing/scale").code, 404);
  EXPECT_EQ(Send("GET", "/api/v1/namespaces/openebs/configmaps/x/scale").code, 404);
}

TEST_F(KindsTest, ServerSideApplyMergesTheListsACrdDeclaresMergeable) {
  // Gadgets: spec.ports merges by name (x-kubernetes-list-type: map), spec.tags is a set,
  // spec.steps is atomic (no list type), as a real server reads the schema.
  const json crd = json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets"},
      "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"spec": {"type": "object", "properties": {
          "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
          "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
          "steps": {"type": "array", "items": {"type": "string"}}}}}}}}]}})");
  ASSERT_EQ(Send("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).code, 201);
  const std::string url = "/apis/example.com/v1/namespaces/openebs/gadgets/g";
  auto apply = [&](const std::string& manager, const json& spec) {
    json config = {{"apiVersion", "example.com/v1"}, {"kind", "Gadget"}, {"metadata", {{"name", "g"}}}, {"spec", spec}};
    return Send("PATCH", url + "?fieldManager=" + manager, config, "application/apply-patch+yaml");
  };
  ASSERT_EQ(apply("a", {{"ports", {{{"name", "iscsi"}, {"port", 3260}}}}, {"tags", {"x"}}, {"steps", {"one"}}}).code, 201);
  // Another manager adds its own port and tag beside a's: no conflict, both kept.
  Reply b = apply("b", {{"ports", {{{"name", "metrics"}, {"port", 9500}}}}, {"tags", {"y"}}});
  ASSERT_EQ(b.code, 200) << b.body.dump();
  EXPECT_EQ(b.body["spec"]["ports"].size(), 2u) << b.body.dump();
  EXPECT_EQ(b.body["spec"]["tags"], json({"x", "y"}));
  // An atomic list belongs whole to one manager: another setting it conflicts.
  EXPECT_EQ(apply("b", {{"steps", {"two"}}}).code, 409);
  // a drops its port: only a's goes.
  Reply a2 = apply("a", {{"tags", {"x"}}, {"steps", {"one"}}});
  ASSERT_EQ(a2.code, 200) << a2.body.dump();
  ASSERT_EQ(a2.body["spec"]["ports"].size(), 1u) << a2.body.dump();
  EXPECT_EQ(a2.body["spec"]["ports"][0]["name"], "metrics");
}

TEST_F(KindsTest, PodLogsAreServedFromTheRuntimesFiles) {
  ASSERT_EQ(Send("POST", "/api/v1/namespaces/openebs/pods",
                 {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "pool"}}},
                  {"spec", {{"containers", {{{"name", "mgr"}, {"image", "cstor"}}, {{"name", "exporter"}, {"image", "cstor"}}}}}}}).code, 201);
  const fs::path dir = dir_ / "pod-logs" / "openebs" / "pool";
  auto logs = [&](const std::string& query) { return Send("GET", "/api/v1/namespaces/openebs/pods/pool/log?" + query); };
  Reply waiting = logs("container=mgr");
  EXPECT_EQ(waiting.code, 400);
  EXPECT_THAT(waiting.body["message"].get<std::string>(), HasSubstr("is waiting to start: ContainerCreating"));
  fs::create_directories(dir);
  std::ofstream(dir / "mgr.log") << "one\ntwo\nthree\n";
  std::ofstream(dir / "mgr.log.1") << "before the restart\n";
  EXPECT_EQ(logs("container=mgr").body, "one\ntwo\nthree\n");
  EXPECT_EQ(logs("container=mgr&tailLines=2").body, "two\nthree\n");
  EXPECT_EQ(logs("container=mgr&limitBytes=5").body, "one\nt");
  EXPECT_EQ(logs("container=mgr&previous=true").body, "before the restart\n");
  Reply which = logs("");
  EXPECT_EQ(which.code, 400);
  EXPECT_THAT(which.body["message"].get<std::string>(), HasSubstr("choose one of: [mgr exporter]"));
  EXPECT_EQ(logs("container=nope").code, 400);

  // Lines as the runtime writes them, each after its time: served without the times
  // unless asked for, and from a time on.
  const std::string now = apiserver::FormatTimestamp(std::chrono::system_clock::now());
  std::ofstream(dir / "exporter.log") << "2026-01-01T10:00:00.000000001Z old line\n"
                                      << "2026-01-01T10:00:05.5Z middle line\n"
                                      << now << " new line\n";
  EXPECT_EQ(logs("container=exporter").body, "old line\nmiddle line\nnew line\n");
  EXPECT_EQ(logs("container=exporter&timestamps=true&tailLines=1").body, now + " new line\n");
  EXPECT_EQ(logs("container=exporter&sinceTime=2026-01-01T10:00:01Z").body, "middle line\nnew line\n");
  EXPECT_EQ(logs("container=exporter&sinceSeconds=3600").body, "new line\n");
  EXPECT_EQ(logs("container=exporter&sinceSeconds=10&sinceTime=2026-01-01T10:00:01Z").code, 400);
  EXPECT_EQ(logs("container=exporter&sinceTime=yesterday").code, 400);
  // Followed, a line written in two pieces is served once whole, without its time.
  std::string lines;
  std::thread reader([&] {
    auto c = Raw();
    c->set_read_timeout(30, 0);
    c->Get("/api/v1/namespaces/openebs/pods/pool/log?container=exporter&follow=true&sinceTime=2026-01-01T10:00:01Z",
           [&](const char* data, size_t n) { lines.append(data, n); return !lines.ends_with("pieces\n"); });
  });
  ASSERT_TRUE(Eventually([&] { return lines.find("new line") != std::string::npos; }));
  // (Cut inside its time, which must still be recognised and taken off.)
  std::ofstream(dir / "exporter.log", std::ios::app) << now.substr(0, 10) << std::flush;
  std::this_thread::sleep_for(300ms);
  std::ofstream(dir / "exporter.log", std::ios::app) << now.substr(10) << " in two pieces\n";
  reader.join();
  EXPECT_EQ(lines, "middle line\nnew line\nin two pieces\n");

  // Following: what is appended arrives; the stream ends when the pod is deleted.
  std::string seen;
  std::thread follower([&] {
    auto c = Raw();
    c->set_read_timeout(30, 0);
    c->Get("/api/v1/namespaces/openebs/pods/pool/log?container=mgr&follow=true",
           [&](const char* data, size_t n) { seen.append(data, n); return true; });
  });
  ASSERT_TRUE(Eventually([&] { return seen.find("three") != std::string::npos; }));
  std::ofstream(dir / "mgr.log", std::ios::app) << "four\n";
  EXPECT_TRUE(Eventually([&] { return seen.find("four") != std::string::npos; }));
  ASSERT_TRUE(client_->Delete(api::ResourceType{"", "v1", "Pod", "pods", true}, "openebs", "pool").ok());
  follower.join();
  EXPECT_EQ(seen, "one\ntwo\nthree\nfour\n");
}

}  // namespace
}  // namespace cstor::cptest
