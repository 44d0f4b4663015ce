// Session authentication: both ends of a replication session prove, by HMAC-SHA256 over
// fresh nonces, that they know the volume's secret, without sending it. A stray process
// cannot join a volume, and a replica of another volume (another secret) is refused.
//
//   connecting side  -> Hello(nonce_c)
//   answering side   -> Challenge(nonce_a, proof_a = HMAC(secret, "cstor-answer" | volume |
//                                                         nonce_c | nonce_a))
//   connecting side  -> Auth(proof_c = HMAC(secret, "cstor-connect" | volume | replica_id |
//                                              nonce_a | nonce_c))
#pragma once

#include <string_view>

#include "wire/messages.h"

namespace cstor::wire {

Proof AnswerProof(std::string_view secret, std::string_view volume, const Nonce& connect_nonce,
                  const Nonce& answer_nonce);
Proof ConnectProof(std::string_view secret, std::string_view volume, std::string_view replica_id,
                   const Nonce& connect_nonce, const Nonce& answer_nonce);
// Constant-time comparison.
bool ProofsEqual(const Proof& a, const Proof& b);
// A nonce from the operating system's cryptographic generator.
Nonce RandomNonce();

}  // namespace cstor::wire
