// The boundaries of the source tree, checked on every build instead of held by convention:
// each folder includes only the layers below it; a header that says "Internal to X/" is
// included from X/ only (tests, benchmarks and tools may look inside); no source file grows
// past about 500 lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = CERTSCHED_SOURCE_DIR;

// What each folder may include, besides itself (adapters/ -> core, never the reverse).
const std::map<std::string, std::set<std::string>> kMayInclude = {
    {"base", {}},
    {"eventstore", {"base"}},
    {"statemachines", {"base"}},
    {"domain", {"base", "eventstore", "statemachines"}},
    {"projections", {"base", "eventstore", "statemachines", "domain"}},
    {"replay", {"base", "eventstore", "statemachines", "domain", "projections"}},
    {"adapters", {"base", "eventstore", "statemachines", "domain", "projections", "replay"}},
};
const std::set<std::string> kMayLookInside = {"tests", "benchmarks", "tools"};
constexpr size_t kMaxLines = 520;

struct SourceFile {
  std::string path;  // relative to the root, e.g. "domain/engine.cc"
  std::string text;
};

std::vector<SourceFile> sources() {
  std::vector<SourceFile> out;
  for (const char* top : {"base", "eventstore", "statemachines", "domain", "projections", "replay", "adapters", "tests",
                          "benchmarks", "tools"}) {
    for (const auto& e : fs::recursive_directory_iterator(kRoot / top)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cc" && ext != ".h")) continue;
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back({fs::relative(e.path(), kRoot).string(), ss.str()});
    }
  }
  return out;
}

std::string top_folder(const std::string& path) { return path.substr(0, path.find('/')); }

std::vector<std::string> project_includes(const std::string& text) {
  static const std::regex kInclude(R"re(#include "([a-z_]+/[^"]+)")re");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kInclude), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

// "X/" when the header's opening comment says it is internal to X/.
std::string internal_to(const std::string& text) {
  static const std::regex kInternal(R"([Ii]nternal to ([a-z_/]+/))");
  const std::string opening = text.substr(0, text.find("#pragma once"));
  std::smatch m;
  return std::regex_search(opening, m, kInternal) ? m[1].str() : "";
}

TEST(LayeringTest, EachFolderIncludesOnlyTheLayersBelowIt) {
  const auto all = sources();
  ASSERT_GT(all.size(), 100u);
  for (const auto& f : all) {
    const std::string from = top_folder(f.path);
    auto allowed = kMayInclude.find(from);
    if (allowed == kMayInclude.end()) continue;
    for (const auto& inc : project_includes(f.text)) {
      const std::string to = top_folder(inc);
      EXPECT_TRUE(to == from || allowed->second.count(to)) << f.path << " includes " << inc;
    }
  }
}

TEST(LayeringTest, InternalHeadersStayInTheirFolder) {
  const auto all = sources();
  std::map<std::string, std::string> internal;  // header -> the folder it is internal to
  for (const auto& f : all) {
    if (f.path.size() > 2 && f.path.substr(f.path.size() - 2) == ".h") {
      if (auto to = internal_to(f.text); !to.empty()) internal[f.path] = to;
    }
  }
  EXPECT_GE(internal.size(), 12u);  // the event store's, the domain's, the projections' and the API's
  for (const auto& [header, folder] : internal) {
    // The compiler holds the line too: the header compiles only where its folder's CMake
    // target (or a test) defines the macro, as a PRIVATE compile definition.
    const std::string text = std::find_if(all.begin(), all.end(), [&](const SourceFile& f) { return f.path == header; })->text;
    EXPECT_NE(text.find("#error \"" + header + " is internal to " + folder), std::string::npos) << header << " has no guard";
  }
  for (const auto& f : all) {
    if (kMayLookInside.count(top_folder(f.path))) continue;
    for (const auto& inc : project_includes(f.text)) {
      auto it = internal.find(inc);
      if (it == internal.end()) continue;
      EXPECT_EQ(f.path.rfind(it->second, 0), 0u) << f.path << " includes " << inc << ", internal to " << it->second;
    }
  }
}

// The domain names problems in its own terms; the CLI and the API add their own remedies
// (adapters/remedies.cc). No option (--reason) or command line (`certsched init`) in it.
TEST(LayeringTest, TheDomainDoesNotSpeakCli) {
  static const std::regex kCliWords(R"re("[^"\n]*(--[a-z]|`)[^"\n]*")re");
  for (const auto& f : sources()) {
    if (top_folder(f.path) != "domain") continue;
    std::istringstream lines(f.text);
    std::string line;
    for (int n = 1; std::getline(lines, line); ++n) {
      const std::string code = line.substr(0, line.find("//"));
      EXPECT_FALSE(std::regex_search(code, kCliWords)) << f.path << ":" << n << ": " << line;
    }
  }
}

TEST(LayeringTest, NoSourceFileIsOverAboutFiveHundredLines) {
  for (const auto& f : sources()) {
    const size_t lines = static_cast<size_t>(std::count(f.text.begin(), f.text.end(), '\n'));
    EXPECT_LE(lines, kMaxLines) << f.path << " has " << lines << " lines: split it along its seams";
  }
}

}  // namespace
