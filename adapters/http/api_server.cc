#include "adapters/http/api_server.h"

#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <mutex>
#include <set>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <thread>

#include "adapters/http/api_routes.h"

namespace certsched::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBody = 1 << 20;
constexpr int kMaxConnections = 64;
constexpr int kIdleSeconds = 10;

}  // namespace

struct ApiServer::Impl {
  ApiOptions options;
  EngineAccess access;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  // The sockets of the connections being served, so that stopping can end their reads.
  std::mutex sockets_mu;
  std::set<int> sockets;
  std::thread accept_thread;
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP

  void serve_connection(tcp::socket socket);
  template <class Stream>
  void serve_requests(Stream& stream, const std::string& peer);
  void accept_loop();
};

void ApiServer::Impl::serve_connection(tcp::socket socket) {
  {
    std::lock_guard<std::mutex> l(sockets_mu);
    sockets.insert(socket.native_handle());
  }
  // A blocking read gives up after kIdleSeconds: a slow or silent client cannot hold a
  // worker for ever.
  timeval tv{kIdleSeconds, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  beast::error_code ec;
  const std::string peer = socket.remote_endpoint(ec).address().to_string();
  if (tls) {
    beast::ssl_stream<tcp::socket&> stream(socket, *tls);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) {
      serve_requests(stream, peer);
      stream.shutdown(ec);
    }
  } else {
    serve_requests(socket, peer);
  }
  {
    std::lock_guard<std::mutex> l(sockets_mu);
    sockets.erase(socket.native_handle());
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  --connections;
}

template <class Stream>
void ApiServer::Impl::serve_requests(Stream& stream, const std::string& peer) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  while (!stopping) {
    // A plain keep-alive connection that sends nothing more for kIdleSeconds is closed.
    // (The socket's receive timeout alone does not end a read: asio takes its EAGAIN for
    // "wait for data" and polls without a limit.) Over TLS the next request may already
    // sit in OpenSSL's buffer, where polling the socket would not see it.
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      pollfd p{stream.native_handle(), POLLIN, 0};
      if (buffer.size() == 0 && poll(&p, 1, kIdleSeconds * 1000) <= 0) break;
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(16 * 1024);
    bhttp::read(stream, buffer, parser, ec);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) break;
    ApiReply reply;
    bool keep_alive = false;
    if (ec == bhttp::error::body_limit) {
      reply = error_reply(413, "too_large", "the request body is larger than 1 MiB");
    } else if (ec) {
      if (ec == asio::error::would_block || ec == asio::error::timed_out || ec == asio::error::try_again) break;
      reply = error_reply(400, "bad_request", "the request is not valid HTTP: " + ec.message());
    } else {
      const auto& req = parser.get();
      keep_alive = req.keep_alive();
      const std::string auth(req[bhttp::field::authorization]);
      const std::string expected = "Bearer " + options.token;
      if (auth.size() != expected.size() || CRYPTO_memcmp(auth.data(), expected.data(), auth.size()) != 0) {
        reply = error_reply(401, "unauthorized", "missing or wrong bearer token (see DIR/api-token)");
      } else {
        reply = route_request({std::string(req.method_string()), std::string(req.target()),
                               std::string(req["Idempotency-Key"]), peer, req.body(), std::string(req["X-Certsched-Actor"])},
                              {options.store_dir, options.store, access, options.outbox, options.installer,
                               options.allow_remote_reload_command, options.projections, options.lease});
      }
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
    res.set(bhttp::field::content_type, reply.content_type);
    res.set(bhttp::field::server, "certsched");
    res.keep_alive(keep_alive && !stopping);
    res.body() = reply.content_type == "application/json" ? reply.body + "\n" : reply.body;
    res.prepare_payload();
    bhttp::write(stream, res, ec);
    if (ec || !res.keep_alive()) break;
  }
}

void ApiServer::Impl::accept_loop() {
  while (!stopping) {
    tcp::socket socket(io);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (stopping) break;
    if (ec) continue;
    if (connections >= kMaxConnections) {
      socket.close(ec);  // too many at once: refuse rather than queue without bound
      continue;
    }
    ++connections;
    // Detached: the destructor waits for `connections` to drop to zero instead of joining.
    std::thread([this, s = std::move(socket)]() mutable { serve_connection(std::move(s)); }).detach();
  }
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ApiOptions& options, EngineAccess access) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->access = std::move(access);
  beast::error_code ec;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Status::InvalidArgument("give both --tls-cert and --tls-key, or neither");
  }
  if (!options.tls_cert_file.empty()) {
    impl->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain_file(options.tls_cert_file, ec);
    if (!ec) impl->tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument("cannot use --tls-cert " + options.tls_cert_file + " / --tls-key " +
                                     options.tls_key_file + ": " + ec.message());
    }
  }
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return Status::InvalidArgument("--listen address '" + options.address + "' is not an IP address");
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + options.address + ":" + std::to_string(options.port) + ": " + ec.message());
  }
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

uint16_t ApiServer::port() const { return impl_->acceptor.local_endpoint().port(); }

ApiServer::~ApiServer() {
  impl_->stopping = true;
  // Unblock the accept with a connection of our own, then let requests in flight finish.
  beast::error_code ec;
  tcp::socket poke(impl_->io);
  poke.connect(impl_->acceptor.local_endpoint(), ec);
  impl_->accept_thread.join();
  impl_->acceptor.close(ec);
  // Requests in flight finish; connections waiting for their next request end now.
  {
    std::lock_guard<std::mutex> l(impl_->sockets_mu);
    for (int fd : impl_->sockets) ::shutdown(fd, SHUT_RD);
  }
  while (impl_->connections > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace certsched::http
