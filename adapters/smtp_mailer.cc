#include "adapters/smtp_mailer.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>

namespace certsched::adapters {
namespace {

struct CurlFree { void operator()(CURL* c) const { curl_easy_cleanup(c); } };
struct MimeFree { void operator()(curl_mime* m) const { curl_mime_free(m); } };
struct ListFree { void operator()(curl_slist* l) const { curl_slist_free_all(l); } };

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Header values come partly from partner-supplied data (ids, emails): no line breaks.
std::string header_safe(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

std::string rfc5322_date(int64_t now_ns) {
  std::time_t t = static_cast<std::time_t>(now_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// libcurl calls this about once a second while a transfer waits, and more often while
// it moves: a non-zero answer aborts the transfer.
int abandon_if_asked(void* limits, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const CallLimits*>(limits)->abandoned() ? 1 : 0;
}

}  // namespace

SmtpMailer::SmtpMailer(std::string url, std::string from, CallLimits limits)
    : url_(std::move(url)), from_(std::move(from)), limits_(limits) {}

std::string SmtpMailer::message_id_for(const std::string& notification_id) {
  std::string local;
  for (char c : notification_id) local.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '.');
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return "<" + local + ".certsched@" + std::string(host) + ">";
}

Result<std::string> SmtpMailer::send(const projections::Notification& n, int64_t now_ns) const {
  if (url_.empty()) return Status::InvalidArgument("no SMTP server is configured (certsched init --smtp URL)");
  if (n.to.empty()) return Status::InvalidArgument("notification " + n.id + " has no recipient");
  init_curl_once();
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return Status::IOError("libcurl could not start");
  const std::string message_id = message_id_for(n.id);

  std::unique_ptr<curl_slist, ListFree> rcpt;
  std::string to_header;
  for (const auto& to : n.to) {
    rcpt.reset(curl_slist_append(rcpt.release(), ("<" + header_safe(to) + ">").c_str()));
    to_header += (to_header.empty() ? "" : ", ") + header_safe(to);
  }
  std::unique_ptr<curl_slist, ListFree> headers;
  for (const std::string& h : {"From: " + header_safe(from_), "To: " + to_header, "Subject: " + header_safe(n.subject),
                               "Message-ID: " + message_id, "Date: " + rfc5322_date(now_ns),
                               std::string("X-Certsched-Notification: ") + header_safe(n.id)}) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  }

  std::unique_ptr<curl_mime, MimeFree> mime(curl_mime_init(curl.get()));
  curl_mimepart* text = curl_mime_addpart(mime.get());
  curl_mime_data(text, n.body.c_str(), CURL_ZERO_TERMINATED);
  curl_mime_type(text, "text/plain; charset=utf-8");
  for (const auto& a : n.attachments) {
    curl_mimepart* part = curl_mime_addpart(mime.get());
    curl_mime_data(part, a.content.data(), a.content.size());
    curl_mime_type(part, a.content_type.c_str());
    curl_mime_filename(part, a.filename.c_str());
    curl_mime_encoder(part, "base64");
  }

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + header_safe(from_) + ">").c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());
  const long timeout_ms = static_cast<long>(limits_.timeout.count());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(10'000L, timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abandon_if_asked);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &limits_);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(url_.rfind("smtps://", 0) == 0 ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return Status::IOError("sending " + message_id + " was abandoned: certsched is stopping");
  }
  if (rc != CURLE_OK) {
    return Status::IOError("SMTP " + url_ + " did not accept " + message_id + ": " +
                           (error[0] ? std::string(error) : curl_easy_strerror(rc)));
  }
  return message_id;
}

}  // namespace certsched::adapters
