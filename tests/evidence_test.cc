// The auditor's evidence pack, as an auditor uses it: exported from a store with real
// rotations, then checked with no store by `certsched evidence verify` and by an
// independent checker (tests/evidence_check.py: Python's standard library and openssl,
// written from docs/evidence-format.md). Each kind of tampering is caught by both, naming
// the position or the file; the page renders in headless chromium and names every
// partner; nothing secret is in the pack.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "base/base64.h"
#include "tests/cert_factory.h"
#include "tests/cli_runner.h"
#include "tests/http_client.h"
#include "tests/servers.h"
#include "tests/test_support.h"

namespace certsched {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kPassword = "Evidence-Pw-2027!";

// Runs the independent checker on PACK against the pinned key: its exit code and output.
std::pair<int, std::string> independent_check(const std::string& pack, const std::string& key) {
  const std::string out = testing::shell("python3 " CERTSCHED_SOURCE_DIR "/tests/evidence_check.py " + pack + " " + key +
                                         " 2>&1; echo rc=$?");
  const size_t rc = out.rfind("rc=");
  return {std::stoi(out.substr(rc + 3)), out.substr(0, rc)};
}

std::vector<std::string> lines_of(const std::string& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_lines(const std::string& file, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  testing::write_file(file, text);
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CertFactory f(work_.path());
    for (const char* n : {"sign-2026", "sign-2027"}) certs_[n] = f.make(testing::CertSpec(n).password(kPassword));
    certs_["acme-sign"] = f.make(testing::CertSpec("acme-sign"));
    testing::write_file(work_.sub("pw.txt"), kPassword + "\n");
    if (uri_.empty()) {
      cli_.ok({"init", "--admin-email", "pki@example.com"});
    } else {
      cli_.ok({"init", "--admin-email", "pki@example.com", "--backend", uri_});
    }
    for (const char* n : {"sign-2026", "sign-2027"}) {
      cli_.ok({"cert", "import", "--alias", n, "--cert", certs_[n].cert_pem, "--key", certs_[n].key_pem, "--password-file",
               work_.sub("pw.txt")});
    }
    cli_.ok({"cert", "import", "--alias", "acme-sign", "--cert", certs_["acme-sign"].cert_pem, "--partner-cert"});
    for (const char* p : {"acme", "globex", "initech"}) {
      cli_.ok({"partner", "add", "--id", p, "--protocol", "AS2", "--email", std::string("edi@") + p + ".example",
               "--local-signing", "sign-2026", "--partner-signing", "acme-sign"});
    }
    cli_.ok({"schedule", "propose", "--partners", "acme,globex", "--role", "local-signing=sign-2027", "--at", "now",
             "--password-file", work_.sub("pw.txt")});
    cli_.ok({"schedule", "confirm", "P1"});
    cli_.ok({"tick"});
    cli_.ok({"partner", "remove", "initech", "--reason", "contract ended"});
    // The auditor pins the key the store shows.
    testing::write_file(work_.sub("pinned.pem"), cli_.ok({"options", "show"})["evidence_public_key"].get<std::string>());
    cli_.ok({"evidence", "export", work_.sub("pack")});
  }
  testing::CliResult verify(const std::string& pack) {
    return testing::run_cli({"--json", "evidence", "verify", pack, "--key", work_.sub("pinned.pem")});
  }

  // The pack at `pack` verifies with certsched and with the independent checker, and ends
  // where the store's log ends.
  void expect_verified(const std::string& pack) {
    const testing::CliResult r = verify(pack);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json v = json::parse(r.out);
    const json log = cli_.ok({"replay", "--verify"});
    EXPECT_EQ(v["position"], log["events"]);
    EXPECT_EQ(v["head_hash"], log["head_hash"]);
    EXPECT_EQ(v["key_id"], cli_.ok({"options", "show"})["evidence_key_id"]);
    const auto [code, said] = independent_check(pack, work_.sub("pinned.pem"));
    EXPECT_EQ(code, 0) << said;
    EXPECT_NE(said.find("OK position " + std::to_string(log["events"].get<uint64_t>())), std::string::npos) << said;
  }

  std::string uri_;  // a clustered store's database; empty for the embedded store
  testing::TempDir work_;
  std::map<std::string, testing::CertFiles> certs_;
  testing::StoreCli cli_{work_.sub("store")};
};

TEST_F(EvidenceTest, APackVerifiesWithCertschedAndWithAnIndependentChecker) {
  expect_verified(work_.sub("pack"));
  // The key is 0600 in the store, and only its public part is anywhere else.
  EXPECT_EQ(fs::status(cli_.store() + "/evidence.key").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

// A clustered store's pack is the same pack: its log read from PostgreSQL, signed with the
// store's one evidence key, whichever node exports it.
class ClusteredEvidenceTest : public EvidenceTest {
 protected:
  ClusteredEvidenceTest() { uri_ = testing::fresh_postgres_database(); }
};

TEST_F(ClusteredEvidenceTest, EveryNodesPackVerifiesAgainstTheOneKeyTheAuditorPinned) {
  expect_verified(work_.sub("pack"));
  testing::StoreCli other(work_.sub("other-node"));
  other.ok({"join", "--backend", uri_, "--store-key", cli_.store() + "/store.key"});
  EXPECT_EQ(other.ok({"options", "show"})["evidence_public_key"], cli_.ok({"options", "show"})["evidence_public_key"]);
  other.ok({"evidence", "export", work_.sub("other-pack")});
  expect_verified(work_.sub("other-pack"));
}

TEST_F(EvidenceTest, EveryAlterationIsCaughtByBothCheckers) {
  const std::string pack = work_.sub("pack");
  const std::vector<std::string> lines = lines_of(pack + "/events.jsonl");
  ASSERT_GE(lines.size(), 8u);
  const size_t k = 5;  // the line of the record at position k + 1 ... if each holds one event
  const uint64_t at = json::parse(lines[k])["position"];
  struct Tamper {
    std::string name;
    std::function<void(const std::string&)> apply;
    std::string certsched_names, checker_names;
  };
  const std::string position = "position " + std::to_string(at);
  const std::vector<Tamper> tampers = {
      {"a byte of a record", [&](const std::string& p) {
         std::vector<std::string> l = lines;
         json line = json::parse(l[k]);
         std::string bytes = base::base64_decode(line["record_base64"].get<std::string>()).value();
         bytes[bytes.size() - 3] ^= 0x20;
         line["record_base64"] = base::base64_encode(bytes);
         l[k] = line.dump();
         write_lines(p + "/events.jsonl", l);
       }, position, position},
      {"a line dropped", [&](const std::string& p) {
         std::vector<std::string> l = lines;
         l.erase(l.begin() + static_cast<long>(k));
         write_lines(p + "/events.jsonl", l);
       }, position, position},
      {"two lines swapped", [&](const std::string& p) {
         std::vector<std::string> l = lines;
         std::swap(l[k], l[k + 1]);
         write_lines(p + "/events.jsonl", l);
       }, position, position},
      {"the checkpoint edited", [&](const std::string& p) {
         json c = json::parse(testing::read_file(p + "/checkpoint.json"));
         c["position"] = c["position"].get<uint64_t>() - 1;
         testing::write_file(p + "/checkpoint.json", c.dump(2) + "\n");
       }, "checkpoint.sig", "checkpoint.sig"},
      {"the key replaced and the checkpoint re-signed", [&](const std::string& p) {
         json c = json::parse(testing::read_file(p + "/checkpoint.json"));
         c["store_id"] = std::string(64, 'f');
         testing::write_file(p + "/checkpoint.json", c.dump(2) + "\n");
         testing::shell("openssl genpkey -algorithm ed25519 -out " + p + "/../forger.key && openssl pkey -in " + p +
                        "/../forger.key -pubout -out " + p + "/evidence-key.pem && openssl pkeyutl -sign -inkey " + p +
                        "/../forger.key -rawin -in " + p + "/checkpoint.json -out " + p + "/checkpoint.sig");
       }, "pinned key", "pinned key"},
  };
  for (size_t i = 0; i < tampers.size(); ++i) {
    SCOPED_TRACE(tampers[i].name);
    const std::string copy = work_.sub("tampered-" + std::to_string(i) + "/pack");
    fs::create_directories(work_.sub("tampered-" + std::to_string(i)));
    fs::copy(pack, copy, fs::copy_options::recursive);
    tampers[i].apply(copy);
    const testing::CliResult r = verify(copy);
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find(tampers[i].certsched_names), std::string::npos) << r.err;
    const auto [code, said] = independent_check(copy, work_.sub("pinned.pem"));
    EXPECT_EQ(code, 4) << said;
    EXPECT_NE(said.find(tampers[i].checker_names), std::string::npos) << said;
  }
  // A pack checked against its own (replaced) key says nothing was altered since it was
  // signed, and that the key was not pinned: pinning is what catches a forger.
  const testing::CliResult own = testing::run_cli({"--json", "evidence", "verify", work_.sub("tampered-4/pack")});
  EXPECT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(json::parse(own.out)["key_pinned"], false);
}

TEST_F(EvidenceTest, ThePageRendersEveryPartnerAndNoSecretIsInThePack) {
  const std::string page = work_.sub("pack/index.html");
  const std::string dom = testing::shell("chromium --headless --no-sandbox --disable-gpu --dump-dom file://" + page +
                                         " 2>/dev/null");
  for (const char* partner : {"acme", "globex"}) {
    EXPECT_NE(dom.find("id=\"p-" + std::string(partner) + "\""), std::string::npos) << partner;
  }
  EXPECT_NE(dom.find("sign-2027"), std::string::npos);
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  EXPECT_EQ(dom.find("<script"), std::string::npos) << "no scripts are needed to read it";
  EXPECT_EQ(dom.find("http://"), std::string::npos) << "nothing is fetched";
  testing::shell("chromium --headless --no-sandbox --disable-gpu --window-size=1200,1600 --screenshot=" +
                 work_.sub("page.png") + " file://" + page + " 2>/dev/null");
  // Not blank: a blank page compresses to a few hundred bytes.
  EXPECT_GT(fs::file_size(work_.sub("page.png")), 20000u);
  // Removed partners stay in the log (and so in events.jsonl), not in the present views.
  EXPECT_NE(testing::read_file(work_.sub("pack/events.jsonl")).find("partner removed: contract ended"), std::string::npos);

  for (const auto& f : fs::directory_iterator(work_.sub("pack"))) {
    const std::string text = testing::read_file(f.path().string());
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << f.path();
    EXPECT_EQ(text.find(kPassword), std::string::npos) << f.path();
    EXPECT_EQ(text.find(testing::read_file(cli_.store() + "/api-token").substr(0, 32)), std::string::npos) << f.path();
    EXPECT_EQ(text.find(testing::read_file(cli_.store() + "/store.key").substr(0, 32)), std::string::npos) << f.path();
  }
}

// An auditor's store of 1,000 partners: the page stays one readable document (a table of
// contents, a timeline per partner) and renders in well under a minute.
TEST_F(EvidenceTest, AThousandPartnersRender) {
  // Added through serve's API: a thousand CLI processes would take a minute.
  testing::ServeProcess serve = testing::start_serve(cli_.store(), work_.sub("serve.log"));
  ASSERT_TRUE(serve.ready);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "tp" + std::to_string(1000 + i);
    ASSERT_EQ(testing::serve_call(serve, "POST", "/v1/partners",
                                  {{"id", id}, {"protocol", "AS4"}, {"email", "b2b@tp.example"},
                                   {"certificates", {{"local-signing", "sign-2027"}}}})
                  .status,
              200);
  }
  EXPECT_EQ(testing::stop_serve(serve), 0);
  cli_.ok({"evidence", "export", work_.sub("big")});
  const auto start = std::chrono::steady_clock::now();
  const std::string dom = testing::shell("chromium --headless --no-sandbox --disable-gpu --dump-dom file://" +
                                         work_.sub("big/index.html") + " 2>/dev/null");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ evidence ] 1,000-partner page rendered by chromium in " << seconds << " s ("
            << fs::file_size(work_.sub("big/index.html")) / 1024 << " KiB)\n";
  EXPECT_NE(dom.find("id=\"p-tp1999\""), std::string::npos);
  EXPECT_NE(dom.find("href=\"#p-tp1500\""), std::string::npos) << "the table of contents links each partner";
  EXPECT_NE(dom.find("<h3>T</h3>"), std::string::npos) << "the contents are grouped";
  EXPECT_EQ(verify(work_.sub("big")).exit_code, 0);
  EXPECT_EQ(independent_check(work_.sub("big"), work_.sub("pinned.pem")).first, 0);
}

}  // namespace
}  // namespace certsched
