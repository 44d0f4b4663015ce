#include "apiserver/tls.h"

#include <arpa/inet.h>

#include <memory>
#include <utility>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace cstor::apiserver {
namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A new P-256 key and a certificate for it: subject CN (and O), valid `days`, with
// `extensions` (nid, value), signed by `issuer` (null: by itself).
Result<Certificate> MakeCertificate(const std::string& common_name, const std::string& organization,
                                    long days, const std::vector<std::pair<int, std::string>>& extensions,
                                    const Certificate* issuer) {
  X509Ptr issuer_cert;
  PkeyPtr issuer_key;
  if (issuer != nullptr) {
    BioPtr cert_bio(BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size())));
    BioPtr key_bio(BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size())));
    issuer_cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    issuer_key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!issuer_cert || !issuer_key) return Status::InvalidArgument("the CA certificate or key is not valid PEM");
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!key || !cert) return Status::Internal("openssl: cannot create a key or certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  // Kubernetes reads a client certificate's user from CN and its groups from O.
  if (!organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(organization.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    const bool added = ext != nullptr && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!added) return Status::Internal("openssl: cannot add certificate extensions");
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0) {
    return Status::Internal("openssl: cannot sign the certificate");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return Certificate{BioString(cert_bio.get()), BioString(key_bio.get())};
}

}  // namespace

Result<Certificate> GenerateSelfSigned(const std::string& common_name,
                                       const std::vector<std::string>& hosts) {
  std::string san;
  for (const std::string& h : hosts) {
    in6_addr addr;
    bool ip = inet_pton(AF_INET, h.c_str(), &addr) == 1 || inet_pton(AF_INET6, h.c_str(), &addr) == 1;
    if (!san.empty()) san += ',';
    san += ip ? "IP:" : "DNS:";
    san += h;
  }
  std::vector<std::pair<int, std::string>> ext = {{NID_basic_constraints, "critical,CA:TRUE"},
                                                  {NID_key_usage, "critical,digitalSignature,keyCertSign"},
                                                  {NID_ext_key_usage, "serverAuth"},
                                                  {NID_subject_key_identifier, "hash"}};
  if (!san.empty()) ext.emplace_back(NID_subject_alt_name, san);
  return MakeCertificate(common_name, "", 10L * 365, ext, nullptr);
}

Result<Certificate> GenerateCa(const std::string& common_name) {
  return MakeCertificate(common_name, "", 10L * 365,
                         {{NID_basic_constraints, "critical,CA:TRUE"},
                          {NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"},
                          {NID_subject_key_identifier, "hash"}},
                         nullptr);
}

Result<Certificate> IssueClientCertificate(const Certificate& ca, const std::string& common_name,
                                           const std::string& organization) {
  return MakeCertificate(common_name, organization, 365,
                         {{NID_basic_constraints, "critical,CA:FALSE"},
                          {NID_key_usage, "critical,digitalSignature"},
                          {NID_ext_key_usage, "clientAuth"},
                          {NID_authority_key_identifier, "keyid"}},
                         &ca);
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64: length is not a multiple of 4");
  // Padding: at most two '=', only at the end.
  const size_t first_pad = text.find('=');
  if (first_pad != std::string_view::npos &&
      (text.size() - first_pad > 2 || text.find_first_not_of('=', first_pad) != std::string_view::npos)) {
    return Status::InvalidArgument("base64: misplaced padding");
  }
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("base64: malformed input");
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as output bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

std::string NewUid() {
  std::string h = RandomHex(16);
  h[12] = '4';                                       // version 4
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace cstor::apiserver
