#include "wire/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>

#include "base/check.h"

namespace cstor::wire {
namespace {

Proof Hmac(std::string_view secret, const std::string& message) {
  Proof out{};
  size_t len = 0;
  unsigned char* r = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(),
                               secret.size(), reinterpret_cast<const unsigned char*>(message.data()),
                               message.size(), out.data(), out.size(), &len);
  CSTOR_CHECK(r != nullptr && len == out.size());
  return out;
}

// Length-prefixes each part so that no two different inputs produce the same message.
void Part(std::string* m, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  m->append(reinterpret_cast<const char*>(&n), sizeof(n));
  m->append(s);
}

std::string_view View(const Nonce& n) {
  return {reinterpret_cast<const char*>(n.data()), n.size()};
}

}  // namespace

Proof AnswerProof(std::string_view secret, std::string_view volume, const Nonce& connect_nonce,
                  const Nonce& answer_nonce) {
  std::string m;
  Part(&m, "cstor-answer");
  Part(&m, volume);
  Part(&m, View(connect_nonce));
  Part(&m, View(answer_nonce));
  return Hmac(secret, m);
}

Proof ConnectProof(std::string_view secret, std::string_view volume, std::string_view replica_id,
                   const Nonce& connect_nonce, const Nonce& answer_nonce) {
  std::string m;
  Part(&m, "cstor-connect");
  Part(&m, volume);
  Part(&m, replica_id);
  Part(&m, View(answer_nonce));
  Part(&m, View(connect_nonce));
  return Hmac(secret, m);
}

bool ProofsEqual(const Proof& a, const Proof& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Nonce RandomNonce() {
  Nonce n{};
  CSTOR_CHECK(RAND_bytes(n.data(), static_cast<int>(n.size())) == 1);
  return n;
}

}  // namespace cstor::wire
