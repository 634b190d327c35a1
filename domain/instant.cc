#include "domain/instant.h"

#include <algorithm>
#include <ctime>

namespace certsched::domain {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

Result<int64_t> parse_instant(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(s.substr(0, 64)) +
                                   "' is not an ISO 8601 instant like 2027-01-15T00:00:00Z");
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return bad();
  }
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
      mi > 59 || sec > 59) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
    // UTC
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) return bad();
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
  } else {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  if (secs > kLatestInstantSeconds) {
    return Status::InvalidArgument("'" + std::string(s.substr(0, 64)) + "' is later than " +
                                   format_instant(instant_from_seconds(kLatestInstantSeconds)) +
                                   ", the latest instant certsched can hold");
  }
  return secs * 1'000'000'000 + frac_ns;
}

Result<int64_t> parse_instant_or_now(std::string_view text, int64_t now_ns) {
  if (text == "now") return now_ns;
  auto t = parse_instant(text);
  if (!t.ok()) return Status::InvalidArgument(t.status().message() + " or now");
  return t;
}

int64_t instant_from_seconds(int64_t seconds) {
  return std::clamp<int64_t>(seconds, 0, kLatestInstantSeconds) * 1'000'000'000;
}

// Written by hand rather than with gmtime_r and strftime, which cost more than the rest of
// a projection row: a rebuild formats an instant for every schedule and certificate it writes.
std::string format_instant(int64_t ns) {
  int64_t secs = ns / 1'000'000'000;
  if (ns < 0 && ns % 1'000'000'000 != 0) --secs;
  int64_t days = secs / 86400;
  int64_t of_day = secs % 86400;
  if (of_day < 0) {
    of_day += 86400;
    --days;
  }
  // The civil date of a day count (Howard Hinnant's days_from_civil, inverted): eras of
  // 400 years, years that begin on 1 March so that the leap day ends them.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;  // 0 is March
  const int day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const int month = static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  // "YYYY-MM-DDTHH:MM:SSZ", digit by digit (snprintf costs more than the arithmetic). Nanoseconds
  // in an int64 span the years 1677 to 2262: always four digits.
  std::string out = "0000-00-00T00:00:00Z";
  auto put = [&out](size_t at, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, of_day / 3600, 2);
  put(14, of_day / 60 % 60, 2);
  put(17, of_day % 60, 2);
  return out;
}

}  // namespace certsched::domain
