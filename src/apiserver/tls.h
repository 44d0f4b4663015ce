// The API server's own credentials: a self-signed certificate (its own CA, so a client's
// kubeconfig can trust it directly), client certificates it signs, and random bearer
// tokens and UIDs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cstor::apiserver {

struct Certificate {
  std::string cert_pem;
  std::string key_pem;
};

// An ECDSA P-256 certificate valid for ten years for `hosts` (IP addresses or DNS names).
Result<Certificate> GenerateSelfSigned(const std::string& common_name,
                                       const std::vector<std::string>& hosts);

// A certificate authority (for client certificates), valid for ten years.
Result<Certificate> GenerateCa(const std::string& common_name);

// A client certificate (extended key usage clientAuth) for user `common_name` in group
// `organization`, valid for a year, signed by `ca` (from GenerateCa).
Result<Certificate> IssueClientCertificate(const Certificate& ca, const std::string& common_name,
                                           const std::string& organization);

// `bytes` random bytes from OpenSSL's CSPRNG, as lowercase hex.
std::string RandomHex(size_t bytes);
// Standard base64 (RFC 4648) with padding; Base64Decode fails on malformed input.
std::string Base64Encode(std::string_view data);
Result<std::string> Base64Decode(std::string_view text);

// An RFC 4122 version 4 UUID: "0f8fad5b-d9cb-469f-a165-70867728950e".
std::string NewUid();

}  // namespace cstor::apiserver
