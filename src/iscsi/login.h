// The login phase (RFC 7143 section 6 and 13): security negotiation (None, or CHAP with
// MD5, one-way or mutual) and operational parameter negotiation. One Login per connection;
// it consumes Login Request PDUs and produces the responses.
#pragma once

#include <optional>
#include <string>

#include "iscsi/pdu.h"

namespace cstor::iscsi {

struct ChapSecret {
  std::string user;
  std::string secret;  // at least 12 bytes, as RFC 7143 requires for CHAP
};

struct TargetConfig {
  std::string name;                 // iqn.2016-09.com.openebs.cstor:<volume>
  std::string alias;
  std::string portal;               // "host:port", reported by SendTargets
  std::optional<ChapSecret> chap;   // initiators must authenticate with this
  std::optional<ChapSecret> mutual; // and, if set, the target answers with this
  uint32_t queue_depth = 128;       // commands in flight per session (the CmdSN window)
  uint32_t max_recv_data_segment = 256 * 1024;
  uint32_t max_burst = 1024 * 1024;
  uint32_t first_burst = 256 * 1024;
  uint32_t nop_interval_seconds = 5;   // ping an initiator idle this long
  uint32_t nop_timeout_seconds = 30;   // and drop it if it does not answer
};

// What a session agreed to.
struct SessionParams {
  bool discovery = false;
  std::string initiator_name;
  std::string initiator_alias;
  bool header_digest = false;
  bool data_digest = false;
  bool initial_r2t = true;
  bool immediate_data = true;
  uint32_t max_recv_data_segment = 8192;  // the initiator's: our Data-In size limit
  uint32_t max_burst = 262144;
  uint32_t first_burst = 65536;
  uint32_t max_outstanding_r2t = 1;
};

class Login {
 public:
  enum class Outcome { kContinue, kFullFeature, kFailed };

  explicit Login(const TargetConfig& config);

  // Handles one Login Request; *response is the answer to send.
  Outcome Handle(const Pdu& request, Pdu* response);

  const SessionParams& params() const { return params_; }
  // The ISID and TSIH the initiator sent (TSIH 0: a new session).
  uint64_t isid() const { return isid_; }
  uint16_t tsih() const { return tsih_; }
  void set_tsih(uint16_t tsih) { assigned_tsih_ = tsih; }
  uint32_t exp_cmd_sn() const { return exp_cmd_sn_; }
  uint32_t stat_sn() const { return stat_sn_; }

 private:
  enum Stage : uint8_t { kSecurity = 0, kOperational = 1, kFullFeaturePhase = 3 };
  Outcome Fail(Pdu* response, uint8_t status_class, uint8_t detail, const std::string& why);
  // Returns an error description, or empty; appends answers to `reply`.
  std::string Security(const TextPairs& keys, TextPairs* reply, bool* done);
  std::string Operational(const TextPairs& keys, TextPairs* reply);
  std::string Declarative(const std::string& key, const std::string& value, TextPairs* reply);

  const TargetConfig& config_;
  SessionParams params_;
  uint64_t isid_ = 0;
  uint16_t tsih_ = 0;
  uint16_t assigned_tsih_ = 0;
  uint32_t exp_cmd_sn_ = 0;
  uint32_t stat_sn_ = 0;
  bool first_ = true;
  bool authenticated_ = false;
  bool target_named_ = false;
  bool declared_mrdsl_ = false;
  std::string pending_text_;  // a request continued over several PDUs (C bit)
  // CHAP state
  enum class Chap { kNone, kOffered, kChallenged } chap_ = Chap::kNone;
  uint8_t chap_id_ = 0;
  std::string chap_challenge_;
};

// CHAP response (RFC 1994): MD5(id | secret | challenge).
std::string ChapResponse(uint8_t id, std::string_view secret, std::string_view challenge);
// "0x..." hex or "0b..." base64 to bytes.
Result<std::string> DecodeChapValue(std::string_view v);
std::string EncodeHex(std::string_view bytes);

}  // namespace cstor::iscsi
