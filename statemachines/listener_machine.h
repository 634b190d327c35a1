// A listener's server-certificate machine, as a plain interface (Boost.MSM inside).
//
//   unconfigured --configure--> active --propose-change--> change-pending
//   active --configure--> active
//   change-pending --configure [keeps the certificate]--> change-pending
//   change-pending --propose-change [same new certificate]--> change-pending
//   change-pending --withdraw-change--> active     (every schedule for it declined or cancelled)
//   change-pending --install [every partner ready]--> active
//   change-pending --install-failed--> change-pending
//
// While a change is pending, the certificate cannot be changed by any other means.
#pragma once

#include <cstdint>
#include <memory>

namespace certsched::statemachines {

enum class ListenerState : uint8_t { kUnconfigured, kActive, kChangePending };

enum class ListenerTrigger : uint8_t {
  kConfigure,
  kProposeChange,
  kWithdrawChange,
  kInstall,
  kInstallFailed,
};

// What the guards need to know about the trigger being fired.
struct ListenerFacts {
  bool keeps_certificate = false;         // configure: the server certificate stays the same
  bool same_pending_certificate = false;  // propose-change: names the already pending certificate
  bool all_partners_ready = false;        // install: every partner using it is ready and due
};

const char* to_string(ListenerState s);
const char* to_string(ListenerTrigger t);

class ListenerMachine {
 public:
  ListenerMachine();
  ~ListenerMachine();
  ListenerMachine(ListenerMachine&&) noexcept;
  ListenerMachine& operator=(ListenerMachine&&) noexcept;

  [[nodiscard]] bool fire(ListenerTrigger trigger, const ListenerFacts& facts);
  bool accepts(ListenerTrigger trigger, const ListenerFacts& facts) const;
  ListenerState state() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace certsched::statemachines
