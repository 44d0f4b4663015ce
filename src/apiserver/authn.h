// Who may talk to the API server, and how its TLS is set up.
//
// Two ways in, as on a real cluster: the bearer token the server writes into its
// kubeconfig, or a client certificate signed by the server's client CA (kube-apiserver's
// --client-ca-file), as kubeadm, kind and minikube kubeconfigs use. A client certificate is
// optional in the handshake; one that does not verify fails it. Every authenticated
// client may do everything (no RBAC: see docs/control-plane.md).
#pragma once

#include <string>

#include <openssl/ssl.h>

#include "http/message.h"

namespace cstor::apiserver {

// Loads the serving certificate and key (PEM) into `ctx`, trusts `client_ca_pem` for
// client certificates, and asks clients for one without requiring it.
bool SetUpTls(SSL_CTX& ctx, const std::string& cert_pem, const std::string& key_pem,
              const std::string& client_ca_pem);

// True if the request carries `token` as its bearer token (compared in constant time),
// or came over a TLS connection whose client certificate verified.
bool Authenticated(const http::Request& req, const std::string& token);

}  // namespace cstor::apiserver
