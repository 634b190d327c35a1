// A forged length must be refused without allocating on it. This binary replaces the
// global allocator to record the largest single request, and ctest also runs it under an
// address-space limit (see CMakeLists.txt), so a decoder that trusted the length would
// either be caught by the assertion or die on the limit.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "domain/event_codec.h"
#include "base/byte_io.h"
#include "eventstore/crc32c.h"
#include "eventstore/record_format.h"
#include "tests/test_support.h"

namespace {
std::atomic<size_t> g_largest{0};
std::atomic<bool> g_tracking{false};

void note(size_t n) {
  if (!g_tracking.load(std::memory_order_relaxed)) return;
  size_t cur = g_largest.load();
  while (n > cur && !g_largest.compare_exchange_weak(cur, n)) {
  }
}
}  // namespace

void* operator new(size_t n) {
  note(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace certsched {
namespace {

constexpr size_t kAllowed = 1 << 20;  // far below any forged length used here

struct Tracking {
  Tracking() {
    g_largest = 0;
    g_tracking = true;
  }
  ~Tracking() { g_tracking = false; }
  size_t largest() const { return g_largest.load(); }
};


TEST(ForgedLengthTest, FramedPayloadLengthOfTwoGigabytes) {
  using namespace eventstore;
  std::string body;
  base::put_u64(body, 1);
  base::put_u64(body, 1);
  base::put_u64(body, 0);
  base::put_u16(body, 1);
  base::put_bytes16(body, "s");
  base::put_bytes16(body, "T");
  base::put_bytes16(body, "");
  base::put_bytes16(body, "c");
  base::put_bytes16(body, "");
  base::put_u32(body, 0x7FFFFFFF);  // payload claims 2 GiB
  body += "tiny";
  const std::string value = testing::forge_stored_value(body);

  Tracking t;
  StoredValue sv;
  ASSERT_TRUE(parse_stored_value(value, 1, &sv).ok());
  RecordedEvent e;
  Status st = decode_body(sv.body, 1, &e);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_LT(t.largest(), kAllowed);
}

TEST(ForgedLengthTest, CerealStringLengthOfOneTerabyte) {
  // SystemInitialized's first field is a string: cereal writes its length as 8 bytes.
  std::string payload;
  const uint64_t forged = uint64_t{1} << 40;
  payload.append(reinterpret_cast<const char*>(&forged), sizeof forged);
  payload += "abc";
  eventstore::RecordedEvent r;
  r.position = 5;
  r.type = domain::SystemInitialized::kType;
  r.schema_version = domain::SystemInitialized::kSchemaVersion;
  r.payload = payload;

  Tracking t;
  auto decoded = domain::decode_event(r);
  EXPECT_TRUE(decoded.status().IsCorruption());
  EXPECT_NE(decoded.status().message().find("position 5"), std::string::npos);
  EXPECT_LT(t.largest(), kAllowed);
}

TEST(ForgedLengthTest, ForgedRecordInTheStoreIsRefusedOnReadAndVerify) {
  testing::TempDir dir;
  {
    auto store = testing::open_writer(dir.path());
    ASSERT_TRUE(store->append(testing::one_event("s", eventstore::ExpectedVersion::Any(), "c1")).ok());
    ASSERT_TRUE(store->append(testing::one_event("s", eventstore::ExpectedVersion::Any(), "c2")).ok());
  }
  {
    testing::RawStore raw(dir.path());
    std::string v = raw.get_log(2);
    v[0] = '\x7f';  // frame length: ~2 GiB
    raw.put_log(2, v);
  }
  auto store = testing::open_reader(dir.path());
  Tracking t;
  auto all = store->read_all(1, 10);
  EXPECT_TRUE(all.status().IsCorruption());
  auto report = store->verify();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->verified);
  EXPECT_EQ(report->first_bad_position.value_or(0), 2u);
  EXPECT_LT(t.largest(), kAllowed);
}

}  // namespace
}  // namespace certsched
