#include "adapters/http/api_server.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
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
// A client gets this long for each step: the TLS handshake, sending a request (or the next
// one on a kept-alive connection), taking in the next kAnswerChunk of the answer (a large
// answer, an evidence pack say, may take a slow link longer as a whole).
constexpr auto kClientStep = std::chrono::seconds(10);
constexpr uint32_t kAnswerChunk = 64 * 1024;
using Clock = std::chrono::steady_clock;

}  // namespace

struct ApiServer::Impl {
  ApiOptions options;
  EngineAccess access;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::atomic<int> connections{0};
  // The sockets of the connections being served, each with the time by which its client
  // must finish the step it is in (Clock::time_point::max() while serve works on its
  // request). Blocking socket calls have no limit of their own (asio waits out a receive
  // timeout's EAGAIN in poll without one), so the reaper shuts down a socket whose client
  // is late, which ends the call blocked on it; stopping ends the reads of the rest.
  std::mutex sockets_mu;
  std::condition_variable sockets_cv;
  std::map<int, Clock::time_point> deadlines;
  bool drained = false;  // stopping, and every connection has ended
  std::thread accept_thread, reaper_thread;
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP

  void serve_connection(tcp::socket socket);
  template <class Stream>
  void serve_requests(Stream& stream, int fd, const std::string& peer);
  void accept_loop();
  void reap_late_clients();
  void client_step(int fd) { set_deadline(fd, Clock::now() + kClientStep); }
  void serve_step(int fd) { set_deadline(fd, Clock::time_point::max()); }
  void set_deadline(int fd, Clock::time_point t) {
    std::lock_guard<std::mutex> l(sockets_mu);
    deadlines[fd] = t;
  }
};

void ApiServer::Impl::reap_late_clients() {
  std::unique_lock<std::mutex> l(sockets_mu);
  while (!drained) {
    sockets_cv.wait_for(l, std::chrono::milliseconds(500));
    const auto now = Clock::now();
    for (auto& [fd, deadline] : deadlines) {
      if (deadline < now) {
        ::shutdown(fd, SHUT_RDWR);  // a socket stays in the map until closed: fd is still this one
        deadline = Clock::time_point::max();
      }
    }
  }
}

void ApiServer::Impl::serve_connection(tcp::socket socket) {
  const int fd = socket.native_handle();
  client_step(fd);
  beast::error_code ec;
  const std::string peer = socket.remote_endpoint(ec).address().to_string();
  if (tls) {
    beast::ssl_stream<tcp::socket&> stream(socket, *tls);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) {
      serve_requests(stream, fd, peer);
      client_step(fd);
      stream.shutdown(ec);
    }
  } else {
    serve_requests(socket, fd, peer);
  }
  {
    std::lock_guard<std::mutex> l(sockets_mu);
    deadlines.erase(fd);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  --connections;
}

template <class Stream>
void ApiServer::Impl::serve_requests(Stream& stream, int fd, const std::string& peer) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  while (!stopping) {
    client_step(fd);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(16 * 1024);
    bhttp::read(stream, buffer, parser, ec);
    serve_step(fd);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) break;
    ApiReply reply;
    bool keep_alive = false;
    if (ec == bhttp::error::body_limit) {
      reply = error_reply(413, "too_large", "the request body is larger than 1 MiB");
    } else if (ec) {
      if (ec == asio::error::shut_down || ec == asio::error::connection_reset) break;  // reaped, or gone
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
    bhttp::serializer<false, bhttp::string_body> answer{res};
    answer.limit(kAnswerChunk);
    do {
      client_step(fd);
      bhttp::write_some(stream, answer, ec);
    } while (!ec && !answer.is_done());
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
  impl->reaper_thread = std::thread([raw] { raw->reap_late_clients(); });
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
    for (const auto& [fd, deadline] : impl_->deadlines) ::shutdown(fd, SHUT_RD);
  }
  while (impl_->connections > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  {
    std::lock_guard<std::mutex> l(impl_->sockets_mu);
    impl_->drained = true;
  }
  impl_->sockets_cv.notify_all();
  impl_->reaper_thread.join();
}

}  // namespace certsched::http
