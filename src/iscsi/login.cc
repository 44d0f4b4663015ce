#include "iscsi/login.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

#include "base/log.h"

namespace cstor::iscsi {
namespace {

constexpr uint8_t kFlagTransit = 0x80, kFlagContinue = 0x40;

std::vector<std::string_view> SplitList(std::string_view v) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = v.find(',');
    out.push_back(v.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    v = v.substr(comma + 1);
  }
}

std::optional<uint64_t> Number(std::string_view v) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

std::optional<bool> YesNo(std::string_view v) {
  if (v == "Yes") return true;
  if (v == "No") return false;
  return std::nullopt;
}

bool IsSecurityKey(std::string_view k) {
  return k == "AuthMethod" || k.starts_with("CHAP_");
}

}  // namespace

std::string EncodeHex(std::string_view bytes) {
  std::string out = "0x";
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

Result<std::string> DecodeChapValue(std::string_view v) {
  if (v.size() > 2 && (v.starts_with("0x") || v.starts_with("0X"))) {
    v.remove_prefix(2);
    if (v.size() % 2) return Status::InvalidArgument("odd number of hex digits");
    std::string out;
    for (size_t i = 0; i < v.size(); i += 2) {
      unsigned byte = 0;
      auto [end, ec] = std::from_chars(v.data() + i, v.data() + i + 2, byte, 16);
      if (ec != std::errc() || end != v.data() + i + 2) return Status::InvalidArgument("bad hex");
      out.push_back(static_cast<char>(byte));
    }
    return out;
  }
  if (v.size() > 2 && (v.starts_with("0b") || v.starts_with("0B"))) {
    v.remove_prefix(2);
    std::string out(v.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size()));
    if (n < 0) return Status::InvalidArgument("bad base64");
    size_t pad = std::count(v.end() - std::min<size_t>(2, v.size()), v.end(), '=');
    out.resize(static_cast<size_t>(n) - pad);
    return out;
  }
  return Status::InvalidArgument("CHAP values start with 0x or 0b");
}

std::string ChapResponse(uint8_t id, std::string_view secret, std::string_view challenge) {
  std::string input(1, static_cast<char>(id));
  input.append(secret);
  input.append(challenge);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

Login::Login(const TargetConfig& config) : config_(config) {
  params_.max_burst = std::min<uint32_t>(params_.max_burst, config.max_burst);
  params_.first_burst = std::min<uint32_t>(params_.first_burst, config.first_burst);
}

Login::Outcome Login::Fail(Pdu* response, uint8_t status_class, uint8_t detail,
                           const std::string& why) {
  CSTOR_LOG_WARN("iscsi: login from {} refused ({:02x}/{:02x}): {}",
                 params_.initiator_name.empty() ? "?" : params_.initiator_name, status_class,
                 detail, why);
  response->bhs[1] = 0;
  response->bhs[36] = status_class;
  response->bhs[37] = detail;
  response->data.clear();
  return Outcome::kFailed;
}

Login::Outcome Login::Handle(const Pdu& req, Pdu* resp) {
  *resp = Pdu::Make(Opcode::kLoginResponse, 0);
  const uint8_t flags = req.flags();
  const uint8_t csg = (flags >> 2) & 3, nsg = flags & 3;
  std::copy(req.bhs.begin() + 8, req.bhs.begin() + 16, resp->bhs.begin() + 8);  // ISID, TSIH
  resp->set_u32(16, req.itt());
  if (first_) {
    first_ = false;
    isid_ = req.u64(8) >> 16;
    tsih_ = req.u16(14);
    exp_cmd_sn_ = req.u32(24);
    stat_sn_ = req.u32(28);
  }
  resp->set_u32(24, stat_sn_++);
  resp->set_u32(28, exp_cmd_sn_);
  resp->set_u32(32, exp_cmd_sn_ + config_.queue_depth - 1);
  if (req.bhs[3] > 0 || req.bhs[2] < req.bhs[3]) {
    return Fail(resp, 0x02, 0x05, "unsupported iSCSI version");
  }
  if ((flags & kFlagTransit) && (flags & kFlagContinue)) {
    return Fail(resp, 0x02, 0x00, "T and C both set");
  }
  if (flags & kFlagContinue) {
    pending_text_ += req.data;
    if (pending_text_.size() > 64 * 1024) return Fail(resp, 0x02, 0x00, "login text too long");
    resp->bhs[1] = static_cast<uint8_t>(csg << 2);
    return Outcome::kContinue;
  }
  auto keys = ParseText(pending_text_ + req.data);
  pending_text_.clear();
  if (!keys.ok()) return Fail(resp, 0x02, 0x00, keys.status().message());
  TextPairs reply;
  std::string error;
  bool security_done = authenticated_;
  if (csg == kSecurity) {
    error = Security(*keys, &reply, &security_done);
  } else if (csg == kOperational) {
    if (config_.chap && !authenticated_) {
      return Fail(resp, 0x02, 0x01, "CHAP is required: the security stage was skipped");
    }
    authenticated_ = true;
    error = Operational(*keys, &reply);
  } else {
    return Fail(resp, 0x02, 0x00, fmt::format("invalid current stage {}", csg));
  }
  if (!error.empty()) {
    uint8_t detail = error.starts_with("auth:") ? 0x01
                     : error.starts_with("notfound:") ? 0x03
                     : error.starts_with("missing:") ? 0x07
                                                     : 0x00;
    return Fail(resp, 0x02, detail, error.substr(error.find(':') + 1));
  }
  const bool transit = (flags & kFlagTransit) && (csg != kSecurity || security_done);
  if (transit) {
    if (nsg <= csg || nsg == 2) return Fail(resp, 0x02, 0x00, "invalid next stage");
    if (nsg == kFullFeaturePhase) {
      if (params_.initiator_name.empty()) return Fail(resp, 0x02, 0x07, "InitiatorName is missing");
      if (!params_.discovery && !target_named_) {
        return Fail(resp, 0x02, 0x07, "TargetName is missing");
      }
      if (!declared_mrdsl_) {
        reply.emplace_back("MaxRecvDataSegmentLength", std::to_string(config_.max_recv_data_segment));
        declared_mrdsl_ = true;
      }
    }
  }
  resp->data = EncodeText(reply);
  resp->bhs[1] = static_cast<uint8_t>((transit ? kFlagTransit : 0) | csg << 2 | (transit ? nsg : 0));
  if (transit && nsg == kFullFeaturePhase) {
    resp->set_u16(14, assigned_tsih_);
    return Outcome::kFullFeature;
  }
  return Outcome::kContinue;
}

std::string Login::Security(const TextPairs& keys, TextPairs* reply, bool* done) {
  std::optional<std::string> chap_n, chap_r, chap_i, chap_c;
  TextPairs operational;
  for (const auto& [k, v] : keys) {
    if (k == "InitiatorName" || k == "TargetName" || k == "SessionType" ||
        k == "InitiatorAlias" || !IsSecurityKey(k)) {
      operational.emplace_back(k, v);
    } else if (k == "AuthMethod") {
      auto list = SplitList(v);
      const char* want = config_.chap ? "CHAP" : "None";
      if (std::find(list.begin(), list.end(), want) == list.end()) {
        return fmt::format("auth:the target requires AuthMethod {}, offered {}", want, v);
      }
      reply->emplace_back("AuthMethod", want);
      if (!config_.chap) authenticated_ = true;
      else chap_ = Chap::kOffered;
    } else if (k == "CHAP_A") {
      auto list = SplitList(v);
      if (chap_ != Chap::kOffered || std::find(list.begin(), list.end(), "5") == list.end()) {
        return "auth:CHAP with MD5 (CHAP_A=5) is the only algorithm";
      }
      uint8_t random[17];
      RAND_bytes(random, sizeof(random));
      chap_id_ = random[0];
      chap_challenge_.assign(reinterpret_cast<char*>(random + 1), 16);
      reply->emplace_back("CHAP_A", "5");
      reply->emplace_back("CHAP_I", std::to_string(chap_id_));
      reply->emplace_back("CHAP_C", EncodeHex(chap_challenge_));
      chap_ = Chap::kChallenged;
    } else if (k == "CHAP_N") {
      chap_n = v;
    } else if (k == "CHAP_R") {
      chap_r = v;
    } else if (k == "CHAP_I") {
      chap_i = v;
    } else if (k == "CHAP_C") {
      chap_c = v;
    }
  }
  if (chap_r) {
    if (chap_ != Chap::kChallenged || !chap_n) return "auth:CHAP response out of order";
    auto r = DecodeChapValue(*chap_r);
    if (*chap_n != config_.chap->user || !r.ok() ||
        *r != ChapResponse(chap_id_, config_.chap->secret, chap_challenge_)) {
      return "auth:CHAP authentication failed";
    }
    if (chap_i || chap_c) {  // mutual: the initiator challenges the target
      if (!config_.mutual) return "auth:mutual CHAP asked for but not configured";
      uint64_t id = 256;
      if (chap_i) id = Number(*chap_i).value_or(256);
      auto challenge = DecodeChapValue(chap_c.value_or(""));
      if (id > 255 || !challenge.ok() || challenge->empty() || *challenge == chap_challenge_) {
        return "auth:bad mutual CHAP challenge";
      }
      reply->emplace_back("CHAP_N", config_.mutual->user);
      reply->emplace_back("CHAP_R", EncodeHex(ChapResponse(static_cast<uint8_t>(id),
                                                           config_.mutual->secret, *challenge)));
    }
    authenticated_ = true;
  }
  *done = authenticated_;
  return Operational(operational, reply);
}

std::string Login::Declarative(const std::string& key, const std::string& value,
                               TextPairs* reply) {
  if (key == "InitiatorName") {
    if (value.empty()) return "missing:empty InitiatorName";
    params_.initiator_name = value;
  } else if (key == "InitiatorAlias") {
    params_.initiator_alias = value;
  } else if (key == "SessionType") {
    if (value != "Discovery" && value != "Normal") return "bad SessionType " + value;
    params_.discovery = value == "Discovery";
  } else if (key == "TargetName") {
    if (value != config_.name) return "notfound:no target named " + value;
    target_named_ = true;
    reply->emplace_back("TargetPortalGroupTag", "1");
    if (!config_.alias.empty()) reply->emplace_back("TargetAlias", config_.alias);
  }
  return {};
}

std::string Login::Operational(const TextPairs& keys, TextPairs* reply) {
  for (const auto& pair : keys) {
    const std::string& k = pair.first;
    const std::string& v = pair.second;
    if (k == "InitiatorName" || k == "InitiatorAlias" || k == "SessionType" || k == "TargetName") {
      std::string e = Declarative(k, v, reply);
      if (!e.empty()) return e;
      continue;
    }
    auto num = Number(v);
    auto yes = YesNo(v);
    auto answer = [&](std::string value) { reply->emplace_back(k, std::move(value)); };
    if (k == "HeaderDigest" || k == "DataDigest") {
      std::string pick = "Reject";
      for (auto choice : SplitList(v)) {
        if (choice == "CRC32C" || choice == "None") {
          pick = std::string(choice);
          break;
        }
      }
      (k == "HeaderDigest" ? params_.header_digest : params_.data_digest) = pick == "CRC32C";
      answer(pick);
    } else if (k == "MaxConnections") {
      answer(num && *num >= 1 ? "1" : "Reject");
    } else if (k == "InitialR2T") {
      if (yes) params_.initial_r2t = *yes;  // OR with our No
      answer(yes ? v : "Reject");
    } else if (k == "ImmediateData") {
      if (yes) params_.immediate_data = *yes;  // AND with our Yes
      answer(yes ? v : "Reject");
    } else if (k == "DataPDUInOrder" || k == "DataSequenceInOrder") {
      answer(yes ? "Yes" : "Reject");  // OR with our Yes
    } else if (k == "MaxRecvDataSegmentLength") {
      if (!num || *num < 512 || *num > 16777215) return "bad MaxRecvDataSegmentLength " + v;
      params_.max_recv_data_segment = static_cast<uint32_t>(*num);
      if (!declared_mrdsl_) {
        reply->emplace_back(k, std::to_string(config_.max_recv_data_segment));
        declared_mrdsl_ = true;
      }
    } else if (k == "MaxBurstLength" || k == "FirstBurstLength") {
      if (!num || *num < 512 || *num > 16777215) {
        answer("Reject");
        continue;
      }
      bool max = k == "MaxBurstLength";
      uint32_t value = static_cast<uint32_t>(std::min<uint64_t>(*num, max ? config_.max_burst : config_.first_burst));
      (max ? params_.max_burst : params_.first_burst) = value;
      answer(std::to_string(value));
    } else if (k == "MaxOutstandingR2T") {
      if (!num || *num < 1 || *num > 65535) {
        answer("Reject");
        continue;
      }
      params_.max_outstanding_r2t = static_cast<uint32_t>(std::min<uint64_t>(*num, 16));
      answer(std::to_string(params_.max_outstanding_r2t));
    } else if (k == "DefaultTime2Wait") {
      answer(num && *num <= 3600 ? std::to_string(std::max<uint64_t>(*num, 2)) : "Reject");
    } else if (k == "DefaultTime2Retain") {
      answer(num && *num <= 3600 ? std::to_string(std::min<uint64_t>(*num, 20)) : "Reject");
    } else if (k == "ErrorRecoveryLevel") {
      answer(num && *num <= 2 ? "0" : "Reject");
    } else if (k == "IFMarker" || k == "OFMarker") {
      answer(yes ? "No" : "Reject");
    } else if (k == "IFMarkInt" || k == "OFMarkInt") {
      answer("Irrelevant");
    } else if (IsSecurityKey(k)) {
      return "security key " + k + " outside the security stage";
    } else {
      answer("NotUnderstood");
    }
  }
  params_.first_burst = std::min(params_.first_burst, params_.max_burst);
  return {};
}

}  // namespace cstor::iscsi
