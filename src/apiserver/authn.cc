#include "apiserver/authn.h"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace cstor::apiserver {

bool SetUpTls(SSL_CTX& ctx, const std::string& cert_pem, const std::string& key_pem,
              const std::string& client_ca_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!cert || !key) return false;
  if (SSL_CTX_use_certificate(&ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(&ctx, key.get()) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1) {
    return false;
  }
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  // Client certificates: signed by the client CA, which is also named to clients so they
  // can choose a certificate; optional.
  std::unique_ptr<BIO, decltype(&BIO_free)> ca_bio(
      BIO_new_mem_buf(client_ca_pem.data(), static_cast<int>(client_ca_pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr),
                                                 X509_free);
  if (!ca) return false;
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(&ctx), ca.get()) != 1) return false;
  if (SSL_CTX_add_client_CA(&ctx, ca.get()) != 1) return false;
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  // Needed once the server verifies peers, or resumed sessions fail.
  static const unsigned char kContext[] = "cstor-apiserver";
  SSL_CTX_set_session_id_context(&ctx, kContext, sizeof(kContext) - 1);
  return true;
}

bool Authenticated(const http::Request& req, const std::string& token) {
  const std::string auth = req.get_header_value("Authorization");
  const std::string expected = "Bearer " + token;
  if (!token.empty() && auth.size() == expected.size() &&
      CRYPTO_memcmp(auth.data(), expected.data(), auth.size()) == 0) {
    return true;
  }
  return req.client_certificate;
}

}  // namespace cstor::apiserver
